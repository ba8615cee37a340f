"""The audit log in the back-office: read-only, people named by email and tokens by name; narrowed to one object's
or one customer's history; searched and filtered by person."""
import sqlalchemy as sa
from flask import request, url_for
from flask_admin.contrib.sqla import tools
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from sqlalchemy.orm import joinedload

from portal.admin.base import PortalModelView, link
from portal.converters import parse_row_id
from portal.models import ApiToken, AuditEvent, User


def _person_ids(text):
    """The ids of the users whose email or name contains `text` (any case)."""
    pattern = f"%{text.strip()}%"
    return sa.select(User.id).where(sa.or_(User.email.ilike(pattern), User.name.ilike(pattern)))


def _about_person(text):
    """Events a person did, or that concern them (as the customer the event is about)."""
    people = _person_ids(text)
    return sa.or_(AuditEvent.actor_user_id.in_(people), AuditEvent.subject_user_id.in_(people))


class PersonFilter(BaseSQLAFilter):
    """Events by or about a person, found by email or name."""

    def __init__(self, name="Person (email or name)"):
        """Name the filter."""
        super().__init__(AuditEvent.actor_user_id, name)

    def apply(self, query, value, alias=None):
        """Keep the events by or about the people `value` names."""
        return query.filter(_about_person(value))

    def operation(self):
        """Say how the value is compared."""
        return "contains"


def _shortened(text, limit=80):
    """Long text cut for a list cell (the details page has all of it)."""
    return "" if not text else text if len(text) <= limit else text[:limit - 1] + "…"


def _user_cell(user):
    return "" if user is None else link(url_for("user.details_view", id=user.id), user.email)


def _token_cell(token):
    return "" if token is None else link(url_for("apitoken.details_view", id=token.id),
                                         f"{token.name} ({token.prefix}…)")


class AuditView(PortalModelView):
    """Every audit event, read-only."""

    # The list fits a laptop screen; the details page and the export have every field.
    column_list = ["occurred_at", "actor_user", "actor_token", "action", "object_id", "subject_user", "outcome",
                   "refusal_code", "reason"]
    column_export_list = ["id", "occurred_at", "actor_type", "actor_user", "actor_token", "ip", "user_agent",
                          "request_id", "client_request_id", "action", "object_type", "object_id", "subject_user",
                          "changes", "outcome", "refusal_code", "refusal_message", "reason"]
    column_labels = {"occurred_at": "When (UTC)", "actor_type": "Actor", "actor_user": "Who",
                     "actor_token": "Token", "object_type": "Object", "object_id": "Object id",
                     "subject_user": "About customer", "request_id": "Request id (server)",
                     "client_request_id": "Request id (client)", "refusal_code": "Refused as",
                     "refusal_message": "Refusal", "reason": "Staff reason", "position": "Chain position",
                     "link": "Chain link (SHA-256)"}
    column_formatters = {"occurred_at": lambda v, c, m, n: m.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                         "actor_user": lambda v, c, m, n: _user_cell(m.actor_user) or m.actor_type,
                         "object_id": lambda v, c, m, n: f"{m.object_type or ''} {m.object_id or ''}".strip(),
                         "reason": lambda v, c, m, n: _shortened(m.reason),
                         "subject_user": lambda v, c, m, n: _user_cell(m.subject_user),
                         "actor_token": lambda v, c, m, n: _token_cell(m.actor_token),
                         "position": lambda v, c, m, n: "not sealed yet" if m.position is None else m.position,
                         "link": lambda v, c, m, n: m.link.hex() if m.link else ""}
    column_formatters_export = {
        "occurred_at": lambda v, c, m, n: m.occurred_at.isoformat(),
        "actor_user": lambda v, c, m, n: m.actor_user.email if m.actor_user else "",
        "subject_user": lambda v, c, m, n: m.subject_user.email if m.subject_user else "",
        "actor_token": lambda v, c, m, n: f"{m.actor_token.name} ({m.actor_token.prefix}…)" if m.actor_token else "",
    }
    column_sortable_list = ["occurred_at", "actor_type", "ip", "action", "object_type", "outcome"]
    column_searchable_list = ["action", "object_id", "reason", "refusal_message", "request_id", "client_request_id",
                              "ip"]
    column_filters = ["occurred_at", "actor_type", "actor_user_id", "actor_token_id", "action", "object_type",
                      "outcome", "refusal_code", "subject_user_id", "ip", PersonFilter()]
    column_default_sort = ("id", True)
    column_details_list = ["id", "occurred_at", "actor_type", "actor_user", "actor_token", "ip", "user_agent",
                           "request_id", "client_request_id", "action", "object_type", "object_id", "subject_user",
                           "changes", "reason", "outcome", "refusal_code", "refusal_message", "position", "link"]
    list_template = "admin/audit_list.html"
    search_placeholder_text = "Action, object id, reason, request id, IP, or a person's email or name"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Flask-Admin's search (every term must match one column) where a term may also name a person: the
        events they did or that concern them. Every searchable column is the event's own, so no join is needed."""
        for term in filter(None, search.split(" ")):
            pattern = tools.parse_like_term(term)
            clause = sa.or_(*(sa.cast(getattr(AuditEvent, name), sa.Unicode).ilike(pattern)
                              for name in self.column_searchable_list), _about_person(term))
            query = query.filter(clause)
            if count_query is not None:
                count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def _scoped(self, query):
        """?object_type=&object_id=, ?subject= or ?app= narrow the log to one object's or one customer's history,
        or to what one registered app did."""
        if request.args.get("object_type") and request.args.get("object_id"):
            query = query.filter(AuditEvent.object_type == request.args["object_type"],
                                 AuditEvent.object_id == request.args["object_id"])
        if request.args.get("subject"):
            # A subject no user id can be (not plain digits, or beyond the column) is nobody: an empty log.
            subject = parse_row_id(request.args["subject"], AuditEvent.__table__.c.subject_user_id)
            query = query.filter(AuditEvent.subject_user_id == subject if subject else sa.false())
        if request.args.get("app"):
            app = parse_row_id(request.args["app"], AuditEvent.__table__.c.actor_app_id)
            query = query.filter(AuditEvent.actor_app_id == app if app else sa.false())
        return query

    def get_query(self):
        """Return the list's query, narrowed as the URL asks, with the people and tokens it names."""
        return self._scoped(super().get_query()).options(
            joinedload(AuditEvent.actor_user), joinedload(AuditEvent.subject_user),
            joinedload(AuditEvent.actor_token).load_only(ApiToken.id, ApiToken.name, ApiToken.prefix))

    def get_count_query(self):
        """Return the list's count query, narrowed as the URL asks."""
        return self._scoped(super().get_count_query())
