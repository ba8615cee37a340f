"""Consents past their expiry: access ends at the expiry; `flask apps expire-consents` records it (audited
`consent.expire`, tokens revoked), once, and the customer sees the consent as expired, not gone."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import consents
from portal.kernel import clock
from portal.models import Consent, OAuthToken
from tests.api.conftest import bearer
from tests.factories import SYSTEM, make_account, make_user
from tests.oauth.conftest import code_for, events, exchange, register
from tests.test_concurrency import run_together
from tests.web.conftest import login


def later(monkeypatch, days):
    moved = clock.now() + dt.timedelta(days=days)
    monkeypatch.setattr(clock, "now", lambda: moved)


def test_the_sweep_expires_only_consents_past_their_expiry_once(ann_client, ann, budgetly, runner, monkeypatch):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    tokens = exchange(ann_client, budgetly, code, verifier).get_json()
    short = consents.grant_consent(ann[0], budgetly.app, scopes=["accounts:read"], accounts=[ann[2]], days=120,
                                   actor=SYSTEM)
    db.session.commit()
    short_id = short.id

    assert runner.invoke(args=["apps", "expire-consents"]).output == "0 consents expired\n"
    assert events(consents.EXPIRE_ACTION) == []

    later(monkeypatch, consents.DEFAULT_DAYS + 1)  # past the 90-day consent, not the 120-day one
    result = runner.invoke(args=["apps", "expire-consents"])
    assert (result.exit_code, result.output) == (0, "1 consent expired\n")
    db.session.expire_all()
    statuses = dict(db.session.execute(sa.select(Consent.id, Consent.status)).all())
    assert statuses[short_id] == "active" and sorted(statuses.values()) == ["active", "expired"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OAuthToken)
                             .where(OAuthToken.revoked_at.is_(None))) == 0
    [event] = events(consents.EXPIRE_ACTION)
    assert (event.actor_type, event.actor_app_id, event.subject_user_id, event.changes) == (
        "system", budgetly.app.id, ann[0].id, {"status": ["active", "expired"]})
    # Kept and shown as expired; a second sweep records nothing more.
    assert login(ann_client, "ann@example.com").status_code == 302  # 91 days on, the old session has ended
    page = ann_client.get("/connected-apps").text
    assert "Budgetly" in page and ">expired<" in page
    assert runner.invoke(args=["apps", "expire-consents"]).output == "0 consents expired\n"
    assert len(events(consents.EXPIRE_ACTION)) == 1
    assert ann_client.get(f"/api/v1/accounts/{ann[1].id}/balance",
                          headers=bearer(tokens["access_token"])).status_code == 401


@pytest.mark.postgres_only
def test_two_sweeps_at_once_record_each_consent_once(pg_app, monkeypatch):
    budgetly = register()
    user = make_user(email="ann@example.com")
    for _ in range(3):
        consents.grant_consent(user, budgetly.app, scopes=["accounts:read"], accounts=[make_account(user)],
                               days=1, actor=SYSTEM)
    db.session.commit()
    later(monkeypatch, 2)

    def sweep(_):
        expired = consents.expire_due_consents(actor=SYSTEM)
        db.session.commit()
        return len(expired)

    assert sum(run_together(pg_app, 4, sweep)) == 3  # the ones that waited for the lock find nothing left
    assert run_together(pg_app, 1, sweep) == [0]
    assert len(events(consents.EXPIRE_ACTION)) == 3
