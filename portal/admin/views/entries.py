"""Entries in the back-office: a read-only list, searchable by account number."""
from flask import url_for

from portal.admin.base import PortalModelView, link, money_formatter, normalised_number
from portal.ledger import numbers
from portal.money import format_amount


class EntryView(PortalModelView):
    """Every entry of the journal, read-only (a transaction's page shows its own)."""

    column_list = ["id", "transaction_id", "account", "amount", "value_date"]
    column_filters = ["value_date", "amount", "account.number", "account.currency"]
    column_searchable_list = ["account.number", "account.name"]
    search_placeholder_text = "Account number (spaces ok) or name"
    column_default_sort = ("id", True)
    column_formatters = {
        "amount": money_formatter("amount", currency=lambda entry: entry.account.currency),
        "account": lambda v, c, m, n: link(url_for("account.details_view", id=m.account_id),
                                           numbers.display(m.account.number)),
        "transaction_id": lambda v, c, m, n: link(url_for("transaction.details_view", id=m.transaction_id),
                                                  str(m.transaction_id)),
    }
    column_export_list = ["id", "transaction_id", "account", "amount", "currency", "value_date"]
    column_formatters_export = {"amount": lambda v, c, m, n: format_amount(m.amount, m.account.currency),
                                "currency": lambda v, c, m, n: m.account.currency,
                                "account": lambda v, c, m, n: m.account.number}
    can_view_details = False

    def _apply_search(self, query, count_query, joins, count_joins, search):
        number = normalised_number(search)
        return super()._apply_search(query, count_query, joins, count_joins, number or search)
