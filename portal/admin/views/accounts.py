"""Accounts in the back-office: search by number, balance and history; rename, freeze, unfreeze, close, adjust."""
import datetime as dt

from flask import abort, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user

from portal import ledger, statements
from portal.admin.base import PortalModelView, audit_url, link, money_export, money_formatter, normalised_number
from portal.admin.corrections import correction_form, form_parameters, may, requires_kind
from portal.corrections import approvals
from portal.ledger import history, numbers
from portal.ledger import statements as ledger_statements
from portal.ledger.accounts import CLOSE_ACTION, FREEZE_ACTION, RENAME_ACTION, UNFREEZE_ACTION
from portal.ledger.posting import ADJUST_ACTION
from portal.models import Account
from portal.money import AmountError, parse_amount
from portal.observability import request_actor

HISTORY_PAGE = 30
STATEMENT_FORMATS = {"csv": statements.CSV, "pdf": statements.PDF}
# The status changes' URL segments, and the corrections they ask for.
STATUS_CHANGES = {"freeze": FREEZE_ACTION, "unfreeze": UNFREEZE_ACTION, "close": CLOSE_ACTION}


class AccountView(PortalModelView):
    """Customer and system accounts; operators correct customer accounts."""

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

    def _apply_search(self, query, count_query, joins, count_joins, search):
        number = normalised_number(search)
        if number is not None:
            query = query.filter(Account.number.ilike(f"%{number}%"))
            if count_query is not None:
                count_query = count_query.filter(Account.number.ilike(f"%{number}%"))
            return query, count_query, joins, count_joins
        return super()._apply_search(query, count_query, joins, count_joins, search)

    def render(self, template, **kwargs):
        """Render a page; an account's details also show its balances, history and correction controls."""
        if template == self.details_template and "model" in kwargs:
            kwargs.update(self._details_context(kwargs["model"]))
        return super().render(template, **kwargs)

    def _details_context(self, account):
        context = {"audit_url": audit_url("account", account.id), "balance": ledger.current_balance(account),
                   "can_correct": may(ADJUST_ACTION, account) and account.is_customer, "balance_at": None,
                   "date_error": None, "pending": approvals.pending_for("account", account.id)}
        day = request.args.get("date")
        if day:
            try:
                day = dt.date.fromisoformat(day)
                context["balance_at"] = (day, ledger.closing_balance(account, day))
            except (ValueError, ledger.InvalidValueDate):
                context["date_error"] = "Give a date in YYYY-MM-DD format, today or earlier."
        if account.is_customer:
            try:
                after = history.decode_position(request.args["before"]) if request.args.get("before") else None
            except ValueError:
                abort(400)
            page = history.page(account, after=after, limit=HISTORY_PAGE)
            context["older"] = page.next_cursor
            context["lines"] = history.running_balances(account, page.lines)
            context["statement_months"] = [str(month) for month, _ in ledger_statements.periods(account)]
        return context

    def _account_or_404(self, account_id):
        account = self.get_one(account_id)
        if account is None or not account.is_customer:
            abort(404)
        return account

    @expose("/<account_id>/statement")
    def statement(self, account_id):
        """Download a customer's statement of a month (`period`) as CSV or PDF (`format`): every staff role may,
        and each download is audited as an access to the customer's data."""
        account = self._account_or_404(account_id)
        media_type = STATEMENT_FORMATS.get(request.args.get("format", ""))
        try:
            made = ledger_statements.statement(account, ledger_statements.parse_month(request.args.get("period")))
        except (ledger.ValidationError, ledger_statements.UnknownPeriod):
            abort(404)
        if media_type is None:
            abort(404)
        ledger_statements.record_download(made, actor=request_actor(user=current_user), media=request.args["format"])
        return statements.download(made, media_type)

    @expose("/<account_id>/rename", methods=["GET", "POST"])
    @requires_kind(RENAME_ACTION)
    def rename(self, account_id):
        """Rename a customer account."""
        account = self._account_or_404(account_id)
        return self.correct(RENAME_ACTION, account, form=correction_form(RENAME_ACTION, name=account.name),
                            back=url_for(".details_view", id=account.id))

    @expose("/<account_id>/<any(freeze, unfreeze, close):change>", methods=["GET", "POST"])
    @requires_kind(*STATUS_CHANGES.values(), asked=lambda change, **_: STATUS_CHANGES[change])
    def change_status(self, account_id, change):
        """Freeze, unfreeze or close (at zero balance only) a customer account, with a reason."""
        account = self._account_or_404(account_id)
        action = STATUS_CHANGES[change]
        return self.correct(action, account, form=correction_form(action), back=url_for(".details_view", id=account.id))

    @expose("/<account_id>/adjust", methods=["GET", "POST"])
    @requires_kind(ADJUST_ACTION)
    def adjust(self, account_id):
        """Post an adjustment between the account and the bank's corrections account."""
        account = self._account_or_404(account_id)
        form = correction_form(ADJUST_ACTION)
        back = url_for(".details_view", id=account.id)
        amount = _amount_in_minor_units(form, account.currency)
        if form.amount.errors:
            return self.render("admin/correction.html", form=form, title="Post an adjustment", back=back)
        return self.correct(ADJUST_ACTION, account, form=form, back=back,
                            parameters={**form_parameters(form), "amount": amount})


def _amount_in_minor_units(form, currency):
    """The submitted amount in minor units, or None with the reason in the amount field's errors."""
    if not form.is_submitted():
        return None
    try:
        if form.amount.data:
            return parse_amount(form.amount.data.strip(), currency)
    except AmountError as exc:
        form.amount.errors = [str(exc)]
        return None
    form.amount.errors = ["is required"]
    return None
