"""Invariant checks over the whole database: what `flask ledger check` and the back-office dashboard report.

Each check is one set-based query (no per-row Python over the journal), naming the rows that break it. They
look at the tables directly, so they also catch what was changed behind the domain layer's back.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.extensions import db
from portal.kernel import clock
from portal.ledger import numbers
from portal.models import Account, DailyBalance, Entry, Transaction, User

SAMPLE = 5  # offending rows named per check


@dataclass
class Finding:
    """One invariant broken: how many rows break it, and a few of them to look at."""

    check: str
    description: str
    count: int
    examples: list = field(default_factory=list)

    def __str__(self):
        """Name the check, what is wrong, how often, and the examples: one line of the command's output."""
        shown = ", ".join(str(e) for e in self.examples)
        more = f" (and {self.count - len(self.examples)} more)" if self.count > len(self.examples) else ""
        return f"{self.check}: {self.description}: {self.count} — {shown}{more}"


@dataclass
class Report:
    """What a run of the checks found, and the sizes it checked."""

    findings: list
    stats: dict

    @property
    def ok(self):
        """Whether every invariant holds."""
        return not self.findings


def _day_totals():
    """Per customer account and value date: the sum of that day's entries."""
    return (
        sa.select(Entry.account_id, Entry.value_date.label("day"), sa.func.sum(Entry.amount).label("total"))
        .join(Account, Account.id == Entry.account_id)
        .where(Account.kind == "customer")
        .group_by(Entry.account_id, Entry.value_date)
        .subquery()
    )


def _expected_day_ends():
    """Per customer account and day with entries: the balance at the end of that day, from the entries alone."""
    totals = _day_totals()
    return sa.select(
        totals.c.account_id, totals.c.day,
        sa.func.sum(totals.c.total).over(partition_by=totals.c.account_id, order_by=totals.c.day).label("closing"),
    ).subquery()


def _checks(today):
    entry_sums = (
        sa.select(Entry.transaction_id, sa.func.sum(Entry.amount).label("total"), sa.func.count().label("legs"))
        .group_by(Entry.transaction_id).subquery()
    )
    account_sums = (
        sa.select(Entry.account_id, sa.func.sum(Entry.amount).label("total")).group_by(Entry.account_id).subquery()
    )
    expected = _expected_day_ends()
    latest_day_ends = (sa.select(DailyBalance.account_id, sa.func.max(DailyBalance.day).label("day"))
                       .group_by(DailyBalance.account_id).subquery())
    original = sa.orm.aliased(Transaction)
    reversal_entry, original_entry = sa.orm.aliased(Entry), sa.orm.aliased(Entry)
    return [
        ("unbalanced_transaction", "transactions whose entries do not sum to zero or have fewer than two legs",
         sa.select(Transaction.id).outerjoin(entry_sums, entry_sums.c.transaction_id == Transaction.id)
         .where(sa.or_(entry_sums.c.total.is_(None), entry_sums.c.total != 0, entry_sums.c.legs < 2))),
        ("zero_entry", "entries with a zero amount",
         sa.select(Entry.id).where(Entry.amount == 0)),
        ("mixed_currency", "transactions whose entries are on accounts of different currencies",
         sa.select(Entry.transaction_id).join(Account, Account.id == Entry.account_id)
         .group_by(Entry.transaction_id).having(sa.func.count(sa.distinct(Account.currency)) > 1)),
        ("entry_value_date", "entries whose value date differs from their transaction's",
         sa.select(Entry.id).join(Transaction, Transaction.id == Entry.transaction_id)
         .where(Entry.value_date != Transaction.value_date)),
        ("stored_balance", "customer accounts whose stored balance is not the sum of their entries",
         sa.select(Account.number).outerjoin(account_sums, account_sums.c.account_id == Account.id)
         .where(Account.kind == "customer",
                sa.or_(Account.balance.is_(None), Account.balance != sa.func.coalesce(account_sums.c.total, 0)))),
        ("system_balance", "system accounts with a stored balance (theirs is derived from entries)",
         sa.select(Account.number).where(Account.kind == "system", Account.balance.is_not(None))),
        ("negative_day_end", "customer accounts whose balance at the end of some day is below zero",
         sa.select(sa.distinct(Account.number)).join(expected, expected.c.account_id == Account.id)
         .where(expected.c.closing < 0)),
        ("day_end_mismatch", "customer day-end balances missing or different from what the entries give",
         sa.select(Account.number, expected.c.day).join(expected, expected.c.account_id == Account.id)
         .outerjoin(DailyBalance, sa.and_(DailyBalance.account_id == expected.c.account_id,
                                          DailyBalance.day == expected.c.day))
         .where(sa.or_(DailyBalance.closing.is_(None), DailyBalance.closing != expected.c.closing))),
        ("last_value_date", "customer accounts whose latest value date is not that of their latest day-end",
         sa.select(Account.number).outerjoin(latest_day_ends, latest_day_ends.c.account_id == Account.id)
         .where(Account.kind == "customer",
                sa.or_(sa.and_(Account.last_value_date.is_(None), latest_day_ends.c.day.is_not(None)),
                       sa.and_(Account.last_value_date.is_not(None), latest_day_ends.c.day.is_(None)),
                       Account.last_value_date != latest_day_ends.c.day))),
        ("day_end_orphan", "day-end balance rows for a day on which the account has no entries",
         sa.select(DailyBalance.account_id, DailyBalance.day)
         .outerjoin(expected, sa.and_(DailyBalance.account_id == expected.c.account_id,
                                      DailyBalance.day == expected.c.day))
         .where(expected.c.day.is_(None))),
        ("closed_with_balance", "closed customer accounts whose balance is not zero",
         sa.select(Account.number).where(Account.kind == "customer", Account.status == "closed",
                                         Account.balance != 0)),
        ("value_date_range", "entries dated before their account opened or after today",
         sa.select(Entry.id).join(Account, Account.id == Entry.account_id)
         .where(sa.or_(Entry.value_date < Account.opened_on, Entry.value_date > today))),
        ("reversal_target", "reversals of a reversal, or on another value date than the original",
         sa.select(Transaction.id).join(original, original.id == Transaction.reverses_id)
         .where(sa.or_(original.kind == "reversal", original.value_date != Transaction.value_date))),
        ("reversal_mirror", "reversal entries that do not mirror the original's",
         sa.select(reversal_entry.id)
         .join(Transaction, Transaction.id == reversal_entry.transaction_id)
         .outerjoin(original_entry, sa.and_(original_entry.transaction_id == Transaction.reverses_id,
                                            original_entry.account_id == reversal_entry.account_id))
         .where(Transaction.reverses_id.is_not(None),
                sa.or_(original_entry.id.is_(None), original_entry.amount != -reversal_entry.amount))),
        ("account_owner", "customer accounts not owned by a customer",
         sa.select(Account.number).join(User, User.id == Account.owner_id)
         .where(Account.kind == "customer", User.role != "customer")),
    ]


def run_checks():
    """Run every check and return a Report; nothing is written."""
    today = clock.today()
    findings = []
    for name, description, query in _checks(today):
        rows = db.session.execute(query).all()
        if rows:
            examples = [" ".join(str(value) for value in row) for row in rows[:SAMPLE]]
            findings.append(Finding(name, description, len(rows), examples))
    bad_numbers = [number for number in db.session.scalars(sa.select(Account.number))
                   if not numbers.is_valid(number)]
    if bad_numbers:
        findings.append(Finding("account_number", "account numbers with invalid check digits",
                                len(bad_numbers), bad_numbers[:SAMPLE]))
    stats = {
        "accounts": db.session.scalar(sa.select(sa.func.count()).select_from(Account)),
        "transactions": db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)),
        "entries": db.session.scalar(sa.select(sa.func.count()).select_from(Entry)),
    }
    return Report(findings, stats)
