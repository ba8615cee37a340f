"""Single use under real concurrency (PostgreSQL row locks): one code, or one refresh token, wins once."""
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import consents, grants
from portal.models import OAuthToken
from tests.factories import SYSTEM, make_account, make_user
from tests.oauth.conftest import REDIRECT, events, exchange, pkce, refresh, register
from tests.test_concurrency import run_together

pytestmark = pytest.mark.postgres_only
THREADS = 8


def issued_code(pg_app):
    budgetly = register()
    user = make_user(email="ann@example.com")
    consent = consents.grant_consent(user, budgetly.app, scopes=["accounts:read"],
                                     accounts=[make_account(user)], actor=SYSTEM)
    verifier, challenge = pkce()
    grants.store_code("the-code", consent, redirect_uri=REDIRECT, code_challenge=challenge,
                      code_challenge_method="S256")
    db.session.commit()
    # Plain values only: the threads must not touch this session's objects.
    return SimpleNamespace(client_id=budgetly.client_id, secret=budgetly.secret), verifier


def test_a_code_exchanged_at_once_by_many_gives_one_pair(pg_app):
    budgetly, verifier = issued_code(pg_app)
    statuses = run_together(pg_app, THREADS,
                            lambda _: exchange(pg_app.test_client(), budgetly, "the-code", verifier).status_code)
    assert sorted(statuses) == [200] + [400] * (THREADS - 1)


def test_a_refresh_token_used_at_once_by_many_refreshes_once(pg_app):
    budgetly, verifier = issued_code(pg_app)
    body = exchange(pg_app.test_client(), budgetly, "the-code", verifier).get_json()
    statuses = run_together(pg_app, THREADS,
                            lambda _: refresh(pg_app.test_client(), budgetly, body["refresh_token"]).status_code)
    # One wins; every other use is reuse, which ends the consent (a client racing itself loses it too: rotation
    # cannot tell that from theft).
    assert sorted(statuses) == [200] + [400] * (THREADS - 1)
    assert [e.action for e in events(consents.REUSE_ACTION)] == [consents.REUSE_ACTION]


def test_wrong_and_right_verifiers_at_once_leave_at_most_one_live_pair_and_the_code_spent(pg_app):
    budgetly, verifier = issued_code(pg_app)
    wrong = pkce()[0]

    def attempt(i):
        response = exchange(pg_app.test_client(), budgetly, "the-code", verifier if i % 2 else wrong)
        return response.status_code, response.get_json().get("access_token")

    results = run_together(pg_app, THREADS, attempt)
    issued = [token for status, token in results if status == 200]
    assert len(issued) <= 1 and all(status == 400 for status, _ in results if status != 200)
    after = exchange(pg_app.test_client(), budgetly, "the-code", verifier)
    assert after.status_code == 400 and after.get_json()["error"] == "invalid_grant"  # spent, whoever came first
    db.session.expire_all()
    live = db.session.scalars(sa.select(OAuthToken).where(OAuthToken.revoked_at.is_(None))).all()
    assert len(live) <= len(issued)
