"""The counterparty field is no oracle: another customer's account gets one answer, whatever its state."""
import uuid

import pytest

from portal import ledger
from portal.extensions import db
from portal.ledger.system import SystemCode
from tests.api.test_posting import last_audit, post
from tests.factories import SYSTEM, days_ago, make_account, refresh, snapshot

BACKDATED = "ten days ago"  # resolved in the test (the bank's today needs the app)
NEUTRAL = {"counterparty_account_id": "is not a known account"}


@pytest.fixture
def others(customer, stranger):
    """Counterparties the customer's token does not own, by what a leak would tell about them."""
    frozen = make_account(stranger.user, days_old=30, balance=10_00, name="Frozen")
    ledger.freeze(frozen, actor=SYSTEM, reason="investigation")
    closed = make_account(stranger.user, days_old=30, name="Closed")
    ledger.close(closed, actor=SYSTEM, reason="unused")
    db.session.commit()
    return {
        "unknown": uuid.uuid4(),
        "system": ledger.system_account(SystemCode.SETTLEMENT, "EUR").id,
        "frozen": frozen.id,
        "closed": closed.id,
        "other currency": make_account(stranger.user, currency="SEK", days_old=30, balance=10_00).id,
        "opened later": make_account(stranger.user, days_old=3, balance=10_00).id,
        "active": stranger.main.id,
    }


def answer(client, customer, body, counterparty):
    """Post `body` with `counterparty`; return what the caller and the customer's activity page can see."""
    if body.get("value_date") == BACKDATED:
        body = {**body, "value_date": days_ago(10).isoformat()}
    before = snapshot()
    response = post(client, customer, {**body, "counterparty_account_id": str(counterparty)})
    payload = response.get_json()
    payload.pop("request_id")
    after = snapshot()
    if response.status_code >= 400:
        assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    return response.status_code, payload, last_audit().outcome, last_audit().refusal_code, last_audit().refusal_message


@pytest.mark.parametrize(("body", "same_as_unknown"), [
    ({"amount": "-1.00"}, ["system", "frozen", "closed", "other currency"]),
    ({"amount": "-1.00", "value_date": BACKDATED}, ["system", "frozen", "closed", "other currency",
                                                                  "opened later"]),
    ({"amount": "0"}, ["system", "frozen", "closed", "other currency", "opened later", "active"]),
    ({"amount": "abc"}, ["system", "frozen", "closed", "other currency", "opened later", "active"]),
])
def test_another_customers_account_gets_the_same_answer_as_an_unknown_one(client, customer, others, body,
                                                                          same_as_unknown):
    unknown = answer(client, customer, body, others["unknown"])
    assert unknown[0] == 400 and unknown[1]["code"] == "validation_error"
    if body["amount"] != "abc":
        assert unknown[1]["errors"] == NEUTRAL
    for name in same_as_unknown:
        assert answer(client, customer, body, others[name]) == unknown, name


@pytest.mark.parametrize("name", ["frozen", "closed", "other currency", "opened later", "active"])
def test_pulling_from_another_customer_s_account_is_403_whatever_its_state(client, customer, others, name):
    # Pulling needs transactions:write on the counterparty, which no token of this customer can hold for an
    # account that is not theirs: 403, one answer whatever the account's state. (An unknown id is 400, below.)
    status, payload, outcome, code, message = answer(client, customer, {"amount": "1.00"}, others[name])
    assert (status, payload["code"], outcome, code) == (403, "forbidden", "denied", "forbidden")
    assert payload["message"] == message == "Pulling money from an account needs transactions:write on that account."


@pytest.mark.parametrize("name", ["unknown", "system"])
def test_pulling_from_an_unknown_or_system_account_is_a_validation_error(client, customer, others, name):
    status, payload, *_ = answer(client, customer, {"amount": "1.00"}, others[name])
    assert (status, payload["code"], payload["errors"]) == (400, "validation_error", NEUTRAL)


def test_paying_an_active_account_of_another_customer_still_works(client, customer, others, stranger):
    response = post(client, customer, {"amount": "-1.00", "counterparty_account_id": str(others["active"])})
    assert response.status_code == 201
    assert (refresh(customer.main).balance, refresh(stranger.main).balance) == (99_00, 51_00)


def test_own_accounts_keep_their_precise_answers(client, customer):
    """The token's owner may know their own accounts' state: the refusals say what is wrong."""
    krona = make_account(customer.user, currency="SEK", balance=10_00)
    response = post(client, customer, {"amount": "-1.00", "counterparty_account_id": str(krona.id)})
    assert response.status_code == 400 and "SEK" in response.get_json()["errors"]["counterparty_account_id"]
    ledger.freeze(customer.savings, actor=SYSTEM, reason="investigation")
    db.session.commit()
    response = post(client, customer, {"amount": "-1.00", "counterparty_account_id": str(customer.savings.id)})
    assert response.status_code == 409 and response.get_json()["code"] == "account_frozen"


def test_a_counterparty_frozen_after_the_door_looked_at_it_gets_the_same_answer(client, customer, stranger,
                                                                               monkeypatch):
    """The door looks before the ledger locks: a refusal the ledger finds later must not leak either."""
    from portal.api import transactions
    from portal.models import Account

    ledger.freeze(stranger.main, actor=SYSTEM, reason="investigation")
    db.session.commit()
    monkeypatch.setattr(transactions, "_payee", lambda counterparty_id, *_: db.session.get(Account, counterparty_id))
    before = snapshot()
    response = post(client, customer, {"amount": "-1.00", "counterparty_account_id": str(stranger.main.id)})
    assert response.status_code == 400 and response.get_json()["errors"] == NEUTRAL
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    assert "frozen" not in last_audit().refusal_message


def test_the_ledger_says_which_account_a_frozen_refusal_is_about(app, customer, stranger):
    """So a door can answer for a counterparty it must not describe (frozen after the door looked at it)."""
    ledger.freeze(stranger.main, actor=SYSTEM, reason="investigation")
    db.session.commit()
    with pytest.raises(ledger.AccountFrozen) as refusal:
        ledger.post(customer.main, -1_00, actor=SYSTEM, counterparty=stranger.main)
    db.session.rollback()
    assert refusal.value.field == "counterparty_account_id"
    with pytest.raises(ledger.AccountFrozen) as refusal:
        ledger.post(stranger.main, -1_00, actor=SYSTEM, counterparty=customer.main)
    db.session.rollback()
    assert refusal.value.field is None
