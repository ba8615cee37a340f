"""The one credential check: an `Authorization` header becomes a principal, or the reason it cannot.

A principal is who acts (the customer), through which credential (today a personal API token; later an OAuth
access token under a consent, and the app it was issued to), with which scopes and which accounts. The API's
decorators and the audit actor ask the principal, never the token table.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.extensions import db
from portal.identity.tokens import hash_secret, is_well_formed, token_problem
from portal.models import Account, AccountKind, ApiToken, User, api_token_accounts

# Built once, one round trip: the token by its hash, its owner, and (given the URL's account) that account if
# the token's grant holds it and it is still the owner's customer account.
_TOKEN_AND_GRANT = (
    sa.select(ApiToken, User, Account)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(api_token_accounts, sa.and_(api_token_accounts.c.token_id == ApiToken.id,
                                           api_token_accounts.c.account_id == sa.bindparam("account_id")))
    .outerjoin(Account, sa.and_(Account.id == api_token_accounts.c.account_id,
                                Account.owner_id == ApiToken.user_id, Account.kind == AccountKind.CUSTOMER.value))
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)


@dataclass(frozen=True)
class Principal:
    """A customer acting through a credential, within its scopes and on the accounts it was granted."""

    user_id: int
    token: ApiToken  # the credential; its id is what the audit log and the rate limit key on
    scopes: frozenset
    known_accounts: dict = field(default_factory=dict)  # account id -> Account or None, read with the credential

    @property
    def token_id(self):
        """The id of the credential that acts."""
        return self.token.id

    def may(self, scope):
        """Whether the credential holds `scope`."""
        return scope in self.scopes

    def accounts(self):
        """A query of the accounts the principal may reach: granted, customer accounts, still the owner's."""
        return (
            sa.select(Account)
            .join(api_token_accounts, api_token_accounts.c.account_id == Account.id)
            .where(api_token_accounts.c.token_id == self.token.id, Account.owner_id == self.user_id,
                   Account.kind == AccountKind.CUSTOMER.value)
        )

    def account(self, account_id):
        """The account if the principal may reach it, else None (read with the credential when it could be)."""
        if account_id in self.known_accounts:
            return self.known_accounts[account_id]
        return db.session.scalar(self.accounts().where(Account.id == account_id))


@dataclass(frozen=True)
class Resolution:
    """What a credential came to: a principal, or the problem (and the token, if it was a known one)."""

    principal: Principal | None
    problem: str | None = None
    token: ApiToken | None = None
    account_id: object = None


def resolve_bearer(authorization, account_id=None):
    """Resolve an `Authorization` header value into a Resolution, in one database round trip at most.

    With `account_id` (the account a URL names) the same round trip fetches that account if the credential may
    reach it, so a typical API read costs the credential check and its own query, nothing more.
    """
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not is_well_formed(secret):
        return Resolution(None, "missing or malformed Authorization header", account_id=account_id)
    row = db.session.execute(_TOKEN_AND_GRANT, {"token_hash": hash_secret(secret), "account_id": account_id}).first()
    if row is None:
        return Resolution(None, "unknown token", account_id=account_id)
    token = row.ApiToken
    problem = token_problem(token)
    if problem is not None:
        return Resolution(None, f"token {problem}", token, account_id)
    known = {account_id: row.Account} if account_id is not None else {}
    return Resolution(Principal(token.user_id, token, frozenset(token.scope_set), known), None, token, account_id)


def authenticate_token(secret):
    """Return the usable token for `secret`, or None: unknown, revoked, expired, or its owner deactivated."""
    principal = resolve_bearer(f"Bearer {secret}").principal
    return principal.token if principal is not None else None
