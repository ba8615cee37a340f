"""Password reset links: an operator makes one for a customer and hands it over; it sets a password once.

The bank sends no email: the operator sees the link once and gives it to the customer (after checking who
they are). Only the SHA-256 of the link's secret is stored, as for API tokens: the secret has 256 bits of
entropy, so a fast hash is enough and lookup is by the hash alone.
"""
import datetime as dt
import secrets

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.identity import password_rules
from portal.identity.credentials import revoke_resets, set_password
from portal.identity.tokens import hash_secret
from portal.kernel import clock, errors
from portal.models import PasswordReset, Role

RESET_LINK_ACTION = "user.password_reset_link"
VALID_FOR = dt.timedelta(minutes=30)
MAX_SECRET = 100  # a real secret is 43 characters; anything much longer is not one


def issue_reset(user, *, actor, reason=None):
    """Make a reset link for an active customer; return (reset, secret). Earlier links of theirs stop working.

    The secret is returned once, for the operator to hand over, and never stored.
    """
    if user.role != Role.CUSTOMER.value:
        raise errors.ValidationError("only customers get reset links; staff passwords are set from the shell",
                                     field="user")
    if not user.active:
        raise errors.ValidationError("is deactivated: reactivate the user first", field="user")
    revoke_resets(user)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    reset = PasswordReset(user_id=user.id, token_hash=hash_secret(secret), created_by_id=actor.user_id,
                          created_at=now, expires_at=now + VALID_FOR)
    db.session.add(reset)
    db.session.flush()
    audit.record(actor, RESET_LINK_ACTION, object_type="user", object_id=user.id, subject_user_id=user.id,
                 changes={"reset_id": [None, reset.id], "expires_at": [None, reset.expires_at]}, reason=reason)
    return reset, secret


def usable_reset(secret):
    """Return the reset link `secret` opens if it still works (unused, not superseded, not expired), else None."""
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        return None
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == hash_secret(secret)))
    if reset is None or not reset.usable(clock.now()) or not reset.user.active or reset.user.is_staff:
        return None
    return reset


def reset_password(secret, new, *, actor):
    """Set a new password through the link `secret`: once, within 30 minutes; every session of the user ends.

    Refused with a ValidationError (field `link`, or `new_password` for a password the rules refuse) before
    anything changes; the link stays usable after a refused password.
    """
    reset = usable_reset(secret)
    if reset is None:
        raise errors.ValidationError("has expired or was already used; ask the bank for a new one", field="link")
    # Locked, then checked again: of two submissions of one link at once, the second finds it used.
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.id == reset.id).with_for_update()
                              .execution_options(populate_existing=True))
    if not reset.usable(clock.now()):
        raise errors.ValidationError("has expired or was already used; ask the bank for a new one", field="link")
    user = reset.user
    password_rules.check(new, email=user.email, name=user.name, field="new_password")
    reset.used_at = clock.now()
    db.session.flush()
    set_password(user, new, actor=actor, how="reset link", field="new_password")
    return user
