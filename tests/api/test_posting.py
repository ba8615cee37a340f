"""POST /accounts/{id}/transactions: deposits, withdrawals, transfers, validation, refusals, audit."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.models import AuditEvent
from tests.api.conftest import bearer, issue
from tests.factories import SYSTEM, days_ago, make_account, refresh, snapshot


def post(client, customer, body, account=None, headers=None):
    account = account or customer.main
    return client.post(f"/api/v1/accounts/{account.id}/transactions", json=body,
                       headers={**customer.headers, **(headers or {})})


def last_audit():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def test_withdrawal_is_created_with_location_and_audited_with_the_token(client, customer):
    response = post(client, customer, {"amount": "-25.00", "description": "groceries"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["amount"] == "-25.00" and body["kind"] == "withdrawal" and body["currency"] == "EUR"
    assert body["description"] == "groceries" and body["value_date"] == ledger.today().isoformat()
    assert body["counterparty_account_id"] is None and body["reverses"] is None and body["reversed_by"] is None
    assert dt.datetime.fromisoformat(body["booked_at"]).utcoffset() == dt.timedelta(0)
    assert response.headers["Location"] == f"/api/v1/accounts/{customer.main.id}/transactions/{body['id']}"
    assert client.get(response.headers["Location"], headers=customer.headers).get_json() == body
    assert refresh(customer.main).balance == 75_00
    event = last_audit()
    assert (event.action, event.outcome, event.actor_type, event.object_id) == (
        "transaction.create", "success", "token", body["id"])
    assert event.actor_token_id is not None and event.actor_user_id == customer.user.id
    assert event.request_id == response.headers["X-Request-ID"]


def test_deposit(client, customer):
    response = post(client, customer, {"amount": "10.5"})
    assert response.status_code == 201 and response.get_json()["kind"] == "deposit"
    assert response.get_json()["amount"] == "10.50" and response.get_json()["description"] == ""
    assert refresh(customer.main).balance == 110_50


def test_backdated_posting_changes_the_balance_of_later_dates(client, customer):
    url = f"/api/v1/accounts/{customer.main.id}/balance"
    before = client.get(url, query_string={"date": days_ago(5).isoformat()}, headers=customer.headers).get_json()
    response = post(client, customer, {"amount": "-40.00", "value_date": days_ago(10).isoformat()})
    assert response.status_code == 201
    after = client.get(url, query_string={"date": days_ago(5).isoformat()}, headers=customer.headers).get_json()
    assert (before["balance"], after["balance"]) == ("100.00", "60.00")
    eleven = client.get(url, query_string={"date": days_ago(11).isoformat()}, headers=customer.headers).get_json()
    assert eleven["balance"] == "100.00"


def test_transfer_pushing_money_to_another_customer(client, customer, stranger):
    response = post(client, customer, {"amount": "-30.00", "counterparty_account_id": str(stranger.main.id)})
    assert response.status_code == 201
    assert response.get_json()["kind"] == "transfer"
    assert response.get_json()["counterparty_account_id"] == str(stranger.main.id)
    assert (refresh(customer.main).balance, refresh(stranger.main).balance) == (70_00, 80_00)
    # The stranger's token sees it from their side, with the opposite sign.
    theirs = client.get(f"/api/v1/accounts/{stranger.main.id}/transactions/{response.get_json()['id']}",
                        headers=stranger.headers).get_json()
    assert (theirs["amount"], theirs["counterparty_account_id"]) == ("30.00", str(customer.main.id))


def test_transfer_pulling_money_from_a_granted_account(client, customer):
    response = post(client, customer, {"amount": "20.00", "counterparty_account_id": str(customer.main.id)},
                    account=customer.savings)
    assert response.status_code == 201
    assert (refresh(customer.main).balance, refresh(customer.savings).balance) == (80_00, 20_00)


def test_pulling_money_needs_write_on_the_counterparty_too(client, customer, stranger):
    # The counterparty is not in the token's grant: pushing to it is fine, pulling from it is not.
    secret = issue(customer.user, [customer.savings], scopes=["transactions:write"])
    before = snapshot()
    response = client.post(f"/api/v1/accounts/{customer.savings.id}/transactions", headers=bearer(secret),
                           json={"amount": "5.00", "counterparty_account_id": str(customer.main.id)})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    # Nor is another customer's account: no token of this customer can hold transactions:write on it.
    before = snapshot()
    response = client.post(f"/api/v1/accounts/{customer.savings.id}/transactions", headers=bearer(secret),
                           json={"amount": "5.00", "counterparty_account_id": str(stranger.main.id)})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before


def refused(client, customer, body, status, code, field=None, account=None, headers=None):
    """Post `body`, expect the refusal, and check nothing but one audit row changed."""
    before = snapshot()
    response = post(client, customer, body, account=account, headers=headers)
    assert response.status_code == status, response.get_json()
    payload = response.get_json()
    assert payload["code"] == code
    assert payload["request_id"] == response.headers["X-Request-ID"]
    if field:
        assert field in payload["errors"], payload
    else:
        assert "errors" not in payload
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1  # the refusal is audited
    assert after == before
    event = last_audit()
    assert (event.action, event.actor_type, event.outcome) == (
        "transaction.create", "token", "failed" if status == 400 else "denied")
    return payload


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "0"}, "amount"),
    ({"amount": "0.00"}, "amount"),
    ({"amount": "-0"}, "amount"),
    ({"amount": "-0.00"}, "amount"),
    ({"amount": "1.001"}, "amount"),
    ({"amount": "12345678901234"}, "amount"),
    ({"amount": "1e2"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": 10}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": " 1.00"}, "amount"),
    ({}, "amount"),
    ({"amount": "1.00", "description": "x" * 141}, "description"),
    ({"amount": "1.00", "description": 5}, "description"),
    ({"amount": "1.00", "memo": "hi"}, "memo"),
    ({"amount": "1.00", "value_date": "2026-13-01"}, "value_date"),
    ({"amount": "1.00", "value_date": "25/11/2026"}, "value_date"),
    ({"amount": "1.00", "value_date": "2026-1-5"}, "value_date"),
    ({"amount": "1.00", "value_date": 20260101}, "value_date"),
    ({"amount": "1.00", "counterparty_account_id": "not-a-uuid"}, "counterparty_account_id"),
    ({"amount": "1.00", "counterparty_account_id": str(uuid.uuid4())}, "counterparty_account_id"),
])
def test_invalid_bodies_are_400_with_the_field_named_and_nothing_written(client, customer, body, field):
    refused(client, customer, body, 400, "validation_error", field)


def test_future_and_pre_opening_value_dates_are_refused(client, customer):
    tomorrow = (ledger.today() + dt.timedelta(days=1)).isoformat()
    refused(client, customer, {"amount": "1.00", "value_date": tomorrow}, 400, "validation_error", "value_date")
    refused(client, customer, {"amount": "1.00", "value_date": days_ago(31).isoformat()}, 400,
            "validation_error", "value_date")


def test_currency_mismatch_is_refused(client, customer):
    krona = make_account(customer.user, currency="SEK", balance=10_00)
    refused(client, customer, {"amount": "-1.00", "counterparty_account_id": str(krona.id)}, 400,
            "validation_error", "counterparty_account_id")


def test_system_and_own_accounts_are_not_counterparties(client, customer):
    settlement = ledger.system_account(ledger.system.SystemCode.SETTLEMENT, "EUR")
    refused(client, customer, {"amount": "-1.00", "counterparty_account_id": str(settlement.id)}, 400,
            "validation_error", "counterparty_account_id")
    refused(client, customer, {"amount": "-1.00", "counterparty_account_id": str(customer.main.id)}, 400,
            "validation_error", "counterparty_account_id")


def test_closed_counterparty_is_a_validation_error(client, customer, stranger):
    closed = make_account(stranger.user)
    ledger.close(closed, actor=SYSTEM, reason="test")
    db.session.commit()
    refused(client, customer, {"amount": "-1.00", "counterparty_account_id": str(closed.id)}, 400,
            "validation_error", "counterparty_account_id")


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"amount"', b"", b"\xff\xfe", b"null"])
def test_malformed_json_is_a_validation_error(client, customer, raw):
    before = snapshot()
    response = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", data=raw,
                           headers={**customer.headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["code"] == "validation_error"
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


def test_insufficient_funds_is_409_and_audited_as_denied(client, customer):
    refused(client, customer, {"amount": "-100.01"}, 409, "insufficient_funds")
    event = last_audit()
    assert (event.action, event.outcome, event.actor_type) == ("transaction.create", "denied", "token")
    assert event.refusal_code == "insufficient_funds"
    assert post(client, customer, {"amount": "-100.00"}).status_code == 201


def test_frozen_and_closed_accounts_refuse_postings_but_can_be_read(client, customer):
    ledger.freeze(customer.main, actor=SYSTEM, reason="investigation")
    db.session.commit()
    refused(client, customer, {"amount": "1.00"}, 409, "account_frozen")
    assert client.get(f"/api/v1/accounts/{customer.main.id}", headers=customer.headers).get_json()[
        "status"] == "frozen"
    ledger.close(customer.savings, actor=SYSTEM, reason="unused")
    db.session.commit()
    refused(client, customer, {"amount": "1.00"}, 409, "account_closed", account=customer.savings)
    assert client.get(f"/api/v1/accounts/{customer.savings.id}/balance",
                      headers=customer.headers).status_code == 200


def test_backdated_withdrawal_that_would_overdraw_the_past_is_refused(client, customer):
    assert post(client, customer, {"amount": "50.00", "value_date": days_ago(2).isoformat()}).status_code == 201
    refused(client, customer, {"amount": "-120.00", "value_date": days_ago(3).isoformat()}, 409,
            "insufficient_funds")


def test_null_optional_fields_mean_absent(client, customer):
    response = post(client, customer, {"amount": "-1.00", "description": None, "value_date": None,
                                       "counterparty_account_id": None})
    assert response.status_code == 201
    assert response.get_json()["description"] == "" and response.get_json()["kind"] == "withdrawal"
