"""Bearer-token authentication, scopes and account grants for the API."""
import functools
from dataclasses import replace

from flask import g, request

from portal import audit, identity, unit_of_work
from portal.api.errors import ApiError, not_found
from portal.audit import Refusal
from portal.extensions import db
from portal.ledger import clock
from portal.observability import client_ip, request_actor

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}


def _unauthorized(resolution):
    token, consent = resolution.token, resolution.consent
    if token is not None:
        actor, subject = request_actor(token=token), token.user_id
    elif consent is not None:  # an OAuth token of a known consent: the refusal is the app's, for that customer
        actor, subject = replace(request_actor(), type="token", user_id=consent.user_id, app_id=consent.app_id,
                                 consent_id=consent.id), consent.user_id
    else:
        actor, subject = request_actor(), None
    unit_of_work.refuse(actor, "api.unauthorized", Refusal("unauthorized", resolution.problem), object_type="request",
                        object_id=request.path[:64], subject_user_id=subject)
    return ApiError(401, "unauthorized", "A valid bearer token is required.", headers=UNAUTHORIZED_HEADERS)


def init_app(app):
    """Know who calls the API before the rate limit runs: it counts per usable token, else per address.

    Registered ahead of the limiter's own before_request hook (see portal.create_app).
    """
    app.before_request(_identify_api_caller)


APP_READ_ACTION = "api.read"
# What an app's read is about, per endpoint: the audit event's object type (its id: the transaction, else the
# account, the URL names).
READS = {
    "api.accounts_account_list": "accounts", "api.accounts_account_detail": "account",
    "api.accounts_account_balance": "balance", "api.transactions_transaction_list": "transactions",
    "api.transactions_transaction_detail": "transaction", "api.statements_statement_list": "statements",
    "api.statements_statement_detail": "statement",
}


def record_app_read(response):
    """Audit every read an app makes (through a consent, or a personal token for the app), with the app and the
    consent, so the customer and the bank see what each app did. An after-request hook of the API blueprint.

    An app's writes are audited by what they do (a posting, or its refusal), and a refused credential or scope as
    api.unauthorized / api.forbidden: neither is recorded twice. The record is kept whatever the request's
    outcome (`unit_of_work.always`), a read that failed with the error it answered.
    """
    principal = g.get("principal")
    if principal is None or principal.app_id is None or request.method not in ("GET", "HEAD") \
            or response.status_code in (401, 403):
        return response
    args = request.view_args or {}
    object_id = args.get("transaction_id") or args.get("account_id")
    outcome, refusal = "success", None
    if response.status_code >= 400:
        body = response.get_json(silent=True) if response.is_json else None
        body = body if isinstance(body, dict) else {}
        outcome = "failed"
        refusal = Refusal(str(body.get("code") or response.status_code), str(body.get("message") or response.status))
    actor, object_type = g.actor, READS.get(request.endpoint, "request")

    # A read changes nothing: its record need not wait for the disk (measured: waiting made an app's balance read
    # cost 1.69 x a personal token's, against 1.33 without).
    unit_of_work.always(lambda: audit.record(
        actor, APP_READ_ACTION, object_type=object_type, object_id=None if object_id is None else str(object_id),
        subject_user_id=principal.user_id, outcome=outcome, refusal=refusal, wait_for_disk=False))
    return response


def _identify_api_caller():
    if request.blueprint == "api":
        credential((request.view_args or {}).get("account_id"))


def credential(account_id=None):
    """Resolve the request's bearer credential once per request; refuse nothing and audit nothing (authenticate
    does). The rate limit reads it before any resource runs."""
    known = g.get("credential")
    if known is not None and known.account_id == account_id:
        return known
    g.credential = identity.resolve_bearer(request.headers.get("Authorization", ""), account_id, client_ip())
    return g.credential


def authenticate(account_id=None):
    """Return the request's principal, or raise 401 (and audit the refusal)."""
    resolution = credential(account_id)
    if resolution.principal is None:
        raise _unauthorized(resolution)
    principal = g.principal = resolution.principal
    g.actor = request_actor(principal=principal)
    _touch(principal)
    return principal


def _touch(principal):
    # Written at the end of the request whatever its outcome, in its one commit (a refused call was still a use).
    # The statement is built now: after a refusal's rollback the credential's row would have to be read again.
    touch = principal.last_use(clock.now(), client_ip())
    if touch is not None:
        unit_of_work.always(lambda: db.session.execute(touch))


def require_scope(*scopes, why=None):
    """Decorate a resource method: a principal holding one of `scopes`, or 401/403 (audited, saying `why`)."""
    why = why or f"the token lacks the {' or '.join(scopes)} scope"

    def decorator(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            principal = authenticate(kwargs.get("account_id"))
            if not any(principal.may(scope) for scope in scopes):
                raise forbidden(principal, why)
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
