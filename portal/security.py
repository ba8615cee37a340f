"""Browser-facing security: response headers, CSRF on every form, the login manager."""
import secrets

import sqlalchemy as sa
from flask import g, redirect, request, url_for

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

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = policy()
        if request.endpoint and not request.endpoint.startswith(("static", "restx_doc")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


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
