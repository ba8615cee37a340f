"""Concurrency on PostgreSQL with real threads, each with its own connection and session.

Every scenario releases its threads together through a barrier, so the postings really do overlap.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.ledger.check import run_checks
from portal.models import Account, DailyBalance, Transaction
from tests.factories import SYSTEM, make_account, refresh

THREADS = 16


def run_together(app, count, work):
    """Run work(i) in `count` threads with their own app context and session; return the results in order."""
    barrier = threading.Barrier(count)

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                return work(i)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def attempt(operation):
    """Commit `operation`; on a ledger refusal roll back and return its code. Any other error fails the test."""
    try:
        operation()
        db.session.commit()
        return "ok"
    except ledger.LedgerError as exc:
        db.session.rollback()
        return exc.code


def test_simultaneous_withdrawals_never_overdraw(pg_app):
    account = make_account(balance=100_00)
    account_id = account.id

    def withdraw(_):
        return attempt(lambda: ledger.withdraw(db.session.get(Account, account_id), 15_00, actor=SYSTEM))

    results = run_together(pg_app, THREADS, withdraw)
    assert results.count("ok") == 6  # 6 x 15.00 = 90.00; a seventh would need 105.00
    assert results.count("insufficient_funds") == THREADS - 6
    assert refresh(account).balance == 10_00
    withdrawals = db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)
                                    .where(Transaction.kind == "withdrawal"))
    assert withdrawals == 6
    assert db.session.scalar(sa.select(sa.func.min(DailyBalance.closing))
                             .where(DailyBalance.account_id == account_id)) == 10_00
    assert run_checks().ok


def test_opposite_transfers_finish_without_deadlock_and_with_the_right_totals(pg_app):
    first, second = make_account(balance=50_00), make_account(balance=50_00)
    ids = (first.id, second.id)

    def transfer(i):
        source, destination = (ids if i % 2 == 0 else ids[::-1])
        return attempt(lambda: ledger.transfer(db.session.get(Account, source), db.session.get(Account, destination),
                                               (i + 1) * 10, actor=SYSTEM))

    results = run_together(pg_app, THREADS, transfer)
    assert results == ["ok"] * THREADS  # a deadlock would surface here as an exception, not a code
    moved = sum((i + 1) * 10 * (1 if i % 2 == 0 else -1) for i in range(THREADS))
    assert (refresh(first).balance, refresh(second).balance) == (50_00 - moved, 50_00 + moved)
    assert run_checks().ok


def test_simultaneous_reversals_of_one_transaction_create_exactly_one(pg_app):
    account = make_account(balance=100_00)
    withdrawal_id = ledger.withdraw(account, 30_00, actor=SYSTEM).id
    db.session.commit()

    def reverse(_):
        return attempt(lambda: ledger.reverse(db.session.get(Transaction, withdrawal_id), actor=SYSTEM,
                                              reason="duplicate charge"))

    results = run_together(pg_app, 8, reverse)
    assert sorted(results) == ["already_reversed"] * 7 + ["ok"]
    assert refresh(account).balance == 100_00
    assert run_checks().ok


def test_first_accounts_in_a_new_currency_create_one_set_of_system_accounts(pg_app):
    from tests.factories import make_user

    owners = [make_user().id for _ in range(6)]

    def open_usd(i):
        from portal.models import User

        return attempt(lambda: ledger.open_account(db.session.get(User, owners[i]), "Dollars", currency="USD",
                                                   actor=SYSTEM))

    assert run_together(pg_app, 6, open_usd) == ["ok"] * 6
    system = db.session.scalars(sa.select(Account.system_code).where(Account.currency == "USD",
                                                                      Account.kind == "system")).all()
    assert sorted(system) == ["corrections", "settlement"]
