"""Consents: what a customer granted a registered app through OAuth 2.0, and ending them.

A consent holds accounts (the customer's, at least one), scopes (at most what the app asked for and may hold),
and an expiry (90 days by default, at most 180). Revoking one ends its OAuth tokens at once. The protocol itself
(codes, PKCE, token rotation) is portal.oauth's, on Authlib; the rules about what is granted are here.
"""
import datetime as dt
from dataclasses import replace

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.kernel import clock, errors
from portal.models import CUSTOMER_SCOPES, AccountKind, AppStatus, Consent, ConsentStatus, OAuthToken, Role

DEFAULT_DAYS = 90
MAX_DAYS = 180

GRANT_ACTION = "consent.grant"
DENY_ACTION = "consent.deny"
REFRESH_ACTION = "consent.refresh"
REVOKE_ACTION = "consent.revoke"
EXPIRE_ACTION = "consent.expire"
REUSE_ACTION = "consent.refresh_reuse"


def grantable_scopes(app, requested):
    """The scopes a consent may hold: those requested that the app may hold and a customer may give."""
    return sorted(set(requested) & app.scope_set & set(CUSTOMER_SCOPES))


def grant_consent(user, app, *, scopes, accounts, days=DEFAULT_DAYS, actor):
    """Record that `user` grants `app` these scopes on these accounts for `days`; return the consent.

    Refused (ValidationError, nothing written) for staff, an inactive customer, a suspended app, an account
    that is not the customer's, no account, no grantable scope, or an expiry outside 1..180 days.
    """
    if user.role != Role.CUSTOMER.value or not user.active:
        raise errors.ValidationError("only active customers give consent", field="user")
    if app.status != AppStatus.ACTIVE.value:
        raise errors.ValidationError("the app is suspended", field="app")
    accounts = list({account.id: account for account in accounts}.values())
    if not accounts:
        raise errors.ValidationError("choose at least one account", field="accounts")
    if any(a.owner_id != user.id or a.kind != AccountKind.CUSTOMER.value for a in accounts):
        raise errors.ValidationError("must be accounts of this customer", field="accounts")
    granted = grantable_scopes(app, scopes)
    if not granted:
        raise errors.ValidationError("nothing the app asked for can be granted", field="scope")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise errors.ValidationError(f"must be from 1 to {MAX_DAYS} days", field="days")
    now = clock.now()
    consent = Consent(user_id=user.id, app_id=app.id, scopes=" ".join(granted), granted_at=now,
                      expires_at=now + dt.timedelta(days=days), status=ConsentStatus.ACTIVE.value)
    consent.accounts = accounts
    db.session.add(consent)
    db.session.flush()
    audit.record(replace_app(actor, app.id, consent.id), GRANT_ACTION, object_type="consent", object_id=consent.id,
                 subject_user_id=user.id,
                 changes={"app": [None, app.client_id], "scopes": [None, granted],
                          "accounts": [None, sorted(str(a.id) for a in accounts)],
                          "expires_at": [None, consent.expires_at]})
    return consent


def record_denial(user, app, *, scopes, actor):
    """Record that `user` denied `app` (nothing is granted)."""
    audit.record(replace_app(actor, app.id, None), DENY_ACTION, object_type="app", object_id=app.id,
                 subject_user_id=user.id, changes={"scopes": [None, sorted(scopes)]})


def revoke_consent(consent, *, actor, reason=None, action=REVOKE_ACTION, status=ConsentStatus.REVOKED):
    """End a consent and every OAuth token issued under it, at once. Ending an ended one changes nothing."""
    if consent.status != ConsentStatus.ACTIVE.value:
        return consent
    now = clock.now()
    consent.status, consent.revoked_at = status.value, now
    db.session.execute(sa.update(OAuthToken).where(OAuthToken.consent_id == consent.id,
                                                   OAuthToken.revoked_at.is_(None)).values(revoked_at=now))
    audit.record(replace_app(actor, consent.app_id, consent.id), action, object_type="consent",
                 object_id=consent.id, subject_user_id=consent.user_id,
                 changes={"status": [ConsentStatus.ACTIVE.value, status.value]}, reason=reason)
    db.session.flush()
    return consent


def expire_consent(consent, *, actor):
    """Mark a consent past its expiry as expired (kept and shown, never deleted), and end its tokens."""
    if consent.status_at(clock.now()) != ConsentStatus.EXPIRED.value or consent.status != ConsentStatus.ACTIVE.value:
        return consent
    return revoke_consent(consent, actor=actor, action=EXPIRE_ACTION, status=ConsentStatus.EXPIRED)


def expire_due_consents(*, actor):
    """Mark every active consent past its expiry as expired, each with its own `consent.expire` event; return them.

    Access already ends at the expiry without this (a consent is read at the clock's now); the sweep records
    when it ended and revokes the tokens left. Rows are locked: two sweeps at once record each consent once.
    """
    due = db.session.scalars(sa.select(Consent)
                             .where(Consent.status == ConsentStatus.ACTIVE.value, Consent.expires_at <= clock.now())
                             .order_by(Consent.id).with_for_update()
                             .execution_options(populate_existing=True)).all()
    return [expire_consent(consent, actor=actor) for consent in due]


def consents_of(user):
    """Every consent the customer gave, newest first (ended ones too: they are shown as such)."""
    return db.session.scalars(sa.select(Consent).where(Consent.user_id == user.id)
                              .order_by(Consent.granted_at.desc(), Consent.id.desc())).all()


def replace_app(actor, app_id, consent_id):
    """The actor, naming the app (and consent) the event concerns, so the audit log tells what each app did."""
    return replace(actor, app_id=app_id, consent_id=consent_id)
