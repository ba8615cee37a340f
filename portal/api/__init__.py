"""The public REST API at /api/v1 (Flask-RESTX): one namespace per resource module."""
from flask import Blueprint, current_app, g, has_request_context, render_template, url_for
from flask_restx import Api

from portal.api import accounts, auth, statements, transactions
from portal.api.docs import with_error_examples
from portal.api.errors import error_response
from portal.api.guards import PREFIX, is_api_path
from portal.errors import answer_errors_of
from portal.extensions import csrf, limiter
from portal.observability import client_ip

# Shown on the Swagger page (Markdown). The page's script (static/js/swagger-init.js) adds the "Bearer " a pasted
# token lacks; the API itself takes only `Authorization: Bearer <token>`.
AUTHORIZE_HELP = ("Paste the token the customer issued, `pt_…`, alone or as `Bearer pt_…`: this page adds `Bearer ` "
              "when it is missing. Any other client sends `Authorization: Bearer <token>`.")
DESCRIPTION = (
    "Balances, balance at a date, transactions and posting, for apps a customer trusts. Amounts are decimal "
    "strings (`\"12.30\"`), dates `YYYY-MM-DD`.\n\n"
    "**To try it here**: press *Authorize* and paste a token (`pt_…`, alone or as `Bearer pt_…`; this page adds "
    "`Bearer ` when it is missing), then *Try it out* on an operation. Other clients send "
    "`Authorization: Bearer <token>`.\n\n"
    "The full reference (tokens and scopes, every field, error code and status, pagination, idempotency, rate "
    "limits, curl examples) is `docs/api.md` in the project's repository."
)


# The OAuth 2.0 authorization-code scheme (Swagger 2.0 calls it `accessCode`): an access token it gives is sent
# as `Authorization: Bearer pat_…`, like a personal token. The scopes a customer can consent to.
OAUTH_SCOPES = {
    "accounts:read": "See the granted accounts and their balances",
    "transactions:read": "See their transactions",
    "transactions:write": "Take money out: withdrawals and transfers",
}
OAUTH_HELP = ("OAuth 2.0 authorization code with PKCE (S256): the customer logs in, consents to the app, and the app "
              "exchanges the code at the token endpoint. Server metadata: `/.well-known/oauth-authorization-server`. "
              "To try it on this page, enter the client id and secret of an app whose redirect URIs include this "
              "server's `/api/v1/oauth2-redirect.html` (the demo app has it registered for a server on port 5000: "
              "`http://127.0.0.1:5000` and `http://localhost:5000`), and tick at least one scope.")


def oauth_scheme():
    """The authorization-code security scheme, with this server's absolute URLs (Swagger 2.0 requires them)."""
    scheme = {"type": "oauth2", "flow": "accessCode", "scopes": OAUTH_SCOPES, "description": OAUTH_HELP}
    if has_request_context():
        scheme["authorizationUrl"] = url_for("oauth.authorize", _external=True)
        scheme["tokenUrl"] = url_for("oauth.token", _external=True)
    return scheme


class PortalApi(Api):
    """Flask-RESTX's Api, with every error of its routes answered in the one envelope."""

    @property
    def __schema__(self):
        """The document Flask-RESTX builds once, with the OAuth scheme's URLs for the host it is asked on and an
        example body on each error response.

        Built per request rather than cached, so a forged Host header changes only the asker's own copy.
        """
        schema = super().__schema__
        definitions = {**schema.get("securityDefinitions", {}), "oauth2": oauth_scheme()}
        return {**schema, "securityDefinitions": definitions, "paths": with_error_examples(schema["paths"])}

    def handle_error(self, e):
        """Answer any error raised in the API's routes with the envelope."""
        return error_response(e)


def rate_limit_key():
    """Per usable token, whichever address it comes from; per client address for a caller without one.

    Keyed on what the token is (auth.credential, looked up before the limiter runs), not on what was sent:
    every invented token from one address shares that address's allowance, and once it is spent the request
    stops before authentication, so its 401 is neither answered nor audited again.
    """
    found = g.get("credential")
    if found is not None and found.principal is not None:
        return found.principal.key
    return f"address:{client_ip() or 'unknown'}"


def api_rate_limit():
    """The per-token (and per-address) limit, read from the running app's configuration (API_RATE_LIMIT)."""
    return current_app.config["API_RATE_LIMIT"]


# One allowance per key over every endpoint of the API (a shared scope: Flask-Limiter would otherwise count each
# endpoint apart). One decorator object for every app this process creates: Flask-Limiter's limiter is shared,
# and an equal limit registered again is the same entry rather than a second counter for the same requests.
api_limit = limiter.shared_limit(api_rate_limit, scope="api", key_func=rate_limit_key)


def create_blueprint():
    """Build the blueprint and its Api (a fresh pair per app, so create_app can run twice in one process)."""
    bp = Blueprint("api", __name__, url_prefix=PREFIX)
    api = PortalApi(
        bp,
        version="1.0",
        title="Ledger portal API",
        description=DESCRIPTION,
        doc="/docs",
        authorizations={"bearer": {"type": "apiKey", "in": "header", "name": "Authorization",
                                   "description": AUTHORIZE_HELP}},
        security=["bearer", "oauth2"],  # either one: both end as `Authorization: Bearer …`
        catch_all_404s=False,  # 404s outside the API are pages; portal.errors answers unknown API routes
    )
    for ns in (accounts.ns, transactions.ns, statements.ns):
        api.add_namespace(ns)
        # Namespaces live at module level and remember every Api they joined, which would keep every app this
        # process ever created alive (the test suite creates hundreds). Everything is registered by now.
        ns.apis.remove(api)
    api_limit(bp)
    bp.after_request(auth.record_app_read)
    bp.add_url_rule("/oauth2-redirect.html", "swagger_oauth2_redirect", swagger_oauth2_redirect)
    return bp


def swagger_oauth2_redirect():
    """Where Swagger UI's Authorize popup comes back from the consent page (a redirect URI apps can register)."""
    return render_template("swagger-oauth2-redirect.html")


def init_app(app):
    """Register the API; every error on its paths (unknown routes and methods too) is answered in the envelope."""
    bp = create_blueprint()
    csrf.exempt(bp)  # bearer tokens, no cookies: nothing for a forged cross-site request to ride on
    app.register_blueprint(bp)
    answer_errors_of(app, is_api_path, error_response)
