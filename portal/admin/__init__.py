"""The operations back-office at /admin/ (Flask-Admin), built per app inside the factory."""
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from portal.admin.dashboard import DashboardView
from portal.admin.views import (
    AccountView,
    ApprovalView,
    AppView,
    AuditView,
    ConsentView,
    EntryView,
    TokenView,
    TransactionView,
    UserView,
)
from portal.extensions import db
from portal.models import (
    Account,
    ApiToken,
    AuditEvent,
    Consent,
    Entry,
    RequestedCorrection,
    ThirdPartyApp,
    Transaction,
    User,
)
from portal.security import csp_nonce


def init_app(app):
    """Build the Admin and its views for this app (a new set per app, so the factory can run twice)."""
    admin = Admin(
        app,
        name="Ledger Bank back-office",
        url="/admin",
        index_view=DashboardView(endpoint="admin"),
        theme=Bootstrap4Theme(base_template="admin/portal_base.html", fluid=True),
        csp_nonce_generator=csp_nonce,
    )
    # Credentials (API tokens, apps, consents) share one menu, so the bar keeps one line from 1200 px up.
    admin.add_view(UserView(User, db, name="Users", endpoint="user"))
    admin.add_view(AccountView(Account, db, name="Accounts", endpoint="account"))
    admin.add_view(TransactionView(Transaction, db, name="Transactions", endpoint="transaction"))
    admin.add_view(EntryView(Entry, db, name="Entries", endpoint="entry"))
    admin.add_view(TokenView(ApiToken, db, name="API tokens", endpoint="apitoken", category="Access"))
    admin.add_view(AppView(ThirdPartyApp, db, name="Apps", endpoint="app", category="Access"))
    admin.add_view(ConsentView(Consent, db, name="Consents", endpoint="consent", category="Access"))
    admin.add_view(ApprovalView(RequestedCorrection, db, name="Approvals", endpoint="correctionrequest"))
    admin.add_view(AuditView(AuditEvent, db, name="Audit log", endpoint="auditevent"))
    return admin
