"""API tokens in the back-office: details and status (never the secret); revoke."""
from flask import abort, url_for
from flask_admin import expose
from markupsafe import Markup

from portal import ledger
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.corrections import correction_form, may, requires_kind
from portal.display import timestamp
from portal.extensions import db
from portal.identity.tokens import REVOKE_ACTION
from portal.models import ApiToken


def _minute(column):
    """A list formatter that shows a timestamp to the minute (a dash for none)."""
    return lambda v, c, m, n: timestamp(getattr(m, column))


class TokenView(PortalModelView):
    """Customers' API tokens; operators revoke them."""

    column_list = ["name", "user", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]
    column_export_list = ["id", "name", "prefix", "user", "scopes", "created_at", "expires_at", "revoked_at",
                          "last_used_at", "last_used_ip"]
    column_searchable_list = ["name", "prefix", "user.email"]
    search_placeholder_text = "Token name, prefix (pt_…) or customer email"
    column_filters = ["created_at", "expires_at", "revoked_at", "last_used_at", "user.email"]
    column_exclude_list = ["token_hash"]
    column_details_exclude_list = ["token_hash"]
    column_export_exclude_list = ["token_hash"]
    column_default_sort = ("id", True)
    column_formatters = {
        "user": lambda v, c, m, n: link(url_for("user.details_view", id=m.user_id), m.user.email),
        "name": lambda v, c, m, n: Markup("{}<br><code>{}…</code>").format(m.name, m.prefix),
        **{column: _minute(column) for column in ("created_at", "expires_at", "revoked_at", "last_used_at")},
    }
    column_formatters_export = {"user": lambda v, c, m, n: m.user.email}
    details_template = "admin/token_details.html"

    def render(self, template, **kwargs):
        """Render a page; a token's details also show its status and whether it can be revoked."""
        if template == self.details_template and "model" in kwargs:
            token = kwargs["model"]
            kwargs["status"] = token.status(ledger.clock.now())
            kwargs["audit_url"] = audit_url("token", token.id)
            kwargs["can_revoke"] = may(REVOKE_ACTION, token) and token.revoked_at is None
        return super().render(template, **kwargs)

    @expose("/<id:token_id>/revoke", methods=["GET", "POST"])
    @requires_kind(REVOKE_ACTION)
    def revoke(self, token_id):
        """Revoke a customer's API token, with a reason: it stops working on its next request."""
        token = db.session.get(ApiToken, token_id)
        if token is None:
            abort(404)
        return self.correct(REVOKE_ACTION, token, form=correction_form(REVOKE_ACTION),
                            back=url_for(".details_view", id=token.id))
