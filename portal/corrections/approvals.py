"""Four eyes: a correction named in FOUR_EYES is requested by one member of staff and applied only when a
different one, with the role the kind needs for its target, approves.

`request(asked, actor)` stores a CorrectionRequest and changes nothing else; `approve`, `reject` and `withdraw`
decide on a stored one (`RequestedCorrection`). Like every domain function they flush and audit, and never
commit: the door's unit of work commits the decision, and the correction an approval applies, together.
A refusal of the decision itself (not pending, the maker deciding, the wrong role) is raised as a DomainError
before anything is written; a correction the current state now refuses is not a refusal of the approval: the
request is marked `failed` with the reason, and that decision commits.
"""
import datetime as dt

import sqlalchemy as sa

from portal import audit
from portal.config import ConfigError, four_eyes_kinds
from portal.corrections.registry import KINDS, NotPermitted, apply, kind_of, rehearse, target_of
from portal.corrections.request import CorrectionRequest
from portal.extensions import db
from portal.identity.apps import REGISTER_ACTION as APP_REGISTER_ACTION
from portal.identity.apps import ROTATE_ACTION as APP_ROTATE_ACTION
from portal.identity.resets import RESET_LINK_ACTION
from portal.identity.users import CREATE_ACTION
from portal.kernel import clock
from portal.kernel.errors import DomainError, ValidationError, clean_text, require_reason
from portal.ledger.accounts import FREEZE_ACTION
from portal.models import RequestedCorrection, User

REQUEST_ACTION = "correction.request"
APPROVE_ACTION = "correction.approve"
REJECT_ACTION = "correction.reject"
WITHDRAW_ACTION = "correction.withdraw"
EXPIRE_ACTION = "correction.expire"
FAIL_ACTION = "correction.fail"

LIFETIME = dt.timedelta(days=7)
MAX_COMMENT = 1000
OBJECT_TYPE = "correction_request"
# Applied at once whatever FOUR_EYES says: freezing protects; the others show a one-time secret (a staff password,
# a reset link, an app's client secret, new or rotated) to whoever applies them, which must be the one who asked.
IMMEDIATE = frozenset({FREEZE_ACTION, CREATE_ACTION, RESET_LINK_ACTION, APP_REGISTER_ACTION, APP_ROTATE_ACTION})


class NotPending(DomainError):
    """The request has already been decided."""

    code = "not_pending"


class RequestExpired(DomainError):
    """The request has expired and can no longer be approved."""

    code = "expired"


class MakerIsChecker(DomainError):
    """The member of staff who asked for a correction cannot decide on it: a second one must."""

    code = "maker_is_checker"


class AlreadyRequested(DomainError):
    """The same correction of this target is already waiting for approval: decide on that request first."""

    code = "already_requested"


class NotMaker(DomainError):
    """Only the member of staff who asked for a correction can withdraw it."""

    code = "not_maker"


def init_app(app):
    """Read FOUR_EYES into the set of kinds it names; refuse to start on a name that is not a deferrable kind."""
    names = four_eyes_kinds(app.config.get("FOUR_EYES", ""))
    for name in names:
        if name not in KINDS:
            raise ConfigError(f"FOUR_EYES names {name!r}, which is not a kind of correction")
        if name in IMMEDIATE:
            raise ConfigError(f"FOUR_EYES names {name!r}, which always applies at once")
    app.config["FOUR_EYES"] = frozenset(names)
    if not names and app.config.get("ENV_NAME") == "production":
        app.logger.warning("FOUR_EYES is empty: one member of staff alone can move customers' money")


def needs_approval(config, name):
    """Whether correction `name` waits for a second member of staff under this configuration."""
    return name in config.get("FOUR_EYES", ())


def request(asked, actor):
    """Store `asked` (a CorrectionRequest) for a second member of staff to approve; return the stored request.

    It is rehearsed first, so a correction the current state refuses (or the maker may not ask for) is refused
    now, as the DomainError it meets; nothing but the request and its audit row is written.
    """
    kind = kind_of(asked.kind)
    if kind.name in IMMEDIATE:
        raise ValidationError("applies at once, it is never requested", field="kind")
    reason = require_reason(asked.reason)
    if any(waiting.kind == kind.name for waiting in pending_for(asked.target_type, asked.target_id)):
        raise AlreadyRequested()
    refusal = rehearse(asked, actor)
    if refusal is not None:
        raise refusal
    now = clock.now()
    stored = RequestedCorrection(
        kind=kind.name, target_type=asked.target_type,
        target_id=None if asked.target_id is None else str(asked.target_id), parameters=asked.parameters,
        reason=reason, customer_note=asked.customer_note, maker_id=asked.maker_id, requested_at=now,
        expires_at=now + LIFETIME, status="pending")
    db.session.add(stored)
    db.session.flush()
    _record(actor, REQUEST_ACTION, stored, changes={"status": [None, "pending"], "kind": [None, kind.name],
                                                    "target": [None, f"{stored.target_type} {stored.target_id}"]})
    return stored


def as_correction(stored):
    """Return the CorrectionRequest a stored request holds (ids back in their JSON types)."""
    target_id = stored.target_id
    if target_id is not None and target_id.isdigit():
        target_id = int(target_id)
    return CorrectionRequest(kind=stored.kind, target_type=stored.target_type, target_id=target_id,
                             parameters=dict(stored.parameters), reason=stored.reason,
                             customer_note=stored.customer_note, maker_id=stored.maker_id)


def locked(request_id):
    """Return the stored request, locked for the rest of the transaction and freshly read, or None."""
    return db.session.scalar(sa.select(RequestedCorrection).where(RequestedCorrection.id == request_id)
                             .with_for_update().execution_options(populate_existing=True))


def approve(stored, checker, actor):
    """Approve a pending request as `checker`: apply its correction now, in this transaction; return the request.

    The request is locked first, so two checkers at once apply it once: the second finds it decided. Found
    expired, it is marked so and the approval is recorded as refused. If the correction is now refused, the
    request is `failed` with the refusal and nothing else changes.
    """
    stored = _pending(stored, actor)
    if _found_expired(stored, actor, APPROVE_ACTION):
        return stored
    _may_decide(stored, checker)
    applying = actor.with_request(maker_user_id=stored.maker_id, correction_request_id=stored.id)
    savepoint = db.session.begin_nested()
    try:
        apply(as_correction(stored), applying)
    except DomainError as exc:
        savepoint.rollback()
        refusal = audit.Refusal.of(exc)
        _decide(stored, "failed", checker, refusal_code=refusal.code, refusal_message=refusal.message)
        _record(actor, FAIL_ACTION, stored, outcome="failed", refusal=refusal,
                changes={"status": ["pending", "failed"]})
        return stored
    savepoint.commit()
    _decide(stored, "approved", checker)
    _record(actor, APPROVE_ACTION, stored, changes={"status": ["pending", "approved"]})
    return stored


def reject(stored, checker, actor, comment):
    """Reject a pending request as `checker`, with a comment (required); nothing else changes.

    Found expired, it is marked so and returned (`expired`) with the rejection recorded as refused."""
    comment = clean_text(comment, field="comment", max_length=MAX_COMMENT, required=True, multiline=True)
    stored = _pending(stored, actor)
    if _found_expired(stored, actor, REJECT_ACTION):
        return stored
    _may_decide(stored, checker)
    _decide(stored, "rejected", checker, comment=comment)
    _record(actor, REJECT_ACTION, stored, changes={"status": ["pending", "rejected"]}, reason=comment)
    return stored


def withdraw(stored, maker, actor):
    """Withdraw a pending request: only its maker may; nothing else changes (expired: as `reject`)."""
    stored = _pending(stored, actor)
    if _found_expired(stored, actor, WITHDRAW_ACTION):
        return stored
    if maker is None or maker.id != stored.maker_id:
        raise NotMaker()
    _decide(stored, "withdrawn", None)
    _record(actor, WITHDRAW_ACTION, stored, changes={"status": ["pending", "withdrawn"]})
    return stored


def expire_due(actor):
    """Mark every pending request past its expiry as expired (audited); return how many there were."""
    due = db.session.scalars(sa.select(RequestedCorrection).where(
        RequestedCorrection.status == "pending", RequestedCorrection.expires_at <= clock.now())
        .with_for_update()).all()
    for stored in due:
        _expire(stored, actor)
    return len(due)


def may_decide(stored, user):
    """Whether `user` may approve or reject `stored` (to offer the buttons; `approve` checks again)."""
    try:
        _may_decide(stored, user)
    except DomainError:
        return False
    return True


def pending_for(target_type, target_id):
    """Return the pending, unexpired requests about one target, oldest first (for its page's banner)."""
    return db.session.scalars(sa.select(RequestedCorrection).where(
        RequestedCorrection.target_type == target_type, RequestedCorrection.target_id == str(target_id),
        RequestedCorrection.status == "pending", RequestedCorrection.expires_at > clock.now())
        .order_by(RequestedCorrection.requested_at)).all()


def count_pending():
    """Return how many requests wait for a decision (unexpired)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(RequestedCorrection).where(
        RequestedCorrection.status == "pending", RequestedCorrection.expires_at > clock.now()))


def _pending(stored, actor):
    """Lock `stored` and return it as it is now; NotPending unless pending; expired (and recorded) if due."""
    stored = locked(stored.id)
    if stored is None or stored.status != "pending":
        raise NotPending()
    if clock.now() >= stored.expires_at:
        _expire(stored, actor)
    return stored


def _found_expired(stored, actor, action):
    """Whether `stored` was found expired; if so the attempted decision is recorded as refused, beside the expiry
    (both commit: the caller returns the request, now `expired`, rather than raising)."""
    if stored.status != "expired":
        return False
    _record(actor, action, stored, outcome="denied", refusal=audit.Refusal.of(RequestExpired()))
    return True


def _may_decide(stored, checker):
    if checker is None or checker.id == stored.maker_id:
        raise MakerIsChecker()
    kind = kind_of(stored.kind)
    try:
        target = target_of(as_correction(stored))
    except ValidationError:
        target = None  # gone: applying it fails; who may decide is the kind's general rule
    if not (kind.permits(checker, target) if target is not None else checker.has_role(*kind.roles)):
        raise NotPermitted("You may not approve or reject this correction.")


def _expire(stored, actor):
    stored.status = "expired"
    stored.decided_at = clock.now()
    _record(actor, EXPIRE_ACTION, stored, changes={"status": ["pending", "expired"]})


def _decide(stored, status, checker, **fields):
    stored.status = status
    stored.checker_id = None if checker is None else checker.id
    stored.decided_at = clock.now()
    for name, value in fields.items():
        setattr(stored, name, value)
    db.session.flush()


def _record(actor, action, stored, **fields):
    """Audit a step of a request's story. Staff only: no customer is its subject (their activity shows the
    correction itself, once applied)."""
    fields.setdefault("reason", stored.reason)
    audit.record(actor, action, object_type=OBJECT_TYPE, object_id=stored.id, **fields)


def maker_of(stored):
    """Return the member of staff who asked for `stored`."""
    return db.session.get(User, stored.maker_id)
