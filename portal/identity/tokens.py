"""API tokens: issued by a customer for one third party, stored only as a SHA-256 hash."""
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal import audit
from portal.extensions import db
from portal.kernel import clock, errors
from portal.models import AccountKind, ApiToken, Role, Scope

SECRET_PREFIX = "pt_"  # noqa: S105 -- the public marker every personal token starts with
OAUTH_ACCESS_PREFIX = "pat_"  # noqa: S105 -- the marker of an OAuth access token (portal.oauth issues them)
MAX_NAME = 80
REVOKE_ACTION = "token.revoke"  # the audit action of a revocation; portal.corrections names its kind with it
DISPLAY_PREFIX_LENGTH = 10  # "pt_" and 7 characters: enough to tell tokens apart, useless to an attacker


def hash_secret(secret):
    """Return the hex SHA-256 of a token secret (a high-entropy secret needs no slow hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(user, *, name, scopes, accounts, actor, expires_at=None, app=None, by_bank=False):
    """Create a token for `user` and return (token, secret); the secret is never stored nor shown again.

    `app` is the registered app the customer issues it for (None: their own use); such a token holds only scopes
    the app is allowed. `deposits:write` is the bank's to give (`by_bank`: the CLI), never the customer's.
    """
    name = errors.clean_text(name, field="name", max_length=MAX_NAME, required=True)
    if user.role != Role.CUSTOMER.value or not user.active:
        raise errors.ValidationError("only active customers issue tokens", field="user")
    scopes = _token_scopes(scopes, app, by_bank)
    accounts = list({account.id: account for account in accounts}.values())
    if not accounts:
        raise errors.ValidationError("at least one account is required", field="accounts")
    if any(a.owner_id != user.id or a.kind != AccountKind.CUSTOMER.value for a in accounts):
        raise errors.ValidationError("must be accounts of this customer", field="accounts")
    if expires_at is not None and expires_at <= clock.now():
        raise errors.ValidationError("must be in the future", field="expires_at")

    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:DISPLAY_PREFIX_LENGTH],
                     token_hash=hash_secret(secret), scopes=" ".join(scopes), expires_at=expires_at,
                     created_at=clock.now(), app_id=None if app is None else app.id)
    token.accounts = accounts
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.create", object_type="token", object_id=token.id, subject_user_id=user.id,
                 changes={"name": [None, name], "prefix": [None, token.prefix], "scopes": [None, scopes],
                          "accounts": [None, sorted(str(a.id) for a in accounts)],
                          "expires_at": [None, expires_at],
                          **({"app": [None, app.client_id]} if app is not None else {})})
    return token, secret


def valid_scopes(scopes):
    """The scopes named, sorted and without repeats; ValidationError (field `scopes`) for none or an unknown one."""
    try:
        chosen = sorted({Scope(scope).value for scope in scopes})
    except ValueError:
        raise errors.ValidationError(
            f"must be among {', '.join(s.value for s in Scope)}", field="scopes") from None
    if not chosen:
        raise errors.ValidationError("at least one scope is required", field="scopes")
    return chosen


def _token_scopes(scopes, app, by_bank):
    """The scopes a new token may hold, sorted; or ValidationError naming `scopes` (or `app`)."""
    chosen = valid_scopes(scopes)
    if Scope.DEPOSITS_WRITE.value in chosen and not by_bank:
        raise errors.ValidationError("deposits:write is given by the bank only", field="scopes")
    if app is not None:
        if app.status != "active":
            raise errors.ValidationError("the app is suspended", field="app")
        beyond = set(chosen) - app.scope_set
        if beyond:
            raise errors.ValidationError(f"the app may not hold {', '.join(sorted(beyond))}", field="scopes")
    return chosen


def revoke_token(token, *, actor, reason=None, customer_note=None):
    """Revoke `token`; it stops working on the next request. Revoking twice changes nothing more.

    Staff give a `reason` (internal) and may give a `customer_note` (what the customer is told).
    """
    customer_note = errors.customer_note(customer_note)
    if token.revoked_at is not None:
        return token
    token.revoked_at = clock.now()
    audit.record(actor, REVOKE_ACTION, object_type="token", object_id=token.id, subject_user_id=token.user_id,
                 changes=errors.noted({"revoked_at": [None, token.revoked_at]}, customer_note), reason=reason)
    db.session.flush()
    return token


def is_well_formed(secret):
    """Whether `secret` could be a token at all (checked before any hashing or lookup)."""
    return bool(secret) and secret.startswith(SECRET_PREFIX) and len(secret) <= 200


def find_token(secret):
    """Return the token whose secret this is, in whatever state, or None.

    The lookup is by hash through a unique index, so response time does not depend on how much of the
    secret an attacker guessed right.
    """
    if not is_well_formed(secret):
        return None
    return db.session.scalar(sa.select(ApiToken).options(joinedload(ApiToken.user))
                             .where(ApiToken.token_hash == hash_secret(secret)))


def token_problem(token, now=None):
    """Why `token` cannot be used now (`revoked`, `expired`, `owner_inactive`), or None if it can."""
    status = token.status(now or clock.now())
    if status != "active":
        return status
    if not token.user.active:
        return "owner_inactive"
    return None

