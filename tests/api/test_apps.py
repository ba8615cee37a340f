"""Credentials for a registered app: a customer's token for a listed app, and an OAuth access token under a
consent. Both stop while the app is suspended or called from outside its allowlist, hold no more than the app
may, and name the app (and consent) in the audit log."""
import contextlib
import datetime as dt
import secrets

import pytest
import sqlalchemy as sa

from portal import audit, identity
from portal.extensions import db
from portal.identity import apps, consents
from portal.identity.tokens import OAUTH_ACCESS_PREFIX, hash_secret
from portal.kernel import clock
from portal.kernel import errors as domain_errors
from portal.models import ApiToken, AuditEvent, OAuthToken
from tests.api.conftest import bearer
from tests.factories import SYSTEM, snapshot


def register(scopes=("accounts:read", "transactions:read"), allowlist=()):
    app, _ = apps.register_app(name="Budgetly", homepage="https://budgetly.example",
                               redirect_uris=["https://budgetly.example/callback"], client_type="confidential",
                               scopes=scopes, ip_allowlist=allowlist, actor=SYSTEM)
    db.session.commit()
    return app


def app_token(customer, app, scopes=("accounts:read",)):
    _, secret = identity.issue_token(customer.user, name="for Budgetly", scopes=scopes, accounts=[customer.main],
                                     actor=SYSTEM, app=app)
    db.session.commit()
    return secret


def oauth_token(customer, app, scopes=("accounts:read",), accounts=None, minutes=10):
    """A consent and an access token under it, as the OAuth server issues them."""
    consent = consents.grant_consent(customer.user, app, scopes=scopes, accounts=accounts or [customer.main],
                                     actor=SYSTEM)
    secret = OAUTH_ACCESS_PREFIX + secrets.token_urlsafe(32)
    db.session.add(OAuthToken(consent_id=consent.id, app_id=app.id, user_id=customer.user.id,
                              access_token_hash=hash_secret(secret), scopes=consent.scopes,
                              access_expires_at=clock.now() + dt.timedelta(minutes=minutes)))
    db.session.commit()
    return consent, secret


def balance(client, customer, secret, **environ):
    return client.get(f"/api/v1/accounts/{customer.main.id}/balance", headers=bearer(secret),
                      environ_base=environ or {})


def last_event():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


@pytest.mark.parametrize("kind", ["personal", "oauth"])
def test_a_suspended_apps_credentials_stop_and_work_again_after_reactivation(client, customer, kind):
    app = register()
    secret = app_token(customer, app) if kind == "personal" else oauth_token(customer, app)[1]
    assert balance(client, customer, secret).status_code == 200
    apps.suspend_app(app, actor=SYSTEM, reason="data leak under investigation")
    db.session.commit()
    refused = balance(client, customer, secret)
    assert refused.status_code == 401
    event = last_event()
    assert (event.action, event.refusal_message, event.actor_app_id) == ("api.unauthorized", "app suspended", app.id)
    apps.reactivate_app(app, actor=SYSTEM, reason="cleared")
    db.session.commit()
    assert balance(client, customer, secret).status_code == 200


@pytest.mark.parametrize("kind", ["personal", "oauth"])
def test_the_allowlist_is_enforced_on_every_call(client, customer, kind):
    app = register(allowlist=["10.0.0.0/8"])
    secret = app_token(customer, app) if kind == "personal" else oauth_token(customer, app)[1]
    assert balance(client, customer, secret, REMOTE_ADDR="10.1.2.3").status_code == 200
    outside = balance(client, customer, secret, REMOTE_ADDR="192.0.2.7")
    assert outside.status_code == 401 and last_event().refusal_message == "outside the app's allowlist"


def test_a_token_for_an_app_holds_only_what_the_app_may(customer):
    app = register(scopes=["accounts:read"])
    before = snapshot()
    with pytest.raises(domain_errors.ValidationError, match="may not hold transactions:write"):
        identity.issue_token(customer.user, name="x", scopes=["transactions:write"], accounts=[customer.main],
                             actor=SYSTEM, app=app)
    assert snapshot() == before


def test_narrowing_an_apps_scopes_narrows_its_existing_tokens(client, customer):
    app = register(scopes=["accounts:read", "transactions:read"])
    secret = app_token(customer, app, scopes=["accounts:read", "transactions:read"])
    assert client.get(f"/api/v1/accounts/{customer.main.id}/transactions", headers=bearer(secret)).status_code == 200
    apps.edit_app(app, scopes=["accounts:read"], actor=SYSTEM)
    db.session.commit()
    assert client.get(f"/api/v1/accounts/{customer.main.id}/transactions", headers=bearer(secret)).status_code == 403


def test_api_calls_with_an_app_credential_name_the_app_and_consent(client, customer):
    app = register(scopes=["accounts:read", "transactions:read", "transactions:write"])
    consent, secret = oauth_token(customer, app, scopes=["accounts:read", "transactions:write"])
    response = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", json={"amount": "-2.00"},
                           headers=bearer(secret))
    assert response.status_code == 201
    event = last_event()
    assert (event.action, event.actor_user_id, event.actor_token_id, event.actor_app_id, event.actor_consent_id) == (
        "transaction.create", customer.user.id, None, app.id, consent.id)
    personal = app_token(customer, app)
    assert balance(client, customer, personal).status_code == 200


def reads(since_id):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > since_id).order_by(AuditEvent.id)).all()


def newest_id():
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


@pytest.mark.parametrize("kind", ["token for the app", "oauth"])
def test_every_read_by_an_app_is_audited_with_the_app_and_the_consent(client, customer, kind):
    app = register()
    if kind == "oauth":
        consent, secret = oauth_token(customer, app, scopes=["accounts:read", "transactions:read"])
        token_id, consent_id = None, consent.id
    else:
        secret = app_token(customer, app, scopes=("accounts:read", "transactions:read"))
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.app_id == app.id))
        consent_id = None
    since = newest_id()
    main, savings = customer.main.id, customer.savings.id
    answers = [client.get(path, headers=bearer(secret)).status_code for path in (
        "/api/v1/accounts", f"/api/v1/accounts/{main}/balance", f"/api/v1/accounts/{main}/transactions",
        f"/api/v1/accounts/{savings}/balance")]  # the last: not granted

    assert answers == [200, 200, 200, 404]
    events = reads(since)
    assert [(e.action, e.object_type, e.object_id, e.outcome, e.refusal_code) for e in events] == [
        ("api.read", "accounts", None, "success", None), ("api.read", "balance", str(main), "success", None),
        ("api.read", "transactions", str(main), "success", None),
        ("api.read", "balance", str(savings), "failed", "not_found")]
    assert {(e.actor_type, e.actor_user_id, e.actor_token_id, e.actor_app_id, e.actor_consent_id, e.subject_user_id)
            for e in events} == {("token", customer.user.id, token_id, app.id, consent_id, customer.user.id)}


@contextlib.contextmanager
def statements_sent():
    sent = []

    def keep(_conn, _cursor, statement, *_):
        sent.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)


def test_an_apps_read_commits_its_record_without_waiting_for_the_disk_and_a_posting_waits(client, customer):
    app = register(scopes=["accounts:read", "transactions:write"])
    _, secret = oauth_token(customer, app, scopes=["accounts:read", "transactions:write"])
    with statements_sent() as read:
        assert balance(client, customer, secret).status_code == 200
    with statements_sent() as posting:
        response = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", json={"amount": "-1.00"},
                               headers=bearer(secret))
        assert response.status_code == 201
    (record,) = [statement for statement in read if statement.startswith("INSERT INTO audit_events")]
    # On PostgreSQL the record's own statement relaxes its transaction's commit; SQLite has no such setting.
    assert ("set_config(" in record) == (db.engine.dialect.name == "postgresql")
    assert not any("set_config" in statement for statement in posting)  # money waits for the disk, always


def test_a_record_that_need_not_wait_for_the_disk_stores_every_field_as_any_other(app, customer):
    actor = audit.Actor(type="token", user_id=customer.user.id, app_id=None, ip="192.0.2.7", user_agent="ua",
                        request_id="r1", client_request_id="c1")
    fields = dict(object_type="balance", object_id=str(customer.main.id), subject_user_id=customer.user.id,
                  changes={"name": ["a", "b"]}, reason="why", outcome="failed",
                  refusal=audit.Refusal("not_found", "No such account."))
    postgresql = db.engine.dialect.name == "postgresql"
    audit.record(actor, "api.read", **fields)
    if postgresql:
        assert db.session.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"
    audit.record(actor, "api.read", **fields, wait_for_disk=False)
    if postgresql:  # for this transaction only
        assert db.session.execute(sa.text("SHOW synchronous_commit")).scalar() == "off"
    db.session.commit()
    if postgresql:
        assert db.session.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"
    rows = db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.id.desc()).limit(2)).all()
    kept = [{k: v for k, v in row._mapping.items() if k not in ("id", "occurred_at", "canonical")} for row in rows]
    assert kept[0] == kept[1] and kept[0]["refusal_code"] == "not_found" and kept[0]["changes"] == {"name": ["a", "b"]}
    assert all(row.canonical for row in rows)


def test_a_refused_read_by_an_app_is_recorded_once_as_the_refusal(client, customer):
    app = register()
    _, secret = oauth_token(customer, app, scopes=["accounts:read"])
    since = newest_id()
    response = client.get(f"/api/v1/accounts/{customer.main.id}/transactions", headers=bearer(secret))
    assert response.status_code == 403
    assert [e.action for e in reads(since)] == ["api.forbidden"]


def test_reads_with_a_token_for_the_customers_own_use_are_not_audited(client, customer):
    since = newest_id()
    assert balance(client, customer, customer.secret).status_code == 200
    assert reads(since) == []


def test_an_oauth_token_sees_only_the_consents_accounts_and_scopes(client, customer):
    app = register(scopes=["accounts:read", "transactions:read"])
    _, secret = oauth_token(customer, app, scopes=["accounts:read", "transactions:read", "transactions:write"])
    listed = client.get("/api/v1/accounts", headers=bearer(secret)).get_json()["data"]
    assert [a["id"] for a in listed] == [str(customer.main.id)]
    assert client.get(f"/api/v1/accounts/{customer.savings.id}/balance", headers=bearer(secret)).status_code == 404
    # transactions:write was asked for but the app may not hold it: never granted.
    post = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", json={"amount": "-1.00"},
                       headers=bearer(secret))
    assert post.status_code == 403


@pytest.mark.parametrize("end", ["revoked", "expired consent", "expired token", "owner deactivated"])
def test_an_oauth_token_stops_when_its_consent_or_itself_ends(client, customer, end, monkeypatch):
    app = register()
    consent, secret = oauth_token(customer, app)
    assert balance(client, customer, secret).status_code == 200
    if end == "revoked":
        consents.revoke_consent(consent, actor=SYSTEM)
        db.session.commit()
    elif end == "owner deactivated":
        identity.update_user(customer.user, active=False, actor=SYSTEM, reason="closed relationship")
        db.session.commit()
    else:
        later = clock.now() + (dt.timedelta(days=91) if end == "expired consent" else dt.timedelta(minutes=11))
        monkeypatch.setattr(clock, "now", lambda: later)
    assert balance(client, customer, secret).status_code == 401


def test_revoking_a_consent_ends_its_tokens_in_the_database(customer):
    app = register()
    consent, _ = oauth_token(customer, app)
    consents.revoke_consent(consent, actor=SYSTEM, reason="asked on the phone")
    db.session.commit()
    assert db.session.scalars(sa.select(OAuthToken.revoked_at)).all() != [None]
    assert consent.status_at(clock.now()) == "revoked"


@pytest.mark.parametrize(("change", "field"), [
    ({"days": 181}, "days"), ({"days": 0}, "days"), ({"accounts": []}, "accounts"),
    ({"scopes": ["deposits:write"]}, "scope"),
])
def test_a_consent_beyond_the_rules_is_refused_and_nothing_granted(customer, change, field):
    app = register(scopes=["accounts:read", "deposits:write"])
    arguments = {"scopes": ["accounts:read"], "accounts": [customer.main], "days": 90, **change}
    before = snapshot()
    with pytest.raises(domain_errors.ValidationError) as refused:
        consents.grant_consent(customer.user, app, actor=SYSTEM, **arguments)
    assert refused.value.field == field and snapshot() == before


def test_another_customers_account_cannot_be_consented(customer, stranger):
    app = register()
    with pytest.raises(domain_errors.ValidationError, match="accounts of this customer"):
        consents.grant_consent(customer.user, app, scopes=["accounts:read"], accounts=[stranger.main], actor=SYSTEM)


def test_registering_an_app_keeps_only_a_hash_of_its_secret(app):
    registered, secret = apps.register_app(name="Ledgerly", homepage="https://ledgerly.example",
                                           redirect_uris=["http://127.0.0.1:8765/callback"],
                                           client_type="confidential", scopes=["accounts:read"], actor=SYSTEM)
    db.session.commit()
    assert secret.startswith("cs_") and secret not in str(db.session.execute(
        sa.select(sa.text("*")).select_from(sa.table("third_party_apps"))).all())
    assert apps.check_client_secret(registered, secret) and not apps.check_client_secret(registered, secret + "x")
    assert registered.client_id.startswith("app_") and db.session.scalar(sa.select(sa.func.count()).select_from(
        ApiToken)) == 0


@pytest.mark.parametrize("uri", ["http://budgetly.example/cb", "ftp://x.example/cb", "https://x.example/cb#frag",
                                 "not a url"])
def test_redirect_uris_must_be_https_or_local_http(app, uri):
    with pytest.raises(domain_errors.ValidationError):
        apps.register_app(name="Bad", homepage="https://bad.example", redirect_uris=[uri],
                          client_type="public", scopes=["accounts:read"], actor=SYSTEM)
