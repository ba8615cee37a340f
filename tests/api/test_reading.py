"""Reading accounts, balances (now and at a date) and transactions, with cursor pagination."""
import datetime as dt

import pytest

from portal import ledger
from portal.extensions import db
from portal.kernel import clock
from portal.ledger.history import Position, encode_position
from tests.api.conftest import bearer, issue
from tests.factories import SYSTEM, days_ago, make_account


def get(client, customer, path, **query):
    return client.get(path, query_string=query, headers=customer.headers)


def test_accounts_list_shows_exactly_the_granted_accounts(client, customer):
    response = get(client, customer, "/api/v1/accounts")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert {a["id"] for a in data} == {str(customer.main.id), str(customer.savings.id)}
    main = next(a for a in data if a["id"] == str(customer.main.id))
    assert main == {"id": str(customer.main.id), "number": customer.main.number, "name": "Main",
                    "currency": "EUR", "status": "active", "balance": "100.00",
                    "opened_on": days_ago(30).isoformat()}


def test_account_detail(client, customer):
    body = get(client, customer, f"/api/v1/accounts/{customer.savings.id}").get_json()
    assert body["balance"] == "0.00" and body["name"] == "Savings"


class TestBalance:
    def test_current_balance_has_a_null_date(self, client, customer):
        body = get(client, customer, f"/api/v1/accounts/{customer.main.id}/balance").get_json()
        assert body == {"account_id": str(customer.main.id), "currency": "EUR", "balance": "100.00", "date": None}

    def test_balance_at_a_date_includes_that_date(self, client, customer):
        ledger.withdraw(customer.main, 30_00, actor=SYSTEM, value_date=days_ago(4))
        db.session.commit()
        path = f"/api/v1/accounts/{customer.main.id}/balance"
        on = get(client, customer, path, date=days_ago(4).isoformat()).get_json()
        before = get(client, customer, path, date=days_ago(5).isoformat()).get_json()
        assert (before["balance"], on["balance"]) == ("100.00", "70.00")
        assert on["date"] == days_ago(4).isoformat()

    def test_balance_before_opening_is_zero(self, client, customer):
        body = get(client, customer, f"/api/v1/accounts/{customer.main.id}/balance",
                   date=days_ago(365).isoformat()).get_json()
        assert body["balance"] == "0.00"

    @pytest.mark.parametrize("date", ["yesterday", "2026-02-30", "2026-1-1", "", "20260101"])
    def test_bad_dates_are_400(self, client, customer, date):
        response = get(client, customer, f"/api/v1/accounts/{customer.main.id}/balance", date=date)
        assert response.status_code == 400 and "date" in response.get_json()["errors"]

    def test_a_future_date_is_400(self, client, customer):
        tomorrow = (ledger.today() + dt.timedelta(days=1)).isoformat()
        response = get(client, customer, f"/api/v1/accounts/{customer.main.id}/balance", date=tomorrow)
        assert response.status_code == 400

    def test_the_day_boundary_is_midnight_in_the_bank_time_zone(self, app, client, customer, monkeypatch):
        app.config["BANK_TIMEZONE"] = "Europe/Helsinki"
        # 23:30 on 10 Jan in Helsinki is 21:30 UTC: a posting then counts on the 10th, not the 11th.
        monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 1, 10, 21, 30, tzinfo=dt.UTC))
        account = make_account(customer.user, opened_on=dt.date(2026, 1, 1))
        secret = issue(customer.user, [account])
        response = client.post(f"/api/v1/accounts/{account.id}/transactions", json={"amount": "5.00"},
                               headers=bearer(secret))
        assert response.get_json()["value_date"] == "2026-01-10"
        # 00:30 on 11 Jan in Helsinki is still 10 Jan in UTC, but the bank's day is the 11th.
        monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 1, 10, 22, 30, tzinfo=dt.UTC))
        response = client.post(f"/api/v1/accounts/{account.id}/transactions", json={"amount": "1.00"},
                               headers=bearer(secret))
        assert response.get_json()["value_date"] == "2026-01-11"
        path = f"/api/v1/accounts/{account.id}/balance"
        assert client.get(path, query_string={"date": "2026-01-10"}, headers=bearer(secret)).get_json()[
            "balance"] == "5.00"
        assert client.get(path, query_string={"date": "2026-01-11"}, headers=bearer(secret)).get_json()[
            "balance"] == "6.00"


class TestTransactions:
    @pytest.fixture
    def history(self, customer):
        """Nine more transactions on the main account, on several value dates."""
        for n in range(9):
            ledger.deposit(customer.main, 1_00 + n, actor=SYSTEM, value_date=days_ago(20 - 2 * n),
                           description=f"t{n}")
        db.session.commit()
        return customer

    def page(self, client, customer, **query):
        response = get(client, customer, f"/api/v1/accounts/{customer.main.id}/transactions", **query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def test_newest_value_date_first_and_default_limit(self, client, history):
        body = self.page(client, history)
        dates = [t["value_date"] for t in body["data"]]
        assert len(dates) == 10 and dates == sorted(dates, reverse=True)
        assert body["next_cursor"] is None

    def test_pages_follow_the_cursor_without_gaps_or_repeats_even_as_postings_arrive(self, client, history):
        seen = []
        body = self.page(client, history, limit=3)
        seen += [t["id"] for t in body["data"]]
        # New postings between pages: one today (newer than every page), one backdated into the unread part.
        ledger.deposit(history.main, 5_00, actor=SYSTEM)
        late = ledger.deposit(history.main, 6_00, actor=SYSTEM, value_date=days_ago(25))
        db.session.commit()
        while body["next_cursor"]:
            body = self.page(client, history, limit=3, cursor=body["next_cursor"])
            seen += [t["id"] for t in body["data"]]
        assert len(seen) == len(set(seen)) == 11  # the 10 that were there, and the backdated one
        assert str(late.id) in seen

    def test_from_and_to_are_inclusive_value_dates(self, client, history):
        body = self.page(client, history, **{"from": days_ago(16).isoformat(), "to": days_ago(12).isoformat()})
        assert sorted(t["description"] for t in body["data"]) == ["t2", "t3", "t4"]

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"limit": "-1"},
                                       {"cursor": "garbage"}, {"cursor": "MjAyNi0xMS0yNQ"},
                                       # a forged cursor whose entry id does not fit in BIGINT (was a 500)
                                       {"cursor": encode_position(Position(dt.date(2026, 1, 1), 2**63))},
                                       {"from": "2026-02-31"}, {"to": "tomorrow"},
                                       {"from": "2026-05-02", "to": "2026-05-01"}])
    def test_bad_query_parameters_are_400(self, client, history, query):
        response = get(client, history, f"/api/v1/accounts/{history.main.id}/transactions", **query)
        assert response.status_code == 400
        assert response.get_json()["code"] == "validation_error"
        assert set(response.get_json()["errors"]) <= {"limit", "cursor", "from", "to"}

    @pytest.mark.parametrize("limit", ["1", "100"])
    def test_limit_bounds_are_accepted(self, client, history, limit):
        body = self.page(client, history, limit=limit)
        assert len(body["data"]) == min(int(limit), 10)

    def test_reversal_links_both_ways(self, client, customer):
        withdrawal = ledger.withdraw(customer.main, 10_00, actor=SYSTEM)
        reversal = ledger.reverse(withdrawal, actor=SYSTEM, reason="duplicate")
        db.session.commit()
        base = f"/api/v1/accounts/{customer.main.id}/transactions"
        original = get(client, customer, f"{base}/{withdrawal.id}").get_json()
        mirror = get(client, customer, f"{base}/{reversal.id}").get_json()
        assert original["reversed_by"] == str(reversal.id) and original["reverses"] is None
        assert mirror["reverses"] == str(withdrawal.id) and mirror["kind"] == "reversal"
        assert mirror["amount"] == "10.00"
