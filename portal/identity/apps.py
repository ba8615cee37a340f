"""Third-party apps the bank registers: who they are, where they may be sent back, what they may ever do.

A client secret and every other secret here is shown once and stored only as a SHA-256 hash (high-entropy
secrets need no slow hash). Suspending an app stops every token and consent of it on the next request.
"""
import ipaddress
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.identity.tokens import hash_secret, valid_scopes
from portal.kernel import clock, errors
from portal.models import AppStatus, ClientType, ThirdPartyApp

CLIENT_ID_PREFIX = "app_"
CLIENT_SECRET_PREFIX = "cs_"  # noqa: S105 -- the public marker of a client secret
MAX_NAME = 80
MAX_URI = 255

REGISTER_ACTION = "app.register"
EDIT_ACTION = "app.edit"
SUSPEND_ACTION = "app.suspend"
REACTIVATE_ACTION = "app.reactivate"
ROTATE_ACTION = "app.secret_rotate"


def _uri(value, field, *, redirect):
    """A URI as registered: https, or plain http only for 127.0.0.1 or localhost; no fragment in a redirect."""
    value = errors.clean_text(value, field=field, max_length=MAX_URI, required=True)
    refused = errors.ValidationError("must be an https URL (http only for 127.0.0.1 or localhost)", field=field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- read to refuse a port out of range (urlsplit checks it only when asked)
    except ValueError:  # a malformed host ("https://[x") or port
        raise refused from None
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local):
        raise refused
    if any(char.isspace() for char in value):  # no URL holds a blank; a browser would not go where it reads
        raise refused
    if redirect and parts.fragment:
        raise errors.ValidationError("must not have a fragment", field=field)
    return value


def _allowlist(cidrs):
    try:
        return [str(ipaddress.ip_network(cidr.strip(), strict=False)) for cidr in cidrs if cidr.strip()]
    except ValueError:
        raise errors.ValidationError("must be IP addresses or CIDR ranges", field="ip_allowlist") from None


def register_app(*, name, homepage, redirect_uris, client_type, scopes, actor, ip_allowlist=(), reason=None):
    """Register an app; return (app, client_secret) — the secret is None for a public app, and never shown again."""
    name = errors.clean_text(name, field="name", max_length=MAX_NAME, required=True)
    homepage = _uri(homepage, "homepage", redirect=False)
    uris = list(dict.fromkeys(_uri(uri, "redirect_uris", redirect=True) for uri in redirect_uris))
    if not uris:
        raise errors.ValidationError("at least one redirect URI is required", field="redirect_uris")
    try:
        client_type = ClientType(client_type).value
    except ValueError:
        raise errors.ValidationError("must be confidential or public", field="client_type") from None
    secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32) if client_type == ClientType.CONFIDENTIAL else None
    app = ThirdPartyApp(client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(16), name=name, homepage=homepage,
                        redirect_uris="\n".join(uris), client_type=client_type,
                        client_secret_hash=hash_secret(secret) if secret else None,
                        scopes=" ".join(valid_scopes(scopes)),
                        ip_allowlist="\n".join(_allowlist(ip_allowlist)), status=AppStatus.ACTIVE.value,
                        created_at=clock.now())
    db.session.add(app)
    db.session.flush()
    audit.record(actor, REGISTER_ACTION, object_type="app", object_id=app.id,
                 changes={"client_id": [None, app.client_id], "name": [None, name], "homepage": [None, homepage],
                          "redirect_uris": [None, uris], "client_type": [None, client_type],
                          "scopes": [None, app.scopes.split()], "ip_allowlist": [None, app.allowlist]},
                 reason=reason)
    return app, secret


def edit_app(app, *, actor, reason=None, **fields):
    """Change an app's name, homepage, redirect URIs, scopes or allowlist; record what changed."""
    cleaners = {
        "name": lambda v: errors.clean_text(v, field="name", max_length=MAX_NAME, required=True),
        "homepage": lambda v: _uri(v, "homepage", redirect=False),
        "redirect_uris": lambda v: "\n".join(dict.fromkeys(_uri(u, "redirect_uris", redirect=True) for u in v)),
        "scopes": lambda v: " ".join(valid_scopes(v)),
        "ip_allowlist": lambda v: "\n".join(_allowlist(v)),
    }
    unknown = set(fields) - set(cleaners)
    if unknown:
        raise errors.ValidationError(f"cannot be changed: {', '.join(sorted(unknown))}", field="app")
    changes = {}
    for name, value in fields.items():
        new = cleaners[name](value)
        if name == "redirect_uris" and not new:
            raise errors.ValidationError("at least one redirect URI is required", field="redirect_uris")
        if getattr(app, name) != new:
            changes[name] = [getattr(app, name), new]
            setattr(app, name, new)
    if changes:
        audit.record(actor, EDIT_ACTION, object_type="app", object_id=app.id, changes=changes, reason=reason)
        db.session.flush()
    return app


def _set_status(app, status, action, *, actor, reason):
    reason = errors.require_reason(reason)
    if app.status == status:
        raise errors.ValidationError(f"the app is already {status}", field="status")
    old, app.status = app.status, status
    audit.record(actor, action, object_type="app", object_id=app.id, changes={"status": [old, status]},
                 reason=reason)
    db.session.flush()
    return app


def suspend_app(app, *, actor, reason):
    """Suspend an app: its tokens and consents stop on the next request (not revoked: reactivation restores them)."""
    return _set_status(app, AppStatus.SUSPENDED.value, SUSPEND_ACTION, actor=actor, reason=reason)


def reactivate_app(app, *, actor, reason):
    """Reactivate a suspended app: what did not expire or get revoked meanwhile works again."""
    return _set_status(app, AppStatus.ACTIVE.value, REACTIVATE_ACTION, actor=actor, reason=reason)


def rotate_secret(app, *, actor, reason):
    """Give a confidential app a new client secret, with a reason; return it (shown once: the old one stops at once).

    Consents stay; a refresh token needs the new secret; access tokens already issued live out their minutes
    (suspending the app stops them at once).
    """
    reason = errors.require_reason(reason)
    if app.client_type != ClientType.CONFIDENTIAL.value:
        raise errors.ValidationError("a public app has no client secret to rotate", field="client_type")
    secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)
    app.client_secret_hash = hash_secret(secret)
    audit.record(actor, ROTATE_ACTION, object_type="app", object_id=app.id, reason=reason)
    db.session.flush()
    return secret


def find_app(client_id):
    """The app with this client id, or None."""
    if not isinstance(client_id, str) or not client_id.startswith(CLIENT_ID_PREFIX) or len(client_id) > 64:
        return None
    return db.session.scalar(sa.select(ThirdPartyApp).where(ThirdPartyApp.client_id == client_id))


def check_client_secret(app, secret):
    """Whether `secret` is the app's client secret (compared in constant time, by hash)."""
    return (app.client_secret_hash is not None and isinstance(secret, str)
            and secrets.compare_digest(app.client_secret_hash, hash_secret(secret)))


def allows_address(app, ip):
    """Whether an API call from `ip` may use the app's credentials (anywhere, if it has no allowlist)."""
    cidrs = app.allowlist
    if not cidrs:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr) for cidr in cidrs)


def app_problem(app, ip):
    """Why the credentials of `app` cannot be used from `ip` now (`app suspended`, `outside the app's allowlist`)."""
    if app.status != AppStatus.ACTIVE.value:
        return "app suspended"
    if not allows_address(app, ip):
        return "outside the app's allowlist"
    return None
