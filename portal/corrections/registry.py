"""The registry of correction kinds: for each, who may ask, what it changes, and how to describe it.

A kind is named by the audit action its domain function records (imported from where the domain defines it),
so the registry and the audit log cannot disagree on a name.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from portal.display import BY_THE_BANK
from portal.extensions import db
from portal.ledger import LedgerError, ValidationError
from portal.models import Account, ApiToken, Consent, ThirdPartyApp, Transaction, User

NEUTRAL_NOTE = BY_THE_BANK  # what a customer sees of a correction that carries no note for them (one wording)

# What a request's target_type names, and the type of its id (accounts and transactions: UUIDs, as text in JSON).
_TARGETS = {"account": (Account, uuid.UUID), "transaction": (Transaction, uuid.UUID), "user": (User, int),
            "token": (ApiToken, int), "app": (ThirdPartyApp, int), "consent": (Consent, int)}


class NotPermitted(LedgerError):
    """The member of staff who asked may not request this correction."""

    code = "not_permitted"


@dataclass(frozen=True)
class Kind:
    """One kind of correction.

    `perform(target, parameters, actor=, reason=)` is the one domain call it makes (with `customer_note=` too
    for a kind that `notes` the customer); `title(target)` and `summary(target, request)` describe it to the
    member of staff who confirms; `subject(target)` is the customer it concerns, if any (the audit's subject
    when it is refused).
    """

    name: str  # the audit action its domain function records
    target_type: str
    roles: tuple  # who may request it
    perform: Callable
    title: Callable
    summary: Callable
    success: str  # what the back-office says once it is done
    parameters: tuple = ()  # the names in a request's parameters, all of them, nothing else
    subject: Callable = lambda target: None
    staff_roles: Optional[tuple] = None  # who may request it when the target is a member of staff
    needs_target: bool = True  # False: it creates its target
    notes: bool = False  # True: it may carry a note for the customer, who is told of it (their activity page)

    def roles_for(self, target):
        """Return the roles that may request this correction of `target`."""
        if self.staff_roles is not None and isinstance(target, User) and target.is_staff:
            return self.staff_roles
        return self.roles

    def permits(self, user, target):
        """Whether `user` may request this correction of `target`."""
        return user is not None and user.has_role(*self.roles_for(target))

    def target_key(self, target):
        """The id of `target` as a request holds it (JSON: a number, or text for a UUID)."""
        if target is None:
            return None
        return target.id if isinstance(target.id, int) else str(target.id)


KINDS = {}


def register(kind):
    """Add `kind` to the registry (once per name) and return it."""
    if kind.name in KINDS:
        raise ValueError(f"correction kind {kind.name} is registered twice")
    KINDS[kind.name] = kind
    return kind


def kind_of(name):
    """Return the registered kind called `name`; ValidationError for any other name."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValidationError("is not a kind of correction", field="kind") from None


def target_of(request):
    """Load the request's target as it is now; ValidationError if it names none there is."""
    kind = kind_of(request.kind)
    if request.target_type != kind.target_type:
        raise ValidationError(f"must be a {kind.target_type}", field="target_type")
    if request.target_id is None and not kind.needs_target:
        return None
    model, key_type = _TARGETS[kind.target_type]
    try:
        key = key_type(request.target_id) if key_type is int else uuid.UUID(str(request.target_id))
    except (TypeError, ValueError):
        key = None
    target = None if key is None or isinstance(request.target_id, bool) else db.session.get(model, key)
    if target is None:
        raise ValidationError(f"no such {kind.target_type}", field="target_id")
    return target


def describe(request):
    """Return (title, summary lines) of a request, for whoever confirms it."""
    kind, target = kind_of(request.kind), target_of(request)
    return kind.title(target), summary(kind, target, request)


def summary(kind, target, request):
    """Return the lines that describe `request` of `target` to staff, with what the customer will be told."""
    lines = kind.summary(target, request)
    if kind.notes:
        lines = [*lines, f"The customer is told: {for_customer(request)}"]
    return lines


def apply(request, actor):
    """Validate `request` against the current state and make its one domain call; return what that returns.

    It writes in the caller's transaction and never commits. A refusal (LedgerError) is raised before
    anything is written: the maker may not ask for it, the target is gone, or the domain refuses.
    """
    kind = kind_of(request.kind)
    target = target_of(request)
    maker = db.session.get(User, request.maker_id) if isinstance(request.maker_id, int) else None
    if not kind.permits(maker, target):
        raise NotPermitted()
    if set(request.parameters) != set(kind.parameters):
        raise ValidationError(f"must be exactly {', '.join(kind.parameters) or 'none'}", field="parameters")
    if not kind.notes:
        if request.customer_note:  # a note no customer would ever be shown
            raise ValidationError("this correction is not told to a customer", field="customer_note")
        return kind.perform(target, request.parameters, actor=actor, reason=request.reason)
    return kind.perform(target, request.parameters, actor=actor, reason=request.reason,
                        customer_note=request.customer_note)


def rehearse(request, actor):
    """Return the refusal `request` would meet if applied now (a LedgerError), or None; change nothing.

    The request is applied for real inside a savepoint that is then rolled back, so what is known before the
    confirmation (an overdraft, a duplicate email, an already reversed transaction) is found by the same
    rules that apply it, not by a second copy of them. The state may still change before it is confirmed:
    `apply` checks again.
    """
    savepoint = db.session.begin_nested()
    try:
        apply(request, actor)
    except LedgerError as exc:
        return exc
    finally:
        if savepoint.is_active:
            savepoint.rollback()
    return None


def for_customer(request):
    """Return what the customer is shown of a correction: its note for them, or a neutral line.

    (The customer's pages word it through `portal.display.correction_text`, from the note stored with it.)
    """
    return request.customer_note or NEUTRAL_NOTE
