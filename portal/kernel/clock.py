"""The bank's notion of "now" and "today", the one clock of every package; tests move it by replacing `now`.

Callers read it as `clock.now()` (the module attribute, looked up at call time), never `from … import now`,
so one monkeypatch moves every door's clock.
"""
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
