"""Named refusals of the ledger. Each is raised before anything is written, so a refusal changes nothing."""
from portal.kernel.errors import (
    MAX_REASON,
    DomainError,
    ReasonRequired,
    ValidationError,
    clean_text,
    customer_note,
    noted,
    require_reason,
)

# The name the doors catch: any refusal of the domain (identity's too), not only the ledger's own.
LedgerError = DomainError

__all__ = [
    "MAX_REASON", "AccountClosed", "AccountFrozen", "AlreadyReversed", "BalanceNotZero", "CurrencyMismatch",
    "DomainError", "InsufficientFunds", "InvalidAmount", "InvalidCounterparty", "InvalidStatusChange",
    "InvalidValueDate", "LedgerError", "NotReversible", "ReasonRequired", "ValidationError", "clean_text",
    "customer_note", "noted", "require_reason",
]


class InvalidAmount(ValidationError):
    """The amount is not valid for this account."""

    field = "amount"


class InvalidValueDate(ValidationError):
    """The value date is in the future or before the account was opened."""

    field = "value_date"


class CurrencyMismatch(ValidationError):
    """The accounts are in different currencies."""

    field = "counterparty_account_id"


class InvalidCounterparty(ValidationError):
    """The counterparty account cannot take part in this transaction."""

    field = "counterparty_account_id"


class InsufficientFunds(LedgerError):
    """The account's balance would go below zero."""

    code = "insufficient_funds"


class AccountFrozen(LedgerError):
    """The account is frozen."""

    code = "account_frozen"


class AccountClosed(LedgerError):
    """The account is closed."""

    code = "account_closed"


class AlreadyReversed(LedgerError):
    """The transaction has already been reversed."""

    code = "already_reversed"


class NotReversible(LedgerError):
    """A reversal cannot itself be reversed."""

    code = "not_reversible"


class BalanceNotZero(LedgerError):
    """Only an account with a zero balance can be closed."""

    code = "balance_not_zero"


class InvalidStatusChange(LedgerError):
    """The account is not in a state that allows this change."""

    code = "invalid_status_change"
