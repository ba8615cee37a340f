"""Users in the back-office: details with accounts and tokens; edit, change role, open an account, create staff."""
import secrets

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_admin import expose
from flask_login import current_user

from portal import identity, ledger
from portal.admin.access import ADMINS, OPERATORS, can, requires
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.forms import ChangeRoleForm, CreateStaffForm, EditUserForm, OpenAccountForm
from portal.extensions import db
from portal.models import Account, ApiToken, Role, User


class UserView(PortalModelView):
    column_list = ["id", "email", "name", "role", "active", "created_at"]
    column_searchable_list = ["email", "name"]
    column_filters = ["role", "active", "created_at"]
    column_default_sort = ("id", True)
    column_export_exclude_list = ["password_hash"]
    column_details_exclude_list = ["password_hash"]
    column_exclude_list = ["password_hash"]
    details_template = "admin/user_details.html"
    column_formatters = {"email": lambda v, c, m, n: link(url_for(".details_view", id=m.id), m.email)}

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            user = kwargs["model"]
            kwargs["accounts"] = db.session.scalars(sa.select(Account).where(Account.owner_id == user.id)
                                                    .order_by(Account.opened_on)).all()
            kwargs["tokens"] = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                                  .order_by(ApiToken.id.desc())).all()
            kwargs["audit_url"] = audit_url("user", user.id)
            kwargs["subject_url"] = url_for("auditevent.index_view", subject=user.id)
            kwargs["now"] = ledger.clock.now()
            kwargs["can_edit"] = can(*OPERATORS) and (not user.is_staff or can(*ADMINS))
            kwargs["can_role"] = can(*ADMINS) and user.is_staff and user.id != current_user.id
            kwargs["can_open"] = can(*OPERATORS) and user.role == Role.CUSTOMER.value and user.active
        return super().render(template, **kwargs)

    def _user_or_404(self, user_id):
        user = db.session.get(User, user_id)
        if user is None:
            abort(404)
        return user

    @expose("/<id:user_id>/edit", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def edit_user(self, user_id):
        """Edit a user's name, email and active flag (staff users: admins only)."""
        user = self._user_or_404(user_id)
        if user.is_staff and not can(*ADMINS):
            abort(403)
        form = EditUserForm(obj=user) if request.method == "GET" else EditUserForm()
        back = url_for(".details_view", id=user.id)
        return self.correction(
            form, title=f"Edit {user.email}", back=back, action="user.update", object_type="user",
            object_id=user.id, subject=user.id,
            summary=lambda: [f"Name: {user.name} → {form.name.data}", f"Email: {user.email} → {form.email.data}",
                             f"Active: {user.active} → {form.active.data}", f"Reason: {form.reason.data}"],
            perform=lambda actor: identity.update_user(user, actor=actor, reason=form.reason.data,
                                                       name=form.name.data, email=form.email.data,
                                                       active=form.active.data),
            success="User updated.")

    @expose("/<id:user_id>/role", methods=["GET", "POST"])
    @requires(*ADMINS)
    def change_role(self, user_id):
        """Change a member of staff's role (admins only)."""
        user = self._user_or_404(user_id)
        form = ChangeRoleForm(role=user.role) if request.method == "GET" else ChangeRoleForm()
        back = url_for(".details_view", id=user.id)
        return self.correction(
            form, title=f"Change the role of {user.email}", back=back, action="user.role_change",
            object_type="user", object_id=user.id,
            summary=lambda: [f"Role: {user.role} → {form.role.data}", f"Reason: {form.reason.data}"],
            perform=lambda actor: identity.change_role(user, form.role.data, actor=actor, reason=form.reason.data),
            success="Role changed.")

    @expose("/<id:user_id>/open-account", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def open_account(self, user_id):
        """Open an account for a customer."""
        user = self._user_or_404(user_id)
        form = OpenAccountForm()
        back = url_for(".details_view", id=user.id)
        return self.correction(
            form, title=f"Open an account for {user.email}", back=back, action="account.open",
            object_type="user", object_id=user.id, subject=user.id,
            summary=lambda: [f"Name: {form.name.data}", f"Currency: {form.currency.data}",
                             f"Opened on: {form.opened_on.data or 'today'}"],
            perform=lambda actor: ledger.open_account(user, form.name.data, actor=actor, currency=form.currency.data,
                                                      opened_on=form.opened_on.data),
            success="Account opened.")

    @expose("/new-staff", methods=["GET", "POST"])
    @requires(*ADMINS)
    def create_staff(self):
        """Create a staff user (admins only) with a one-time initial password, shown once on the next page."""
        form = CreateStaffForm()
        back = url_for(".index_view")
        password = secrets.token_urlsafe(12)
        return self.correction(
            form, title="Create a staff user", back=back, action="user.create", object_type="user", object_id=None,
            summary=lambda: [f"Email: {form.email.data}", f"Name: {form.name.data}", f"Role: {form.role.data}",
                             f"Reason: {form.reason.data}"],
            perform=lambda actor: identity.create_user(form.email.data, form.name.data, role=form.role.data,
                                                       password=password, actor=actor, reason=form.reason.data),
            success="Staff user created.",
            done=lambda user: self.render("admin/staff_created.html", user=user, password=password))
