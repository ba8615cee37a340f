"""Browser-facing security: response headers, CSRF on every form, the login manager."""
import secrets

import sqlalchemy as sa
from flask import abort, g, redirect, request, url_for

from portal.api.errors import validation_error
from portal.errors import is_api_request
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


def csp_nonce():
    """A per-request nonce: the one way an inline script (Flask-Admin's) may run under the policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy():
    if "csp_nonce" not in g:
        return CONTENT_SECURITY_POLICY
    nonce = f"'nonce-{g.csp_nonce}'"
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {nonce}").replace(
        "style-src 'self'", f"style-src 'self' {nonce}")


def init_app(app):
    """Bind CSRF and the login manager; send the security headers on every response."""
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "strong"
    app.before_request(refuse_nul_characters)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = policy()
        if request.endpoint and not request.endpoint.startswith(("static", "restx_doc")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def refuse_nul_characters():
    """Answer 400 to a query string, form or JSON body carrying a NUL character.

    No field has a use for one, and PostgreSQL cannot store it in text: without this, a NUL in a description,
    a name or a search box would reach the database and fail there as a 500.
    """
    parts = {"query": [value for _, values in request.args.lists() for value in values]}
    if request.method in ("POST", "PUT", "PATCH"):
        parts["body"] = (list(_strings(request.get_json(silent=True, force=True))) if is_api_request()
                         else [value for _, values in request.form.lists() for value in values])
    for part, values in parts.items():
        if any("\x00" in value for value in values):
            if is_api_request():
                raise validation_error({part: "must not contain NUL characters"})
            abort(400)


def _strings(value):
    """Every string in a parsed JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@login_manager.user_loader
def load_user(user_id):
    """Reload the session's user; an unknown or deactivated one is logged out."""
    if not user_id.isdigit():
        return None
    return db.session.scalar(sa.select(User).where(User.id == int(user_id), User.active.is_(True)))


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous visitors to the login page, remembering where they were going (a local path only)."""
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
