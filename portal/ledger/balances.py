"""Balances now and at the end of a date, and the day-end rows postings keep up to date."""
import sqlalchemy as sa

from portal.database import upsert_insert
from portal.extensions import db
from portal.ledger import dates
from portal.models import Account, DailyBalance, Entry

# Built once (the balance-at-date endpoint's one query): the latest day-end on or before a day.
_CLOSING_AT = (
    sa.select(DailyBalance.closing)
    .where(DailyBalance.account_id == sa.bindparam("account_id"), DailyBalance.day <= sa.bindparam("day"))
    .order_by(DailyBalance.day.desc())
    .limit(1)
)


def current_balance(account):
    """Return the account's balance in minor units, as committed (or as this transaction left it)."""
    if account.is_customer:
        return db.session.scalar(sa.select(Account.balance).where(Account.id == account.id))
    # System accounts keep no stored balance; theirs is the sum of their entries.
    return sum_of_entries(Entry.account_id == account.id)


def closing_balance(account, day):
    """Return the balance at the end of `day` for someone who asked for it; refuse a day after today.

    A future day has no balance yet (its postings may still come): InvalidValueDate, naming the field "date".
    balance_at itself reads any day, so the running balance of lines already booked never meets the refusal,
    not even on a date another server's clock, a moment ahead, booked them on.
    """
    dates.refuse_future(day, field="date")
    return balance_at(account, day)


def balance_at(account, day):
    """Return the balance at the end of `day`: the sum of entries with a value date on or before it."""
    if day < account.opened_on:
        return 0
    if account.is_customer:  # one index lookup, a plain row on the session's connection (no ORM execution path)
        return db.session.connection().scalar(_CLOSING_AT, {"account_id": account.id, "day": day}) or 0
    return sum_of_entries(Entry.account_id == account.id, Entry.value_date <= day)


def totals_by_currency(accounts):
    """Return {currency: the sum of the customer accounts' balances}, currencies in the order the accounts come."""
    totals = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, 0) + account.balance
    return totals


def sum_of_entries(*where):
    """The sum of the matching entries' amounts, as an int (PostgreSQL's SUM of BIGINT is NUMERIC)."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Entry.amount), 0)).where(*where)))


def lowest_day_end_from(account_id, day, *, today=None, balance=None):
    """Return the lowest balance at the end of any date on or after `day` (up to the latest posting).

    From today on there is one day-end only, today's, and it is the account's `balance` (nothing is dated after
    today): given both, a posting dated today costs no query.
    """
    if day == today and balance is not None:
        return balance
    return extreme_day_end_from(account_id, day, min)


def extreme_day_end_from(account_id, day, extreme):
    """Return the `extreme` (min or max) of the balances at the end of every date on or after `day`, from the
    day-end rows, in one query."""
    table = DailyBalance.__table__
    mine = table.c.account_id == account_id
    found, before, on_day = db.session.execute(sa.select(
        sa.select(getattr(sa.func, extreme.__name__)(table.c.closing)).where(mine, table.c.day >= day)
        .scalar_subquery(),
        sa.select(table.c.closing).where(mine, table.c.day < day).order_by(table.c.day.desc()).limit(1)
        .scalar_subquery(),
        sa.select(sa.func.count()).where(mine, table.c.day == day).scalar_subquery(),
    )).one()
    candidates = [] if found is None else [found]
    # The end of `day` itself, when nothing was posted on it, is the latest earlier day-end (or 0).
    if not on_day:
        candidates.append(before or 0)
    return extreme(candidates)


def apply_to_day_ends(account_id, day, amount):
    """Move every day-end from `day` onwards by `amount`, creating the row for `day` if it has none."""
    table = DailyBalance.__table__
    moved = db.session.execute(
        table.update()
        .where(table.c.account_id == account_id, table.c.day >= day)
        .values(closing=table.c.closing + amount)
        .returning(table.c.day)
    ).scalars().all()
    if day in moved:
        return
    previous = (
        sa.select(table.c.closing)
        .where(table.c.account_id == account_id, table.c.day < day)
        .order_by(table.c.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    db.session.execute(table.insert().values(
        account_id=account_id, day=day, closing=sa.func.coalesce(previous, 0) + amount))


# The upsert of today's day-ends, built once per backend (its ON CONFLICT clause is PostgreSQL's or SQLite's):
# building and cache-keying it per posting cost more than sending it (issue 19).
_TODAYS_DAY_ENDS = {}


def _todays_day_ends_upsert():
    dialect = db.session.get_bind().dialect.name
    if dialect not in _TODAYS_DAY_ENDS:
        table = DailyBalance.__table__
        stmt = upsert_insert(table)
        _TODAYS_DAY_ENDS[dialect] = stmt.on_conflict_do_update(index_elements=[table.c.account_id, table.c.day],
                                                               set_={"closing": stmt.excluded.closing})
    return _TODAYS_DAY_ENDS[dialect]


def set_todays_day_ends(today, closings):
    """Record {account id: balance} as the accounts' day-ends for today, in one round trip.

    For a posting dated today this is all apply_to_day_ends would do: today's row is the only one from today on,
    and its closing is the account's new balance.
    """
    db.session.execute(_todays_day_ends_upsert(), [{"account_id": account_id, "day": today, "closing": closing}
                                                   for account_id, closing in closings.items()])
