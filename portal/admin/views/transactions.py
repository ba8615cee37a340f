"""Transactions in the back-office: search by id, details with their entries; reverse."""
import sqlalchemy as sa
from flask import abort, url_for
from flask_admin import expose

from portal import ledger
from portal.admin.access import OPERATORS, can, requires
from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.forms import ReasonForm
from portal.converters import parse_uuid
from portal.extensions import db
from portal.ledger import numbers
from portal.models import Account, Entry, Transaction
from portal.money import format_amount


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
