"""Bearer-token authentication, scopes and account grants for the API."""
import datetime as dt
import functools
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import g, request

from portal import identity, unit_of_work
from portal.api.errors import ApiError, not_found
from portal.extensions import db
from portal.ledger import clock
from portal.models import Account, ApiToken, User, api_token_accounts
from portal.observability import client_ip, request_actor

# last_used_at/last_used_ip are written at most this often per token, so reads do not each cost a write.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}


def _unauthorized(reason, token=None):
    actor = request_actor(token=token) if token is not None else request_actor()
    unit_of_work.refuse(actor, "api.unauthorized", reason=reason, object_type="request",
                        object_id=request.path[:64], subject_user_id=token.user_id if token is not None else None)
    return ApiError(401, "unauthorized", "A valid bearer token is required.", headers=UNAUTHORIZED_HEADERS)


# Built once: the token by its hash, its owner, and the URL's account if the token's grant holds it.
_TOKEN_AND_GRANT = (
    sa.select(ApiToken, User, Account)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(api_token_accounts, sa.and_(api_token_accounts.c.token_id == ApiToken.id,
                                           api_token_accounts.c.account_id == sa.bindparam("account_id")))
    .outerjoin(Account, sa.and_(Account.id == api_token_accounts.c.account_id,
                                Account.owner_id == ApiToken.user_id, Account.kind == "customer"))
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)


@dataclass
class Credential:
    """What the request's Authorization header came to: a usable token, or the reason there is none."""

    account_id: object
    token: ApiToken | None
    problem: str | None
    granted: dict = field(default_factory=dict)


def init_app(app):
    """Know who calls the API before the rate limit runs: it counts per usable token, else per address.

    Registered ahead of the limiter's own before_request hook (see portal.create_app).
    """
    app.before_request(_identify_api_caller)


def _identify_api_caller():
    if request.blueprint == "api":
        credential((request.view_args or {}).get("account_id"))


def credential(account_id=None):
    """Look the request's bearer token up, once per request; refuse nothing and audit nothing (authenticate does).

    With the `account_id` of the URL, the same round trip also fetches that account if the token may see it
    (remembered for granted_account), so a typical API read costs two statements, not three.
    """
    known = g.get("credential")
    if known is not None and known.account_id == account_id:
        return known
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not identity.tokens.is_well_formed(secret):
        found = Credential(account_id, None, "missing or malformed Authorization header")
    else:
        row = db.session.execute(_TOKEN_AND_GRANT, {"token_hash": identity.hash_secret(secret),
                                                    "account_id": account_id}).first()
        if row is None:
            found = Credential(account_id, None, "unknown token")
        else:
            problem = identity.token_problem(row.ApiToken)
            found = Credential(account_id, row.ApiToken, f"token {problem}" if problem else None,
                               {account_id: row.Account} if account_id is not None else {})
    g.credential = found
    return found


def authenticate(account_id=None):
    """Return the request's usable token, or raise 401 (and audit the refusal)."""
    found = credential(account_id)
    if found.problem is not None:
        raise _unauthorized(found.problem, found.token)
    token = found.token
    g.granted = found.granted
    g.api_token = token
    g.actor = request_actor(token=token)
    _touch(token)
    return token


def _touch(token):
    now, ip = clock.now(), client_ip()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL and token.last_used_ip == ip:
        return
    # Written at the end of the request whatever its outcome, in its one commit (a refused call was still a use).
    unit_of_work.always(lambda: db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id)
                                                   .values(last_used_at=now, last_used_ip=ip)))


def require_scope(scope):
    """Decorate a resource method: a usable token with `scope`, or 401/403 (audited)."""
    def decorator(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            token = authenticate(kwargs.get("account_id"))
            if scope not in token.scope_set:
                raise forbidden(token, f"the token lacks the {scope} scope")
            return method(*args, **kwargs)
        return wrapper
    return decorator


def forbidden(token, reason):
    """Audit a refusal for lack of permission and return the 403 to raise."""
    unit_of_work.refuse(g.actor, "api.forbidden", reason=reason, object_type="request",
                        object_id=request.path[:64], subject_user_id=token.user_id)
    return ApiError(403, "forbidden", f"Forbidden: {reason}.")


def granted_accounts(token):
    """The accounts `token` may see: in its grant, customer accounts, and still its owner's."""
    return (
        sa.select(Account)
        .join(api_token_accounts, api_token_accounts.c.account_id == Account.id)
        .where(api_token_accounts.c.token_id == token.id, Account.owner_id == token.user_id,
               Account.kind == "customer")
    )


def granted_account_or_none(token, account_id):
    """Return the account if it is in the token's grant and still its owner's, else None."""
    if token is g.get("api_token") and account_id in g.get("granted", {}):
        return g.granted[account_id]
    return db.session.scalar(granted_accounts(token).where(Account.id == account_id))


def granted_account(token, account_id):
    """Return the granted account, or raise 404 whether it does not exist or is not granted (never say which)."""
    account = granted_account_or_none(token, account_id)
    if account is None:
        raise not_found("account")
    return account
