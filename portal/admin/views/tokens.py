"""API tokens in the back-office: details and status (never the secret); revoke."""
from flask import abort, url_for
from flask_admin import expose

from portal import identity, ledger
from portal.admin.access import OPERATORS, can, requires
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.forms import ReasonForm
from portal.extensions import db
from portal.models import ApiToken


class TokenView(PortalModelView):
    column_list = ["name", "prefix", "user", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                   "last_used_ip"]
    column_searchable_list = ["name", "prefix", "user.email"]
    column_filters = ["created_at", "expires_at", "revoked_at", "last_used_at", "user.email"]
    column_exclude_list = ["token_hash"]
    column_details_exclude_list = ["token_hash"]
    column_export_exclude_list = ["token_hash"]
    column_default_sort = ("id", True)
    column_formatters = {"user": lambda v, c, m, n: link(url_for("user.details_view", id=m.user_id), m.user.email)}
    column_formatters_export = {"user": lambda v, c, m, n: m.user.email}
    details_template = "admin/token_details.html"

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            token = kwargs["model"]
            kwargs["status"] = token.status(ledger.clock.now())
            kwargs["audit_url"] = audit_url("token", token.id)
            kwargs["can_revoke"] = can(*OPERATORS) and token.revoked_at is None
        return super().render(template, **kwargs)

    @expose("/<id:token_id>/revoke", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def revoke(self, token_id):
        """Revoke a customer's API token, with a reason: it stops working on its next request."""
        token = db.session.get(ApiToken, token_id)
        if token is None:
            abort(404)
        form = ReasonForm()
        return self.correction(
            form, title=f"Revoke token “{token.name}” ({token.prefix}…)",
            back=url_for(".details_view", id=token.id), action="token.revoke", object_type="token",
            object_id=token.id, subject=token.user_id,
            summary=lambda: [f"Owner: {token.user.email}", f"Reason: {form.reason.data}"],
            perform=lambda actor: identity.revoke_token(token, actor=actor, reason=form.reason.data),
            success="Token revoked.")
