"""The audit log in the back-office: read-only, narrowed to one object's or one customer's history."""
import sqlalchemy as sa
from flask import request

from portal.admin.base import PortalModelView
from portal.converters import parse_row_id
from portal.models import AuditEvent


class AuditView(PortalModelView):
    """Every audit event, read-only."""

    column_list = ["occurred_at", "actor_type", "actor_user_id", "ip", "action", "object_type", "object_id",
                   "outcome", "refusal_code", "reason"]
    column_labels = {"occurred_at": "When (UTC)", "actor_type": "Actor", "actor_user_id": "User",
                     "actor_token_id": "Token", "object_type": "Object", "object_id": "Object id",
                     "subject_user_id": "About customer", "request_id": "Request id (server)",
                     "client_request_id": "Request id (client)", "refusal_code": "Refused as",
                     "refusal_message": "Refusal", "reason": "Staff reason"}
    column_formatters = {"occurred_at": lambda v, c, m, n: m.occurred_at.strftime("%Y-%m-%d %H:%M:%S")}
    column_searchable_list = ["action", "object_id", "reason", "refusal_message", "request_id", "client_request_id",
                              "ip"]
    column_filters = ["occurred_at", "actor_type", "actor_user_id", "actor_token_id", "action", "object_type",
                      "outcome", "refusal_code", "subject_user_id", "ip"]
    column_default_sort = ("id", True)
    column_details_list = ["id", "occurred_at", "actor_type", "actor_user_id", "actor_token_id", "ip", "user_agent",
                           "request_id", "client_request_id", "action", "object_type", "object_id", "subject_user_id",
                           "changes", "reason", "outcome", "refusal_code", "refusal_message"]
    list_template = "admin/audit_list.html"

    def _scoped(self, query):
        """?object_type=&object_id= or ?subject= narrow the log to one object's or one customer's history."""
        if request.args.get("object_type") and request.args.get("object_id"):
            query = query.filter(AuditEvent.object_type == request.args["object_type"],
                                 AuditEvent.object_id == request.args["object_id"])
        if request.args.get("subject"):
            # A subject no user id can be (not plain digits, or beyond the column) is nobody: an empty log.
            subject = parse_row_id(request.args["subject"], AuditEvent.__table__.c.subject_user_id)
            query = query.filter(AuditEvent.subject_user_id == subject if subject else sa.false())
        return query

    def get_query(self):
        """Return the list's query, narrowed as the URL asks."""
        return self._scoped(super().get_query())

    def get_count_query(self):
        """Return the list's count query, narrowed as the URL asks."""
        return self._scoped(super().get_count_query())
