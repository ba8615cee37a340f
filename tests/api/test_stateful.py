"""The API driven as a third party would, in random sequences (hypothesis, stateful), against a plain model.

Bodies are drawn from valid and hostile values alike; what one call returns (a transaction id, a cursor) is fed
to later calls, the way OpenAPI links would chain them. After every step: no 5xx ever, each answer is one of
the documented shapes, and the balances the API reports equal the model's.
"""
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from portal import ledger
from tests.api.conftest import bearer, issue
from tests.factories import make_account, make_user

hostile_text = st.one_of(st.text(max_size=200), st.sampled_from(
    ["", " ", "'; DROP TABLE entries; --", "<script>x</script>", "=1+1", "\x00", "\u202e", "9" * 400]))
valid_amounts = st.decimals(min_value=Decimal("-150"), max_value=Decimal("150"), places=2).filter(bool).map(
    lambda d: f"{d:.2f}")
amount_text = st.one_of(
    valid_amounts,
    st.sampled_from(["0", "0.00", "-0.001", "1e3", "NaN", "Infinity", "--1", " 1.00", "1,00", "", "12345678901234"]),
    st.integers(-100, 100), st.floats(allow_nan=True), st.none(), hostile_text)
value_dates = st.one_of(st.none(), st.integers(-40, 3).map(lambda n: (ledger.today() + dt.timedelta(days=n))
                                                           .isoformat()), hostile_text)
ERROR_CODES = {"validation_error", "insufficient_funds", "account_frozen", "account_closed", "forbidden",
               "not_found", "idempotency_conflict"}


def cents(text):
    return int(Decimal(text) * 100)


class ApiMachine(RuleBasedStateMachine):
    transactions = Bundle("transactions")
    cursors = Bundle("cursors")

    def __init__(self):
        super().__init__()
        owner = make_user()
        self.accounts = [make_account(owner, days_old=30, balance=100_00) for _ in range(2)]
        self.ids = [str(account.id) for account in self.accounts]
        self.headers = bearer(issue(owner, self.accounts))
        self.model = dict.fromkeys(self.ids, 100_00)
        self.created = 0
        self.client = self.app.test_client()

    def call(self, method, path, **kwargs):
        response = self.client.open(path, method=method, headers=self.headers, **kwargs)
        assert response.status_code < 500, (method, path, kwargs, response.text)
        body = response.get_json(silent=True)
        assert isinstance(body, dict), (method, path, response.text)
        if response.status_code >= 400:
            assert set(body) >= {"code", "message"} and body["code"] in ERROR_CODES | {"unauthorized"}, body
        return response.status_code, body

    @rule(target=transactions, index=st.integers(0, 1), amount=valid_amounts, description=st.none() | st.text(
        max_size=140), days_back=st.none() | st.integers(0, 29), transfer=st.booleans())
    def post(self, index, amount, description, days_back, transfer):
        value_date = None if days_back is None else (ledger.today() - dt.timedelta(days=days_back)).isoformat()
        return self.send(index, {"amount": amount, "description": description, "value_date": value_date}, transfer)

    @rule(target=transactions, index=st.integers(0, 1), amount=amount_text, description=st.none() | hostile_text,
          value_date=value_dates, transfer=st.booleans(), extra=st.dictionaries(st.text(max_size=8), st.integers(),
                                                                                  max_size=2))
    def post_anything(self, index, amount, description, value_date, transfer, extra):
        body = {**extra, "amount": amount, "description": description, "value_date": value_date}
        return self.send(index, body, transfer)

    def send(self, index, body, transfer):
        account, other = self.ids[index], self.ids[1 - index]
        if transfer:
            body["counterparty_account_id"] = other
        status, answer = self.call("POST", f"/api/v1/accounts/{account}/transactions", json=body)
        assert status in (201, 400, 409), (status, answer)
        if status != 201:
            return None
        moved = cents(answer["amount"])
        assert moved == cents(f"{Decimal(str(body['amount'])):.2f}")
        self.model[account] += moved
        if transfer:
            self.model[other] -= moved
        self.created += 1
        return (account, answer["id"])

    @rule(created=transactions)
    def read_back(self, created):
        if created is None:
            return
        account, transaction_id = created
        status, answer = self.call("GET", f"/api/v1/accounts/{account}/transactions/{transaction_id}")
        assert status == 200 and answer["id"] == transaction_id

    @rule(target=cursors, index=st.integers(0, 1), limit=st.one_of(st.integers(-2, 120), hostile_text))
    def first_page(self, index, limit):
        status, answer = self.call("GET", f"/api/v1/accounts/{self.ids[index]}/transactions",
                                   query_string={"limit": limit})
        assert status in (200, 400)
        return (self.ids[index], answer.get("next_cursor")) if status == 200 else None

    @rule(page=cursors)
    def next_page(self, page):
        if page is None or page[1] is None:
            return
        status, answer = self.call("GET", f"/api/v1/accounts/{page[0]}/transactions",
                                   query_string={"cursor": page[1], "limit": 5})
        assert status == 200 and len(answer["data"]) <= 5

    @rule(cursor=hostile_text)
    def forged_cursor(self, cursor):
        status, _ = self.call("GET", f"/api/v1/accounts/{self.ids[0]}/transactions", query_string={"cursor": cursor})
        assert status in (200, 400)

    @rule(day=value_dates)
    def balance_at(self, day):
        status, _ = self.call("GET", f"/api/v1/accounts/{self.ids[0]}/balance", query_string={"date": day or ""})
        assert status in (200, 400)

    @invariant()
    def balances_match_the_model(self):
        for account in self.ids:
            status, answer = self.call("GET", f"/api/v1/accounts/{account}/balance")
            assert status == 200 and cents(answer["balance"]) == self.model[account]


def test_random_api_call_sequences_never_fail_and_keep_the_books(app):
    created = []

    class Machine(ApiMachine):
        def teardown(self):
            created.append(self.created)

    Machine.app = app
    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
    assert sum(created) >= 10, created  # the sequences did post, not only get refused
