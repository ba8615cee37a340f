"""The ledger domain: the one place that opens accounts and writes transactions, entries and balances.

Doors import from here: `from portal import ledger; ledger.deposit(account, 1000, actor=actor)`.
"""
# `portal.ledger.clock` is the kernel's clock module itself (not a copy): patching either moves both.
from portal.kernel import clock
from portal.kernel.clock import today
from portal.ledger.accounts import close, freeze, open_account, rename_account, unfreeze
from portal.ledger.balances import balance_at, closing_balance, current_balance, totals_by_currency
from portal.ledger.dates import refuse_future
from portal.ledger.errors import (
    AccountClosed,
    AccountFrozen,
    AlreadyReversed,
    BalanceNotZero,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidCounterparty,
    InvalidStatusChange,
    InvalidValueDate,
    LedgerError,
    NotReversible,
    ReasonRequired,
    ValidationError,
)
from portal.ledger.posting import MAX_DESCRIPTION, adjust, deposit, post, reverse, transfer, withdraw
from portal.ledger.system import system_account

__all__ = [
    "MAX_DESCRIPTION", "AccountClosed", "AccountFrozen", "AlreadyReversed", "BalanceNotZero", "CurrencyMismatch",
    "InsufficientFunds", "InvalidAmount", "InvalidCounterparty", "InvalidStatusChange", "InvalidValueDate",
    "LedgerError", "NotReversible", "ReasonRequired", "ValidationError", "adjust", "balance_at", "clock", "close",
    "closing_balance", "current_balance", "deposit", "freeze", "open_account", "post", "refuse_future",
    "rename_account", "reverse", "system_account", "today", "totals_by_currency", "transfer", "unfreeze", "withdraw",
]
