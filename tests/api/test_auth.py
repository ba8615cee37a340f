"""Bearer tokens: scopes on every endpoint, token states, grants, and what refusals look like."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from portal import identity
from portal.extensions import db
from portal.kernel import clock
from portal.kernel import errors as identity_errors
from portal.models import ApiToken, AuditEvent, Entry
from tests.api.conftest import bearer, issue
from tests.factories import SYSTEM, make_account, snapshot

TXID = uuid.UUID(int=1)
ENDPOINTS = [  # (method, path template, scope it needs)
    ("GET", "/api/v1/accounts", "accounts:read"),
    ("GET", "/api/v1/accounts/{a}", "accounts:read"),
    ("GET", "/api/v1/accounts/{a}/balance", "accounts:read"),
    ("GET", "/api/v1/accounts/{a}/transactions", "transactions:read"),
    ("GET", "/api/v1/accounts/{a}/transactions/{t}", "transactions:read"),
    ("POST", "/api/v1/accounts/{a}/transactions", "transactions:write"),
]
SCOPES = ["accounts:read", "transactions:read", "transactions:write"]


def call(client, method, template, account_id, headers, transaction_id=TXID):
    path = template.format(a=account_id, t=transaction_id)
    body = {"amount": "-1.00"} if method == "POST" else None  # a withdrawal: transactions:write
    return client.open(path, method=method, headers=headers, json=body)


def audit_actions():
    db.session.expire_all()
    return db.session.execute(sa.select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(("method", "template", "needed"), ENDPOINTS)
def test_scope_matrix(client, customer, scope, method, template, needed):
    secret = issue(customer.user, [customer.main], scopes=[scope])
    # The transaction id is unknown: with the right scope that is a 404, never a 403.
    response = call(client, method, template, customer.main.id, bearer(secret))
    if scope == needed:
        assert response.status_code in (200, 201, 404)
        if "{t}" in template:
            assert response.get_json()["code"] == "not_found"
    else:
        assert response.status_code == 403
        assert response.get_json()["code"] == "forbidden"
        assert audit_actions()[-1] == ("api.forbidden", "denied")


@pytest.mark.parametrize(("method", "template", "_"), ENDPOINTS)
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer pt_nope",
                                    "Token pt_abc", "bearer\tpt_x"])
def test_missing_malformed_or_unknown_tokens_get_401_with_the_challenge(client, customer, method, template, _,
                                                                        header):
    headers = {} if header is None else {"Authorization": header}
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    response = call(client, method, template, customer.main.id, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["code"] == "unauthorized" and body["request_id"] == response.headers["X-Request-ID"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before + 1
    assert audit_actions()[-1] == ("api.unauthorized", "denied")


def test_revoked_token_is_refused_on_the_next_request(client, customer):
    assert client.get("/api/v1/accounts", headers=customer.headers).status_code == 200
    token = identity.find_token(customer.secret)
    identity.revoke_token(token, actor=SYSTEM)
    db.session.commit()
    response = client.get("/api/v1/accounts", headers=customer.headers)
    assert response.status_code == 401
    event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (event.action, event.actor_token_id, event.refusal_code, event.refusal_message) == (
        "api.unauthorized", token.id, "unauthorized", "token revoked")


def test_expired_token_is_refused(client, customer, monkeypatch):
    secret = issue(customer.user, [customer.main], expires_at=clock.now() + dt.timedelta(days=1))
    assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200
    later = clock.now() + dt.timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 401


def test_token_of_a_deactivated_owner_is_refused(client, customer):
    customer.user.active = False
    db.session.commit()
    assert client.get("/api/v1/accounts", headers=customer.headers).status_code == 401


def test_account_removed_from_the_grant_is_not_found(client, customer):
    path = f"/api/v1/accounts/{customer.savings.id}"
    assert client.get(path, headers=customer.headers).status_code == 200
    token = identity.find_token(customer.secret)
    token.accounts = [customer.main]
    db.session.commit()
    response = client.get(path, headers=customer.headers)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    listed = client.get("/api/v1/accounts", headers=customer.headers).get_json()["data"]
    assert [a["id"] for a in listed] == [str(customer.main.id)]


def test_account_that_changed_owner_is_no_longer_visible(client, customer, stranger):
    db.session.execute(sa.update(type(customer.savings)).where(type(customer.savings).id == customer.savings.id)
                       .values(owner_id=stranger.user.id))
    db.session.commit()
    assert client.get(f"/api/v1/accounts/{customer.savings.id}", headers=customer.headers).status_code == 404


@pytest.mark.parametrize(("method", "template", "_"), ENDPOINTS[1:])
def test_another_customers_ids_answer_404_and_leak_nothing(client, customer, stranger, method, template, _):
    theirs = stranger.main
    their_tx = db.session.scalar(sa.select(Entry.transaction_id).where(Entry.account_id == theirs.id))
    unknown = call(client, method, template, uuid.uuid4(), customer.headers, transaction_id=uuid.uuid4())
    foreign = call(client, method, template, theirs.id, customer.headers, transaction_id=their_tx)
    assert foreign.status_code == unknown.status_code == 404
    strip = {"request_id"}
    assert {k: v for k, v in foreign.get_json().items() if k not in strip} == {
        k: v for k, v in unknown.get_json().items() if k not in strip}
    assert theirs.number not in foreign.get_data(as_text=True)
    # Their transaction through my own account is not found either.
    mine = call(client, method, template, customer.main.id, customer.headers, transaction_id=their_tx)
    if "{t}" in template:
        assert mine.status_code == 404


def test_last_use_is_recorded_at_most_once_a_minute(client, customer, monkeypatch):
    token = identity.find_token(customer.secret)
    assert token.last_used_at is None
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    client.get("/api/v1/accounts", headers=customer.headers, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id)
    assert (first.last_used_at, first.last_used_ip) == (start, "10.0.0.7")
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=30))
    client.get("/api/v1/accounts", headers=customer.headers, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == start
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=61))
    client.get("/api/v1/accounts", headers=customer.headers, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == start + dt.timedelta(seconds=61)


def test_tokens_never_appear_in_the_audit_log(client, customer):
    client.get("/api/v1/accounts", headers=customer.headers)
    client.get("/api/v1/accounts", headers=bearer(customer.secret + "x"))
    client.post(f"/api/v1/accounts/{customer.main.id}/transactions", headers=customer.headers,
                json={"amount": "-1.00"})
    rows = db.session.execute(sa.select(AuditEvent.__table__)).all()
    assert rows and customer.secret not in str(rows) and customer.secret[3:20] not in str(rows)


def test_tokens_see_only_accounts_of_their_owner_even_if_granted_otherwise(client, customer, stranger):
    extra = make_account(customer.user)
    secret = issue(customer.user, [extra], scopes=["accounts:read"])
    listed = client.get("/api/v1/accounts", headers=bearer(secret)).get_json()["data"]
    assert [a["id"] for a in listed] == [str(extra.id)]


def test_a_real_token_sent_without_the_bearer_scheme_is_refused(client, customer):
    # The Swagger page adds "Bearer " to a token pasted alone (static/js/swagger-init.js); the API does not.
    response = client.get("/api/v1/accounts", headers={"Authorization": customer.secret})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/accounts", headers=customer.headers).status_code == 200


@pytest.mark.parametrize(("scopes", "amount", "expected"), [
    (["transactions:write"], "5.00", 403),  # a customer's token cannot bring money in
    (["transactions:write", "accounts:read", "transactions:read"], "5.00", 403),
    (["deposits:write"], "5.00", 201),  # the bank's payment rail
    (["deposits:write"], "-5.00", 403),  # ... which cannot take money out
    (["deposits:write", "transactions:write"], "-5.00", 201),
])
def test_a_deposit_needs_deposits_write_and_a_withdrawal_transactions_write(client, customer, scopes, amount,
                                                                           expected):
    secret = issue(customer.user, [customer.main], scopes=scopes)
    before = snapshot()
    response = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", json={"amount": amount},
                           headers=bearer(secret))
    assert response.status_code == expected
    after = snapshot()
    if expected == 403:
        assert response.get_json()["code"] == "forbidden"
        assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
        assert audit_actions()[-1] == ("transaction.create", "denied")
    else:
        assert after["transactions"] == before["transactions"] + 1


def test_the_customer_cannot_give_a_token_deposits_write(customer):
    before = snapshot()
    with pytest.raises(identity_errors.ValidationError, match="bank only"):
        identity.issue_token(customer.user, name="mine", scopes=["deposits:write"], accounts=[customer.main],
                             actor=SYSTEM)
    assert snapshot() == before
