"""The sealed hash chain over the audit log: sealing, verifying, and signed checkpoints.

link(n) = SHA-256(link(n-1) ‖ canonical bytes of the event at position n), link(0) = 32 zero bytes.

Events are inserted unsealed (position and link NULL) by `portal.audit.record`, so no posting waits on or locks
a chain head. The sealer (`seal`) runs apart: it locks the one `audit_chain_head` row (only sealers touch it; on
SQLite the write lock every transaction takes does the same), takes the unsealed events in id order, gives them
the next positions and links (the one UPDATE the append-only trigger lets through), and moves the head. An event
whose transaction commits late is unsealed when it becomes visible and simply gets a later position.

`verify` walks the chain by position in keyset pages (constant memory) and names the first thing wrong.
Nothing here knows about Flask.
"""
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Optional

import sqlalchemy as sa

from portal.audit.canonical import FIELDS, canonical_bytes
from portal.database import upsert_insert
from portal.models import AuditChainHead, AuditEvent

GENESIS = bytes(32)
SEAL_BATCH = 1000
VERIFY_PAGE = 2000
DIAGNOSE_WINDOW = 1000  # rows after a broken link searched for where its event went (reordering, insertion)
# An event may wait this long for the sealer before verify calls it a failure: the sealer catches up within
# seconds, so an older unsealed row means the sealer is down, or the row was written behind the app's back.
MAX_WAITING_SECONDS = 300
CHECKPOINT_VERSION = 1

_events = AuditEvent.__table__
_head = AuditChainHead.__table__


class ChainError(Exception):
    """The chain cannot be sealed or a checkpoint cannot be read."""


def link_of(previous, canonical):
    """Return the link that follows `previous` for an event with these canonical bytes."""
    return hashlib.sha256(previous + canonical).digest()


def stored_bytes(value):
    """The bytes a `canonical` column holds. The app only writes bytes; a value written behind its back may be
    another type (SQLite's BLOB column keeps TEXT or a number): taken as the UTF-8 bytes of its text, as SQLite's
    CAST(... AS BLOB) does, so a tampered row is sealed like any other and `verify` names it."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


# --- sealing -------------------------------------------------------------------------------------------------

@dataclass
class Sealed:
    """What one sealing pass did."""

    count: int
    position: int
    lag_seconds: Optional[float] = None  # how long the oldest event of the pass waited to be sealed


_SEAL_ROWS_PG = sa.text(
    "UPDATE audit_events AS e SET position = v.position, link = v.link "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:positions AS bigint[]), CAST(:links AS bytea[])) "
    "AS v(id, position, link) WHERE e.id = v.id")


def head_position(session):
    """Return the position the sealer last recorded (0 before the first seal)."""
    return session.scalar(sa.select(_head.c.position).where(_head.c.id == 1)) or 0


def lock_head(session):
    """Lock the chain head row (creating it at position 0 if missing) and return it: sealers queue here."""
    session.execute(upsert_insert(_head).values(id=1, position=0, link=GENESIS).on_conflict_do_nothing())
    return session.execute(sa.select(_head).where(_head.c.id == 1).with_for_update()).one()


def seal(session, now, batch=SEAL_BATCH):
    """Seal up to `batch` waiting events, in id order, after the head; flush, never commit."""
    head = lock_head(session)
    rows = session.execute(
        sa.select(_events.c.id, _events.c.canonical, _events.c.occurred_at)
        .where(_events.c.position.is_(None)).order_by(_events.c.id).limit(batch)
    ).all()
    if not rows:
        return Sealed(0, head.position)
    position, link = head.position, head.link
    updates = []
    for row in rows:
        if row.canonical is None:
            raise ChainError(f"audit event {row.id} has no canonical bytes: it was not written by the app "
                             "(see docs/operations.md, 'When audit verify fails')")
        position += 1
        link = link_of(link, stored_bytes(row.canonical))  # never stop on a tampered row: verify names it
        updates.append({"event_id": row.id, "new_position": position, "new_link": link})
    if session.get_bind().dialect.name == "postgresql":  # one statement for the batch, not one per row
        session.execute(_SEAL_ROWS_PG, {"ids": [u["event_id"] for u in updates],
                                        "positions": [u["new_position"] for u in updates],
                                        "links": [u["new_link"] for u in updates]})
    else:
        session.execute(
            sa.update(_events).where(_events.c.id == sa.bindparam("event_id"))
            .values(position=sa.bindparam("new_position"), link=sa.bindparam("new_link")),
            updates,
        )
    session.execute(sa.update(_head).where(_head.c.id == 1).values(
        position=position, link=link, event_at=rows[-1].occurred_at, sealed_at=now))
    oldest = min(row.occurred_at for row in rows)
    return Sealed(len(rows), position, max(0.0, (now - oldest).total_seconds()))


# --- the chain's state, for the back-office -------------------------------------------------------------------

VERIFY_ACTION = "audit.verify"


@dataclass
class State:
    """Where sealing is, and what the last `audit verify` said."""

    position: int
    event_at: Optional[dt.datetime]  # when the last sealed event occurred
    sealed_at: Optional[dt.datetime]  # when the sealer last moved the head
    waiting: int
    oldest_waiting: Optional[dt.datetime]
    last_verify: Optional[AuditEvent]  # the latest `audit.verify` event (its outcome, time and message)


def state(session):
    """Return the chain's state: the recorded head, the waiting events, and the last verify's audit event."""
    head = session.execute(sa.select(_head).where(_head.c.id == 1)).first()
    waiting, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(_events.c.occurred_at))
                                      .where(_events.c.position.is_(None))).one()
    last_verify = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == VERIFY_ACTION)
                                 .order_by(AuditEvent.id.desc()).limit(1))
    return State(head.position if head else 0, head.event_at if head else None, head.sealed_at if head else None,
                 waiting, oldest, last_verify)


# --- checkpoints ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    """A sealed position and its link at a moment, signed so it can be kept outside the database."""

    position: int
    link: str  # hex
    time: str  # UTC, ISO 8601

    def signed_bytes(self):
        """The bytes the HMAC covers: JSON of link, position, time and version, keys sorted, no whitespace."""
        return json.dumps({"link": self.link, "position": self.position, "time": self.time,
                           "version": CHECKPOINT_VERSION}, sort_keys=True, separators=(",", ":")).encode("ascii")

    def signature(self, key):
        """HMAC-SHA256 of the signed bytes with `key`, in hex."""
        return hmac.new(key.encode("utf-8"), self.signed_bytes(), hashlib.sha256).hexdigest()

    def document(self, key):
        """The checkpoint as the JSON document `flask audit checkpoint` prints."""
        return json.dumps({"version": CHECKPOINT_VERSION, "position": self.position, "link": self.link,
                           "time": self.time, "hmac": self.signature(key)}, sort_keys=True)


def take_checkpoint(session, now):
    """Return a checkpoint of the last sealed event (position 0 and the genesis link when none is sealed)."""
    row = session.execute(sa.select(_events.c.position, _events.c.link).where(_events.c.position.is_not(None))
                          .order_by(_events.c.position.desc()).limit(1)).first()
    position, link = (row.position, row.link) if row else (0, GENESIS)
    return Checkpoint(position, link.hex(), now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def read_checkpoint(text, key):
    """Parse a checkpoint document and check its signature with `key`; raise ChainError if it does not hold."""
    try:
        document = json.loads(text)
        checkpoint = Checkpoint(int(document["position"]), str(document["link"]), str(document["time"]))
        signature = str(document["hmac"])
        version = document.get("version")
    except (ValueError, KeyError, TypeError):
        raise ChainError("the checkpoint is not a checkpoint document") from None
    if version != CHECKPOINT_VERSION:
        raise ChainError(f"checkpoint version {version!r} is not {CHECKPOINT_VERSION}")
    if not hmac.compare_digest(checkpoint.signature(key), signature):
        raise ChainError("the checkpoint's signature does not match: it was altered, or signed with another "
                         "AUDIT_CHECKPOINT_KEY")
    return checkpoint


# --- verifying -----------------------------------------------------------------------------------------------

@dataclass
class Problem:
    """The first thing found wrong: a kind (edited, deleted, inserted, reordered, truncated, waiting), where, and
    what it means."""

    kind: str
    message: str
    position: Optional[int] = None
    event_id: Optional[int] = None


@dataclass
class Report:
    """What `verify` found."""

    sealed: int = 0
    position: int = 0
    link: bytes = GENESIS
    waiting: int = 0
    oldest_waiting: Optional[dt.datetime] = None
    seconds: float = 0.0
    problem: Optional[Problem] = None
    head_position: Optional[int] = None
    checkpoint: Optional[Checkpoint] = field(default=None, repr=False)

    @property
    def ok(self):
        """Whether the chain holds."""
        return self.problem is None

    @property
    def rate(self):
        """Events verified per second."""
        return self.sealed / self.seconds if self.seconds > 0 else float(self.sealed)


_COLUMNS = [_events.c.id, _events.c.position, _events.c.link, _events.c.canonical] + [
    _events.c[name] for name in FIELDS]
_FIRST_FIELD = 4  # the fields follow id, position, link and canonical in each row read


def _pages(connection, after=0, page=VERIFY_PAGE):
    """Yield the sealed events in position order, `page` rows per query (keyset: constant memory)."""
    while True:
        rows = connection.execute(sa.select(*_COLUMNS).where(_events.c.position > after)
                                  .order_by(_events.c.position).limit(page)).all()
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].position


def _diagnose(connection, previous_link, row):
    """Name what a link mismatch at `row` is, from the rows after it: reordered, inserted, or edited."""
    following = connection.execute(sa.select(*_COLUMNS).where(_events.c.position > row.position)
                                   .order_by(_events.c.position).limit(DIAGNOSE_WINDOW)).all()
    where = f"at position {row.position} (event id {row.id})"
    for other in following:
        if not isinstance(other.canonical, bytes):  # removed or replaced behind the app's back: matches nothing
            continue
        if other.link == link_of(previous_link, other.canonical):
            if other.position == row.position + 1 and isinstance(row.canonical, bytes) \
                    and row.link != link_of(other.link, row.canonical):
                return Problem("inserted", f"inserted event {where}: the chain goes on without it at position "
                                           f"{other.position}", row.position, row.id)
            return Problem("reordered", f"reordered events {where}: event id {other.id}, now at position "
                                        f"{other.position}, was sealed at position {row.position}",
                           row.position, row.id)
        if row.link == link_of(previous_link, other.canonical):
            return Problem("reordered", f"reordered events {where}: the event sealed here is now event id "
                                        f"{other.id} at position {other.position}", row.position, row.id)
    return Problem("edited", f"link mismatch {where}: this event was edited and its bytes recomputed, or an event "
                             "was inserted or removed here and the positions renumbered", row.position, row.id)


def _walk(connection, report, checkpoint):
    previous_position, previous_link, previous_id, before_previous = 0, GENESIS, None, None
    for row in _pages(connection):
        where = f"at position {row.position} (event id {row.id})"
        if row.position == previous_position:
            return Problem("inserted", f"inserted event {where}: position {row.position} is also event id "
                                       f"{previous_id}'s", row.position, row.id)
        if row.position != previous_position + 1:
            missing = (f"position {previous_position + 1}" if row.position == previous_position + 2
                       else f"positions {previous_position + 1}-{row.position - 1}")
            return Problem("deleted", f"deleted event: {missing} missing, the chain jumps to position "
                                      f"{row.position} (event id {row.id})", previous_position + 1, row.id)
        if row.canonical is None or row.link is None:
            return Problem("edited", f"edited event {where}: its sealed bytes or link were removed",
                           row.position, row.id)
        if not isinstance(row.canonical, bytes):  # SQLite keeps what a superuser wrote: the app writes bytes
            held = "text" if isinstance(row.canonical, str) else "a number"
            return Problem("edited", f"edited event {where}: its columns no longer match the bytes it was sealed "
                                     f"with (its canonical column holds {held}, not bytes)", row.position, row.id)
        if canonical_bytes(dict(zip(FIELDS, row[_FIRST_FIELD:], strict=True))) != row.canonical:
            return Problem("edited", f"edited event {where}: its columns no longer match the bytes it was sealed "
                                     "with", row.position, row.id)
        if row.link != link_of(previous_link, row.canonical):
            if previous_position and row.link == link_of(before_previous, row.canonical):
                return Problem("inserted", f"inserted event at position {previous_position} (event id {previous_id}): "
                                           f"the chain goes on without it at position {row.position}",
                               previous_position, previous_id)
            return _diagnose(connection, previous_link, row)
        if checkpoint is not None and row.position == checkpoint.position and row.link.hex() != checkpoint.link:
            return Problem("edited", f"the log does not extend the checkpoint of {checkpoint.time}: the link {where} "
                                     "differs from the checkpoint's (the chain was rewritten up to here)",
                           row.position, row.id)
        before_previous = previous_link
        previous_position, previous_link, previous_id = row.position, row.link, row.id
        report.sealed += 1
        report.position, report.link = previous_position, previous_link
    return None


def _ends(connection, report, checkpoint):
    """Compare the chain's end with the checkpoint and with the head the sealer recorded."""
    end = report.position
    if checkpoint is not None and end < checkpoint.position:
        return Problem("truncated", f"truncated tail: the chain ends at position {end}, the checkpoint of "
                                    f"{checkpoint.time} is at position {checkpoint.position} (events were removed "
                                    "from the end, or an older backup was restored)", end + 1)
    head = connection.execute(sa.select(_head).where(_head.c.id == 1)).first()
    report.head_position = head.position if head else None
    if head is None:
        if end > 0:
            return Problem("truncated", f"the sealer's head record is missing, the chain ends at position {end}")
        return None
    if end < head.position:
        return Problem("truncated", f"truncated tail: the chain ends at position {end}, the sealer recorded "
                                    f"position {head.position}", end + 1)
    if end > head.position:
        return Problem("inserted", f"inserted events: positions {head.position + 1}-{end} were never sealed by the "
                                   f"sealer (its head is at position {head.position})", head.position + 1)
    if head.link != report.link:
        return Problem("edited", f"the link at position {end} differs from the one the sealer recorded: the chain "
                                 "was rewritten", end)
    return None


def _waiting(connection, report, now, max_waiting):
    row = connection.execute(sa.select(sa.func.count(), sa.func.min(_events.c.occurred_at))
                             .where(_events.c.position.is_(None))).one()
    report.waiting, oldest = row[0], row[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    report.oldest_waiting = oldest
    linked = connection.execute(sa.select(_events.c.id).where(_events.c.position.is_(None),
                                                              _events.c.link.is_not(None)).limit(1)).scalar()
    if linked is not None:
        return Problem("deleted", f"edited event id {linked}: it has a link but its position was removed",
                       event_id=linked)
    if oldest is not None and (now - oldest).total_seconds() > max_waiting:
        first = connection.execute(sa.select(_events.c.id).where(_events.c.position.is_(None))
                                   .order_by(_events.c.occurred_at).limit(1)).scalar()
        return Problem("waiting", f"event id {first} has waited unsealed since {oldest.isoformat()} (more than "
                                  f"{max_waiting} s): the sealer is not running, or the row was inserted behind the "
                                  "app's back (a database superuser's INSERT with an old time)", event_id=first)
    return None


def verify(engine, now, checkpoint=None, max_waiting=MAX_WAITING_SECONDS):
    """Recompute every link in position order and return a `Report` naming the first problem, if any.

    Reads in one repeatable-read transaction of its own (a consistent snapshot while the sealer goes on).
    """
    report = Report(checkpoint=checkpoint)
    started = time.perf_counter()
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        report.problem = (_walk(connection, report, checkpoint) or _ends(connection, report, checkpoint)
                          or _waiting(connection, report, now, max_waiting))
        connection.rollback()
    report.seconds = time.perf_counter() - started
    return report
