"""The authorization server: Authlib's Flask AuthorizationServer with the two grants the bank allows.

- `AuthorizationCodeGrant` with `S256Challenge` (PKCE S256 required from every client at the authorization
  endpoint, so every code has a challenge and the token endpoint always asks for the verifier);
- `RefreshTokenGrant` with rotation (every use returns a new refresh token) and reuse detection;
- `RevocationEndpoint` (RFC 7009).

No implicit, password or client-credentials grant is registered, and `Client.check_grant_type` names only these
two. Time is the portal's clock (`portal.kernel.clock`, through `portal.identity.grants`): code expiry and token
lifetimes are decided there, never by Authlib's own `time.time()`. Secrets are kept only as SHA-256 hashes.

What a refused request was refused for is kept in `flask.g.oauth_refusal` (an `OAuthProblem`) for the view to
audit; a write that must outlive the refusal's rollback (revoking what a reused code or refresh token issued)
is handed to `unit_of_work.always`.
"""
import secrets
from dataclasses import dataclass

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import g

from portal import unit_of_work
from portal.extensions import db
from portal.identity import apps
from portal.identity import grants as store
from portal.models import AppStatus, Consent
from portal.oauth.clients import Client, Code, Token
from portal.observability import client_ip

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CHALLENGE_METHODS = ["S256"]


@dataclass
class OAuthProblem:
    """Why the server refused, for the audit log: a message, and the app and consent it concerned if known."""

    message: str
    app_id: int | None = None
    consent_id: int | None = None


def note_problem(message, app_id=None, consent_id=None):
    """Keep why this request is being refused (the first reason given wins)."""
    if "oauth_refusal" not in g:
        g.oauth_refusal = OAuthProblem(message, app_id, consent_id)


class S256Challenge(CodeChallenge):
    """PKCE with S256, required from every client: a missing challenge, a missing method or `plain` is refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = CHALLENGE_METHODS
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant, redirect_uri):
        """Refuse an authorization request without an S256 challenge, then let Authlib check its form."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") not in CHALLENGE_METHODS:
            raise InvalidRequestError("PKCE is required with code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Codes stored by hash, bound to a consent, its redirect URI and PKCE challenge; 60 s and single use."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    claimed_code_id = None  # the code this exchange claimed, once it has

    def save_authorization_code(self, code, request):
        """Keep the code's hash under the consent the customer just gave (set on the request by the view)."""
        data = request.payload.data
        store.store_code(code, request.consent, redirect_uri=request.payload.redirect_uri,
                         code_challenge=data["code_challenge"], code_challenge_method=data["code_challenge_method"])

    def validate_token_request(self):
        """Check the exchange as Authlib does; a refused one still spends the code it claimed (single use)."""
        try:
            super().validate_token_request()
        except OAuth2Error:
            self._keep_spent()
            raise

    def create_token_response(self):
        """Issue the pair as Authlib does; if that is refused, the code it claimed stays spent all the same."""
        try:
            return super().create_token_response()
        except OAuth2Error:
            self._keep_spent()
            raise

    def _keep_spent(self):
        # The refusal rolls back the claim (a conditional UPDATE in this request's transaction): spend the code
        # again once it has, or a guessed verifier could be followed by the right one.
        code_id = self.claimed_code_id
        if code_id is not None:
            unit_of_work.always(lambda: store.spend_code(code_id))

    def query_authorization_code(self, code, client):
        """Claim the code for this client once; a second use revokes what the first one issued."""
        row, problem = store.claim_code(code, client.app)
        if problem is None:
            self.claimed_code_id = row.id
            return Code(row)
        note_problem(problem, client.app.id, row.consent_id if row is not None else None)
        if problem == store.CODE_REUSED:
            code_id = row.id
            unit_of_work.always(lambda: store.revoke_tokens_of_code(code_id))
        return None

    def delete_authorization_code(self, authorization_code):
        """Nothing to delete: the code was marked used when it was claimed, and is kept for reuse detection."""

    def authenticate_user(self, authorization_code):
        """The customer who gave the consent."""
        return authorization_code.row.consent.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotation: every use returns a new pair and marks the old refresh token used; reuse revokes the consent."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """Claim the refresh token once; presenting a used one ends the whole consent."""
        row, problem = store.claim_refresh_token(refresh_token, self.request.client.app)
        if problem is None:
            return Token(row)
        note_problem(problem, self.request.client.app.id, row.consent_id if row is not None else None)
        if problem == store.REFRESH_REUSED:
            consent_id, actor = row.consent_id, g.oauth_actor
            unit_of_work.always(lambda: store.revoke_for_reuse(consent_id, actor=actor))
        return None

    def authenticate_user(self, refresh_token):
        """The customer who gave the consent."""
        return refresh_token.row.user

    def revoke_old_credential(self, refresh_token):
        """Record the refresh (the old refresh token was marked used when it was claimed)."""
        store.record_refresh(refresh_token.row, actor=g.oauth_actor)


class Revocation(RevocationEndpoint):
    """RFC 7009: a client revokes its own access or refresh token; both of the pair end."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request, client):
        """Require the token; ignore the hint, even one this server does not know.

        Authlib answers an unknown `token_type_hint` with 401 `unsupported_token_type`; RFC 7009 §2.1 lets the
        server ignore a hint and search every kind of token, and RFC 6749 §5.2 keeps 401 for `invalid_client`.
        Every token here is found by its hash whatever its kind, so the hint would only save a lookup.
        """
        if "token" not in request.form:
            raise InvalidRequestError()

    def query_token(self, token_string, token_type_hint):
        """The token pair this access or refresh token belongs to, whatever the hint says."""
        row = store.find_token(token_string) if isinstance(token_string, str) else None
        return Token(row) if row is not None else None

    def revoke_token(self, token, request):
        """Revoke the pair."""
        store.revoke_token(token.row, actor=g.oauth_actor)


class PortalAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server, over the portal's apps, consents, codes and tokens."""

    def query_client(self, client_id):
        """The registered, active app with this client id, as an Authlib client (a suspended app is unknown)."""
        app = apps.find_app(client_id)
        if app is None or app.status != AppStatus.ACTIVE.value:
            note_problem("unknown client" if app is None else "app suspended",
                         None if app is None else app.id)
            return None
        return Client(app)

    def authenticate_client(self, request, methods, endpoint="token"):
        """Authenticate the app at the token or revocation endpoint, from inside its IP allowlist only.

        The authorization endpoint never gets here: it is the customer's browser that calls it, from wherever
        the customer is. The app's own servers call these two endpoints, as they call the API.
        """
        client = super().authenticate_client(request, methods, endpoint)
        if not apps.allows_address(client.app, client_ip()):
            note_problem("outside the app's allowlist", client.app.id)
            raise InvalidClientError(status_code=401)
        return client

    def create_token_response(self, request=None):
        """Refuse a token request without a grant_type as invalid_request (RFC 6749 5.2: a required parameter is
        missing; 3.2: one sent empty is missing too); Authlib would call it an unsupported grant type."""
        oauth_request = self.create_oauth2_request(request)
        if not oauth_request.payload.grant_type:
            return self.handle_error_response(oauth_request, InvalidRequestError("Missing 'grant_type' in request."))
        return super().create_token_response(request)

    def save_token(self, token, request):
        """Keep the hashes of the new pair under the consent its code or refresh token belongs to."""
        source = request.authorization_code or request.refresh_token
        consent = db.session.get(Consent, source.row.consent_id)
        store.store_tokens(access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                           consent=consent, scopes=token.get("scope", ""),
                           # a refreshed pair still descends from its code: a reused code ends it too
                           code_id=source.row.id if isinstance(source, Code) else source.row.code_id)

    def create_bearer_token_generator(self, config):
        """Opaque tokens: `pat_…` access tokens living 10 minutes, `prt_…` refresh tokens."""
        return BearerTokenGenerator(_secret(store.ACCESS_PREFIX), _secret(store.REFRESH_PREFIX),
                                    lambda client, grant_type: store.ACCESS_SECONDS)

    def handle_error_response(self, request, error):
        """Answer the error as Authlib does, and keep it for the view to audit."""
        g.oauth_error = (error, getattr(request, "client", None))
        return super().handle_error_response(request, error)


def _secret(prefix):
    def generate(**_):
        return prefix + secrets.token_urlsafe(32)
    return generate


def create_server(app):
    """Build the server for `app` with the authorization-code and refresh-token grants and revocation."""
    server = PortalAuthorizationServer()
    server.init_app(app)
    server.register_grant(AuthorizationCodeGrant, [S256Challenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    return server
