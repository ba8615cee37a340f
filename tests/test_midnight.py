"""The date a posting is checked and booked on, when the clock turns midnight while it waits for its locks.

A posting used to read "today" before locking its accounts. One that read the date just before midnight and got
its lock after another request had committed a posting dated the new day was checked against a balance that
already held the later money, and wrote that balance as the old day's day-end. These tests hold the row lock on
a second connection across the date change, with a clock the test moves, on PostgreSQL's real row locks.
"""
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.kernel import clock
from portal.ledger.check import run_checks
from portal.ledger.locking import lock_accounts
from portal.models import Account, DailyBalance, Transaction
from tests.factories import SYSTEM, make_account, refresh

DAY = dt.date(2026, 3, 1)
BEFORE_MIDNIGHT = dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.UTC)
AFTER_MIDNIGHT = dt.datetime(2026, 3, 2, 0, 0, 1, tzinfo=dt.UTC)


class ManualClock:
    """A clock the test sets; every thread of the process reads it."""

    def __init__(self, start):
        self.current = start

    def set(self, moment):
        self.current = moment

    def __call__(self):
        return self.current


@pytest.fixture
def manual_clock(monkeypatch):
    source = ManualClock(BEFORE_MIDNIGHT)
    monkeypatch.setattr(clock, "now", source)
    return source


def day_ends(account):
    db.session.expire_all()
    return dict(db.session.execute(sa.select(DailyBalance.day, DailyBalance.closing)
                                   .where(DailyBalance.account_id == account.id)).all())


def wait_until_blocked_on_a_lock(finished, timeout=120):
    """Wait until another session of this database waits for a lock (the posting, for the test's row lock)."""
    deadline = time.monotonic() + timeout
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(query).scalar()
            conn.rollback()  # PostgreSQL keeps one snapshot of pg_stat_activity per transaction
            if waiting:
                return
            if finished():
                raise AssertionError(f"the posting ended without waiting for the lock: {finished()}")
            time.sleep(0.01)
    raise AssertionError("the posting never waited for the lock")


def in_thread(app, work):
    """Start work() in a thread with its own app context and session; return a function that joins it."""
    outcome = {}

    def run():
        with app.app_context():
            try:
                work()
                db.session.commit()
                outcome["result"] = "ok"
            except ledger.LedgerError as exc:
                db.session.rollback()
                outcome["result"] = exc.code
            except Exception as exc:  # noqa: BLE001 - reported to the test below
                outcome["result"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()

    def join():
        thread.join(timeout=120)
        assert not thread.is_alive()
        return outcome["result"]
    join.finished = lambda: outcome.get("result")
    return join


@pytest.mark.postgres_only
def test_a_withdrawal_waiting_across_midnight_is_checked_and_booked_on_the_new_day(pg_app, manual_clock):
    account = make_account(opened_on=DAY - dt.timedelta(days=5))  # 0.00 at the end of every day so far
    account_id = account.id

    lock_accounts([account_id])  # this test's session holds the row lock, as a posting in flight would
    finish = in_thread(pg_app, lambda: ledger.withdraw(db.session.get(Account, account_id), 100_00, actor=SYSTEM))
    wait_until_blocked_on_a_lock(finish.finished)

    manual_clock.set(AFTER_MIDNIGHT)  # midnight passes while the withdrawal waits
    ledger.deposit(db.session.get(Account, account_id), 100_00, actor=SYSTEM, description="Salary")
    db.session.commit()  # the deposit, dated the new day, commits and releases the lock

    # The one serial order that accepts the withdrawal: after the deposit, on the new day.
    assert finish() == "ok"
    assert refresh(account).balance == 0
    assert day_ends(account) == {DAY + dt.timedelta(days=1): 0}
    withdrawal = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "withdrawal"))
    assert withdrawal.value_date == DAY + dt.timedelta(days=1)
    assert ledger.balance_at(refresh(account), DAY) == 0
    report = run_checks()
    assert report.ok, [str(finding) for finding in report.findings]


@pytest.mark.postgres_only
def test_a_withdrawal_waiting_across_midnight_cannot_spend_the_new_days_money_on_the_old_day(pg_app, manual_clock):
    account = make_account(opened_on=DAY - dt.timedelta(days=5))
    account_id = account.id

    lock_accounts([account_id])
    finish = in_thread(pg_app, lambda: ledger.withdraw(db.session.get(Account, account_id), 100_00, actor=SYSTEM,
                                                        value_date=DAY))
    wait_until_blocked_on_a_lock(finish.finished)

    manual_clock.set(AFTER_MIDNIGHT)
    ledger.deposit(db.session.get(Account, account_id), 100_00, actor=SYSTEM, description="Salary")
    db.session.commit()

    # Dated the old day, it would take the old day below zero: every serial order refuses it.
    assert finish() == "insufficient_funds"
    assert refresh(account).balance == 100_00
    assert day_ends(account) == {DAY + dt.timedelta(days=1): 100_00}
    assert run_checks().ok


def test_a_clock_behind_the_ledger_books_on_the_latest_date_already_posted(app, manual_clock):
    """Another server's clock ahead by a moment, or this one stepped back: the locked rows decide."""
    manual_clock.set(AFTER_MIDNIGHT)
    account = make_account(opened_on=DAY - dt.timedelta(days=5))
    ledger.deposit(account, 100_00, actor=SYSTEM, description="Salary")  # dated 2 March
    db.session.commit()

    manual_clock.set(BEFORE_MIDNIGHT)  # this clock still says 1 March
    ledger.withdraw(refresh(account), 100_00, actor=SYSTEM)
    db.session.commit()

    assert refresh(account).balance == 0
    assert day_ends(account) == {DAY + dt.timedelta(days=1): 0}
    manual_clock.set(AFTER_MIDNIGHT)
    report = run_checks()
    assert report.ok, [str(finding) for finding in report.findings]


def test_a_clock_behind_the_ledger_still_refuses_the_old_day_going_below_zero(app, manual_clock):
    manual_clock.set(AFTER_MIDNIGHT)
    account = make_account(opened_on=DAY - dt.timedelta(days=5))
    ledger.deposit(account, 100_00, actor=SYSTEM)
    db.session.commit()

    manual_clock.set(BEFORE_MIDNIGHT)
    with pytest.raises(ledger.InsufficientFunds):
        ledger.withdraw(refresh(account), 100_00, actor=SYSTEM, value_date=DAY)
    db.session.rollback()
    assert refresh(account).balance == 100_00
    assert day_ends(account) == {DAY + dt.timedelta(days=1): 100_00}
