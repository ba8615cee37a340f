"""A transaction's legs as staff read one: the customer account it was posted on, and the other side."""
from typing import NamedTuple, Optional

from portal.models import AccountKind, Entry


class Legs(NamedTuple):
    """The entry on the account a transaction was posted on, and the entry on its counterparty (if any)."""

    posted: Optional[Entry]
    counter: Optional[Entry]


def legs(entries):
    """Split a transaction's entries (their accounts loaded) into the posted side and the other side.

    The posted side is a customer account's entry: the paying one when both sides are customers' (a transfer,
    or its reversal), the only one otherwise; the counterparty is the other entry (a customer's account, or the
    bank's settlement or corrections account).
    """
    entries = list(entries)
    customers = [entry for entry in entries if entry.account.kind == AccountKind.CUSTOMER.value]
    posted = min(customers, key=lambda entry: entry.amount) if customers else (entries[0] if entries else None)
    others = [entry for entry in entries if entry is not posted]
    return Legs(posted, others[0] if others else None)
