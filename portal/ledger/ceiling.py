"""The largest balance a customer account can hold, and the check that keeps every posting within it."""
from portal.database import largest_value
from portal.ledger import errors
from portal.ledger.balances import extreme_day_end_from
from portal.models import Account, DailyBalance
from portal.money import format_amount

# A balance and each day-end are BIGINT columns of minor units: 9223372036854775807, i.e. 92233720368547758.07
# in a two-decimal currency. Past it PostgreSQL refuses the UPDATE (a 500 after the checks had passed) and SQLite
# silently stores a float: so the ledger refuses first.
LARGEST_BALANCE = min(largest_value(Account.__table__.c.balance), largest_value(DailyBalance.__table__.c.closing))


def refuse_past_largest(legs, locked, value_date, *, today, subject):
    """Raise InvalidAmount if a leg would take a locked account's balance, or any day-end from `value_date` on,
    past LARGEST_BALANCE (naming `amount` for the subject's account, the counterparty for the other's)."""
    for account, amount in legs:
        if amount <= 0 or account.id not in locked:
            continue
        highest = highest_day_end_from(account.id, value_date, today=today, balance=locked[account.id].balance)
        if highest + amount > LARGEST_BALANCE:
            field = "amount" if account.id == subject.id else "counterparty_account_id"
            largest = format_amount(LARGEST_BALANCE, account.currency)
            raise errors.InvalidAmount(
                f"would take the account past the largest balance it can hold ({largest} {account.currency})",
                field=field)


def highest_day_end_from(account_id, day, *, today, balance):
    """Return the highest balance at the end of any date on or after `day`; `balance` is the account's current
    one (today's day-end: a posting dated today costs no query)."""
    if day >= today:
        return balance
    return max(balance, extreme_day_end_from(account_id, day, max))
