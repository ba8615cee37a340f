"""Monthly statements: one month of an account, read from the ledger.

The opening and closing balances come from the day-end rows postings keep (one index lookup each) and the
month's lines from one range scan of the entries' (account_id, value_date, id) index, so a statement costs what
the month holds, not what the account's history holds. The balances and the lines are read in one statement, so
they come from one snapshot even while postings arrive.
"""
import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from portal import audit
from portal.kernel import clock
from portal.ledger import history
from portal.ledger.errors import DomainError, ValidationError
from portal.models import DailyBalance

# Staff reading a customer's statement is an access to customer data: audited, the account as its object.
DOWNLOAD_ACTION = "statement.download"

_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits, matched whole


class UnknownPeriod(DomainError):
    """There is no statement for this month: it is in the future, or before the account was opened."""

    code = "not_found"


@dataclass(frozen=True)
class Month:
    """A calendar month: `2026-11`."""

    year: int
    month: int

    def __str__(self):
        """Return the month as YYYY-MM."""
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def of(cls, day):
        """Return the month `day` falls in."""
        return cls(day.year, day.month)

    @property
    def first_day(self):
        """Return the month's first day."""
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self):
        """Return the month's last day."""
        return self.next().first_day - dt.timedelta(days=1)

    def next(self):
        """Return the month after this one."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self):
        """Return the month before this one."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


@dataclass(frozen=True)
class StatementLine:
    """One transaction of the month, with the account's balance just after it."""

    line: history.Line
    balance_after: int
    particulars: history.Particulars


@dataclass(frozen=True)
class Statement:
    """A month of an account: opening and closing balances, totals in and out, and the lines, oldest first."""

    account: object
    holder: Optional[str]
    period: Month
    date_from: dt.date
    date_to: dt.date  # the month's last day, or today for the current month
    partial: bool  # the current month: "so far"
    opening: int
    closing: int
    total_in: int
    total_out: int  # a positive number: what went out
    lines: list
    generated_at: dt.datetime


def parse_month(text, *, field="period"):
    """Return the Month that `text` (exactly YYYY-MM, month 01 to 12) names, or raise ValidationError."""
    match = _PERIOD.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValidationError("must be a month in YYYY-MM format (01 to 12)", field=field)
    return Month(int(match.group(1)), int(match.group(2)))


def periods(account, *, today=None):
    """Return [(Month, partial)] for every month from the account's opening to the current one, newest first."""
    current = Month.of(today or clock.today())
    first = Month.of(account.opened_on)
    months, month = [], current
    while (month.year, month.month) >= (first.year, first.month):
        months.append((month, month == current))
        month = month.previous()
    return months


def _closing_on_or_before(account_id, day):
    """The balance at the end of `day`: the latest day-end row on or before it (0 before any), as a subquery."""
    latest = (sa.select(DailyBalance.closing)
              .where(DailyBalance.account_id == account_id, DailyBalance.day <= day)
              .order_by(DailyBalance.day.desc()).limit(1).scalar_subquery())
    return sa.func.coalesce(latest, 0)


def statement(account, month, *, today=None):
    """Build the statement of `month` (a Month) for a customer account; UnknownPeriod for a future month or one
    before the account was opened."""
    today = today or clock.today()
    current, first = Month.of(today), Month.of(account.opened_on)
    # Compared as (year, month), never as dates: "0000-01" and "9999-12" are months no date can hold.
    if not (first.year, first.month) <= (month.year, month.month) <= (current.year, current.month):
        raise UnknownPeriod(f"No statement for {month}.")
    partial = month == current
    date_from, date_to = month.first_day, today if partial else month.last_day
    balances = (_closing_on_or_before(account.id, date_from - dt.timedelta(days=1)).label("opening"),
                _closing_on_or_before(account.id, date_to).label("closing"))
    lines, read = history.lines_between(account, date_from, date_to, also=balances)
    opening, closing = (int(value) for value in read)
    facts = history.particulars(lines)
    running, total_in, total_out, told = opening, 0, 0, []
    for line in lines:
        running += line.amount
        if line.amount > 0:
            total_in += line.amount
        else:
            total_out -= line.amount
        told.append(StatementLine(line, running, facts[line.transaction_id]))
    return Statement(account=account, holder=account.owner.name if account.owner else None, period=month,
                     date_from=date_from, date_to=date_to, partial=partial, opening=opening, closing=closing,
                     total_in=total_in, total_out=total_out, lines=told, generated_at=clock.now())


def record_download(statement, *, actor, media):
    """Audit that staff (`actor`) took a customer's statement: an access to customer data, the account its object."""
    account = statement.account
    audit.record(actor, DOWNLOAD_ACTION, object_type="account", object_id=account.id,
                 subject_user_id=account.owner_id,
                 changes={"period": [None, str(statement.period)], "format": [None, media]})
