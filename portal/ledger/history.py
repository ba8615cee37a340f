"""Reading an account's history: its transactions as seen from that account, newest value date first."""
import base64
import binascii
import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal.database import MAX_BIGINT
from portal.extensions import db
from portal.ledger.balances import balance_at, sum_of_entries
from portal.models import Account, Entry, Transaction, User


@dataclass(frozen=True)
class Line:
    """One transaction from one account's side: its entry there, and what the doors show about it."""

    entry_id: int
    transaction_id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    currency: str
    description: str
    value_date: dt.date
    booked_at: dt.datetime
    kind: str
    counterparty_account_id: Optional[uuid.UUID]
    reverses: Optional[uuid.UUID]
    reversed_by: Optional[uuid.UUID]


@dataclass(frozen=True)
class Particulars:
    """What a person needs, beyond a line, to read it: who the other side of a transfer is, what a reversal
    undoes, and the note a correction carries for the customer. Read for the pages, never for the API."""

    counterparty_name: Optional[str] = None  # the other account's name
    counterparty_owner_id: Optional[int] = None
    counterparty_owner_name: Optional[str] = None
    customer_note: Optional[str] = None
    original_kind: Optional[str] = None  # of the transaction a reversal reverses
    original_description: Optional[str] = None
    original_value_date: Optional[dt.date] = None


@dataclass(frozen=True)
class Position:
    """Where a page ended, in the history's order (value date, then entry id, both descending)."""

    value_date: dt.date
    entry_id: int


@dataclass(frozen=True)
class Page:
    """One page of an account's history, and the cursor of the page after it (None on the last page)."""

    lines: list
    next_cursor: Optional[str]


def _lines_query():
    other, other_account = aliased(Entry), aliased(Account)
    reversal = aliased(Transaction)
    # The other customer leg of a transfer (system legs are not a counterparty anyone can address).
    counterparty = (
        sa.select(other.account_id)
        .join(other_account, other_account.id == other.account_id)
        .where(other.transaction_id == Entry.transaction_id, other.account_id != Entry.account_id,
               other_account.kind == "customer")
        .limit(1)
        .scalar_subquery()
    )
    return (
        sa.select(
            Entry.id, Entry.transaction_id, Entry.account_id, Entry.amount, Transaction.description,
            Entry.value_date, Transaction.booked_at, Transaction.kind, counterparty.label("counterparty"),
            Transaction.reverses_id, reversal.id.label("reversed_by"),
        )
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .outerjoin(reversal, reversal.reverses_id == Transaction.id)
        .where(Entry.account_id == sa.bindparam("account_id"))
    )


_LINES = _lines_query()  # built once: an account's lines, for the account in the "account_id" parameter
_NEWEST_FIRST = (Entry.value_date.desc(), Entry.id.desc())
# The two pages every client asks for, built once with their limit and position as parameters: building and
# cache-keying the statement per request cost more than running it (issue 19).
_FIRST_PAGE = _LINES.order_by(*_NEWEST_FIRST).limit(sa.bindparam("limit"))
# A row-value comparison, not "date < d OR (date = d AND id < i)": PostgreSQL turns the former into one range scan
# of the index, while the OR form filtered its way through the history (181 ms deep into a million entries,
# measured by bench/growth.py).
_AFTER = sa.tuple_(Entry.value_date, Entry.id) < sa.tuple_(sa.bindparam("after_date", type_=sa.Date),
                                                           sa.bindparam("after_id", type_=sa.BigInteger))
_NEXT_PAGE = _LINES.where(_AFTER).order_by(*_NEWEST_FIRST).limit(sa.bindparam("limit"))


def _line(row, currency):
    return Line(entry_id=row[0], transaction_id=row[1], account_id=row[2], amount=row[3], currency=currency,
                description=row[4], value_date=row[5], booked_at=row[6], kind=row[7],
                counterparty_account_id=row[8], reverses=row[9], reversed_by=row[10])


def account_history(account, *, after=None, date_from=None, date_to=None, limit=25):
    """Return up to `limit` lines older than `after` (a Position), within the inclusive value-date range.

    Keyset pagination on the (account_id, value_date, id) index: every page costs the same, and a posting
    that arrives between two pages is neither skipped nor shown twice among the rows that were already there.
    The lines are plain rows, run on the session's connection: no ORM entity is built for them.
    """
    query = _NEXT_PAGE if after is not None else _FIRST_PAGE
    if date_from is not None or date_to is not None:
        query = _LINES.where(_AFTER) if after is not None else _LINES
        if date_from is not None:
            query = query.where(Entry.value_date >= date_from)
        if date_to is not None:
            query = query.where(Entry.value_date <= date_to)
        query = query.order_by(*_NEWEST_FIRST).limit(sa.bindparam("limit"))
    parameters = {"account_id": account.id, "limit": limit}
    if after is not None:
        parameters.update(after_date=after.value_date, after_id=after.entry_id)
    return [_line(row, account.currency) for row in db.session.connection().execute(query, parameters)]


LINES_PER_READ = 1000  # transactions read by primary key per statement of lines_between's second step


def lines_between(account, date_from, date_to, *, also=()):
    """Return every line with a value date from `date_from` to `date_to` (inclusive), oldest first, and the
    values of the scalar subqueries `also`, read in the same statement as the entries (None without `also`).

    Two steps, each costing what the range holds, never what the history or the table holds: the range's entries
    (one range scan of the (account_id, value_date, id) index) with the `also` values, in one statement and so
    one snapshot; then what the lines show of their transactions, looked up by primary key. A join of the two in
    one query let PostgreSQL's planner, misjudging the range's size, hash the whole transactions table (23 ms at
    100 000 entries, measured by bench/growth.py). Transactions never change once written (only `reversed_by`
    appears), so the second read cannot disagree with the first's amounts.
    """
    in_range = sa.and_(Entry.account_id == account.id, Entry.value_date >= date_from, Entry.value_date <= date_to)
    if also:
        # The `also` row, joined to the range's entries: one row of values even when the range has no entries,
        # so the values never come from a statement (and a snapshot) of their own.
        values = sa.select(*also).subquery("also_values")
        query = sa.select(Entry.transaction_id, values).select_from(values.outerjoin(Entry, in_range))
    else:
        query = sa.select(Entry.transaction_id).where(in_range)
    rows = db.session.execute(query.order_by(Entry.value_date, Entry.id)).all()
    extras = tuple(rows[0][1:]) if also and rows else None
    ids = [row[0] for row in rows if row[0] is not None]
    if not ids:
        return [], extras
    found = {}
    for start in range(0, len(ids), LINES_PER_READ):
        query = _LINES.where(Entry.transaction_id.in_(ids[start:start + LINES_PER_READ]))
        for row in db.session.execute(query, {"account_id": account.id}):
            found[row[1]] = _line(row, account.currency)
    return [found[transaction_id] for transaction_id in ids], extras


def page(account, *, limit, after=None, date_from=None, date_to=None):
    """Return the page of up to `limit` lines after `after` (a Position), with the cursor of the next one.

    One line more than the page is read: if it exists there is a next page, and it starts after the page's last line.
    """
    lines = account_history(account, after=after, date_from=date_from, date_to=date_to, limit=limit + 1)
    more = len(lines) > limit
    lines = lines[:limit]
    return Page(lines, encode_position(position_of(lines[-1])) if more else None)


def account_transaction(account, transaction_id):
    """Return the line of `transaction_id` on `account`, or None if the transaction has no entry there."""
    row = db.session.execute(_LINES.where(Entry.transaction_id == transaction_id),
                             {"account_id": account.id}).first()
    return None if row is None else _line(row, account.currency)


def particulars(lines):
    """Return {transaction id: Particulars} for the lines of one page, in two queries whatever its length."""
    if not lines:
        return {}
    original = aliased(Transaction)
    notes = db.session.execute(
        sa.select(Transaction.id, Transaction.customer_note, original.kind, original.description, original.value_date)
        .outerjoin(original, original.id == Transaction.reverses_id)
        .where(Transaction.id.in_({line.transaction_id for line in lines}))).all()
    counterparties = {row[0]: row[1:] for row in db.session.execute(
        sa.select(Account.id, Account.name, Account.owner_id, User.name)
        .outerjoin(User, User.id == Account.owner_id)
        .where(Account.id.in_({line.counterparty_account_id for line in lines} - {None})))}
    by_transaction = {row[0]: row[1:] for row in notes}
    result = {}
    for line in lines:
        note, original_kind, original_description, original_value_date = by_transaction[line.transaction_id]
        name, owner_id, owner_name = counterparties.get(line.counterparty_account_id, (None, None, None))
        result[line.transaction_id] = Particulars(
            counterparty_name=name, counterparty_owner_id=owner_id, counterparty_owner_name=owner_name,
            customer_note=note, original_kind=original_kind, original_description=original_description,
            original_value_date=original_value_date)
    return result


def posted_line(transaction, account, amount, counterparty=None):
    """The line a transaction just posted shows on `account`, from what the poster knows (no query)."""
    return Line(entry_id=None, transaction_id=transaction.id, account_id=account.id, amount=amount,
                currency=account.currency, description=transaction.description, value_date=transaction.value_date,
                booked_at=transaction.booked_at, kind=transaction.kind,
                counterparty_account_id=counterparty.id if counterparty is not None else None,
                reverses=transaction.reverses_id, reversed_by=None)


def running_balances(account, lines):
    """Pair each line of one history page (newest first) with the account's balance just after it."""
    result = []
    after_line = None
    for line in lines:
        if after_line is None:
            # Balance after the newest line of the page: its day's end, less what came later on that day.
            later_same_day = sum_of_entries(Entry.account_id == account.id, Entry.value_date == line.value_date,
                                            Entry.id > line.entry_id)
            after_line = balance_at(account, line.value_date) - later_same_day
        result.append((line, after_line))
        after_line -= line.amount
    return result


def position_of(line):
    """Return where `line` sits in the history's order (a page ends there)."""
    return Position(line.value_date, line.entry_id)


def encode_position(position):
    """An opaque cursor for the page after `position`."""
    raw = f"{position.value_date.isoformat()}.{position.entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor):
    """The Position in a cursor from encode_position; ValueError for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, entry_id = text.split(".")
        if (not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day) or not re.fullmatch(r"[0-9]{1,19}", entry_id)
                or int(entry_id) > MAX_BIGINT):  # entries.id is a BIGINT: beyond it, forged
            raise ValueError(cursor)
        return Position(dt.date.fromisoformat(day), int(entry_id))
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc
