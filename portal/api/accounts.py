"""`/accounts`: the accounts granted to the token, and their balances (now or at the end of a date)."""
from flask import g
from flask_restx import Namespace, Resource

from portal import ledger
from portal.api.auth import granted_account, require_scope
from portal.api.docs import documented, nullable
from portal.api.params import only_query, query_date, validation_error
from portal.api.presenters import account_json
from portal.extensions import db
from portal.models import Account, AccountStatus, Scope
from portal.money import format_amount

ns = Namespace("accounts", description="Accounts granted to the token, and their balances", path="/accounts")

account_model = ns.schema_model("Account", {
    "type": "object",
    "required": ["id", "number", "name", "currency", "status", "balance", "opened_on"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "number": {"type": "string", "example": "FI2142420000000001"},
        "name": {"type": "string"},
        "currency": {"type": "string", "example": "EUR"},
        "status": {"type": "string", "enum": [status.value for status in AccountStatus]},
        "balance": {"type": "string", "example": "125.40", "description": "decimal string"},
        "opened_on": {"type": "string", "format": "date"},
    },
})
account_list_model = ns.schema_model("AccountList", {
    "type": "object", "required": ["data"],
    "properties": {"data": {"type": "array", "items": {"$ref": "#/definitions/Account"}}},
})
balance_model = ns.schema_model("Balance", {
    "type": "object",
    "required": ["account_id", "currency", "balance", "date"],
    "properties": {
        "account_id": {"type": "string", "format": "uuid"},
        "currency": {"type": "string"},
        "balance": {"type": "string", "example": "125.40"},
        "date": nullable({"type": "string", "format": "date",
                          "description": "the date asked for, or null for the current balance"}),
    },
})


@ns.route("")
class AccountList(Resource):
    """The accounts granted to the token."""

    @documented(ns, 200, account_list_model, errors=(400, 401, 403))
    @require_scope(Scope.ACCOUNTS_READ)
    def get(self):
        """List the accounts granted to the token."""
        only_query()
        accounts = db.session.scalars(g.principal.accounts().order_by(Account.opened_on, Account.number))
        return {"data": [account_json(account) for account in accounts]}


@ns.route("/<uuid:account_id>")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
class AccountDetail(Resource):
    """One account granted to the token."""

    @documented(ns, 200, account_model, errors=(400, 401, 403, 404))
    @require_scope(Scope.ACCOUNTS_READ)
    def get(self, account_id):
        """Show one account."""
        account = granted_account(g.principal, account_id)
        only_query()
        return account_json(account)


@ns.route("/<uuid:account_id>/balance")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
class AccountBalance(Resource):
    """An account's balance, now or at the end of a date."""

    @ns.param("date", "YYYY-MM-DD: the balance at the end of this date (in the bank's time zone)",
              _in="query", type="string", format="date")
    @documented(ns, 200, balance_model, errors=(400, 401, 403, 404))
    @require_scope(Scope.ACCOUNTS_READ)
    def get(self, account_id):
        """Show the account's current balance, or its balance at the end of a date."""
        account = granted_account(g.principal, account_id)
        only_query("date")
        day = query_date("date")
        if day is None:
            balance = account.balance
        else:
            try:
                balance = ledger.closing_balance(account, day)
            except ledger.InvalidValueDate as exc:  # a future date: the API's usual 400, the ledger's words
                raise validation_error({exc.field: exc.message}) from None
        return {"account_id": str(account.id), "currency": account.currency,
                "balance": format_amount(balance, account.currency), "date": day.isoformat() if day else None}
