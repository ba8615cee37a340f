"""Single use under real concurrency (PostgreSQL row locks): one code, or one refresh token, wins once."""
from types import SimpleNamespace

import pytest

from portal.extensions import db
from portal.identity import consents, grants
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
