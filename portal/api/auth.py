"""Bearer-token authentication, scopes and account grants for the API."""
import datetime as dt
import functools

import sqlalchemy as sa
from flask import g, request

from portal import identity, unit_of_work
from portal.api.errors import ApiError, not_found
from portal.audit import Refusal
from portal.extensions import db
from portal.ledger import clock
from portal.models import ApiToken
from portal.observability import client_ip, request_actor

# last_used_at/last_used_ip are written at most this often per token, so reads do not each cost a write.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}


def _unauthorized(resolution):
    token = resolution.token
    actor = request_actor(token=token) if token is not None else request_actor()
    unit_of_work.refuse(actor, "api.unauthorized", Refusal("unauthorized", resolution.problem), object_type="request",
                        object_id=request.path[:64], subject_user_id=token.user_id if token is not None else None)
    return ApiError(401, "unauthorized", "A valid bearer token is required.", headers=UNAUTHORIZED_HEADERS)


def init_app(app):
    """Know who calls the API before the rate limit runs: it counts per usable token, else per address.

    Registered ahead of the limiter's own before_request hook (see portal.create_app).
    """
    app.before_request(_identify_api_caller)


def _identify_api_caller():
    if request.blueprint == "api":
        credential((request.view_args or {}).get("account_id"))


def credential(account_id=None):
    """Resolve the request's bearer credential once per request; refuse nothing and audit nothing (authenticate
    does). The rate limit reads it before any resource runs."""
    known = g.get("credential")
    if known is not None and known.account_id == account_id:
        return known
    g.credential = identity.resolve_bearer(request.headers.get("Authorization", ""), account_id)
    return g.credential


def authenticate(account_id=None):
    """Return the request's principal, or raise 401 (and audit the refusal)."""
    resolution = credential(account_id)
    if resolution.principal is None:
        raise _unauthorized(resolution)
    principal = g.principal = resolution.principal
    g.actor = request_actor(principal=principal)
    _touch(principal.token)
    return principal


def _touch(token):
    now, ip = clock.now(), client_ip()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL and token.last_used_ip == ip:
        return
    # Written at the end of the request whatever its outcome, in its one commit (a refused call was still a use).
    # The statement is built now: after a refusal's rollback the token row would have to be read again.
    touch = sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now, last_used_ip=ip)
    unit_of_work.always(lambda: db.session.execute(touch))


def require_scope(scope):
    """Decorate a resource method: a principal holding `scope`, or 401/403 (audited)."""
    def decorator(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            principal = authenticate(kwargs.get("account_id"))
            if not principal.may(scope):
                raise forbidden(principal, f"the token lacks the {scope} scope")
            return method(*args, **kwargs)
        return wrapper
    return decorator


def forbidden(principal, why):
    """Audit a refusal for lack of permission and return the 403 to raise."""
    unit_of_work.refuse(g.actor, "api.forbidden", Refusal("forbidden", why), object_type="request",
                        object_id=request.path[:64], subject_user_id=principal.user_id)
    return ApiError(403, "forbidden", f"Forbidden: {why}.")


def granted_account(principal, account_id):
    """Return the account if the principal may reach it, or raise 404 whether it does not exist or is not
    granted (never say which)."""
    account = principal.account(account_id)
    if account is None:
        raise not_found("account")
    return account
