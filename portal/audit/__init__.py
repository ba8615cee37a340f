"""The audit core: one call records who did what, in the caller's database transaction.

Doors (API, web, admin, CLI) describe the actor once per request or command as an `Actor`; domain functions
pass it on to `record`. Nothing here knows about Flask requests.
"""
import enum
import functools
from dataclasses import dataclass, replace
from typing import Optional

import sqlalchemy as sa

from portal.audit.canonical import canonical_bytes
from portal.extensions import db
from portal.kernel import clock
from portal.kernel.errors import DomainError
from portal.models import AuditEvent
from portal.text import storable

_INSERT_EVENT = AuditEvent.__table__.insert()  # built once; each event is its parameters


@functools.cache
def _relaxed_insert(names):
    """The same insert, of the columns `names`, for an event whose transaction need not wait for the disk
    (PostgreSQL): the statement also relaxes its transaction's commit (set_config(..., true) lasts until the
    transaction ends), in the one round trip. Built once per set of columns."""
    table = AuditEvent.__table__
    values = sa.select(*(sa.bindparam(name, type_=table.c[name].type) for name in names))
    return table.insert().from_select(names, values.where(sa.func.set_config("synchronous_commit", "off", True)
                                                          == "off"))


# Fields whose values must never reach the audit log, whatever a caller passes in `changes`.
SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "secret"})


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where."""

    type: str  # user, token, system or anonymous
    user_id: Optional[int] = None
    token_id: Optional[int] = None
    app_id: Optional[int] = None  # the registered app a credential acts for
    consent_id: Optional[int] = None  # the consent an OAuth token acts under
    maker_user_id: Optional[int] = None  # four eyes: who asked for the correction this (checker) applies
    correction_request_id: Optional[int] = None  # four eyes: the request it applies
    ip: Optional[str] = None
    user_agent: Optional[str] = None
    request_id: Optional[str] = None  # the server's own id of the request (or the command's)
    client_request_id: Optional[str] = None  # the X-Request-ID the client sent, if a sane one

    @classmethod
    def system(cls, request_id=None):
        """Return the actor for the command line and other work done by the system itself."""
        return cls(type="system", request_id=request_id)

    @classmethod
    def for_user(cls, user, **where):
        """Return the actor for a person acting in their own name (a customer on the pages, staff)."""
        return cls(type="user", user_id=user.id, **where)

    @classmethod
    def for_principal(cls, principal, **where):
        """Return the actor for an API call: the customer, through the credential that acts for them (and the app
        and consent it acts under, if any)."""
        return cls(type="token", user_id=principal.user_id, token_id=principal.token_id, app_id=principal.app_id,
                   consent_id=principal.consent_id, **where)

    @classmethod
    def for_token(cls, token, **where):
        """Return the actor for an API token acting for its owner (and the app it is for, if any)."""
        return cls(type="token", user_id=token.user_id, token_id=token.id, app_id=token.app_id, **where)

    def with_request(self, **where):
        """Return a copy of this actor with where it acts from (address, user agent, request ids) replaced."""
        return replace(self, **where)


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was refused: a stable machine-readable code and a message for staff and auditors.

    Kept apart from `reason`, which is only ever a member of staff's own reason for what they asked.
    """

    code: str
    message: str

    @classmethod
    def of(cls, error):
        """Return the refusal a domain error stands for (its code, and its message led by the field it names)."""
        if isinstance(error, DomainError):
            return cls(error.code, f"{error.field}: {error.message}" if error.field else error.message)
        return cls("error", str(error))


def _clean(changes):
    if not changes:
        return None
    return {
        field: ["[redacted]", "[redacted]"] if field in SECRET_FIELDS else [_plain(old), _plain(new)]
        for field, (old, new) in changes.items()
    }


def _plain(value):
    """Make a value JSON-friendly: enums give their value, dates ISO 8601, sets a sorted list."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return storable(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record(actor, action, *, object_type=None, object_id=None, subject_user_id=None, changes=None, reason=None,
           outcome="success", refusal=None, wait_for_disk=True):
    """Write an audit event in the current session's transaction; it commits, or rolls back, with the change.

    `wait_for_disk=False` is for the record of something that changed nothing (an app's read): on PostgreSQL its
    transaction's COMMIT then returns before the WAL is flushed, so a server crash within a fraction of a second
    may lose that record, never a balance; a later synchronous commit (a posting, the sealer) flushes it too, so
    no sealed event is ever lost.

    `reason` is a member of staff's own reason for what they did or asked; `refusal` (a `Refusal`) says why an
    attempt was refused, for an event whose outcome is not `success`.

    Refusals are recorded with what was asked, so text here may hold what no database stores (a lone surrogate,
    NUL): it is written escaped, and the record of a refusal never fails for the input that was refused.
    """
    event = dict(
        occurred_at=clock.now(),
        actor_type=actor.type,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        actor_app_id=actor.app_id,
        actor_consent_id=actor.consent_id,
        maker_user_id=actor.maker_user_id,
        correction_request_id=actor.correction_request_id,
        ip=actor.ip,
        user_agent=storable((actor.user_agent or "")[:255]) or None,
        request_id=actor.request_id,
        client_request_id=actor.client_request_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else storable(str(object_id)),
        subject_user_id=subject_user_id,
        changes=_clean(changes),
        reason=storable(reason),
        outcome=outcome,
        refusal_code=None if refusal is None else refusal.code[:64],
        refusal_message=None if refusal is None else storable(refusal.message[:2000]),
    )
    event["canonical"] = canonical_bytes(event)  # what the sealer chains; position and link come later
    relaxed = not wait_for_disk and db.session.get_bind().dialect.name == "postgresql"
    db.session.execute(_relaxed_insert(tuple(event)) if relaxed else _INSERT_EVENT, event)

