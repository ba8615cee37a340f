"""Creating and finding users."""
import re

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.identity.passwords import hash_password
from portal.ledger import errors
from portal.models import Role, User

MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email):
    """Emails are unique regardless of case: store and compare them lower-cased."""
    return (email or "").strip().lower()


def find_user_by_email(email):
    """Return the user with this email (any case), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def create_user(email, name, *, role, password, actor):
    """Create a user with a hashed password and return it."""
    email = normalize_email(email)
    name = (name or "").strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise errors.ValidationError("is not a valid email address", field="email")
    if not name or len(name) > 120:
        raise errors.ValidationError("must be 1 to 120 characters", field="name")
    try:
        role = Role(role)
    except ValueError:
        raise errors.ValidationError(f"must be one of {', '.join(r.value for r in Role)}", field="role") from None
    if len(password or "") < MIN_PASSWORD:
        raise errors.ValidationError(f"must be at least {MIN_PASSWORD} characters", field="password")
    if find_user_by_email(email) is not None:
        raise errors.ValidationError("is already in use", field="email")
    user = User(email=email, name=name, role=role.value, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", object_type="user", object_id=user.id,
                 subject_user_id=user.id if role is Role.CUSTOMER else None,
                 changes={"email": [None, email], "name": [None, name], "role": [None, role.value],
                          "active": [None, True]})
    return user
