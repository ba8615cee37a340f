"""Named refusals of the ledger. Each is raised before anything is written, so a refusal changes nothing."""
from portal import text

MAX_REASON = 1000


class LedgerError(Exception):
    """Base class: `code` is the stable machine-readable name, `field` the input it concerns (if any)."""

    code = "ledger_error"
    field = None

    def __init__(self, message=None, *, field=None):
        super().__init__(message or self.__doc__)
        if field is not None:
            self.field = field

    @property
    def message(self):
        return str(self)


class ValidationError(LedgerError):
    """The request is not valid."""

    code = "validation_error"


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


class ReasonRequired(ValidationError):
    """A reason is required for this correction."""

    field = "reason"


def require_reason(reason):
    """Return the reason without surrounding blanks, or raise ReasonRequired if there is none."""
    reason = clean_text(reason, field="reason", max_length=MAX_REASON, multiline=True)
    if not reason:
        raise ReasonRequired()
    return reason


def clean_text(value, *, field, max_length, required=False, multiline=False):
    """Return free text without surrounding blanks, or raise ValidationError naming `field`.

    The one rule for every name, description and reason, whichever door it came in by: at most `max_length`
    characters, and none of those portal.text refuses (control, text-direction, surrogate; line breaks too
    unless `multiline`).
    """
    value = "" if value is None else value
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    value = value.strip()
    if multiline:
        value = text.normalise_line_ends(value)
    if required and not value:
        raise ValidationError("must not be empty", field=field)
    if len(value) > max_length:
        raise ValidationError(f"must be at most {max_length} characters", field=field)
    wrong = text.problem(value, multiline=multiline)
    if wrong is not None:
        raise ValidationError(wrong, field=field)
    return value
