"""Passwords people change and sessions that end: the domain side of logging out and of every password change.

A user's login sessions all carry the `session_version` they started under (portal.auth.sessions checks it on
every request); `end_sessions` bumps it, so every session started before stops working at once, a copied
cookie included. Logging out, a password change, deactivation and a role change call it.
"""
import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.identity import password_rules
from portal.identity.passwords import hash_password, verify_password
from portal.kernel import clock, errors
from portal.models import PasswordReset, Role

PASSWORD_CHANGE_ACTION = "user.password_change"  # noqa: S105 -- an audit action name
LOGOUT_ACTION = "auth.logout"


def end_sessions(user):
    """End every login session of `user` (the caller records why); return the new session version."""
    user.session_version = (user.session_version or 0) + 1
    return user.session_version


def log_out(user, *, actor):
    """Log `user` out: end their sessions (everywhere: a session is bound to the user's version) and audit it."""
    end_sessions(user)
    audit.record(actor, LOGOUT_ACTION, object_type="user", object_id=user.id, subject_user_id=_subject(user))
    db.session.flush()


def change_password(user, current, new, *, actor):
    """The user's own change: `current` must be their password now; `new` must follow the rules and differ.

    Refused with a ValidationError (field `current_password` or `new_password`) before anything changes.
    """
    if not verify_password(user.password_hash, current or ""):
        raise errors.ValidationError("is not your current password", field="current_password")
    if verify_password(user.password_hash, new or ""):
        raise errors.ValidationError("must differ from your current password", field="new_password")
    return set_password(user, new, actor=actor, how="changed by the user", field="new_password")


def set_password(user, new, *, actor, how, field="password"):
    """Give `user` the password `new` (checked against the rules), end all their sessions, and audit it.

    `how` says which door set it ("changed by the user", "reset link", "command line"): the audit row's reason.
    Outstanding reset links of the user stop working. Returns the new session version, which the caller's own
    session may adopt to stay logged in.
    """
    password_rules.check(new, email=user.email, name=user.name, field=field)
    changes = {"password": [None, None]}  # recorded as redacted: that it changed, never what it is
    if user.must_change_password:
        changes["must_change_password"] = [True, False]
    user.password_hash = hash_password(new)
    user.must_change_password = False
    version = end_sessions(user)
    revoke_resets(user)
    audit.record(actor, PASSWORD_CHANGE_ACTION, object_type="user", object_id=user.id,
                 subject_user_id=_subject(user), changes=changes, reason=how)
    db.session.flush()
    return version


def revoke_resets(user):
    """Make every reset link of `user` that still works stop working (used ones stay as they are)."""
    db.session.execute(sa.update(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None))
        .values(revoked_at=clock.now()))


def _subject(user):
    """The customer an event is about, for their activity page (staff have none)."""
    return user.id if user.role == Role.CUSTOMER.value else None
