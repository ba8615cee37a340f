"""Refusals of the domain, whichever package refuses, and the one rule for free text (names, descriptions, reasons).

Each is raised before anything is written, so a refusal changes nothing. The doors map them to answers in one
place each (the API's envelope, a page's flash, the CLI's message).
"""
from portal import text

MAX_REASON = 1000
MAX_CUSTOMER_NOTE = 500


class DomainError(Exception):
    """Base class: `code` is the stable machine-readable name, `field` the input it concerns (if any)."""

    code = "ledger_error"
    field = None

    def __init__(self, message=None, *, field=None):
        """Take the message (the class's docstring if none) and, optionally, the field it concerns."""
        super().__init__(message or self.__doc__)
        if field is not None:
            self.field = field

    @property
    def message(self):
        """Return the message the doors show."""
        return str(self)


class ValidationError(DomainError):
    """The request is not valid."""

    code = "validation_error"


class ReasonRequired(ValidationError):
    """A reason is required for this correction."""

    field = "reason"


def require_reason(reason):
    """Return the reason without surrounding blanks, or raise ReasonRequired if there is none."""
    reason = clean_text(reason, field="reason", max_length=MAX_REASON, multiline=True)
    if not reason:
        raise ReasonRequired()
    return reason


def customer_note(note):
    """Return a correction's note for the customer without surrounding blanks, or None if there is none."""
    return clean_text(note, field="customer_note", max_length=MAX_CUSTOMER_NOTE, multiline=True) or None


def noted(changes, note):
    """Return an audit event's changes with the customer note among them, when there is one.

    The note is what the customer is told (their activity page shows it instead of the staff's reason).
    """
    return {**changes, "customer_note": [None, note]} if note else changes


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
