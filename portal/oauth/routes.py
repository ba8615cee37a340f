"""The OAuth 2.0 door: the consent page, the token and revocation endpoints, the server metadata.

Authlib runs the protocol (portal.oauth.server); these views ask it, render the customer's choice, and audit
every refusal through the unit of work, naming the app (and consent) it concerned.
"""
import logging
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import sqlalchemy as sa
from authlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error
from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from portal import security, unit_of_work
from portal.audit import Refusal
from portal.display import SCOPE_WORDS, account_label
from portal.errors import seconds_until_reset
from portal.extensions import db, limiter
from portal.identity import apps, consents
from portal.kernel import errors
from portal.models import Account, AccountKind, Scope
from portal.oauth.forms import ConsentForm
from portal.oauth.server import AUTH_METHODS, CHALLENGE_METHODS
from portal.observability import client_ip, request_actor

bp = Blueprint("oauth", __name__)
log = logging.getLogger(__name__)

AUTHORIZE_ACTION = "oauth.authorize"
TOKEN_ACTION = "oauth.token"  # noqa: S105 -- an audit action, not a secret
REVOKE_ACTION = "oauth.revoke"
SERVER = "portal.oauth"


def server():
    """The running app's authorization server."""
    return current_app.extensions[SERVER]


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@login_required
def authorize():
    """Ask the logged-in customer to allow or deny an app; send the browser back with a code or the refusal."""
    user = current_user._get_current_object()
    app = apps.find_app(request.values.get("client_id"))
    actor = replace(request_actor(user=user), app_id=None if app is None else app.id)
    if user.is_staff:
        _refuse(actor, AUTHORIZE_ACTION, Refusal("forbidden", "staff cannot consent"), app, user)
        abort(403)
    try:
        grant = server().get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorization_error(error, actor, app, user)
    form = ConsentForm()
    form.accounts.choices = [(str(a.id), account_label(a)) for a in _consentable_accounts(user)]
    if request.method == "POST" and form.deny.data:
        consents.record_denial(user, grant.client.app, scopes=_requested(), actor=actor)
        return server().create_authorization_response(grant=grant, grant_user=None)
    if request.method == "POST" and form.allow.data:
        consent = _grant(form, grant, user, actor)
        if consent is not None:
            grant.request.consent = consent
            return server().create_authorization_response(grant=grant, grant_user=user)
        return _consent_page(form, grant), 400
    return _consent_page(form, grant)


def _requested():
    return sorted(set((request.values.get("scope") or "").split()))


def _consentable_accounts(user):
    return db.session.scalars(sa.select(Account).where(Account.owner_id == user.id,
                                                       Account.kind == AccountKind.CUSTOMER.value,
                                                       Account.status != "closed")
                              .order_by(Account.opened_on, Account.number)).all()


def _chosen_accounts(values):
    """The accounts posted, whoever owns them (the domain refuses one that is not the customer's)."""
    try:
        ids = {uuid.UUID(value) for value in values}
    except (ValueError, TypeError):
        raise errors.ValidationError("must be accounts of this customer", field="accounts") from None
    accounts = db.session.scalars(sa.select(Account).where(Account.id.in_(ids))).all() if ids else []
    if len(accounts) != len(ids):
        raise errors.ValidationError("must be accounts of this customer", field="accounts")
    return accounts


def _grant(form, grant, user, actor):
    """Record the consent the form gives, or refuse it (audited, nothing granted) and return None."""
    app = grant.client.app
    try:
        days = int(form.days.data or "")
    except ValueError:
        days = None
    try:
        return consents.grant_consent(user, app, scopes=grant.request.scope.split(),
                                      accounts=_chosen_accounts(form.accounts.data or []), days=days,
                                      actor=actor)
    except errors.ValidationError as exc:
        _refuse(actor, consents.GRANT_ACTION, exc, app, user)
        form.accounts.errors = [*form.accounts.errors, f"Nothing was granted: {exc.field} {exc.message}."]
        return None


def _consent_page(form, grant):
    app = grant.client.app
    # Allow and Deny answer with a redirect to the app: browsers hold that to the page's form-action.
    target = urlsplit(grant.redirect_uri)
    security.allow_form_target(f"{target.scheme}://{target.netloc}")
    granted = set(grant.request.scope.split())
    requested = _requested()
    return render_template("oauth/consent.html", form=form, app=app, scope_words=SCOPE_WORDS,
                           granted=[s for s in requested if s in granted],
                           not_granted=[s for s in requested if s not in granted],
                           action=request.full_path)


def _authorization_error(error, actor, app, user):
    """Refuse an authorization request: back to the app only once its redirect URI was checked, else a page."""
    problem = g.get("oauth_refusal")
    message = problem.message if problem is not None else (error.description or error.error)
    _refuse(actor, AUTHORIZE_ACTION, Refusal(error.error, message), app, user)
    if error.redirect_uri and not isinstance(error, InsecureTransportError):
        return server().handle_error_response(None, error)
    return render_template("oauth/error.html", message=message), 400


def _refuse(actor, action, refusal, app, user):
    unit_of_work.refuse(actor, action, refusal, object_type="app", object_id=None if app is None else app.id,
                        subject_user_id=user.id)


def oauth_rate_limit():
    """The app servers' allowance at the token and revocation endpoints: the API's per-token limit."""
    return current_app.config["API_RATE_LIMIT"]


def oauth_rate_key():
    """Per calling address, over both endpoints: a guessed client id or secret buys no fresh allowance."""
    return f"oauth:{client_ip() or 'unknown'}"


# One allowance over /oauth/token and /oauth/revoke together (one decorator object: see portal.api's api_limit).
oauth_limit = limiter.shared_limit(oauth_rate_limit, scope="oauth", key_func=oauth_rate_key)
TOKEN_PATHS = ("/oauth/token", "/oauth/revoke")


def answer_error(error):
    """Answer an error of the token or revocation endpoint as OAuth does (RFC 6749 5.2's JSON), never a page."""
    unit_of_work.fail()
    if isinstance(error, RateLimitExceeded):
        body, status = {"error": "rate_limited", "error_description": "Too many requests; slow down."}, 429
        headers = {"Retry-After": str(seconds_until_reset())}
    elif isinstance(error, HTTPException) and error.code and error.code < 500:
        body, status, headers = {"error": "invalid_request", "error_description": error.description}, error.code, {}
        if getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
    else:
        log.error("unhandled error at %s", request.path, exc_info=error)
        body, status, headers = {"error": "server_error"}, 500, {}
    response = jsonify(body)
    response.status_code = status
    response.headers.update({**headers, "Cache-Control": "no-store"})
    return response


@bp.post("/oauth/token")
@oauth_limit
def token():
    """Exchange a code (with its PKCE verifier) or a refresh token for a new token pair (RFC 6749)."""
    g.oauth_actor = request_actor()
    try:
        response = server().create_token_response()
    except InsecureTransportError as error:
        response = server().handle_error_response(None, error)
    return _audited(response, TOKEN_ACTION)


@bp.post("/oauth/revoke")
@oauth_limit
def revoke():
    """Revoke one of the calling client's access or refresh tokens (RFC 7009)."""
    g.oauth_actor = request_actor()
    try:
        response = server().create_endpoint_response("revocation")
    except InsecureTransportError as error:
        response = server().handle_error_response(None, error)
    return _audited(response, REVOKE_ACTION)


def _audited(response, action):
    """Audit the token or revocation endpoint's refusal, naming the app (and consent) when they are known."""
    if response.status_code < 400:
        return response
    error, client = g.get("oauth_error", (None, None))
    problem = g.get("oauth_refusal")
    app_id = problem.app_id if problem is not None else None
    if app_id is None and client is not None:
        app_id = client.app.id
    consent_id = problem.consent_id if problem is not None else None
    message = problem.message if problem is not None else (error.description or error.error if error else "refused")
    actor = replace(g.oauth_actor, app_id=app_id, consent_id=consent_id)
    code = error.error if error is not None else "invalid_request"
    unit_of_work.refuse(actor, action, Refusal(code, message), object_type="app", object_id=app_id)
    return response


@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    """The server's metadata (RFC 8414): where its endpoints are and what it supports."""
    issuer = request.url_root.rstrip("/")
    return jsonify({
        "issuer": issuer,
        "authorization_endpoint": url_for("oauth.authorize", _external=True),
        "token_endpoint": url_for("oauth.token", _external=True),
        "revocation_endpoint": url_for("oauth.revoke", _external=True),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": CHALLENGE_METHODS,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": customer_scopes(),
        "service_documentation": url_for("api.doc", _external=True),
    })


def customer_scopes():
    """The scopes a customer may give an app (deposits:write is the bank's to give, never through consent)."""
    return [scope.value for scope in Scope if scope is not Scope.DEPOSITS_WRITE]
