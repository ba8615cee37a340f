"""Creating and finding users."""
import re

import sqlalchemy as sa

from portal import audit, text
from portal.extensions import db
from portal.identity import password_rules
from portal.identity.credentials import end_sessions
from portal.identity.passwords import hash_password
from portal.kernel import errors
from portal.models import Role, User

MAX_NAME = 120
MAX_EMAIL = 254

# The audit actions recorded here; portal.corrections names its kinds with these.
CREATE_ACTION = "user.create"
UPDATE_ACTION = "user.update"
ROLE_CHANGE_ACTION = "user.role_change"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalize_email(email):
    """Emails are unique regardless of case: store and compare them lower-cased."""
    return (email or "").strip().lower()


def _valid_email(email):
    """The normalised email, or ValidationError: one address, plain text (the free-text rule), at most 254."""
    email = normalize_email(email)
    if not _EMAIL.fullmatch(email) or len(email) > MAX_EMAIL or text.problem(email) is not None:
        raise errors.ValidationError("is not a valid email address", field="email")
    return email


def find_user_by_email(email):
    """Return the user with this email (any case), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def create_user(email, name, *, role, password, actor, reason=None, must_change_password=False):
    """Create a user with a hashed password and return it.

    `must_change_password`: the password was chosen for them (generated), so they must change it when they
    first log in.
    """
    email = _valid_email(email)
    name = errors.clean_text(name, field="name", max_length=MAX_NAME, required=True)
    try:
        role = Role(role)
    except ValueError:
        raise errors.ValidationError(f"must be one of {', '.join(r.value for r in Role)}", field="role") from None
    if find_user_by_email(email) is not None:
        raise errors.ValidationError("is already in use", field="email")
    password_rules.check(password, email=email, name=name)
    user = User(email=email, name=name, role=role.value, password_hash=hash_password(password), active=True,
                session_version=1, must_change_password=bool(must_change_password))
    db.session.add(user)
    db.session.flush()
    audit.record(actor, CREATE_ACTION, object_type="user", object_id=user.id,
                 subject_user_id=user.id if role is Role.CUSTOMER else None,
                 changes={"email": [None, email], "name": [None, name], "role": [None, role.value],
                          "active": [None, True]}, reason=reason)
    return user


def update_user(user, *, actor, reason, name=None, email=None, active=None):
    """Change a user's name, email or active flag (deactivating also ends their sessions and stops their tokens)."""
    reason = errors.require_reason(reason)
    changes = {}
    if name is not None and name.strip() != user.name:
        name = errors.clean_text(name, field="name", max_length=MAX_NAME, required=True)
        changes["name"] = [user.name, name]
    if email is not None and normalize_email(email) != user.email:
        email = _valid_email(email)
        if find_user_by_email(email) is not None:
            raise errors.ValidationError("is already in use", field="email")
        changes["email"] = [user.email, email]
    if active is not None and bool(active) != user.active:
        if actor.user_id == user.id and not active:
            raise errors.ValidationError("you cannot deactivate yourself", field="active")
        changes["active"] = [user.active, bool(active)]
    for field, (_, new) in changes.items():
        setattr(user, field, new)
    if "active" in changes:
        end_sessions(user)  # a deactivated user's copied cookie must not outlive the flag being set back
    if changes:
        audit.record(actor, UPDATE_ACTION, object_type="user", object_id=user.id,
                     subject_user_id=user.id if user.role == Role.CUSTOMER.value else None, changes=changes,
                     reason=reason)
        db.session.flush()
    return changes


def change_role(user, role, *, actor, reason):
    """Move a member of staff to another staff role (customers own accounts and stay customers)."""
    reason = errors.require_reason(reason)
    try:
        role = Role(role)
    except ValueError:
        raise errors.ValidationError("is not a role", field="role") from None
    if not role.is_staff or not user.is_staff:
        raise errors.ValidationError("only staff roles can be changed, to another staff role", field="role")
    if actor.user_id == user.id:
        raise errors.ValidationError("you cannot change your own role", field="role")
    if role.value == user.role:
        return {}
    changes = {"role": [user.role, role.value]}
    user.role = role.value
    end_sessions(user)  # log in again under the new role: no page keeps what the old one showed
    audit.record(actor, ROLE_CHANGE_ACTION, object_type="user", object_id=user.id, changes=changes, reason=reason)
    db.session.flush()
    return changes
