"""The back-office side of corrections: a form per kind, who sees which control, and review → confirm → apply.

What a correction is, who may ask for it and what it does live in `portal.corrections`; here a form becomes a
CorrectionRequest, and the request is shown, confirmed and applied.
"""
import datetime as dt

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from portal import corrections, unit_of_work
from portal.admin.access import refuse, requires
from portal.admin.forms import (
    AdjustmentForm,
    ChangeRoleForm,
    CreateStaffForm,
    EditAppForm,
    EditUserForm,
    OpenAccountForm,
    ReasonForm,
    RegisterAppForm,
    RenameAccountForm,
)
from portal.identity.apps import EDIT_ACTION, REACTIVATE_ACTION, REGISTER_ACTION, ROTATE_ACTION, SUSPEND_ACTION
from portal.identity.consents import REVOKE_ACTION as CONSENT_REVOKE_ACTION
from portal.identity.resets import RESET_LINK_ACTION
from portal.identity.tokens import REVOKE_ACTION
from portal.identity.users import CREATE_ACTION, ROLE_CHANGE_ACTION, UPDATE_ACTION
from portal.ledger import LedgerError
from portal.ledger.accounts import CLOSE_ACTION, FREEZE_ACTION, OPEN_ACTION, RENAME_ACTION, UNFREEZE_ACTION
from portal.ledger.posting import ADJUST_ACTION, REVERSE_ACTION
from portal.models import Role
from portal.observability import request_actor

# The form each kind is asked for with; tests hold it to the registry, one form for every kind.
FORMS = {
    REVERSE_ACTION: ReasonForm, ADJUST_ACTION: AdjustmentForm, FREEZE_ACTION: ReasonForm, UNFREEZE_ACTION: ReasonForm,
    CLOSE_ACTION: ReasonForm, RENAME_ACTION: RenameAccountForm, OPEN_ACTION: OpenAccountForm,
    UPDATE_ACTION: EditUserForm, ROLE_CHANGE_ACTION: ChangeRoleForm, CREATE_ACTION: CreateStaffForm,
    REVOKE_ACTION: ReasonForm, RESET_LINK_ACTION: ReasonForm,
    REGISTER_ACTION: RegisterAppForm, EDIT_ACTION: EditAppForm, SUSPEND_ACTION: ReasonForm,
    REACTIVATE_ACTION: ReasonForm, CONSENT_REVOKE_ACTION: ReasonForm, ROTATE_ACTION: ReasonForm,
}
# A form's fields that are not the request's parameters: the reason and the note are fields of the request itself.
_NOT_PARAMETERS = frozenset({"csrf_token", "confirmed", "submit", "reason", "customer_note"})


def correction_form(kind_name, /, **initial):
    """Return the form of kind `kind_name`: filled from `initial` on a GET, from the submission otherwise."""
    form_class = FORMS[kind_name]
    return form_class(**initial) if request.method == "GET" else form_class()


def form_parameters(form):
    """Return a correction form's data as request parameters: plain JSON values (dates in ISO 8601)."""
    return {field.name: field.data.isoformat() if isinstance(field.data, dt.date) else field.data
            for field in form if field.name not in _NOT_PARAMETERS}


def may(name, target=None):
    """Whether the current user may request correction `name` of `target` (to show its control or not)."""
    return current_user.is_authenticated and corrections.kind_of(name).permits(current_user, target)


def requires_kind(*names, asked=None):
    """Decorate an endpoint that asks for one of these corrections: only roles the registry allows for each.

    A refusal is audited as the correction asked for: the one name, or `asked(**url_arguments)` for several.
    """
    kinds = [corrections.kind_of(name) for name in names]
    return requires(*(role for role in Role if all(role in kind.roles for kind in kinds)), action=asked or names[0])


class CorrectionFlow:
    """Mixin for a back-office view: the review → confirm → apply flow every correction shares."""

    def correct(self, name, target, *, form, back, parameters=None, done=None):
        """Run correction `name` of `target` through review, confirmation and one domain call.

        First valid submission: show what will happen and ask to confirm. Confirmed: apply the request (the
        request's unit of work commits it) and go back (or to `done(result)`). A refusal changes nothing, is
        audited, and is shown. `parameters` default to the form's fields.
        """
        kind = corrections.kind_of(name)
        if not kind.permits(current_user, target):  # a stricter rule for this target (staff: admins only)
            return refuse(name)
        title = kind.title(target)
        if not form.validate_on_submit():
            return self.render("admin/correction.html", form=form, title=title, back=back)
        asked = corrections.CorrectionRequest(
            kind=name, target_type=kind.target_type, target_id=kind.target_key(target),
            parameters=form_parameters(form) if parameters is None else parameters, reason=form.reason.data,
            customer_note=_customer_note(form), maker_id=current_user.id)
        if not form.is_confirmed:
            return self._review(kind, asked, target, form=form, title=title, back=back)
        if corrections.approvals.needs_approval(current_app.config, name):
            return self._request(kind, asked, target, form=form, title=title, back=back)
        return self._apply(kind, asked, target, form=form, title=title, back=back, done=done)

    def _review(self, kind, asked, target, *, form, title, back):
        """Show what the correction will do, or what would refuse it now (nothing is attempted: no audit row)."""
        refusal = corrections.rehearse(asked, request_actor(user=current_user._get_current_object()))
        if refusal is not None:
            flash_refusal(refusal)
            return self.render("admin/correction.html", form=form, title=title, back=back)
        form.confirmed.data = "yes"
        return self.render("admin/confirm.html", form=form, title=title,
                           summary=corrections.summary(kind, target, asked), back=back,
                           four_eyes=corrections.approvals.needs_approval(current_app.config, kind.name))

    def _request(self, kind, asked, target, *, form, title, back):
        """Store the correction for a second member of staff to approve (four eyes); show the request."""
        actor = request_actor(user=current_user._get_current_object())
        subject = kind.subject(target)
        try:
            stored = corrections.approvals.request(asked, actor)
        except LedgerError as exc:
            unit_of_work.refuse(actor, kind.name, exc, object_type=kind.target_type,
                                object_id=None if target is None else target.id, subject_user_id=subject,
                                reason=asked.reason)
            flash_refusal(exc)
            return self.render("admin/correction.html", form=form, title=title, back=back), 200
        flash("Requested: it takes effect when a second member of staff approves it.", "success")
        return redirect(url_for("correctionrequest.details_view", id=stored.id))

    def _apply(self, kind, asked, target, *, form, title, back, done):
        actor = request_actor(user=current_user._get_current_object())
        subject = kind.subject(target)  # read before applying: a refusal rolls back, and expires the target
        try:
            result = corrections.apply(asked, actor)
        except LedgerError as exc:
            unit_of_work.refuse(actor, kind.name, exc, object_type=kind.target_type,
                                object_id=None if target is None else target.id, subject_user_id=subject,
                                reason=asked.reason)
            flash_refusal(exc)
            return self.render("admin/correction.html", form=form, title=title, back=back), 200
        flash(kind.success, "success")
        return done(result) if done else redirect(back)


def flash_refusal(exc):
    """Show a domain refusal (on this page or the next), led by the field it concerns."""
    field = f"{exc.field}: " if exc.field else ""
    flash(f"Refused: {field}{exc.message}", "error")


def _customer_note(form):
    """The form's note for the customer, or None if it has no such field or it was left blank."""
    note = form.customer_note.data if "customer_note" in form else None
    return (note or "").strip() or None
