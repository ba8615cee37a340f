"""Login sessions that end: revoked on the server by the user's session version, and timed out.

The session itself is Flask's signed cookie. What makes it revocable is one integer on the user row,
`users.session_version`: a session stores the version it started under, and the user loader accepts it only
while the row still has that version. Logging out, a password change, deactivation and a role change bump it
(portal.identity), so every session started before, a copied cookie included, stops working at its next
request. The session also holds when it started and when it was last used, for SESSION_MAX_HOURS and
SESSION_IDLE_MINUTES.
"""
import hashlib

from flask import current_app, flash, request, session
from flask_login import login_user, logout_user

from portal.kernel import clock

VERSION = "_portal_session_version"
STARTED = "_portal_session_started"
SEEN = "_portal_session_seen"
ENDED = "Your session has ended. Please log in again."
TIMED_OUT = "You were logged out after a while without activity. Please log in again."


def _now():
    return int(clock.now().timestamp())


def start(user):
    """Log `user` in on a fresh session (whatever was planted in the old one is gone), under their version."""
    session.clear()
    login_user(user)
    now = _now()
    session[VERSION] = user.session_version
    session[STARTED] = now
    session[SEEN] = now


def adopt(user):
    """Keep this session working after the user's version changed here (their own password change)."""
    session[VERSION] = user.session_version


def problem(user):
    """Return why this request's session may not act as `user` (revoked, timed out), or None when it may."""
    version, started, seen = session.get(VERSION), session.get(STARTED), session.get(SEEN)
    if not all(isinstance(value, int) for value in (version, started, seen)) or version != user.session_version:
        return ENDED
    now = _now()
    config = current_app.config
    if now - started > config["SESSION_MAX_HOURS"] * 3600:
        return ENDED
    if now - seen > config["SESSION_IDLE_MINUTES"] * 60:
        return TIMED_OUT
    return None


def check(user):
    """Return `user` if this request's session still works for them, noting the activity; else end it.

    Called by the user loader, the one place a session becomes a user.
    """
    reason = problem(user)
    if reason is not None:
        session.clear()
        flash(reason, "info")
        return None
    now = _now()
    if now != session[SEEN]:  # to the second: idle time counts from the last request (a new cookie each second)
        session[SEEN] = now
    return user


def binding():
    """Flask-Login's "strong" session protection key: this client's address (as ProxyFix reads it within
    TRUSTED_PROXIES) and user agent.

    Flask-Login's own reads the X-Forwarded-For header whatever sent it, so a thief holding a copied cookie could
    send the victim's address in it and match the binding. `request.remote_addr` is the socket's peer, or what
    the trusted proxies said.
    """
    base = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()


def end():
    """Forget this browser's session (after the user's version was bumped, which ends it everywhere)."""
    logout_user()
    session.clear()
