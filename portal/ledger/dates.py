"""The future-date rule: nothing is posted on, nor a balance read for, a date after today in the bank's time zone."""
from portal.kernel import clock
from portal.ledger import errors


def refuse_future(day, *, today=None, field="value_date"):
    """Raise InvalidValueDate naming `field` if `day` is after today (the clock's, or the caller's `today`)."""
    if day > (clock.today() if today is None else today):
        raise errors.InvalidValueDate("must not be in the future", field=field)
