"""Idempotency-Key on POST: a repeat replays the first successful response; a different request is refused.

The key row is claimed inside the posting's own database transaction, before the posting, so:
- success commits the key, its fingerprint and the response together;
- a refusal rolls all of it back (only successful results are remembered);
- a concurrent repeat blocks on the key's primary key until the first commits, then finds the row and
  replays it (PostgreSQL); on SQLite the write lock taken up front serialises them the same way.
Keys are kept at least KEEP_HOURS (the contract's 24 hours); `flask idempotency purge` deletes older ones.
"""
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

import sqlalchemy as sa

from portal import audit
from portal.api.errors import ApiError, validation_error
from portal.database import upsert_insert
from portal.extensions import db
from portal.kernel import clock, errors
from portal.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEEP_HOURS = 24  # the API contract: a key is remembered at least this long
MAX_HOURS = 24 * 366 * 100  # a century: beyond it, "older than" means nothing (and overflows a datetime)
_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # matched whole: "$" would let a trailing newline through


@dataclass(frozen=True)
class Replay:
    """The first response to a key, to answer its repeat with."""

    status: int
    body: dict


def parse_key(value):
    """Return the key, None without one; refuse one that is not 1-255 printable ASCII characters."""
    if value is None:
        return None
    if not _KEY.fullmatch(value) or not value.strip():
        raise validation_error({HEADER: "must be 1 to 255 printable ASCII characters"})
    return value


def fingerprint(*parts):
    """A digest of what makes two requests "the same": path parameters and the parsed JSON body."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def claim(user_id, key, print_):
    """Claim `key` for this request; return a Replay if it was used before by the same request.

    Raise 409 idempotency_conflict if it was used by a different one.
    """
    claimed = db.session.execute(
        upsert_insert(IdempotencyKey).values(user_id=user_id, key=key, fingerprint=print_)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.key)
    ).first()
    if claimed is not None:
        return None
    existing = db.session.execute(
        sa.select(IdempotencyKey.fingerprint, IdempotencyKey.status_code, IdempotencyKey.response_body)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).one()
    if existing.fingerprint != print_ or existing.status_code is None:
        raise ApiError(409, "idempotency_conflict",
                       "This Idempotency-Key was already used for a different request.")
    return Replay(existing.status_code, json.loads(existing.response_body))


def remember(user_id, key, status, body):
    """Store the response of the request that claimed `key`, in its transaction."""
    db.session.execute(
        sa.update(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status_code=status, response_body=json.dumps(body))
    )


def purge(older_than_hours, *, actor):
    """Delete the keys older than `older_than_hours` (at least KEEP_HOURS) and return how many; audited."""
    if not KEEP_HOURS <= older_than_hours <= MAX_HOURS:
        raise errors.ValidationError(
            f"must be from {KEEP_HOURS} (keys are promised to live {KEEP_HOURS} hours) to {MAX_HOURS}",
            field="older_than_hours")
    cutoff = clock.now() - dt.timedelta(hours=older_than_hours)
    # One statement on the created_at index; a repeat of a purged key then runs as a new request, which is
    # what the contract allows after 24 hours.
    deleted = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
    audit.record(actor, "idempotency.purge", object_type="idempotency_key",
                 changes={"deleted": [None, deleted], "older_than_hours": [None, older_than_hours]})
    return deleted
