"""Transactions in the back-office: the account, counterparty and amount of each; search by id, customer
email or account number; filter by customer or account; details with their entries; reverse."""
import re

import sqlalchemy as sa
from flask import abort, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from sqlalchemy.orm import selectinload

from portal.admin.base import PortalModelView, audit_url, link, normalised_number
from portal.admin.corrections import correction_form, may, requires_kind
from portal.converters import parse_uuid
from portal.corrections import approvals
from portal.display import money
from portal.extensions import db
from portal.identity import normalize_email
from portal.ledger import numbers
from portal.ledger.legs import legs
from portal.ledger.posting import REVERSE_ACTION
from portal.models import Account, Entry, Transaction, User
from portal.money import format_amount

# The short id the list shows: 8 hex digits, with or without the ellipsis.
_SHORT_ID = re.compile(r"([0-9a-fA-F]{8})…?")
# An email or the start of one ("carla@", "carla@exa"): something before the @, no spaces.
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]*")


def _touching(accounts):
    """Transactions with an entry on any of `accounts` (a select of account ids)."""
    return Transaction.id.in_(sa.select(Entry.transaction_id).where(Entry.account_id.in_(accounts)))


def _of_customer(email):
    """Transactions on an account of the customer with this email (exactly, in any case)."""
    owner = sa.select(User.id).where(User.email == normalize_email(email)).scalar_subquery()
    return _touching(sa.select(Account.id).where(Account.owner_id == owner))


def _on_account(number):
    """Transactions on the account with this number (spaces and case as a person types them)."""
    return _touching(sa.select(Account.id).where(Account.number == numbers.normalize(number)))


class TransactionsFilter(BaseSQLAFilter):
    """A filter on who or which account a transaction touches, through its entries."""

    def __init__(self, name, clause):
        """Name the filter and give it the clause it applies to a typed value."""
        super().__init__(Transaction.id, name)
        self.clause = clause

    def apply(self, query, value, alias=None):
        """Keep the transactions the clause matches for `value`."""
        return query.filter(self.clause(value))

    def operation(self):
        """Say how the value is compared."""
        return "is"


def _legs_of(model):
    return legs(model.entries)


def _account_cell(entry):
    if entry is None:
        return ""
    account = entry.account
    if account.owner is None:
        return f"{account.name} (bank)"
    return link(url_for("account.details_view", id=account.id),
                f"{numbers.display(account.number)} · {account.owner.email}")


def _account_plain(entry):
    if entry is None:
        return ""
    account = entry.account
    return f"{account.name} (bank)" if account.owner is None else account.number


def _owner_email(entry):
    owner = None if entry is None else entry.account.owner
    return "" if owner is None else owner.email


def _amount_plain(model):
    posted = _legs_of(model).posted
    return "" if posted is None else format_amount(posted.amount, posted.account.currency)


class TransactionView(PortalModelView):
    """Every transaction, read-only; operators reverse them."""

    column_list = ["id", "kind", "value_date", "booked_at", "account", "counterparty", "amount", "description"]
    column_export_list = ["id", "kind", "value_date", "booked_at", "account", "customer", "counterparty", "amount",
                          "currency", "description", "reverses_id", "reason"]
    column_labels = {"account": "Account", "counterparty": "Counterparty", "amount": "Amount (on the account)"}
    column_sortable_list = ["kind", "value_date", "booked_at"]
    column_searchable_list = ["description", "reason"]
    column_filters = ["kind", "value_date", "booked_at", "created_by_user_id", "created_by_token_id",
                      TransactionsFilter("Customer email", _of_customer),
                      TransactionsFilter("Account number", _on_account)]
    column_default_sort = ("booked_at", True)
    column_formatters = {
        # The first 8 characters tell transactions apart on a page; search takes the whole id.
        "id": lambda v, c, m, n: link(url_for(".details_view", id=m.id), f"{str(m.id)[:8]}…", title=str(m.id)),
        "booked_at": lambda v, c, m, n: m.booked_at.strftime("%Y-%m-%d %H:%M"),
        "account": lambda v, c, m, n: _account_cell(_legs_of(m).posted),
        "counterparty": lambda v, c, m, n: _account_cell(_legs_of(m).counter),
        "amount": lambda v, c, m, n: "" if _legs_of(m).posted is None else money(
            _legs_of(m).posted.amount, _legs_of(m).posted.account.currency),
    }
    column_formatters_export = {
        "account": lambda v, c, m, n: _account_plain(_legs_of(m).posted),
        "customer": lambda v, c, m, n: _owner_email(_legs_of(m).posted),
        "counterparty": lambda v, c, m, n: _account_plain(_legs_of(m).counter),
        "amount": lambda v, c, m, n: _amount_plain(m),
        "currency": lambda v, c, m, n: "" if _legs_of(m).posted is None else _legs_of(m).posted.account.currency,
    }
    details_template = "admin/transaction_details.html"
    search_placeholder_text = "Id, customer email or name, account number, description"

    def get_query(self):
        """The list's rows with their entries, accounts and owners, in two more queries (not one per row)."""
        return super().get_query().options(
            selectinload(Transaction.entries).joinedload(Entry.account).joinedload(Account.owner))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        clause = _search_clause(search.strip())
        if clause is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def render(self, template, **kwargs):
        """Render a page; a transaction's details also show its entries and whether it can be reversed."""
        if template == self.details_template and "model" in kwargs:
            transaction = kwargs["model"]
            kwargs["entries"] = db.session.execute(
                sa.select(Entry, Account).join(Account, Account.id == Entry.account_id)
                .where(Entry.transaction_id == transaction.id).order_by(Entry.id)).all()
            kwargs["audit_url"] = audit_url("transaction", transaction.id)
            kwargs["pending"] = approvals.pending_for("transaction", transaction.id)
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


def _search_clause(search):
    """An id (or the 8 characters the list shows) finds its transaction, an email its customer's, an account
    number its account's; other text a description, a reason or a customer's name."""
    txid = parse_uuid(search)
    if txid is not None:
        return Transaction.id == txid
    short = _SHORT_ID.fullmatch(search)
    if short:
        # The first 8 hex digits are the same whether the database keeps a UUID as text with dashes or without.
        return sa.cast(Transaction.id, sa.String).ilike(f"{short.group(1)}%")
    if _EMAIL_LIKE.fullmatch(search):
        owners = sa.select(User.id).where(User.email.ilike(f"%{search}%"))
        return _touching(sa.select(Account.id).where(Account.owner_id.in_(owners)))
    number = normalised_number(search)
    if number is not None:
        return _touching(sa.select(Account.id).where(Account.number.ilike(f"%{number}%")))
    if not search or search.startswith(("=", "^")):  # Flask-Admin's own "exactly" and "starts with" operators
        return None
    pattern = f"%{search}%"
    named = sa.select(User.id).where(User.name.ilike(pattern))
    return sa.or_(Transaction.description.ilike(pattern), Transaction.reason.ilike(pattern),
                  _touching(sa.select(Account.id).where(Account.owner_id.in_(named))))
