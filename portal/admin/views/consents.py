"""Consents in the back-office: what each customer granted each app, read-only; its status as it is now (a consent
past its expiry shows expired before the sweep records it). Revoking one is the apps view's correction."""
from flask import url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from markupsafe import Markup

from portal import ledger
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.corrections import may
from portal.display import timestamp
from portal.identity.consents import REVOKE_ACTION
from portal.ledger import numbers
from portal.models import Consent, ConsentStatus

_TIMES = ("granted_at", "expires_at", "revoked_at", "last_used_at")


class StatusFilter(BaseSQLAFilter):
    """Consents by their status now: active, revoked, or expired (recorded or not yet swept)."""

    def __init__(self, name="Status"):
        """Name the filter and offer the three statuses."""
        super().__init__(Consent.status, name, options=[(status.value, status.value) for status in ConsentStatus])

    def apply(self, query, value, alias=None):
        """Keep the consents whose status is `value` now."""
        return query.filter(Consent.status_is(value, ledger.clock.now()))

    def operation(self):
        """Say how the value is compared."""
        return "is"


def _status(view, context, model, name):
    return model.status_at(ledger.clock.now())


def _accounts(view, context, model, name):
    return Markup(", ").join(link(url_for("account.details_view", id=account.id), numbers.display(account.number))
                             for account in model.accounts)


def _minute(column):
    return lambda v, c, m, n: timestamp(getattr(m, column))


def _iso(column):
    return lambda v, c, m, n: "" if getattr(m, column) is None else getattr(m, column).isoformat()


class ConsentView(PortalModelView):
    """Every customer's consents to every app; operators revoke one from its page (the apps view's correction)."""

    column_list = ["id", "user", "app", "status", "scopes", "accounts", "granted_at", "expires_at", "last_used_at"]
    column_details_list = ["id", "user", "app", "status", "scopes", "accounts", "granted_at", "expires_at",
                           "revoked_at", "last_used_at", "last_used_ip"]
    column_export_list = column_details_list
    column_labels = {"user": "Customer", "granted_at": "Granted", "expires_at": "Expires", "revoked_at": "Ended",
                     "last_used_at": "Last used", "last_used_ip": "Last used from", "user.email": "Customer email",
                     "app.name": "App name"}
    column_searchable_list = ["user.email", "user.name", "app.name", "app.client_id"]
    search_placeholder_text = "Customer email or name, app name or client id (app_…)"
    column_filters = [StatusFilter(), "user.email", "app.name", "granted_at", "expires_at", "last_used_at"]
    # The stored status is not what the list shows (an unswept expiry): sort by the times instead.
    column_sortable_list = ["id", ("user", "user.email"), ("app", "app.name"), "granted_at", "expires_at",
                            "last_used_at"]
    column_default_sort = ("id", True)
    column_formatters = {
        "id": lambda v, c, m, n: link(url_for(".details_view", id=m.id), m.id),
        "user": lambda v, c, m, n: link(url_for("user.details_view", id=m.user_id), m.user.email),
        "app": lambda v, c, m, n: link(url_for("app.details_view", id=m.app_id), m.app.name, title=m.app.client_id),
        "status": _status, "accounts": _accounts,
        **{column: _minute(column) for column in _TIMES},
    }
    column_formatters_export = {
        "user": lambda v, c, m, n: m.user.email,
        "app": lambda v, c, m, n: f"{m.app.name} ({m.app.client_id})",
        "status": _status,
        "accounts": lambda v, c, m, n: " ".join(account.number for account in m.accounts),
        **{column: _iso(column) for column in _TIMES},
    }
    details_template = "admin/consent_details.html"

    def render(self, template, **kwargs):
        """Render a page; a consent's details also link its history and, for operators, its revocation."""
        if template == self.details_template and "model" in kwargs:
            consent = kwargs["model"]
            kwargs["audit_url"] = audit_url("consent", consent.id)
            kwargs["can_revoke"] = (may(REVOKE_ACTION, consent)
                                    and consent.status_at(ledger.clock.now()) == ConsentStatus.ACTIVE.value)
        return super().render(template, **kwargs)
