"""The back-office home: ledger health, the audit chain, counts, and the latest audit events."""
import threading
import time

import sqlalchemy as sa
from flask import current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from sqlalchemy.orm import joinedload

from portal.admin.access import StaffOnly
from portal.audit import chain as audit_chain
from portal.auth.redirects import local_target
from portal.corrections import approvals
from portal.extensions import db
from portal.ledger import clock
from portal.ledger.check import run_checks
from portal.models import Account, ApiToken, AuditEvent, Transaction, User

HEALTH_TTL = 60  # seconds: the checks read the whole journal, so a busy dashboard reuses a recent result


class HealthCache:
    """The last ledger check of this process, and when it ran."""

    def __init__(self):
        """Start with no result: the first look runs the checks."""
        self._lock = threading.Lock()
        self._entry = None

    def get(self, refresh=False):
        """Return (report, checked at), running the checks again if the last result is stale or `refresh`."""
        with self._lock:
            if refresh or self._entry is None or time.monotonic() - self._entry[0] > HEALTH_TTL:
                self._entry = (time.monotonic(), run_checks(), clock.now())
            return self._entry[1], self._entry[2]


class DashboardView(StaffOnly, AdminIndexView):
    """The back-office home page, for any member of staff."""

    def __init__(self, **kwargs):
        """Build the dashboard with its own health cache (one per app)."""
        super().__init__(name="Dashboard", template="admin/dashboard.html", url="/admin", **kwargs)
        self.health = HealthCache()

    @expose("/")
    def index(self):
        """Ledger health, the audit chain, counts and the latest audit events."""
        report, checked_at = self.health.get()
        count = lambda model, *where: db.session.scalar(  # noqa: E731
            sa.select(sa.func.count()).select_from(model).where(*where))
        counts = {
            "Customers": count(User, User.role == "customer"),
            "Staff": count(User, User.role != "customer"),
            "Customer accounts": count(Account, Account.kind == "customer"),
            "Frozen accounts": count(Account, Account.status == "frozen"),
            "Transactions": count(Transaction),
            "Active tokens": count(ApiToken, ApiToken.revoked_at.is_(None)),
        }
        latest = db.session.scalars(sa.select(AuditEvent).options(joinedload(AuditEvent.actor_user))
                                    .order_by(AuditEvent.id.desc()).limit(15)).all()
        return self.render(self._template, report=report, checked_at=checked_at, counts=counts, latest=latest,
                           awaiting=approvals.count_pending(), four_eyes=current_app.config["FOUR_EYES"],
                           chain=audit_chain.state(db.session))

    @expose("/health/refresh", methods=["POST"])
    def refresh_health(self):
        """Run the ledger checks now (any staff: it reads, never writes)."""
        self.health.get(refresh=True)
        return redirect(local_target(request.referrer) or url_for(".index"))
