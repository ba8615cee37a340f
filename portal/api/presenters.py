"""How accounts, balances and transactions look in the API (plain dicts: fast, and exactly the contract)."""
from portal.money import format_amount


def account_json(account):
    """Present an account as the API's account object, its balance a decimal string."""
    return {
        "id": str(account.id),
        "number": account.number,
        "name": account.name,
        "currency": account.currency,
        "status": account.status,
        "balance": format_amount(account.balance, account.currency),
        "opened_on": account.opened_on.isoformat(),
    }


def _id(value):
    return None if value is None else str(value)


def transaction_json(line):
    """Present a transaction as one account sees it (a history line) as the API's transaction object."""
    return {
        "id": str(line.transaction_id),
        "account_id": str(line.account_id),
        "amount": format_amount(line.amount, line.currency),
        "currency": line.currency,
        "description": line.description,
        "value_date": line.value_date.isoformat(),
        "booked_at": line.booked_at.isoformat(),
        "kind": line.kind,
        "counterparty_account_id": _id(line.counterparty_account_id),
        "reverses": _id(line.reverses),
        "reversed_by": _id(line.reversed_by),
    }
