"""The sealed hash chain over the audit log: sealing, the trigger that allows only it, `flask audit verify` naming
each kind of tampering done behind the app's back, and signed checkpoints kept outside the database."""
import datetime as dt
import json
import shutil

import pytest
import sqlalchemy as sa

from portal import audit, ledger
from portal.audit import chain
from portal.audit.canonical import FIELDS, canonical_bytes
from portal.extensions import db
from portal.kernel import clock
from portal.models import AuditChainHead, AuditEvent
from tests.factories import SYSTEM, make_account

KEY = "test-checkpoint-key-" + "k" * 20


@pytest.fixture
def app(app):
    app.config["AUDIT_CHECKPOINT_KEY"] = KEY
    return app


def record_events(count, action="test.event", **fields):
    """Write `count` events through the audit core and commit them (unsealed)."""
    for i in range(count):
        audit.record(SYSTEM, action, object_type="thing", object_id=i, **fields)
    db.session.commit()


def invoke(runner, *args):
    db.session.commit()  # the command runs on its own connection too: the test holds no lock meanwhile
    result = runner.invoke(args=list(args))
    db.session.rollback()
    return result


def sealed_rows():
    return db.session.execute(sa.select(AuditEvent.id, AuditEvent.position, AuditEvent.link)
                              .where(AuditEvent.position.is_not(None)).order_by(AuditEvent.position)).all()


def superuser(*statements):
    """Run raw SQL as a database superuser would: the append-only triggers out of the way."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:  # each SQLite test has its own copy of the database
        for trigger in ("audit_events_no_update", "audit_events_no_delete", "audit_events_seal_once"):
            db.session.execute(sa.text(f"DROP TRIGGER IF EXISTS {trigger}"))
    for statement, params in statements:
        db.session.execute(sa.text(statement), params)
    db.session.commit()


def id_at(position):
    return db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.position == position))


def forged_action(event_id):
    """The statement that edits an event's action and recomputes its canonical bytes, as a careful forger would."""
    row = db.session.execute(sa.select(AuditEvent.__table__).where(AuditEvent.id == event_id)).one()
    forged = canonical_bytes({**row._mapping, "action": "test.harmless"})
    return ("UPDATE audit_events SET action = 'test.harmless', canonical = :c WHERE id = :id",
            {"c": forged, "id": event_id})


def sealed_chain(runner, count=5):
    record_events(count)
    result = invoke(runner, "audit", "seal")
    assert result.exit_code == 0, result.output
    return [row.id for row in sealed_rows()]


# --- canonical bytes ---------------------------------------------------------------------------------------------

def test_the_canonical_bytes_cover_every_column_but_the_row_key_and_the_chain_itself():
    columns = {column.name for column in AuditEvent.__table__.columns}
    assert set(FIELDS) == columns - {"id", "canonical", "position", "link"}


def test_canonical_bytes_are_fixed_sorted_ascii_json_with_utc_microseconds():
    moment = dt.datetime(2026, 3, 1, 12, 0, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    data = canonical_bytes({"occurred_at": moment, "action": "x.y", "changes": {"b": [1.0, "é"], "a": [None, 2]}})
    assert data.startswith(b'{"action":"x.y","actor_app_id":null,')
    assert b'"changes":{"a":[null,2],"b":[1,"\\u00e9"]}' in data
    assert b'"format":1' in data and b'"occurred_at":"2026-03-01T10:00:05.000007Z"' in data
    assert b" " not in data


def test_canonical_bytes_written_with_the_event_are_recomputed_equal_from_the_stored_row(app):
    audit.record(SYSTEM, "test.event", object_type="thing", object_id="42", reason="Ünïcode reason \u2603",
                 changes={"z": [0.5, 1e20], "a": [{"nested": [1, 2]}, True], "when": [dt.date(2026, 1, 2), None]})
    db.session.commit()
    row = db.session.execute(sa.select(AuditEvent.__table__)).one()
    assert row.canonical == canonical_bytes(row._mapping)
    assert row.position is None and row.link is None  # inserted unsealed: the posting path touches no chain head


# --- sealing ------------------------------------------------------------------------------------------------------

def test_seal_chains_the_waiting_events_in_id_order_and_audits_itself(app, runner):
    record_events(4)
    ids = sorted(db.session.scalars(sa.select(AuditEvent.id)))
    result = invoke(runner, "audit", "seal")
    assert result.exit_code == 0, result.output
    assert "4 events sealed, the chain ends at position 4" in result.output
    rows = sealed_rows()
    assert [row.id for row in rows] == ids and [row.position for row in rows] == [1, 2, 3, 4]
    link = chain.GENESIS
    for row in rows:
        canonical = db.session.scalar(sa.select(AuditEvent.canonical).where(AuditEvent.id == row.id))
        link = chain.link_of(link, canonical)
        assert row.link == link
    head = db.session.get(AuditChainHead, 1)
    assert (head.position, head.link) == (4, link)
    seal_event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.seal")).one()
    assert seal_event.actor_type == "system" and seal_event.position is None  # sealed by the next run
    assert seal_event.changes == {"position": [0, 4]}


def test_a_second_seal_continues_the_chain_from_the_head(app, runner):
    sealed_chain(runner, 3)
    record_events(2)
    assert invoke(runner, "audit", "seal").exit_code == 0
    assert [row.position for row in sealed_rows()] == [1, 2, 3, 4, 5, 6]  # 3, the first seal's event, 2 more
    assert invoke(runner, "audit", "verify").exit_code == 0


@pytest.mark.parametrize("column", [c.name for c in AuditEvent.__table__.columns
                                    if c.name not in ("position", "link")])
def test_the_trigger_refuses_an_update_of_any_other_column(app, runner, column):
    sealed_chain(runner, 1)
    before = db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.id)).all()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text(f"UPDATE audit_events SET {column} = {column}"))
    db.session.rollback()
    assert db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.id)).all() == before


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET position = position + 100 WHERE position IS NOT NULL",  # re-sealing a sealed row
    "UPDATE audit_events SET link = NULL WHERE position IS NOT NULL",
    "UPDATE audit_events SET position = 99 WHERE position IS NULL",  # a position without a link
    "UPDATE audit_events SET position = 99, link = :link, reason = 'x' WHERE position IS NULL",  # and an edit
    "DELETE FROM audit_events",
])
def test_the_trigger_allows_only_the_sealers_first_update_of_position_and_link(app, runner, statement):
    sealed_chain(runner, 2)  # two sealed events and the seal's own, waiting
    before = db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.id)).all()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text(statement), {"link": b"\0"} if ":link" in statement else {})
    db.session.rollback()
    assert db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.id)).all() == before
    db.session.execute(sa.text("UPDATE audit_events SET position = 99, link = :link WHERE position IS NULL"),
                       {"link": b"\0"})
    db.session.rollback()  # the sealer's own UPDATE goes through (rolled back: this test only asks the trigger)


# --- verify: a sound chain, and tampering ------------------------------------------------------------------------

def test_verify_passes_a_sound_chain_reports_its_speed_and_audits_the_result(app, runner):
    sealed_chain(runner, 5)
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "5 events checked up to position 5, 1 waiting" in result.output and "events/s" in result.output
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.verify")).one()
    assert (event.actor_type, event.outcome, event.object_id) == ("system", "success", "5")


def failed_verify(runner, *args):
    result = invoke(runner, "audit", "verify", *args)
    assert result.exit_code == 1, result.output
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.verify")).one()
    assert event.outcome == "failed" and event.actor_type == "system"
    assert event.refusal_message in result.output
    return result.output, event.refusal_code


def test_an_edited_event_is_named_by_position_and_id(app, runner):
    ids = sealed_chain(runner)
    superuser(("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id", {"id": ids[2]}))
    output, code = failed_verify(runner)
    assert f"edited event at position 3 (event id {ids[2]})" in output and code == "chain.edited"


def test_an_edited_event_whose_bytes_were_recomputed_breaks_its_link(app, runner):
    ids = sealed_chain(runner)
    superuser(forged_action(ids[1]))
    output, code = failed_verify(runner)
    assert f"link mismatch at position 2 (event id {ids[1]})" in output and code == "chain.edited"


def test_an_unsealed_event_whose_bytes_were_replaced_by_text_is_sealed_and_named_by_verify(app, runner):
    # On SQLite the BLOB column keeps the TEXT an attacker writes; PostgreSQL casts it to bytea. The sealer must
    # not stop on it (every later event would stay unsealed): it seals the text's UTF-8 bytes, and verify names it.
    ids = sealed_chain(runner, count=2)
    record_events(3)
    waiting = db.session.scalars(sa.select(AuditEvent.id).where(AuditEvent.position.is_(None))
                                 .order_by(AuditEvent.id)).all()
    assert len(waiting) == 4  # the first seal's own audit event, then the three
    superuser(("UPDATE audit_events SET canonical = 'forged' WHERE id = :id", {"id": waiting[2]}))
    result = invoke(runner, "audit", "seal")
    assert result.exit_code == 0, result.output
    assert [row.id for row in sealed_rows()] == ids + waiting  # none skipped, none left waiting behind it
    output, code = failed_verify(runner)
    assert f"edited event at position 5 (event id {waiting[2]})" in output and code == "chain.edited"


def test_a_sealed_event_whose_bytes_were_replaced_by_text_is_named_after_an_earlier_broken_link(app, runner):
    ids = sealed_chain(runner)
    superuser(forged_action(ids[1]), ("UPDATE audit_events SET canonical = 'forged' WHERE id = :id", {"id": ids[3]}))
    output, code = failed_verify(runner)  # the search after the broken link reads the text without failing on it
    assert f"link mismatch at position 2 (event id {ids[1]})" in output and code == "chain.edited"


def test_a_deleted_event_is_a_gap_in_the_positions(app, runner):
    ids = sealed_chain(runner)
    superuser(("DELETE FROM audit_events WHERE id = :id", {"id": ids[1]}))
    output, code = failed_verify(runner)
    assert f"deleted event: position 2 missing, the chain jumps to position 3 (event id {ids[2]})" in output
    assert code == "chain.deleted"


def renumber(from_position, by):
    """Move positions from `from_position` on by `by` (through negatives: the positions are unique)."""
    return [("UPDATE audit_events SET position = -position WHERE position >= :p", {"p": from_position}),
            ("UPDATE audit_events SET position = -position + :by WHERE position < 0", {"by": by})]


def test_an_inserted_event_with_the_positions_renumbered_is_named(app, runner):
    ids = sealed_chain(runner)
    row = db.session.execute(sa.select(AuditEvent.__table__).where(AuditEvent.id == ids[1])).one()
    forged = canonical_bytes({**row._mapping, "action": "test.forged"})
    copied = ", ".join("'test.forged'" if name == "action" else name for name in FIELDS)
    superuser(*renumber(2, 1), (
        f"INSERT INTO audit_events ({', '.join(FIELDS)}, canonical, position, link) "
        f"SELECT {copied}, :c, 2, :link FROM audit_events WHERE id = :id",
        {"c": forged, "link": chain.link_of(db.session.scalar(sa.select(AuditEvent.link).where(
            AuditEvent.id == ids[0])), forged), "id": ids[1]}))
    inserted = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "test.forged"))
    output, code = failed_verify(runner)
    assert f"inserted event at position 2 (event id {inserted})" in output and code == "chain.inserted"


def test_reordered_events_are_named(app, runner):
    ids = sealed_chain(runner)
    superuser(("UPDATE audit_events SET position = -1 WHERE id = :id", {"id": ids[1]}),
              ("UPDATE audit_events SET position = 2 WHERE id = :id", {"id": ids[3]}),
              ("UPDATE audit_events SET position = 4 WHERE id = :id", {"id": ids[1]}))
    output, code = failed_verify(runner)
    assert f"reordered events at position 2 (event id {ids[3]}): event id {ids[1]}, now at position 4, was " \
           "sealed at position 2" in output
    assert code == "chain.reordered"


def test_a_truncated_tail_is_found_against_the_sealers_head(app, runner):
    ids = sealed_chain(runner)
    superuser(("DELETE FROM audit_events WHERE position >= 4", {}))
    output, code = failed_verify(runner)
    assert "truncated tail: the chain ends at position 3, the sealer recorded position 5" in output
    assert code == "chain.truncated" and id_at(3) == ids[2]


def test_an_old_event_still_waiting_is_a_failure_naming_it(app, runner, monkeypatch):
    sealed_chain(runner, 2)
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now + dt.timedelta(seconds=chain.MAX_WAITING_SECONDS - 5))
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 0, result.output  # the seal's own event waits, within the allowance
    waiting = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)).where(AuditEvent.position.is_(None)))
    monkeypatch.setattr(clock, "now", lambda: now + dt.timedelta(seconds=chain.MAX_WAITING_SECONDS + 5))
    result = invoke(runner, "audit", "verify")
    assert result.exit_code == 1
    assert f"event id {waiting} has waited unsealed since" in result.output
    assert "a database superuser's INSERT" in result.output


# --- checkpoints -------------------------------------------------------------------------------------------------

def checkpoint(runner, tmp_path, name="checkpoint.json"):
    result = invoke(runner, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    path = tmp_path / name
    path.write_text(result.output)
    return path, json.loads(result.output)


def test_checkpoint_is_signed_json_of_the_last_sealed_position_and_link(app, runner, tmp_path):
    sealed_chain(runner, 3)
    path, document = checkpoint(runner, tmp_path)
    assert document["position"] == 3 and document["link"] == db.session.scalar(
        sa.select(AuditEvent.link).where(AuditEvent.position == 3)).hex()
    assert chain.read_checkpoint(path.read_text(), KEY).position == 3
    assert db.session.scalars(sa.select(AuditEvent.actor_type).where(AuditEvent.action == "audit.checkpoint")
                              ).all() == ["system"]
    record_events(2)
    assert invoke(runner, "audit", "seal").exit_code == 0
    result = invoke(runner, "audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 0, result.output
    assert "the log extends the checkpoint" in result.output


def test_a_checkpoint_altered_or_signed_with_another_key_is_refused(app, runner, tmp_path):
    sealed_chain(runner, 3)
    path, document = checkpoint(runner, tmp_path)
    path.write_text(json.dumps({**document, "position": 2}))
    output, code = failed_verify(runner, "--checkpoint", str(path))
    assert "signature does not match" in output and code == "chain.checkpoint"


def test_checkpoint_commands_refuse_to_run_without_a_key(app, runner, tmp_path):
    sealed_chain(runner, 1)
    app.config["AUDIT_CHECKPOINT_KEY"] = ""
    result = invoke(runner, "audit", "checkpoint")
    assert result.exit_code == 1 and "AUDIT_CHECKPOINT_KEY is not set" in result.output


def test_a_tail_truncated_with_the_sealers_head_rewound_is_caught_by_the_checkpoint(app, runner, tmp_path):
    sealed_chain(runner, 5)
    path, _ = checkpoint(runner, tmp_path)
    assert invoke(runner, "audit", "seal").exit_code == 0
    link_3 = db.session.scalar(sa.select(AuditEvent.link).where(AuditEvent.position == 3))
    superuser(("DELETE FROM audit_events WHERE position > 3", {}),
              ("UPDATE audit_chain_head SET position = 3, link = :link", {"link": link_3}))
    assert invoke(runner, "audit", "verify").exit_code == 0  # without the checkpoint, nothing shows
    result = invoke(runner, "audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert "truncated tail: the chain ends at position 3, the checkpoint of" in result.output
    assert "is at position 5" in result.output


def test_a_chain_rewritten_consistently_does_not_extend_the_checkpoint(app, runner, tmp_path):
    ids = sealed_chain(runner, 3)
    path, _ = checkpoint(runner, tmp_path)
    # Rewrite event 2 and recompute every link after it, and the head: the chain is consistent again.
    rows = db.session.execute(sa.select(AuditEvent.__table__).order_by(AuditEvent.position)
                              .where(AuditEvent.position.is_not(None))).all()
    statements, link = [], chain.GENESIS
    for row in rows:
        values = dict(row._mapping)
        if row.id == ids[1]:
            values["reason"] = "rewritten"
        canonical = canonical_bytes(values)
        link = chain.link_of(link, canonical)
        statements.append(("UPDATE audit_events SET reason = :r, canonical = :c, link = :l WHERE id = :id",
                           {"r": values["reason"], "c": canonical, "l": link, "id": row.id}))
    statements.append(("UPDATE audit_chain_head SET link = :l", {"l": link}))
    superuser(*statements)
    assert invoke(runner, "audit", "verify").exit_code == 0  # consistent with itself
    result = invoke(runner, "audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert "does not extend the checkpoint" in result.output and "at position 3" in result.output


def test_a_restored_backup_older_than_the_checkpoint_is_detected(tmp_path, request):
    """A real restore: the SQLite file copied aside, the log goes on and is checkpointed, the old copy put back."""
    from tests.conftest import _database_url, _make_app

    url = _database_url("sqlite", request, tmp_path)
    path = url.removeprefix("sqlite:///")
    app = _make_app(url)
    app.config["AUDIT_CHECKPOINT_KEY"] = KEY
    runner = app.test_cli_runner()
    with app.app_context():
        sealed_chain(runner, 3)
        db.session.remove()
        db.engine.dispose()
        shutil.copy(path, tmp_path / "backup.db")
        record_events(4)
        assert invoke(runner, "audit", "seal").exit_code == 0
        checkpoint_path, document = checkpoint(runner, tmp_path)
        db.session.remove()
        db.engine.dispose()
        shutil.copy(tmp_path / "backup.db", path)  # the restore
        assert invoke(runner, "audit", "verify").exit_code == 0  # the backup is consistent with itself
        result = invoke(runner, "audit", "verify", "--checkpoint", str(checkpoint_path))
        assert result.exit_code == 1
        assert f"the checkpoint of {document['time']} is at position {document['position']}" in result.output
        assert "an older backup was restored" in result.output
        db.session.remove()
        db.engine.dispose()


# --- PostgreSQL: late commits, two sealers, and a posting never waiting on the head ------------------------------

pg = pytest.mark.postgres_only


@pg
def test_an_event_committing_late_is_sealed_after_the_ones_sealed_meanwhile(pg_app):
    import threading

    app = pg_app
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    late = {}

    def slow_transaction():
        with app.app_context():
            audit.record(SYSTEM, "test.late")
            db.session.flush()
            late["id"] = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
            inserted.set()
            release.wait(30)
            db.session.commit()
            db.session.remove()
            done.set()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    assert inserted.wait(30)
    record_events(3)  # higher ids, committed first
    assert chain.seal(db.session, clock.now()).count == 3
    db.session.commit()
    positions = dict(db.session.execute(sa.select(AuditEvent.id, AuditEvent.position)).all())
    assert late["id"] < min(i for i in positions if i != late["id"]) and late["id"] not in positions
    release.set()
    assert done.wait(30)
    thread.join()
    assert chain.seal(db.session, clock.now()).count == 1
    db.session.commit()
    assert db.session.scalar(sa.select(AuditEvent.position).where(AuditEvent.id == late["id"])) == 4
    report = chain.verify(db.engine, clock.now())
    assert report.ok and report.sealed == 4 and report.waiting == 0


@pg
def test_two_sealers_at_once_make_one_chain(pg_app):
    from tests.test_concurrency import run_together

    record_events(600)
    db.session.remove()

    def sealer(_):
        counts = []
        while True:
            sealed = chain.seal(db.session, clock.now(), batch=50)
            db.session.commit()
            counts.append(sealed.count)
            if sealed.count == 0:
                return sum(counts)

    results = run_together(pg_app, 4, sealer)
    assert sum(results) == 600 and sum(1 for r in results if r) >= 2  # they took turns, each sealing some
    positions = db.session.scalars(sa.select(AuditEvent.position).order_by(AuditEvent.position)).all()
    assert positions == list(range(1, 601))
    report = chain.verify(db.engine, clock.now())
    assert report.ok and report.sealed == 600


@pg
def test_a_posting_never_waits_on_the_sealers_head(pg_app):
    from tests.test_concurrency import run_together

    account = make_account(balance=100_00)
    account_id = account.id
    db.session.commit()
    chain.lock_head(db.session)  # a sealer holding the head lock, as long as it likes
    try:
        def post(_):
            db.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            from portal.models import Account
            ledger.withdraw(db.session.get(Account, account_id), 1_00, actor=SYSTEM)
            db.session.commit()
            return "ok"

        assert run_together(pg_app, 2, post) == ["ok", "ok"]
    finally:
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.position.is_(None))) >= 2


# --- the follower, and events written before the chain existed ---------------------------------------------------

def test_seal_follow_keeps_sealing_as_events_arrive_and_stops_on_sigterm(app):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.conftest import ROOT

    def wait_until_sealed(deadline=30):
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            unsealed = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                         .where(AuditEvent.position.is_(None), AuditEvent.action == "test.event"))
            db.session.rollback()
            if unsealed == 0:
                return True
            time.sleep(0.1)
        return False

    record_events(3)
    env = {**os.environ, "PORTAL_ENV": "testing", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    follower = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "audit", "seal",
                                 "--follow", "--interval", "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until_sealed()
        record_events(4)  # arriving while it follows
        assert wait_until_sealed()
    finally:
        follower.send_signal(signal.SIGTERM)
        output, _ = follower.communicate(timeout=30)
    assert follower.returncode == 0, output
    assert "audit seal: following from position 0" in output and "lag" in output
    report = chain.verify(db.engine, clock.now())
    assert report.ok and report.sealed >= 7
    follow = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit.seal")).one()
    assert follow.changes == {"follow": [None, True]} and follow.position is not None  # it sealed its own event


def test_events_written_before_the_chain_get_their_canonical_bytes_from_the_migration(app, runner):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import MIGRATIONS

    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0009")
    try:
        db.session.execute(sa.text(
            "INSERT INTO audit_events (occurred_at, actor_type, action, outcome, changes, reason) "
            "VALUES (:at, 'system', 'test.old', 'success', :changes, 'before the chain')"),
            {"at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC) if db.engine.dialect.name == "postgresql"
             else "2026-01-02 03:04:05.000006", "changes": json.dumps({"b": [1, 2.5], "a": ["x", None]})})
        db.session.commit()
    finally:
        db.session.remove()
        upgrade(directory=MIGRATIONS)
    row = db.session.execute(sa.select(AuditEvent.__table__)).one()
    assert row.canonical == canonical_bytes(row._mapping)
    assert b'"occurred_at":"2026-01-02T03:04:05.000006Z"' in row.canonical
    assert invoke(runner, "audit", "seal").exit_code == 0
    assert invoke(runner, "audit", "verify").exit_code == 0
    assert db.session.scalar(sa.select(AuditEvent.position).where(AuditEvent.action == "test.old")) == 1
