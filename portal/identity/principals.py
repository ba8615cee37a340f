"""The one credential check: an `Authorization` header becomes a principal, or the reason it cannot.

A principal is who acts (the customer), through which credential (a personal API token, possibly for a
registered app, or an OAuth access token under a consent the customer gave an app), with which scopes and which
accounts. The API's decorators, the rate limit and the audit actor ask the principal, never the token tables.
Every kind of credential is resolved in one database round trip, which also reads the account the URL names.
"""
import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

import sqlalchemy as sa

from portal.extensions import db
from portal.identity.apps import app_problem
from portal.identity.tokens import OAUTH_ACCESS_PREFIX, SECRET_PREFIX, hash_secret, token_problem
from portal.kernel import clock
from portal.models import (
    Account,
    AccountKind,
    ApiToken,
    Consent,
    ConsentStatus,
    OAuthToken,
    ThirdPartyApp,
    User,
    api_token_accounts,
    consent_accounts,
)

MAX_SECRET = 200
_CUSTOMER_ACCOUNT = sa.and_(Account.kind == AccountKind.CUSTOMER.value)

# Built once: the personal token by its hash, its owner, its app (if it is for one), and (given the URL's
# account) that account if the token's grant holds it and it is still the owner's customer account.
_PERSONAL = (
    sa.select(ApiToken, User, ThirdPartyApp, Account)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(ThirdPartyApp, ThirdPartyApp.id == ApiToken.app_id)
    .outerjoin(api_token_accounts, sa.and_(api_token_accounts.c.token_id == ApiToken.id,
                                           api_token_accounts.c.account_id == sa.bindparam("account_id")))
    .outerjoin(Account, sa.and_(Account.id == api_token_accounts.c.account_id,
                                Account.owner_id == ApiToken.user_id, _CUSTOMER_ACCOUNT))
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)
# The same for an OAuth access token: the token, its consent, the app, the customer, the URL's account if the
# consent holds it and it is still the customer's.
_OAUTH = (
    sa.select(OAuthToken, Consent, ThirdPartyApp, User, Account)
    .join(Consent, Consent.id == OAuthToken.consent_id)
    .join(ThirdPartyApp, ThirdPartyApp.id == OAuthToken.app_id)
    .join(User, User.id == OAuthToken.user_id)
    .outerjoin(consent_accounts, sa.and_(consent_accounts.c.consent_id == Consent.id,
                                         consent_accounts.c.account_id == sa.bindparam("account_id")))
    .outerjoin(Account, sa.and_(Account.id == consent_accounts.c.account_id,
                                Account.owner_id == OAuthToken.user_id, _CUSTOMER_ACCOUNT))
    .where(OAuthToken.access_token_hash == sa.bindparam("token_hash"))
)


@dataclass(frozen=True)
class Principal:
    """A customer acting through a credential, within its scopes and on the accounts it was granted."""

    user_id: int
    credential: object  # an ApiToken or an OAuthToken
    scopes: frozenset
    app: Optional[ThirdPartyApp] = None  # the registered app the credential acts for, if any
    consent: Optional[Consent] = None  # the consent an OAuth token was issued under
    known_accounts: dict = field(default_factory=dict)  # account id -> Account or None, read with the credential

    @property
    def token(self):
        """The personal API token that acts, or None for an OAuth token."""
        return self.credential if isinstance(self.credential, ApiToken) else None

    @property
    def token_id(self):
        """The id of the personal token that acts (what the audit log's actor_token_id holds), or None."""
        return self.credential.id if isinstance(self.credential, ApiToken) else None

    @property
    def app_id(self):
        """The id of the app the credential acts for, or None."""
        return None if self.app is None else self.app.id

    @property
    def consent_id(self):
        """The id of the consent an OAuth token acts under, or None."""
        return None if self.consent is None else self.consent.id

    @property
    def key(self):
        """What the rate limit counts on: the personal token, or the consent (every token it was issued)."""
        return f"token:{self.credential.id}" if self.consent is None else f"consent:{self.consent.id}"

    def may(self, scope):
        """Whether the credential holds `scope`."""
        return scope in self.scopes

    def accounts(self):
        """A query of the accounts the principal may reach: granted, customer accounts, still the owner's."""
        if self.consent is not None:
            granted = sa.select(consent_accounts.c.account_id).where(consent_accounts.c.consent_id == self.consent.id)
        else:
            granted = sa.select(api_token_accounts.c.account_id).where(
                api_token_accounts.c.token_id == self.credential.id)
        return sa.select(Account).where(Account.id.in_(granted), Account.owner_id == self.user_id,
                                        _CUSTOMER_ACCOUNT)

    def account(self, account_id):
        """The account if the principal may reach it, else None (read with the credential when it could be)."""
        if account_id in self.known_accounts:
            return self.known_accounts[account_id]
        return db.session.scalar(self.accounts().where(Account.id == account_id))

    def last_use(self, now, ip):
        """The statement recording this use (on the token, or on the consent), or None if recorded a moment ago."""
        target = self.credential if self.consent is None else self.consent
        if target.last_used_at is not None and now - target.last_used_at < TOUCH_INTERVAL \
                and target.last_used_ip == ip:
            return None
        model = type(target)
        return sa.update(model).where(model.id == target.id).values(last_used_at=now, last_used_ip=ip)


# last_used_at/last_used_ip are written at most this often per credential, so reads do not each cost a write.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Resolution:
    """What a credential came to: a principal, or the problem (and what was known of it: token, app, consent)."""

    principal: Principal | None
    problem: str | None = None
    token: ApiToken | None = None
    account_id: object = None
    app: ThirdPartyApp | None = None
    consent: Consent | None = None


def resolve_bearer(authorization, account_id=None, ip=None):
    """Resolve an `Authorization` header value into a Resolution, in one database round trip at most.

    With `account_id` (the account a URL names) the same round trip fetches that account if the credential may
    reach it, so a typical API read costs the credential check and its own query, nothing more. `ip` is the
    caller's address, checked against the allowlist of the app the credential acts for.
    """
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > MAX_SECRET:
        return Resolution(None, "missing or malformed Authorization header", account_id=account_id)
    if secret.startswith(SECRET_PREFIX):
        return _personal(secret, account_id, ip)
    if secret.startswith(OAUTH_ACCESS_PREFIX):
        return _oauth(secret, account_id, ip)
    return Resolution(None, "missing or malformed Authorization header", account_id=account_id)


def _personal(secret, account_id, ip):
    row = db.session.execute(_PERSONAL, {"token_hash": hash_secret(secret), "account_id": account_id}).first()
    if row is None:
        return Resolution(None, "unknown token", account_id=account_id)
    token, app = row.ApiToken, row.ThirdPartyApp
    problem = token_problem(token)
    if problem is not None:
        return Resolution(None, f"token {problem}", token, account_id, app)
    scopes = frozenset(token.scope_set)
    if app is not None:
        problem = app_problem(app, ip)
        if problem is not None:
            return Resolution(None, problem, token, account_id, app)
        scopes &= app.scope_set  # the app's level of access, as the bank set it now
    known = {account_id: row.Account} if account_id is not None else {}
    return Resolution(Principal(token.user_id, token, scopes, app, None, known), None, token, account_id, app)


def _oauth(secret, account_id, ip):
    row = db.session.execute(_OAUTH, {"token_hash": hash_secret(secret), "account_id": account_id}).first()
    if row is None:
        return Resolution(None, "unknown token", account_id=account_id)
    token, consent, app, user = row.OAuthToken, row.Consent, row.ThirdPartyApp, row.User
    problem = _oauth_problem(token, consent, user, clock.now()) or app_problem(app, ip)
    if problem is not None:
        return Resolution(None, problem, None, account_id, app, consent)
    scopes = token.scope_set & consent.scope_set & app.scope_set
    known = {account_id: row.Account} if account_id is not None else {}
    principal = Principal(token.user_id, token, frozenset(scopes), app, consent, known)
    return Resolution(principal, None, None, account_id, app, consent)


def _oauth_problem(token, consent, user, now):
    if token.revoked_at is not None:
        return "token revoked"
    if token.access_expires_at <= now:
        return "token expired"
    status = consent.status_at(now)
    if status != ConsentStatus.ACTIVE.value:
        return f"consent {status}"
    if not user.active:
        return "token owner_inactive"
    return None


def authenticate_token(secret):
    """Return the usable personal token for `secret`, or None: unknown, revoked, expired, or its owner deactivated."""
    principal = resolve_bearer(f"Bearer {secret}").principal
    return principal.token if principal is not None else None
