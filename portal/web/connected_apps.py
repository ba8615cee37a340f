"""`/connected-apps`: every registered app that can reach the customer's money, what it may do, what it did,
and a way to cut it off (its consent, or the API token the customer issued for it)."""
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SubmitField

from portal import identity
from portal.display import SCOPE_LABELS
from portal.extensions import db
from portal.identity import consents
from portal.kernel import clock
from portal.models import ApiToken, AppStatus, AuditEvent, Consent, ConsentStatus
from portal.observability import request_actor
from portal.web.activity import describe
from portal.web.routes import bp, customer_required, own_accounts

RECENT = 10  # what each app did: its latest events about the customer
PLAIN_SCOPES = SCOPE_LABELS  # one wording of each scope, portal.display's
REVOKED_BY_CUSTOMER = "revoked by the customer on Connected apps"


class RevokeAccessForm(FlaskForm):
    """The button that ends one app's access (a POST with a CSRF token)."""

    submit = SubmitField("Revoke")


@dataclass
class Connection:
    """One way an app reaches the customer's money: a consent (OAuth) or an API token issued for it."""

    kind: str  # "consent" or "token"
    record: object
    status: str  # active, expired, revoked, or app suspended
    granted_at: object
    expires_at: object
    last_used_at: object

    @property
    def revocable(self):
        """Whether revoking changes anything: it has not ended (a suspended app's access can still be ended)."""
        return self.status in ("active", "app suspended")


@dataclass
class ConnectedApp:
    """An app, every connection it has to this customer, and what it did recently."""

    app: object
    connections: list = field(default_factory=list)
    events: list = field(default_factory=list)


def _status(own_status, app):
    """The connection's own status, or `app suspended` while it would otherwise work."""
    if own_status == "active" and app.status != AppStatus.ACTIVE.value:
        return "app suspended"
    return own_status


def _connections(user, now):
    """The customer's consents and app tokens, grouped by app (by name)."""
    found = {}
    for consent in consents.consents_of(user):
        found.setdefault(consent.app_id, ConnectedApp(consent.app)).connections.append(
            Connection("consent", consent, _status(consent.status_at(now), consent.app), consent.granted_at,
                       consent.expires_at, consent.last_used_at))
    tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.app_id.is_not(None))
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    for token in tokens:
        found.setdefault(token.app_id, ConnectedApp(token.app)).connections.append(
            Connection("token", token, _status(token.status(now), token.app), token.created_at, token.expires_at,
                       token.last_used_at))
    return sorted(found.values(), key=lambda connected: (connected.app.name.lower(), connected.app.id))


def _what_it_did(app, user, names):
    """The app's latest audit events about the customer, told the way the activity page tells them."""
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.actor_app_id == app.id,
                                    sa.or_(AuditEvent.subject_user_id == user.id,
                                           AuditEvent.actor_user_id == user.id))
        .order_by(AuditEvent.id.desc()).limit(RECENT)).all()
    return [(event, *describe(event, names, user.id)) for event in events]


@bp.get("/connected-apps")
@customer_required
def connected_apps():
    """Every app that can reach the customer's money: what it may do, on which accounts, until when, what it did."""
    user = current_user._get_current_object()
    connected = _connections(user, clock.now())
    names = {str(a.id): a.name for a in own_accounts()}
    for entry in connected:
        entry.events = _what_it_did(entry.app, user, names)
    return render_template("web/connected_apps.html", connected=connected, scope_labels=PLAIN_SCOPES,
                           form=RevokeAccessForm())


def _revoke(record, kind, ended, revoke):
    """Revoke one of the customer's connections (404 for anyone else's), then go back to the page."""
    if record is None or record.user_id != current_user.id or (kind == "token" and record.app_id is None):
        abort(404)
    if not RevokeAccessForm().validate_on_submit():
        abort(400)
    app_name = record.app.name
    if ended(record):
        flash(f"{app_name}: that access had already ended.", "info")
    else:
        revoke(record, actor=request_actor(user=current_user._get_current_object()), reason=REVOKED_BY_CUSTOMER)
        flash(f"{app_name} can no longer reach your accounts this way.", "success")
    return redirect(url_for("web.connected_apps"))


@bp.post("/connected-apps/consents/<id:consent_id>/revoke")
@customer_required
def revoke_consent(consent_id):
    """Withdraw a consent: the app's OAuth tokens under it stop at once."""
    return _revoke(db.session.get(Consent, consent_id), "consent",
                   lambda c: c.status_at(clock.now()) != ConsentStatus.ACTIVE.value, consents.revoke_consent)


@bp.post("/connected-apps/tokens/<id:token_id>/revoke")
@customer_required
def revoke_app_token(token_id):
    """Revoke the API token the customer issued for an app: it stops on its next request."""
    return _revoke(db.session.get(ApiToken, token_id), "token", lambda t: t.status(clock.now()) != "active",
                   identity.revoke_token)


