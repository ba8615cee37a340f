"""What Authlib asks of a client, a code and a token, answered from the portal's own rows.

The models stay plain SQLAlchemy (nothing below `portal.oauth` knows Authlib); these thin wrappers give Authlib
its mixins' methods over them. Redirect URIs are compared exactly, as strings: a changed port, path or query is a
different URI.
"""
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from portal.identity import apps, consents
from portal.models import AppStatus, ClientType

GRANT_TYPES = ("authorization_code", "refresh_token")
RESPONSE_TYPES = ("code",)
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class Client(ClientMixin):
    """A registered app as an OAuth client: confidential (a secret) or public (PKCE only)."""

    def __init__(self, app):
        """Wrap the ThirdPartyApp `app`."""
        self.app = app

    @property
    def confidential(self):
        """Whether the app has a client secret."""
        return self.app.client_type == ClientType.CONFIDENTIAL.value

    def get_client_id(self):
        """The public client id."""
        return self.app.client_id

    def get_default_redirect_uri(self):
        """None: every authorization request names its redirect URI, which must be registered exactly."""
        return

    def get_allowed_scope(self, scope):
        """The requested scopes a consent may hold (the app may hold them, a customer may give them), or None."""
        allowed = consents.grantable_scopes(self.app, (scope or "").split())
        return " ".join(allowed) if allowed else None

    def check_redirect_uri(self, redirect_uri):
        """Whether `redirect_uri` is one the app registered, character for character."""
        return redirect_uri in self.app.redirect_uri_list

    def check_client_secret(self, client_secret):
        """Whether `client_secret` is the app's secret (by hash, in constant time)."""
        return apps.check_client_secret(self.app, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        """Confidential apps authenticate with their secret (Basic or form); public apps with their id alone."""
        return method in SECRET_METHODS if self.confidential else method == "none"

    def check_response_type(self, response_type):
        """Only the authorization code: no implicit grant."""
        return response_type in RESPONSE_TYPES

    def check_grant_type(self, grant_type):
        """Only the authorization code and refresh tokens: no password or client-credentials grant."""
        return grant_type in GRANT_TYPES

    @property
    def active(self):
        """Whether the app may be used now (not suspended)."""
        return self.app.status == AppStatus.ACTIVE.value


class Code(AuthorizationCodeMixin):
    """A stored authorization code (only its hash is kept), bound to its redirect URI and PKCE challenge."""

    def __init__(self, row):
        """Wrap the AuthorizationCode `row`."""
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self):
        """The redirect URI the code was issued for: the token request must repeat it."""
        return self.row.redirect_uri

    def get_scope(self):
        """The scopes the consent granted."""
        return self.row.scope


class Token(TokenMixin):
    """A stored OAuth token pair (hashes only), for the refresh grant and the revocation endpoint."""

    def __init__(self, row):
        """Wrap the OAuthToken `row`."""
        self.row = row

    def check_client(self, client):
        """Whether the token was issued to `client`."""
        return self.row.app_id == client.app.id

    def get_scope(self):
        """The scopes the token carries."""
        return self.row.scopes

    def get_expires_in(self):
        """Seconds the access token lived for when issued."""
        return int((self.row.access_expires_at - self.row.issued_at).total_seconds())

    def is_revoked(self):
        """Whether the token was revoked."""
        return self.row.revoked_at is not None

    def get_user(self):
        """The customer the token acts for."""
        return self.row.user

    def get_client(self):
        """The app the token was issued to."""
        return Client(self.row.app)
