"""The back-office views, one module per model (as the API has one per resource)."""
from portal.admin.views.accounts import AccountView
from portal.admin.views.approvals import ApprovalView
from portal.admin.views.apps import AppView
from portal.admin.views.audit import AuditView
from portal.admin.views.consents import ConsentView
from portal.admin.views.entries import EntryView
from portal.admin.views.tokens import TokenView
from portal.admin.views.transactions import TransactionView
from portal.admin.views.users import UserView

__all__ = ["AccountView", "AppView", "ApprovalView", "AuditView", "ConsentView", "EntryView", "TokenView",
           "TransactionView", "UserView"]
