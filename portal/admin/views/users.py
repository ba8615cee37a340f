"""Users in the back-office: details with accounts and tokens; edit, change role, open an account, create staff,
make a password reset link."""
import sqlalchemy as sa
from flask import abort, url_for
from flask_admin import expose
from flask_login import current_user

from portal import ledger
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.corrections import correction_form, may, requires_kind
from portal.corrections import approvals
from portal.extensions import db
from portal.identity.resets import RESET_LINK_ACTION
from portal.identity.users import CREATE_ACTION, ROLE_CHANGE_ACTION, UPDATE_ACTION
from portal.ledger.accounts import OPEN_ACTION
from portal.models import Account, ApiToken, Role, User


class UserView(PortalModelView):
    """Customers and staff; operators correct customers, admins also manage staff."""

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
        """Render a page; a user's details also show their accounts, tokens and the controls the role allows."""
        if template == self.details_template and "model" in kwargs:
            user = kwargs["model"]
            kwargs["accounts"] = db.session.scalars(sa.select(Account).where(Account.owner_id == user.id)
                                                    .order_by(Account.opened_on)).all()
            kwargs["tokens"] = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                                  .order_by(ApiToken.id.desc())).all()
            kwargs["audit_url"] = audit_url("user", user.id)
            kwargs["pending"] = approvals.pending_for("user", user.id)
            kwargs["subject_url"] = url_for("auditevent.index_view", subject=user.id)
            kwargs["now"] = ledger.clock.now()
            kwargs["can_edit"] = may(UPDATE_ACTION, user)
            kwargs["can_role"] = may(ROLE_CHANGE_ACTION, user) and user.is_staff and user.id != current_user.id
            kwargs["can_open"] = may(OPEN_ACTION, user) and user.role == Role.CUSTOMER.value and user.active
            kwargs["can_reset"] = may(RESET_LINK_ACTION, user) and user.role == Role.CUSTOMER.value and user.active
        return super().render(template, **kwargs)

    def _user_or_404(self, user_id):
        user = db.session.get(User, user_id)
        if user is None:
            abort(404)
        return user

    @expose("/<id:user_id>/edit", methods=["GET", "POST"])
    @requires_kind(UPDATE_ACTION)
    def edit_user(self, user_id):
        """Edit a user's name, email and active flag (staff users: admins only)."""
        user = self._user_or_404(user_id)
        return self.correct(UPDATE_ACTION, user, form=correction_form(UPDATE_ACTION, obj=user),
                            back=url_for(".details_view", id=user.id))

    @expose("/<id:user_id>/role", methods=["GET", "POST"])
    @requires_kind(ROLE_CHANGE_ACTION)
    def change_role(self, user_id):
        """Change a member of staff's role (admins only)."""
        user = self._user_or_404(user_id)
        return self.correct(ROLE_CHANGE_ACTION, user, form=correction_form(ROLE_CHANGE_ACTION, role=user.role),
                            back=url_for(".details_view", id=user.id))

    @expose("/<id:user_id>/open-account", methods=["GET", "POST"])
    @requires_kind(OPEN_ACTION)
    def open_account(self, user_id):
        """Open an account for a customer."""
        user = self._user_or_404(user_id)
        return self.correct(OPEN_ACTION, user, form=correction_form(OPEN_ACTION),
                            back=url_for(".details_view", id=user.id))

    @expose("/<id:user_id>/password-reset", methods=["GET", "POST"])
    @requires_kind(RESET_LINK_ACTION)
    def password_reset_link(self, user_id):
        """Make a single-use password reset link for a customer, shown once on the next page to hand over."""
        user = self._user_or_404(user_id)
        return self.correct(RESET_LINK_ACTION, user, form=correction_form(RESET_LINK_ACTION),
                            back=url_for(".details_view", id=user.id),
                            done=lambda made: self.render("admin/password_reset_created.html", user=made[0],
                                                          link=url_for("auth.reset_password", secret=made[1],
                                                                       _external=True)))

    @expose("/new-staff", methods=["GET", "POST"])
    @requires_kind(CREATE_ACTION)
    def create_staff(self):
        """Create a staff user (admins only) with a one-time initial password, shown once on the next page."""
        return self.correct(CREATE_ACTION, None, form=correction_form(CREATE_ACTION), back=url_for(".index_view"),
                            done=lambda created: self.render("admin/staff_created.html", user=created[0],
                                                             password=created[1]))
