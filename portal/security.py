"""Browser-facing security: response headers, CSRF on every form, the login manager."""
import base64
import re
import secrets

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from portal.auth import sessions
from portal.errors import own_answer
from portal.extensions import csrf, db, login_manager
from portal.models import User

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _sealing_key():
    """A key for sealing values into the session, derived from SECRET_KEY (and useless for anything else)."""
    secret = current_app.config["SECRET_KEY"]
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal.session-sealing").derive(
        secret.encode() if isinstance(secret, str) else secret)
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(value):
    """Encrypt and authenticate `value` for the session cookie, which is signed but readable by whoever holds it.

    For a secret shown once after a redirect (a new API token): it must not sit readable in a cookie.
    """
    return _sealing_key().encrypt(value.encode()).decode()


def unseal(sealed, max_age_seconds):
    """The value `seal` sealed, or None if it is missing, tampered with, or older than `max_age_seconds`."""
    if not isinstance(sealed, str):
        return None
    try:
        return _sealing_key().decrypt(sealed.encode(), ttl=max_age_seconds).decode()
    except InvalidToken:
        return None


def csp_nonce():
    """A per-request nonce: the one way an inline script (Flask-Admin's) may run under the policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


# An origin as a CSP source may name it: scheme, host and port, nothing that could end or add a directive.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


def allow_form_target(origin):
    """Let this response's forms lead to `origin` (a form whose answer redirects there: the OAuth consent page,
    whose Allow and Deny send the browser back to the app, which browsers check against form-action)."""
    if _ORIGIN.fullmatch(origin or ""):
        g.setdefault("csp_form_targets", set()).add(origin)


def policy():
    """Return the Content-Security-Policy for this response, allowing this request's nonce if one was issued
    and the form targets allowed for it."""
    result = CONTENT_SECURITY_POLICY
    targets = g.get("csp_form_targets")
    if targets:
        result = result.replace("form-action 'self'", " ".join(["form-action 'self'", *sorted(targets)]))
    if "csp_nonce" not in g:
        return result
    nonce = f"'nonce-{g.csp_nonce}'"
    return result.replace("script-src 'self'", f"script-src 'self' {nonce}").replace(
        "style-src 'self'", f"style-src 'self' {nonce}")


def init_app(app):
    """Bind CSRF and the login manager; send the security headers on every response."""
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "strong"
    # Bind sessions to the address ProxyFix vouches for, not to a client-sent X-Forwarded-For. Flask-Login has
    # no public setting for this; tests/web/test_sessions.py fails if the attribute stops being used.
    login_manager._session_identifier_generator = sessions.binding
    app.before_request(refuse_oversized_bodies)
    app.before_request(refuse_nul_characters)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = policy()
        if request.endpoint and not request.endpoint.startswith(("static", "restx_doc")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def refuse_oversized_bodies():
    """Answer 413 to a body whose Content-Length is over MAX_CONTENT_LENGTH, before anything reads it.

    A streamed body (no Content-Length) is cut off by Werkzeug at the same limit when something reads it.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def refuse_nul_characters():
    """Answer 400 to a page's query string or web form carrying a NUL character.

    No field has a use for one, and PostgreSQL cannot store it in text: without this, a NUL in a name or a
    search box would reach the database and fail there as a 500. A door that answers its own errors (the API)
    checks its own requests (portal.api.guards), and reads a body only after authentication: this hook runs
    before that and must not read it.
    """
    if own_answer() is not None:
        return
    values = [value for _, values in request.args.lists() for value in values]
    if request.method in ("POST", "PUT", "PATCH"):
        values += [value for _, values in request.form.lists() for value in values]
    if any("\x00" in value for value in values):
        abort(400)


@login_manager.user_loader
def load_user(user_id):
    """Reload the session's user; an unknown or deactivated one, or a revoked or timed-out session, is logged out."""
    if not user_id.isdigit():
        return None
    user = db.session.scalar(sa.select(User).where(User.id == int(user_id), User.active.is_(True)))
    return None if user is None else sessions.check(user)


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous visitors to the login page, remembering where they were going (a local path only)."""
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
