"""API_RATE_LIMIT: one allowance per token over every endpoint, and one per address for callers that did not
authenticate, so invented tokens neither get fresh allowances nor write audit rows without end."""
import secrets

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent
from tests.api.conftest import bearer, issue
from tests.api.test_errors import assert_envelope
from tests.conftest import IsolatedClient, _database_url
from tests.factories import make_account, make_user


@pytest.fixture
def limited_app(backend, request, tmp_path, monkeypatch):
    """An app with rate limits on (counted in this process's memory) and API_RATE_LIMIT=4/minute."""
    monkeypatch.setenv("API_RATE_LIMIT", "4/minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(backend, request, tmp_path),
                      "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def audit_rows():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def test_one_token_has_one_allowance_over_every_endpoint(limited_app):
    user = make_user()
    account = make_account(user, balance=10_00)
    secret = issue(user, [account])
    client = limited_app.test_client()
    paths = ["/api/v1/accounts", f"/api/v1/accounts/{account.id}", f"/api/v1/accounts/{account.id}/balance",
             f"/api/v1/accounts/{account.id}/transactions"]
    statuses = [client.get(paths[n % len(paths)], headers=bearer(secret)).status_code for n in range(6)]
    assert statuses == [200] * 4 + [429] * 2
    limited = client.post(f"/api/v1/accounts/{account.id}/transactions", json={"amount": "-1.00"},
                          headers=bearer(secret))
    assert_envelope(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    # Another token of the same customer, from the same address, has its own allowance.
    other = issue(user, [account])
    assert client.get(paths[0], headers=bearer(other)).status_code == 200


def test_invented_tokens_share_their_address_allowance_and_stop_writing_audit_rows(limited_app):
    user = make_user()
    account = make_account(user)
    client = limited_app.test_client()
    before = audit_rows()
    statuses = [client.get("/api/v1/accounts", headers=bearer("pt_" + secrets.token_urlsafe(32))).status_code
                for _ in range(12)]
    assert statuses == [401] * 4 + [429] * 8
    assert audit_rows() == before + 4  # one row per refusal the limit let through, none after
    # A caller without any token shares that address's allowance.
    assert_envelope(client.get(f"/api/v1/accounts/{account.id}"), 429, "rate_limited")
    # Another address is not affected.
    assert client.get("/api/v1/accounts", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 401


def test_a_valid_token_is_not_limited_by_failures_from_its_address(limited_app):
    user = make_user()
    account = make_account(user)
    secret = issue(user, [account])
    client = limited_app.test_client()
    for _ in range(6):
        client.get("/api/v1/accounts", headers=bearer("pt_" + secrets.token_urlsafe(32)))
    assert client.get("/api/v1/accounts", headers=bearer("pt_" + secrets.token_urlsafe(32))).status_code == 429
    # Behind the same NAT, a customer's app with a real token still gets its own allowance.
    assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200


def test_the_oauth_token_and_revocation_endpoints_share_one_allowance_per_address(limited_app):
    client = limited_app.test_client()
    before = audit_rows()
    guess = {"grant_type": "authorization_code", "code": "guessed", "client_id": "app_guessed",
             "client_secret": "cs_guessed", "redirect_uri": "https://x.example/cb", "code_verifier": "v" * 43}
    answers = [client.post("/oauth/token", data=guess) for _ in range(3)]
    answers += [client.post("/oauth/revoke", data={"token": "pat_guessed", "client_id": "app_guessed"})
                for _ in range(3)]
    assert [a.status_code for a in answers] == [400] * 4 + [429] * 2  # invalid_client, then the limit
    limited = answers[-1]
    assert limited.get_json()["error"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Cache-Control"] == "no-store"
    assert audit_rows() == before + 4  # the refusals the limit let through are audited, none after
    # Another address has its own allowance.
    assert client.post("/oauth/token", data=guess, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 400
