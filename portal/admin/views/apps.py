"""Third-party apps in the back-office: who they are, their consents, tokens and recent calls; admins register and
edit them and rotate their client secrets, operators suspend and reactivate them and revoke a customer's consent."""
import sqlalchemy as sa
from flask import abort, url_for
from flask_admin import expose

from portal import ledger
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.corrections import correction_form, may, requires_kind
from portal.extensions import db
from portal.identity.apps import EDIT_ACTION, REACTIVATE_ACTION, REGISTER_ACTION, ROTATE_ACTION, SUSPEND_ACTION
from portal.identity.consents import REVOKE_ACTION as CONSENT_REVOKE_ACTION
from portal.models import ApiToken, AppStatus, AuditEvent, ClientType, Consent, OAuthToken, ThirdPartyApp

RECENT_CALLS = 20
# What a suspension or reactivation asks for, by its URL segment.
STATUS_CHANGES = {"suspend": SUSPEND_ACTION, "reactivate": REACTIVATE_ACTION}
_SECRET = ["client_secret_hash"]


class AppView(PortalModelView):
    """Registered third-party apps (never a secret); admins register and edit, operators suspend and reactivate."""

    column_list = ["client_id", "name", "homepage", "client_type", "scopes", "ip_allowlist", "status", "created_at"]
    column_labels = {"client_type": "Type", "ip_allowlist": "IP allowlist", "redirect_uris": "Redirect URIs"}
    column_searchable_list = ["client_id", "name", "homepage"]
    column_filters = ["status", "client_type", "created_at"]
    column_exclude_list = _SECRET
    column_details_exclude_list = _SECRET
    column_export_exclude_list = _SECRET
    column_default_sort = ("id", True)
    column_formatters = {"client_id": lambda v, c, m, n: link(url_for(".details_view", id=m.id), m.client_id)}
    column_formatters_export = {"client_id": lambda v, c, m, n: m.client_id}
    details_template = "admin/app_details.html"

    def render(self, template, **kwargs):
        """Render a page; an app's details also show its consents, tokens, recent calls and allowed controls."""
        if template == self.details_template and "model" in kwargs:
            kwargs.update(self._details_context(kwargs["model"]))
        if template == self.list_template:
            kwargs["can_register"] = may(REGISTER_ACTION)
        return super().render(template, **kwargs)

    def _details_context(self, app):
        live = (sa.select(OAuthToken.consent_id, sa.func.count()).where(OAuthToken.app_id == app.id,
                                                                        OAuthToken.revoked_at.is_(None))
                .group_by(OAuthToken.consent_id))
        return {
            "consents": db.session.scalars(sa.select(Consent).where(Consent.app_id == app.id)
                                           .order_by(Consent.id.desc())).all(),
            "oauth_tokens": dict(db.session.execute(live).all()),
            "tokens": db.session.scalars(sa.select(ApiToken).where(ApiToken.app_id == app.id)
                                         .order_by(ApiToken.id.desc())).all(),
            "calls": db.session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_app_id == app.id)
                                        .order_by(AuditEvent.id.desc()).limit(RECENT_CALLS)).all(),
            "now": ledger.clock.now(),
            "audit_url": audit_url("app", app.id),
            "calls_url": url_for("auditevent.index_view", app=app.id),
            "can_edit": may(EDIT_ACTION, app),
            "can_rotate": may(ROTATE_ACTION, app) and app.client_type == ClientType.CONFIDENTIAL.value,
            "can_suspend": may(SUSPEND_ACTION, app) and app.status == AppStatus.ACTIVE.value,
            "can_reactivate": may(REACTIVATE_ACTION, app) and app.status == AppStatus.SUSPENDED.value,
            "can_revoke_consent": may(CONSENT_REVOKE_ACTION),
        }

    def _app_or_404(self, app_id):
        app = db.session.get(ThirdPartyApp, app_id)
        if app is None:
            abort(404)
        return app

    @expose("/register", methods=["GET", "POST"])
    @requires_kind(REGISTER_ACTION)
    def register(self):
        """Register an app (admins); a confidential app's client secret is shown once on the next page."""
        return self.correct(REGISTER_ACTION, None, form=correction_form(REGISTER_ACTION), back=url_for(".index_view"),
                            done=lambda made: self.render("admin/app_registered.html", app=made[0],
                                                          secret=made[1]))

    @expose("/<id:app_id>/edit-app", methods=["GET", "POST"])
    @requires_kind(EDIT_ACTION)
    def edit_app(self, app_id):
        """Change an app's name, homepage, redirect URIs, scopes or IP allowlist (admins)."""
        app = self._app_or_404(app_id)
        form = correction_form(EDIT_ACTION, name=app.name, homepage=app.homepage, redirect_uris=app.redirect_uris,
                               scopes=sorted(app.scope_set), ip_allowlist=app.ip_allowlist)
        return self.correct(EDIT_ACTION, app, form=form, back=url_for(".details_view", id=app.id))

    @expose("/<id:app_id>/rotate-secret", methods=["GET", "POST"])
    @requires_kind(ROTATE_ACTION)
    def rotate_secret(self, app_id):
        """Give a confidential app a new client secret, with a reason (admins); it is shown once on the next page."""
        app = self._app_or_404(app_id)
        return self.correct(ROTATE_ACTION, app, form=correction_form(ROTATE_ACTION),
                            back=url_for(".details_view", id=app.id),
                            done=lambda made: self.render("admin/app_secret_rotated.html", app=made[0],
                                                          secret=made[1]))

    @expose("/<id:app_id>/<any(suspend, reactivate):change>", methods=["GET", "POST"])
    @requires_kind(SUSPEND_ACTION, REACTIVATE_ACTION, asked=lambda change, **_: STATUS_CHANGES[change])
    def change_status(self, app_id, change):
        """Suspend an app (its tokens and consents stop on their next request) or reactivate it, with a reason."""
        app = self._app_or_404(app_id)
        name = STATUS_CHANGES[change]
        return self.correct(name, app, form=correction_form(name), back=url_for(".details_view", id=app.id))

    @expose("/consent/<id:consent_id>/revoke", methods=["GET", "POST"])
    @requires_kind(CONSENT_REVOKE_ACTION)
    def revoke_consent(self, consent_id):
        """Revoke a customer's consent to an app, with a reason: the app's tokens under it stop at once."""
        consent = db.session.get(Consent, consent_id)
        if consent is None:
            abort(404)
        return self.correct(CONSENT_REVOKE_ACTION, consent, form=correction_form(CONSENT_REVOKE_ACTION),
                            back=url_for(".details_view", id=consent.app_id))
