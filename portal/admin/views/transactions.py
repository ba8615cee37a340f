"""Transactions in the back-office: search by id, details with their entries; reverse."""
import sqlalchemy as sa
from flask import abort, url_for
from flask_admin import expose

from portal.admin.base import PortalModelView, audit_url, link
from portal.admin.corrections import correction_form, may, requires_kind
from portal.converters import parse_uuid
from portal.extensions import db
from portal.ledger.posting import REVERSE_ACTION
from portal.models import Account, Entry, Transaction


class TransactionView(PortalModelView):
    """Every transaction, read-only; operators reverse them."""

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
        """Render a page; a transaction's details also show its entries and whether it can be reversed."""
        if template == self.details_template and "model" in kwargs:
            transaction = kwargs["model"]
            kwargs["entries"] = db.session.execute(
                sa.select(Entry, Account).join(Account, Account.id == Entry.account_id)
                .where(Entry.transaction_id == transaction.id).order_by(Entry.id)).all()
            kwargs["audit_url"] = audit_url("transaction", transaction.id)
            kwargs["can_reverse"] = (may(REVERSE_ACTION, transaction) and transaction.kind != "reversal"
                                     and transaction.reversed_by is None)
        return super().render(template, **kwargs)

    @expose("/<transaction_id>/reverse", methods=["GET", "POST"])
    @requires_kind(REVERSE_ACTION)
    def reverse(self, transaction_id):
        """Reverse a transaction: mirrored entries on the same value date, with a reason."""
        transaction = self.get_one(transaction_id)
        if transaction is None:
            abort(404)
        return self.correct(REVERSE_ACTION, transaction, form=correction_form(REVERSE_ACTION),
                            back=url_for(".details_view", id=transaction.id))
