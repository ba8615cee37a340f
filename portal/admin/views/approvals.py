"""The approvals inbox (four eyes): corrections requested by one member of staff, waiting for a second; each
request's whole story; approve, reject (with a comment), withdraw (the maker)."""
import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from portal import corrections, unit_of_work
from portal.admin.access import requires
from portal.admin.base import PortalModelView, link
from portal.admin.corrections import flash_refusal
from portal.corrections import approvals
from portal.corrections.registry import target_of
from portal.display import money
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import LedgerError
from portal.ledger.legs import legs
from portal.models import AuditEvent, RequestedCorrection, Role
from portal.observability import request_actor

DECIDERS = (Role.OPERATOR, Role.ADMIN)  # who may act at all; the kind's own rule for its target is checked too
# Where a request's target is shown in the back-office.
TARGET_VIEWS = {"account": "account", "transaction": "transaction", "user": "user", "token": "apitoken"}


def target_link(stored):
    """Return a link to the request's target in the back-office (or its type and id as text)."""
    view = TARGET_VIEWS.get(stored.target_type)
    key = stored.target_id or ""
    text = f"{stored.target_type} {key[:8]}…" if len(key) > 12 else f"{stored.target_type} {key}"  # a UUID: its start
    if view is None or not key:
        return text
    return link(url_for(f"{view}.details_view", id=key), text, title=key)


def amount_of(stored):
    """Return the money a request moves, as text (an adjustment's amount, a reversed transaction's), or ""."""
    try:
        target = target_of(approvals.as_correction(stored))
    except LedgerError:
        return ""
    if "amount" in stored.parameters and hasattr(target, "currency"):
        return money(stored.parameters["amount"], target.currency)
    if stored.target_type == "transaction":
        posted = legs(target.entries).posted
        return "" if posted is None else money(posted.amount, posted.account.currency)
    return ""


def age(stored):
    """How long ago the request was made, to the hour ("3 d 4 h", "5 h", "12 min")."""
    minutes = int((clock.now() - stored.requested_at).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


class ApprovalView(PortalModelView):
    """Every correction request: pending first, oldest first. Any staff sees them; operators and admins decide."""

    column_list = ["id", "status", "kind", "target", "amount", "maker", "age", "requested_at", "checker"]
    column_filters = ["status", "kind", "target_type", "requested_at", "maker.email", "checker.email"]
    column_searchable_list = ["reason", "target_id"]
    column_sortable_list = ["requested_at", "status", "kind"]
    column_default_sort = None  # the inbox's own order: see get_query
    column_formatters = {
        "id": lambda v, c, m, n: link(url_for(".details_view", id=m.id), f"#{m.id}"),
        "status": lambda v, c, m, n: m.shown_status(clock.now()),
        "target": lambda v, c, m, n: target_link(m),
        "amount": lambda v, c, m, n: amount_of(m),
        "maker": lambda v, c, m, n: m.maker.email,
        "checker": lambda v, c, m, n: m.checker.email if m.checker else "",
        "age": lambda v, c, m, n: age(m),
        "requested_at": lambda v, c, m, n: m.requested_at.strftime("%Y-%m-%d %H:%M"),
    }
    column_formatters_export = {
        "status": lambda v, c, m, n: m.shown_status(clock.now()),
        "target": lambda v, c, m, n: f"{m.target_type} {m.target_id}",
        "maker": lambda v, c, m, n: m.maker.email,
        "checker": lambda v, c, m, n: m.checker.email if m.checker else "",
        "age": lambda v, c, m, n: age(m),
    }
    details_template = "admin/approval_details.html"

    def get_query(self):
        """Pending first, then the oldest first: what waits longest is seen first."""
        pending_first = sa.case((RequestedCorrection.status == "pending", 0), else_=1)
        return super().get_query().order_by(pending_first, RequestedCorrection.requested_at,
                                            RequestedCorrection.id)

    def render(self, template, **kwargs):
        """Render a page; a request's details also tell its whole story and offer what the user may do."""
        if template == self.details_template and "model" in kwargs:
            kwargs.update(self._story(kwargs["model"]))
        return super().render(template, **kwargs)

    def _story(self, stored):
        user = current_user._get_current_object()
        try:
            title, summary = corrections.describe(approvals.as_correction(stored))
        except LedgerError as exc:
            title, summary = stored.kind, [f"The target can no longer be shown: {exc.message}"]
        events = db.session.scalars(sa.select(AuditEvent).where(sa.or_(
            sa.and_(AuditEvent.object_type == approvals.OBJECT_TYPE, AuditEvent.object_id == str(stored.id)),
            AuditEvent.correction_request_id == stored.id)).order_by(AuditEvent.id)).all()
        open_ = stored.shown_status(clock.now()) == "pending"
        deciding = open_ and user.has_role(*DECIDERS)
        return {"title": title, "summary": summary, "events": events, "status": stored.shown_status(clock.now()),
                "target": target_link(stored), "amount": amount_of(stored), "age": age(stored),
                "can_approve": deciding and approvals.may_decide(stored, user),
                "can_withdraw": open_ and stored.maker_id == user.id,
                "is_maker": stored.maker_id == user.id}

    def _stored_or_404(self, request_id):
        stored = db.session.get(RequestedCorrection, request_id)
        if stored is None:
            abort(404)
        return stored

    def _decide(self, request_id, action, decision):
        """Run one decision on a request; a refusal changes nothing, is audited, and is shown."""
        stored = self._stored_or_404(request_id)
        actor = _actor()
        try:
            decided = decision(stored, current_user._get_current_object(), actor)
        except LedgerError as exc:
            unit_of_work.refuse(actor, action, exc, object_type=approvals.OBJECT_TYPE, object_id=request_id)
            flash_refusal(exc)
        else:
            if decided.status == "expired":  # found expired: recorded so, and the decision as refused
                flash("Refused: the request has expired; it can no longer be decided.", "error")
        return redirect(url_for(".details_view", id=request_id))

    @expose("/<int:request_id>/approve", methods=["POST"])
    @requires(*DECIDERS, action=approvals.APPROVE_ACTION)
    def approve(self, request_id):
        """Approve a request: its correction is validated again and applied now (never by its maker)."""
        def decide(stored, user, actor):
            decided = approvals.approve(stored, user, actor)
            if decided.status == "approved":
                flash(f"Approved: {corrections.kind_of(decided.kind).success}", "success")
            elif decided.status == "failed":
                flash(f"Failed: the correction is refused now ({decided.refusal_message}); nothing changed.",
                      "error")
            return decided
        return self._decide(request_id, approvals.APPROVE_ACTION, decide)

    @expose("/<int:request_id>/reject", methods=["POST"])
    @requires(*DECIDERS, action=approvals.REJECT_ACTION)
    def reject(self, request_id):
        """Reject a request with a comment; nothing else changes."""
        def decide(stored, user, actor):
            decided = approvals.reject(stored, user, actor, request.form.get("comment", ""))
            if decided.status == "rejected":
                flash("Rejected.", "success")
            return decided
        return self._decide(request_id, approvals.REJECT_ACTION, decide)

    @expose("/<int:request_id>/withdraw", methods=["POST"])
    @requires(*DECIDERS, action=approvals.WITHDRAW_ACTION)
    def withdraw(self, request_id):
        """Withdraw a request (its maker only); nothing else changes."""
        def decide(stored, user, actor):
            decided = approvals.withdraw(stored, user, actor)
            if decided.status == "withdrawn":
                flash("Withdrawn.", "success")
            return decided
        return self._decide(request_id, approvals.WITHDRAW_ACTION, decide)

    @expose("/")
    def index_view(self):
        """The inbox; requests found past their expiry are marked expired first (each audited)."""
        approvals.expire_due(_actor())
        return super().index_view()


def _actor():
    """The current member of staff, acting from this request."""
    return request_actor(user=current_user._get_current_object())
