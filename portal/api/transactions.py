"""`/accounts/{id}/transactions`: an account's history, one transaction, and posting new ones."""
from flask import g, request, url_for
from flask_restx import Namespace, Resource

from portal import ledger, unit_of_work
from portal.api import idempotency
from portal.api.auth import granted_account, require_scope
from portal.api.docs import documented, nullable
from portal.api.errors import ApiError, from_ledger_error, not_found, validation_error
from portal.api.params import json_object, only_query, parse_date, query_date, query_int
from portal.api.presenters import transaction_json
from portal.audit import Refusal
from portal.converters import parse_uuid
from portal.extensions import db
from portal.ledger import ceiling, history
from portal.models import Account, AccountKind, AccountStatus, Scope, TransactionKind
from portal.money import MAX_INTEGER_DIGITS, AmountError, format_amount, parse_amount

ns = Namespace("transactions", description="An account's transactions, and posting new ones",
               path="/accounts/<uuid:account_id>/transactions")

POST_FIELDS = ("amount", "description", "value_date", "counterparty_account_id")
UNKNOWN_COUNTERPARTY = {"counterparty_account_id": "is not a known account"}
# The schema's enum and limits come from the domain, so the document cannot drift from what the API accepts.
KINDS = [kind.value for kind in TransactionKind]
AMOUNT_PATTERN = rf"^[+-]?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]+)?$"
LARGEST_TWO_DECIMAL = format_amount(ceiling.LARGEST_BALANCE, "EUR")

transaction_model = ns.schema_model("Transaction", {
    "type": "object",
    "required": ["id", "account_id", "amount", "currency", "description", "value_date", "booked_at", "kind",
                 "counterparty_account_id", "reverses", "reversed_by"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "account_id": {"type": "string", "format": "uuid"},
        "amount": {"type": "string", "example": "-25.00", "description": "signed, from this account's side"},
        "currency": {"type": "string", "example": "EUR"},
        "description": {"type": "string", "maxLength": ledger.MAX_DESCRIPTION},
        "value_date": {"type": "string", "format": "date"},
        "booked_at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "enum": KINDS},
        "counterparty_account_id": nullable({"type": "string", "format": "uuid",
                                             "description": "the other customer account of a transfer"}),
        "reverses": nullable({"type": "string", "format": "uuid"}),
        "reversed_by": nullable({"type": "string", "format": "uuid"}),
    },
})
transaction_page_model = ns.schema_model("TransactionPage", {
    "type": "object", "required": ["data", "next_cursor"],
    "properties": {
        "data": {"type": "array", "items": {"$ref": "#/definitions/Transaction"}},
        "next_cursor": nullable({"type": "string", "description": "pass as `cursor` for the next page"}),
    },
})
new_transaction_model = ns.schema_model("NewTransaction", {
    "type": "object",
    "required": ["amount"],
    "additionalProperties": False,
    "properties": {
        "amount": {"type": "string", "pattern": AMOUNT_PATTERN, "example": "-25.00",
                   "description": "positive brings money in, negative takes it out; never zero; refused if it "
                                  f"would take a balance past the largest ({LARGEST_TWO_DECIMAL} in a two-decimal "
                                  "currency)"},
        "description": {"type": "string", "maxLength": ledger.MAX_DESCRIPTION,
                        "description": "one line: no control, line-break or text-direction override characters"},
        "value_date": {"type": "string", "format": "date", "description": "defaults to today; never future"},
        "counterparty_account_id": {"type": "string", "format": "uuid",
                                    "description": "makes it a transfer with that customer account"},
    },
})


def decode_cursor(cursor):
    """Return the Position in a `cursor` query parameter, or raise the API's 400 naming it."""
    try:
        return history.decode_position(cursor)
    except ValueError:
        raise validation_error({"cursor": "is not a cursor this API returned"}) from None


@ns.route("")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
class TransactionList(Resource):
    """An account's transactions: the history, page by page, and posting a new one."""

    @ns.param("from", "YYYY-MM-DD: earliest value date (inclusive)", _in="query", type="string", format="date")
    @ns.param("to", "YYYY-MM-DD: latest value date (inclusive)", _in="query", type="string", format="date")
    @ns.param("limit", "page size, 1-100 (default 25)", _in="query", type="integer", minimum=1, maximum=100)
    @ns.param("cursor", "next_cursor of the previous page", _in="query", type="string")
    @documented(ns, 200, transaction_page_model, errors=(400, 401, 403, 404))
    @require_scope(Scope.TRANSACTIONS_READ)
    def get(self, account_id):
        """List the account's transactions, newest value date first."""
        account = granted_account(g.principal, account_id)
        only_query("from", "to", "limit", "cursor")
        date_from, date_to = query_date("from"), query_date("to")
        if date_from and date_to and date_from > date_to:
            raise validation_error({"from": "must not be after `to`"})
        limit = query_int("limit", default=25, low=1, high=100)
        cursor = request.args.get("cursor")
        after = decode_cursor(cursor) if cursor else None
        page = history.page(account, after=after, date_from=date_from, date_to=date_to, limit=limit)
        return {"data": [transaction_json(line) for line in page.lines], "next_cursor": page.next_cursor}

    @ns.expect(new_transaction_model)
    @ns.param(idempotency.HEADER, "Optional: a repeat with the same key and body replays the first response",
              _in="header", type="string")
    @documented(ns, 201, transaction_model, errors=(400, 401, 403, 404, 409, 413, 415), description="Created",
                headers={"Location": {"type": "string", "description": "the new transaction"}})
    @require_scope(Scope.TRANSACTIONS_WRITE, Scope.DEPOSITS_WRITE,
                   why="the token may not post: withdrawals and transfers need transactions:write")
    def post(self, account_id):
        """Post a deposit, withdrawal or transfer on the account."""
        try:
            return _post_transaction(g.principal, account_id)
        except ledger.LedgerError as exc:
            _audit_refusal(account_id, exc.code, exc.message, isinstance(exc, ledger.ValidationError))
            raise from_ledger_error(exc) from None
        except ApiError as exc:
            _audit_refusal(account_id, exc.code, exc.message, exc.status in (400, 413, 415), exc.errors)
            raise


def _post_transaction(principal, account_id):
    account = granted_account(principal, account_id)
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    body = json_object(POST_FIELDS)
    posting = _parse_posting(body, account, principal)
    counterparty = posting["counterparty"]
    # Bringing money in from outside the bank is the bank's to allow; taking it out (or moving it) the customer's.
    needed = Scope.DEPOSITS_WRITE if posting["amount"] > 0 and counterparty is None else Scope.TRANSACTIONS_WRITE
    if not principal.may(needed):
        raise ApiError(403, "forbidden", f"Forbidden: the token lacks the {needed} scope.")
    if counterparty is not None and posting["amount"] > 0 and principal.account(counterparty.id) is None:
        raise ApiError(403, "forbidden", PULL_FORBIDDEN)

    if key is not None:
        replay = idempotency.claim(principal.user_id, key, idempotency.fingerprint(str(account.id), body))
        if replay is not None:
            return replay.body, replay.status, {"Idempotent-Replayed": "true",
                                                "Location": _location(account.id, replay.body["id"])}
    try:
        transaction = ledger.post(account, posting["amount"], actor=g.actor, counterparty=counterparty,
                                  value_date=posting["value_date"], description=posting["description"])
    except ledger.LedgerError as exc:
        # Someone else's account changed state after _payee looked at it (frozen, closed, full): the same one
        # answer as ever, not the ledger's precise one.
        unowned = counterparty is not None and counterparty.owner_id != principal.user_id
        if unowned and exc.field == "counterparty_account_id":
            raise validation_error(dict(UNKNOWN_COUNTERPARTY)) from None
        raise
    result = transaction_json(history.posted_line(transaction, account, posting["amount"], counterparty))
    if key is not None:
        idempotency.remember(principal.user_id, key, 201, result)
    return result, 201, {"Location": _location(account_id, result["id"])}


PULL_FORBIDDEN = "Pulling money from an account needs transactions:write on that account."


def _audit_refusal(account_id, code, message, invalid_input, errors=None):
    """Have the request end in the record of a refused posting, the token as actor, and nothing else."""
    owner = g.principal.user_id
    # Each field's problem in words ("amount: must be …"), as a person reads it on their activity page.
    detail = "; ".join(f"{field}: {problem}" for field, problem in errors.items()) if errors else message
    unit_of_work.refuse(g.actor, "transaction.create", Refusal(code, detail),
                        outcome="failed" if invalid_input else "denied", object_type="account",
                        object_id=account_id, subject_user_id=owner)


def _location(account_id, transaction_id):
    return url_for("api.transactions_transaction_detail", account_id=account_id, transaction_id=transaction_id)


def _parse_posting(body, account, principal):
    """Turn the POST body into domain arguments; the rules about them are the ledger's to apply."""
    errors = {}
    amount = _parse_amount(body, account.currency, errors)
    description = body.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        errors["description"] = "must be a string"
    value_date = None
    if body.get("value_date") is not None:
        try:
            value_date = parse_date(body["value_date"], "value_date")
        except ApiError as exc:
            errors.update(exc.errors)
    counterparty = None
    if body.get("counterparty_account_id") is not None:
        counterparty_id = parse_uuid(body["counterparty_account_id"])
        if counterparty_id is None:
            errors.update(UNKNOWN_COUNTERPARTY)
        elif not errors:  # looked up only for an otherwise valid body, so the other fields' errors say nothing
            counterparty = _payee(counterparty_id, account, principal, amount, value_date)
    if errors:
        raise validation_error(errors)
    return {"amount": amount, "description": description, "value_date": value_date, "counterparty": counterparty}


def _parse_amount(body, currency, errors):
    """Return the body's amount in minor units, or None with what is wrong added to `errors`."""
    if "amount" not in body:
        errors["amount"] = "is required"
        return None
    try:
        return parse_amount(body["amount"], currency)
    except AmountError as exc:
        errors["amount"] = str(exc)
        return None


def _payee(counterparty_id, account, principal, amount, value_date):
    """Return the counterparty account the principal may name, or raise the one validation_error for any other.

    The owner's own accounts are theirs to know: the ledger says precisely what is wrong with them, if anything.
    Any other account can only be paid, and only while it can take the payment; whether it does not exist, is a
    system account, is frozen, closed, in another currency or opened after the value date, the answer is the
    same, so a token cannot learn another customer's accounts' state from it. Pulling from another customer's
    account, whatever its state, is `403`: it needs transactions:write on that account, which no token of this
    owner can hold (the contract's rule). That tells an account with this id exists, which paying it tells
    already; ids are random UUIDs, so only someone given the id can ask.
    """
    counterparty = db.session.get(Account, counterparty_id)
    if counterparty is None or counterparty.kind != AccountKind.CUSTOMER.value:
        raise validation_error(dict(UNKNOWN_COUNTERPARTY))
    if counterparty.owner_id == principal.user_id:
        return counterparty
    if amount > 0:
        raise ApiError(403, "forbidden", PULL_FORBIDDEN)
    payable = (amount < 0 and counterparty.status == AccountStatus.ACTIVE.value
               and counterparty.currency == account.currency
               and (value_date or ledger.today()) >= counterparty.opened_on)
    if not payable:
        raise validation_error(dict(UNKNOWN_COUNTERPARTY))
    return counterparty


@ns.route("/<uuid:transaction_id>", endpoint="transactions_transaction_detail")
@ns.param("account_id", "The account's id", _in="path", type="string", format="uuid")
@ns.param("transaction_id", "The transaction's id", _in="path", type="string", format="uuid")
class TransactionDetail(Resource):
    """One transaction of an account."""

    @documented(ns, 200, transaction_model, errors=(400, 401, 403, 404))
    @require_scope(Scope.TRANSACTIONS_READ)
    def get(self, account_id, transaction_id):
        """Show one transaction, as seen from the account."""
        account = granted_account(g.principal, account_id)
        only_query()
        line = history.account_transaction(account, transaction_id)
        if line is None:
            raise not_found("transaction")
        return transaction_json(line)
