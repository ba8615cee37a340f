"""The back-office views: users, accounts, transactions, entries, API tokens, audit events."""
import datetime as dt
import secrets

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user

from portal import identity, ledger
from portal.admin.access import ADMINS, OPERATORS, can, requires
from portal.admin.base import PortalModelView, link, money_export, money_formatter
from portal.admin.forms import (
    AdjustmentForm,
    ChangeRoleForm,
    CreateStaffForm,
    EditUserForm,
    OpenAccountForm,
    ReasonForm,
    RenameAccountForm,
)
from portal.converters import parse_row_id, parse_uuid
from portal.extensions import db
from portal.ledger import history, numbers
from portal.models import Account, ApiToken, AuditEvent, Entry, Role, Transaction, User
from portal.money import AmountError, format_amount, parse_amount

HISTORY_PAGE = 30


def audit_url(object_type, object_id):
    return url_for("auditevent.index_view", object_type=object_type, object_id=str(object_id))


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


def normalised_number(search):
    """"fi21 4242 0000 …" → "FI2142420000…" when the search looks like an account number."""
    compact = numbers.normalize(search)
    if len(compact) >= 6 and compact[:2].isalpha() and compact[2:].isalnum() and compact[2:4].isdigit():
        return compact
    return None


class AccountView(PortalModelView):
    column_list = ["number", "name", "owner", "currency", "kind", "status", "balance", "opened_on"]
    column_searchable_list = ["number", "name", "owner.email", "owner.name"]
    column_filters = ["status", "currency", "kind", "opened_on", "balance", "owner.email",
                      FilterEqual(Account.system_code, "System code")]
    column_sortable_list = ["number", "name", "currency", "kind", "status", "balance", "opened_on"]
    column_default_sort = ("opened_on", True)
    column_formatters = {
        "balance": money_formatter(),
        "number": lambda v, c, m, n: link(url_for(".details_view", id=m.id), numbers.display(m.number)),
        "owner": lambda v, c, m, n: link(url_for("user.details_view", id=m.owner_id), m.owner.email)
        if m.owner else "bank",
    }
    column_formatters_export = {"balance": money_export(), "owner": lambda v, c, m, n: m.owner.email if m.owner else ""}
    details_template = "admin/account_details.html"
    search_placeholder_text = "Number (spaces ok), name, owner"

    def search_placeholder(self):
        return self.search_placeholder_text

    def _apply_search(self, query, count_query, joins, count_joins, search):
        number = normalised_number(search)
        if number is not None:
            query = query.filter(Account.number.ilike(f"%{number}%"))
            if count_query is not None:
                count_query = count_query.filter(Account.number.ilike(f"%{number}%"))
            return query, count_query, joins, count_joins
        return super()._apply_search(query, count_query, joins, count_joins, search)

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            kwargs.update(self._details_context(kwargs["model"]))
        return super().render(template, **kwargs)

    def _details_context(self, account):
        context = {"audit_url": audit_url("account", account.id), "balance": ledger.current_balance(account),
                   "can_correct": can(*OPERATORS) and account.is_customer, "balance_at": None, "date_error": None}
        day = request.args.get("date")
        if day:
            try:
                day = dt.date.fromisoformat(day)
                if day > ledger.today():
                    raise ValueError(day)
                context["balance_at"] = (day, ledger.balance_at(account, day))
            except ValueError:
                context["date_error"] = "Give a date in YYYY-MM-DD format, today or earlier."
        if account.is_customer:
            try:
                after = history.decode_position(request.args["before"]) if request.args.get("before") else None
            except ValueError:
                abort(400)
            lines = history.account_history(account, after=after, limit=HISTORY_PAGE + 1)
            context["older"] = (history.encode_position(history.position_of(lines[HISTORY_PAGE - 1]))
                                if len(lines) > HISTORY_PAGE else None)
            context["lines"] = history.running_balances(account, lines[:HISTORY_PAGE])
        return context

    def _account_or_404(self, account_id):
        account = self.get_one(account_id)
        if account is None or not account.is_customer:
            abort(404)
        return account

    @expose("/<account_id>/rename", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def rename(self, account_id):
        """Rename a customer account."""
        account = self._account_or_404(account_id)
        form = RenameAccountForm(name=account.name) if request.method == "GET" else RenameAccountForm()
        return self.correction(
            form, title=f"Rename {numbers.display(account.number)}", back=url_for(".details_view", id=account.id),
            action="account.rename", object_type="account", object_id=account.id, subject=account.owner_id,
            summary=lambda: [f"Name: {account.name} → {form.name.data}"],
            perform=lambda actor: ledger.rename_account(account, form.name.data, actor=actor,
                                                        reason=form.reason.data or None),
            success="Account renamed.")

    @expose("/<account_id>/<any(freeze, unfreeze, close):change>", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def change_status(self, account_id, change):
        """Freeze, unfreeze or close (at zero balance only) a customer account, with a reason."""
        account = self._account_or_404(account_id)
        form = ReasonForm()
        operation = {"freeze": ledger.freeze, "unfreeze": ledger.unfreeze, "close": ledger.close}[change]
        return self.correction(
            form, title=f"{change.title()} {numbers.display(account.number)}",
            back=url_for(".details_view", id=account.id), action=f"account.{change}", object_type="account",
            object_id=account.id, subject=account.owner_id,
            summary=lambda: [f"Account: {account.name} ({numbers.display(account.number)}), now {account.status}",
                             f"Reason: {form.reason.data}"],
            perform=lambda actor: operation(account, actor=actor, reason=form.reason.data),
            success={"freeze": "Account frozen.", "unfreeze": "Account unfrozen.", "close": "Account closed."}[change])

    @expose("/<account_id>/adjust", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def adjust(self, account_id):
        """Post an adjustment between the account and the bank's corrections account."""
        account = self._account_or_404(account_id)
        form = AdjustmentForm()
        amount = None
        if form.is_submitted() and form.amount.data:
            try:
                amount = parse_amount(form.amount.data.strip(), account.currency)
            except AmountError as exc:
                form.amount.errors = [str(exc)]
        if form.is_submitted() and amount is None and not form.amount.errors:
            form.amount.errors = ["is required"]
        if form.amount.errors:
            return self.render("admin/correction.html", form=form, title="Post an adjustment",
                               back=url_for(".details_view", id=account.id))
        return self.correction(
            form, title=f"Post an adjustment on {numbers.display(account.number)}",
            back=url_for(".details_view", id=account.id), action="transaction.adjust", object_type="account",
            object_id=account.id, subject=account.owner_id,
            summary=lambda: [f"Account: {account.name} ({numbers.display(account.number)})",
                             f"Amount: {form.amount.data} {account.currency} (the corrections account takes the "
                             "other side)",
                             f"Value date: {form.value_date.data or 'today'}", f"Reason: {form.reason.data}"],
            perform=lambda actor: ledger.adjust(account, amount, actor=actor, reason=form.reason.data,
                                                value_date=form.value_date.data),
            success="Adjustment posted.")


class TransactionView(PortalModelView):
    column_list = ["id", "kind", "value_date", "booked_at", "description", "reverses_id", "reason"]
    column_searchable_list = ["description", "reason"]
    column_filters = ["kind", "value_date", "booked_at", "created_by_user_id", "created_by_token_id"]
    column_default_sort = ("booked_at", True)
    column_formatters = {"id": lambda v, c, m, n: link(url_for(".details_view", id=m.id), str(m.id))}
    details_template = "admin/transaction_details.html"

    def _apply_search(self, query, count_query, joins, count_joins, search):
        txid = parse_uuid(search.strip())
        if txid is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        query = query.filter(Transaction.id == txid)
        if count_query is not None:
            count_query = count_query.filter(Transaction.id == txid)
        return query, count_query, joins, count_joins

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            transaction = kwargs["model"]
            kwargs["entries"] = db.session.execute(
                sa.select(Entry, Account).join(Account, Account.id == Entry.account_id)
                .where(Entry.transaction_id == transaction.id).order_by(Entry.id)).all()
            kwargs["audit_url"] = audit_url("transaction", transaction.id)
            kwargs["can_reverse"] = (can(*OPERATORS) and transaction.kind != "reversal"
                                     and transaction.reversed_by is None)
        return super().render(template, **kwargs)

    @expose("/<transaction_id>/reverse", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def reverse(self, transaction_id):
        """Reverse a transaction: mirrored entries on the same value date, with a reason."""
        transaction = self.get_one(transaction_id)
        if transaction is None:
            abort(404)
        form = ReasonForm()
        customer = next((e.account for e in transaction.entries if e.account.is_customer), None)
        legs = [f"{numbers.display(e.account.number)} ({e.account.name}): "
                f"{format_amount(-e.amount, e.account.currency)} {e.account.currency}" for e in transaction.entries]
        return self.correction(
            form, title=f"Reverse the {transaction.kind} of {transaction.value_date}",
            back=url_for(".details_view", id=transaction.id), action="transaction.reverse",
            object_type="transaction", object_id=transaction.id, subject=customer.owner_id if customer else None,
            summary=lambda: [*legs, f"Reason: {form.reason.data}"],
            perform=lambda actor: ledger.reverse(transaction, actor=actor, reason=form.reason.data),
            success="Transaction reversed.")


class EntryView(PortalModelView):
    column_list = ["id", "transaction_id", "account", "amount", "value_date"]
    column_filters = ["value_date", "amount", "account.number", "account.currency"]
    column_searchable_list = ["account.number", "account.name"]
    column_default_sort = ("id", True)
    column_formatters = {
        "amount": money_formatter("amount", currency=lambda entry: entry.account.currency),
        "account": lambda v, c, m, n: link(url_for("account.details_view", id=m.account_id),
                                           numbers.display(m.account.number)),
        "transaction_id": lambda v, c, m, n: link(url_for("transaction.details_view", id=m.transaction_id),
                                                  str(m.transaction_id)),
    }
    column_formatters_export = {"amount": lambda v, c, m, n: m.amount, "account": lambda v, c, m, n: m.account.number}
    can_view_details = False

    def _apply_search(self, query, count_query, joins, count_joins, search):
        number = normalised_number(search)
        return super()._apply_search(query, count_query, joins, count_joins, number or search)


class TokenView(PortalModelView):
    column_list = ["name", "prefix", "user", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                   "last_used_ip"]
    column_searchable_list = ["name", "prefix", "user.email"]
    column_filters = ["created_at", "expires_at", "revoked_at", "last_used_at", "user.email"]
    column_exclude_list = ["token_hash"]
    column_details_exclude_list = ["token_hash"]
    column_export_exclude_list = ["token_hash"]
    column_default_sort = ("id", True)
    column_formatters = {"user": lambda v, c, m, n: link(url_for("user.details_view", id=m.user_id), m.user.email)}
    column_formatters_export = {"user": lambda v, c, m, n: m.user.email}
    details_template = "admin/token_details.html"

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            token = kwargs["model"]
            kwargs["status"] = token.status(ledger.clock.now())
            kwargs["audit_url"] = audit_url("token", token.id)
            kwargs["can_revoke"] = can(*OPERATORS) and token.revoked_at is None
        return super().render(template, **kwargs)

    @expose("/<id:token_id>/revoke", methods=["GET", "POST"])
    @requires(*OPERATORS)
    def revoke(self, token_id):
        """Revoke a customer's API token, with a reason: it stops working on its next request."""
        token = db.session.get(ApiToken, token_id)
        if token is None:
            abort(404)
        form = ReasonForm()
        return self.correction(
            form, title=f"Revoke token “{token.name}” ({token.prefix}…)",
            back=url_for(".details_view", id=token.id), action="token.revoke", object_type="token",
            object_id=token.id, subject=token.user_id,
            summary=lambda: [f"Owner: {token.user.email}", f"Reason: {form.reason.data}"],
            perform=lambda actor: identity.revoke_token(token, actor=actor, reason=form.reason.data),
            success="Token revoked.")


class AuditView(PortalModelView):
    column_list = ["occurred_at", "actor_type", "actor_user_id", "ip", "action", "object_type", "object_id",
                   "outcome", "reason"]
    column_labels = {"occurred_at": "When (UTC)", "actor_type": "Actor", "actor_user_id": "User",
                     "actor_token_id": "Token", "object_type": "Object", "object_id": "Object id",
                     "subject_user_id": "About customer", "request_id": "Request id (server)",
                     "client_request_id": "Request id (client)"}
    column_formatters = {"occurred_at": lambda v, c, m, n: m.occurred_at.strftime("%Y-%m-%d %H:%M:%S")}
    column_searchable_list = ["action", "object_id", "reason", "request_id", "client_request_id", "ip"]
    column_filters = ["occurred_at", "actor_type", "actor_user_id", "actor_token_id", "action", "object_type",
                      "outcome", "subject_user_id", "ip"]
    column_default_sort = ("id", True)
    column_details_list = ["id", "occurred_at", "actor_type", "actor_user_id", "actor_token_id", "ip", "user_agent",
                           "request_id", "client_request_id", "action", "object_type", "object_id", "subject_user_id",
                           "changes", "reason", "outcome"]
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
        return self._scoped(super().get_query())

    def get_count_query(self):
        return self._scoped(super().get_count_query())
