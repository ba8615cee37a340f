"""The bank's notion of "now" and "today"; tests move the clock by replacing `now`."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def now():
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


def bank_zone():
    """Return the bank's time zone (BANK_TIMEZONE)."""
    return ZoneInfo(current_app.config["BANK_TIMEZONE"])


def today():
    """Return today's date in the bank's time zone: the default value date and the latest one allowed."""
    return now().astimezone(bank_zone()).date()
