"""The back-office dashboard shows the audit chain: sealed up to when, how many wait, the last verify and when."""
import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent


def chain_card(client):
    response = client.get("/admin/")
    assert response.status_code == 200
    card = re.search(r'data-testid="audit-chain">(.*?)</div></div>', response.text, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card.group(1)))


def test_the_dashboard_shows_sealing_waiting_and_the_last_verify(app, as_role, bank):
    viewer = as_role("viewer")
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    text = chain_card(viewer)
    assert "Sealed up to: nothing sealed yet" in text and "Last verify: never" in text
    runner = app.test_cli_runner()
    db.session.commit()
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    db.session.rollback()
    text = chain_card(viewer)
    assert f"Sealed up to: position {waiting}, an event of" in text
    assert "Waiting to be sealed: 2" in text  # the seal's and the verify's own events, sealed by the next run
    assert "Last verify: OK" in text and f"up to position {waiting}" in text


def test_the_dashboard_shows_a_failed_verify_with_what_it_found(app, as_role, bank):
    runner = app.test_cli_runner()
    db.session.commit()
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        db.session.execute(sa.text("DROP TRIGGER audit_events_no_update"))
    db.session.execute(sa.text("UPDATE audit_events SET reason = 'hidden' WHERE position = 1"))
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    db.session.rollback()
    text = chain_card(as_role("viewer"))
    assert "Last verify: FAILED" in text and "edited event at position 1" in text


def test_an_events_page_shows_its_chain_position_and_link(app, as_role, bank):
    runner = app.test_cli_runner()
    db.session.commit()
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.position == 1)).one()
    waiting = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.position.is_(None))).first()
    db.session.rollback()
    viewer = as_role("viewer")
    page = viewer.get(f"/admin/auditevent/details/?id={event.id}").text
    assert "Chain position" in page and event.link.hex() in page
    assert "not sealed yet" in viewer.get(f"/admin/auditevent/details/?id={waiting.id}").text
