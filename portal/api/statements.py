"""`/accounts/{id}/statements`: the months an account has statements for, and one month as JSON, CSV or PDF."""
from flask import g, request
from flask_restx import Namespace, Resource
from werkzeug.datastructures import MIMEAccept

from portal import ledger, statements
from portal.api.auth import granted_account, require_scope
from portal.api.docs import documented
from portal.api.errors import STATEMENT_NOT_ACCEPTABLE, ApiError, not_found, validation_error
from portal.api.params import only_query
from portal.api.presenters import transaction_json
from portal.ledger import statements as ledger_statements
from portal.models import Scope

ns = Namespace("statements", description="An account's monthly statements: JSON, CSV or PDF",
               path="/accounts/<uuid:account_id>/statements")

PERIOD_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"

statement_list_model = ns.schema_model("StatementList", {
    "type": "object", "required": ["data"],
    "properties": {"data": {"type": "array", "description": "newest first", "items": {
        "type": "object", "required": ["period", "partial"],
        "properties": {
            "period": {"type": "string", "pattern": PERIOD_PATTERN, "example": "2026-11"},
            "partial": {"type": "boolean", "description": "the current month: its statement runs to today"},
        },
    }}},
})


def example_line(txid, amount, value_date, kind, description, balance_after, text, counterparty=None):
    """One transaction of the Statement example, with the fields a statement adds to it."""
    return {"id": txid, "account_id": EXAMPLE_ACCOUNT, "amount": amount, "currency": "EUR",
            "description": description, "value_date": value_date, "booked_at": f"{value_date}T09:30:00+02:00",
            "kind": kind, "counterparty_account_id": EXAMPLE_SAVINGS if counterparty else None, "reverses": None,
            "reversed_by": None, "balance_after": balance_after, "text": text, "counterparty": counterparty}


# One whole month that adds up, shown as the Statement's example: 100.00 + 250.00 − 75.00 = 275.00, each line's
# balance_after following from the one before. Examples on the properties alone would give a mix of months.
EXAMPLE_ACCOUNT, EXAMPLE_SAVINGS = "3c9e2f4a-6b1d-4e8a-9f70-1d2b3c4d5e6f", "8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d"
STATEMENT_EXAMPLE = {
    "account_id": EXAMPLE_ACCOUNT, "number": "FI2142420000000001", "currency": "EUR", "period": "2026-11",
    "partial": False, "from": "2026-11-01", "to": "2026-11-30", "opening_balance": "100.00",
    "closing_balance": "275.00", "total_in": "250.00", "total_out": "75.00",
    "transactions": [
        example_line("0b6f1c2e-8d3a-4f5b-a6c7-d8e9f0a1b2c3", "250.00", "2026-11-03", "deposit", "Salary",
                     "350.00", "Salary"),
        example_line("5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b", "-25.00", "2026-11-12", "withdrawal", "Groceries",
                     "325.00", "Groceries"),
        example_line("9f8e7d6c-5b4a-4f3e-9d2c-1b0a9f8e7d6c", "-50.00", "2026-11-20", "transfer", "",
                     "275.00", "Transfer to Savings", counterparty="Savings"),
    ],
}
statement_model = ns.schema_model("Statement", {
    "type": "object",
    "required": ["account_id", "number", "currency", "period", "from", "to", "opening_balance", "closing_balance",
                 "total_in", "total_out", "transactions"],
    "example": STATEMENT_EXAMPLE,
    "properties": {
        "account_id": {"type": "string", "format": "uuid"},
        "number": {"type": "string", "example": "FI2142420000000001"},
        "currency": {"type": "string", "example": "EUR"},
        "period": {"type": "string", "pattern": PERIOD_PATTERN, "example": "2026-11"},
        "partial": {"type": "boolean", "description": "the current month, so far"},
        "from": {"type": "string", "format": "date", "example": "2026-11-01", "description": "the month's first day"},
        "to": {"type": "string", "format": "date", "example": "2026-11-30",
               "description": "the month's last day, or today"},
        "opening_balance": {"type": "string", "example": "100.00",
                            "description": "at the end of the day before `from`"},
        "closing_balance": {"type": "string", "example": "275.00", "description": "at the end of `to`"},
        "total_in": {"type": "string", "example": "250.00"},
        "total_out": {"type": "string", "example": "75.00", "description": "positive: what went out"},
        "transactions": {"type": "array", "description": "oldest first", "items": {"allOf": [
            {"$ref": "#/definitions/Transaction"},
            {"type": "object", "required": ["balance_after", "text", "counterparty"], "properties": {
                "balance_after": {"type": "string", "example": "275.00"},
                "text": {"type": "string", "example": "Transfer to Savings",
                         "description": "the transaction as the account page tells it"},
                "counterparty": {"type": "string", "x-nullable": True,
                                 "description": "the other side of a transfer, by name"},
            }},
        ]}},
    },
})


def statement_json(statement):
    """Present the statement as the API's `Statement` object (each transaction with the balance after it)."""
    transactions = []
    for item, text, other in statements.told(statement):
        transactions.append({**transaction_json(item.line),
                             "balance_after": statements.amount(statement, item.balance_after),
                             "text": text, "counterparty": other})
    account = statement.account
    return {
        "account_id": str(account.id),
        "number": account.number,
        "currency": account.currency,
        "period": str(statement.period),
        "partial": statement.partial,
        "from": statement.date_from.isoformat(),
        "to": statement.date_to.isoformat(),
        "opening_balance": statements.amount(statement, statement.opening),
        "closing_balance": statements.amount(statement, statement.closing),
        "total_in": statements.amount(statement, statement.total_in),
        "total_out": statements.amount(statement, statement.total_out),
        "transactions": transactions,
    }


VARY_ACCEPT = {"Vary": "Accept"}  # the format follows the Accept header: a cache must keep one answer per header


def negotiated():
    """Return the media type to answer with: JSON unless the Accept header prefers CSV or PDF; 406 when it
    accepts none of the three.

    Media-type parameters other than the quality (`text/csv; charset=utf-8`, `text/csv;header=present`) do not
    make a type another one: they are set aside before matching, as the server's own answer carries its charset.
    """
    if not request.headers.get("Accept", "").strip():
        return statements.JSON
    asked = MIMEAccept([(value.split(";", 1)[0].strip().lower(), quality)
                        for value, quality in request.accept_mimetypes])
    chosen = asked.best_match(statements.MEDIA_TYPES)
    if chosen is None:
        raise ApiError(406, "not_acceptable", STATEMENT_NOT_ACCEPTABLE, headers=VARY_ACCEPT)
    return chosen


@ns.route("")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
class StatementList(Resource):
    """The months the account has statements for."""

    @documented(ns, 200, statement_list_model, errors=(400, 401, 403, 404))
    @require_scope(Scope.TRANSACTIONS_READ)
    def get(self, account_id):
        """List every month from the account's opening to the current one (partial), newest first."""
        account = granted_account(g.principal, account_id)
        only_query()
        return {"data": [{"period": str(month), "partial": partial}
                         for month, partial in ledger_statements.periods(account)]}


@ns.route("/<string:period>")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
@ns.param("period", "YYYY-MM: the month", _in="path", type="string", pattern=PERIOD_PATTERN)
class StatementDetail(Resource):
    """One month's statement of the account."""

    @ns.produces(list(statements.MEDIA_TYPES))
    @documented(ns, 200, statement_model, errors=(400, 401, 403, 404, 406),
                description="The statement: JSON by default; `Accept: text/csv` gives CSV, `Accept: "
                            "application/pdf` a PDF (each as an attachment)",
                headers={"Content-Disposition": {"type": "string",
                                                 "description": "CSV and PDF: attachment; filename=\"statement-"
                                                                "{number}-{YYYY-MM}.csv\" (`.pdf` for a PDF)"}})
    @require_scope(Scope.TRANSACTIONS_READ)
    def get(self, account_id, period):
        """Show one month's statement as JSON, CSV or PDF (the Accept header chooses).

        Opening and closing balances, totals in and out, and every transaction with the balance after it, oldest
        first. CSV and PDF come as an attachment named `statement-{number}-{YYYY-MM}.csv` or `.pdf`.
        """
        account = granted_account(g.principal, account_id)
        only_query()
        try:
            month = ledger_statements.parse_month(period)
        except ledger.ValidationError as exc:
            raise validation_error({exc.field: exc.message}) from None
        media_type = negotiated()
        try:
            statement = ledger_statements.statement(account, month)
        except ledger_statements.UnknownPeriod:
            raise not_found("statement") from None
        if media_type == statements.JSON:
            return statement_json(statement), 200, VARY_ACCEPT
        response = statements.download(statement, media_type)
        response.vary.add("Accept")
        return response
