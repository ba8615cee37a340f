"""`flask ledger check` finds what was broken behind the app's back with raw SQL."""
import uuid

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.ledger.system import SystemCode
from tests.factories import SYSTEM, days_ago, make_account


def behind_the_apps_back(*statements):
    """Run raw SQL with the append-only and balance triggers out of the way (CHECK constraints still hold)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:  # each SQLite test has its own copy of the database, so dropping its triggers harms no other test
        for table in ("audit_events", "transactions", "entries"):
            for operation in ("update", "delete"):
                db.session.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_{operation}"))
    for statement, params in statements:
        db.session.execute(sa.text(statement), params)
    db.session.commit()


def raw(value):
    """A UUID as the backend stores it (SQLite: 32 hex characters)."""
    return value.hex if db.engine.dialect.name == "sqlite" else value


@pytest.fixture
def books(app):
    """A small, clean ledger: two customers' accounts with a deposit, a transfer and a reversed withdrawal."""
    first = make_account(days_old=10, balance=100_00)
    second = make_account(days_old=10, balance=20_00)
    ledger.transfer(first, second, 30_00, actor=SYSTEM, value_date=days_ago(5))
    withdrawal = ledger.withdraw(second, 5_00, actor=SYSTEM, value_date=days_ago(3))
    reversal = ledger.reverse(withdrawal, actor=SYSTEM, reason="test")
    usd = make_account(currency="USD", balance=10_00)
    db.session.commit()
    settlement = ledger.system_account(SystemCode.SETTLEMENT, "EUR")
    return {"first": first, "second": second, "withdrawal": withdrawal, "reversal": reversal, "usd": usd,
            "settlement": settlement}


def check(runner):
    result = runner.invoke(args=["ledger", "check"])
    return result.exit_code, result.output


def test_clean_ledger_passes(books, runner):
    code, output = check(runner)
    assert code == 0 and "OK" in output


def corrupt_stored_balance(b):
    return [("UPDATE accounts SET balance = balance + 1 WHERE id = :a", {"a": raw(b["first"].id)})]


def corrupt_day_end(b):
    return [("UPDATE daily_balances SET closing = closing + 7 WHERE account_id = :a AND day = :d",
             {"a": raw(b["first"].id), "d": days_ago(5)})]


def orphan_day_end(b):
    return [("INSERT INTO daily_balances (account_id, day, closing) VALUES (:a, :d, 70000)",
             {"a": raw(b["first"].id), "d": days_ago(4)})]


def unbalanced_entry(b):
    return [("UPDATE entries SET amount = amount - 1 WHERE account_id = :s AND transaction_id = :t",
             {"s": raw(b["settlement"].id), "t": raw(b["withdrawal"].id)})]


def empty_transaction(b):
    return [("INSERT INTO transactions (id, kind, value_date, booked_at, description) "
             "VALUES (:t, 'deposit', :d, CURRENT_TIMESTAMP, 'nothing')", {"t": raw(uuid.uuid4()), "d": days_ago(1)})]


def negative_history(b):
    # Take 500.00 out on day -9 and put it back on day -1: today's balance and every stored row stay the same,
    # but the entries say the account was deep in the red for eight days.
    txid_out, txid_back = uuid.uuid4(), uuid.uuid4()
    statements = []
    for txid, day, amount in ((txid_out, days_ago(9), -500_00), (txid_back, days_ago(1), 500_00)):
        statements += [
            ("INSERT INTO transactions (id, kind, value_date, booked_at, description) "
             "VALUES (:t, 'withdrawal', :d, CURRENT_TIMESTAMP, 'hidden')", {"t": raw(txid), "d": day}),
            ("INSERT INTO entries (transaction_id, account_id, amount, value_date) VALUES (:t, :a, :m, :d)",
             {"t": raw(txid), "a": raw(b["second"].id), "m": amount, "d": day}),
            ("INSERT INTO entries (transaction_id, account_id, amount, value_date) VALUES (:t, :a, :m, :d)",
             {"t": raw(txid), "a": raw(b["settlement"].id), "m": -amount, "d": day}),
        ]
    return statements


def entry_date_drift(b):
    return [("UPDATE entries SET value_date = :d WHERE transaction_id = :t",
             {"d": days_ago(2), "t": raw(b["withdrawal"].id)})]


def reversal_not_mirrored(b):
    return [("UPDATE entries SET amount = amount * 2 WHERE transaction_id = :t",
             {"t": raw(b["reversal"].id)})]


def mixed_currency(b):
    return [("UPDATE entries SET account_id = :usd WHERE transaction_id = :t AND account_id = :s",
             {"usd": raw(b["usd"].id), "t": raw(b["withdrawal"].id), "s": raw(b["second"].id)})]


def bad_account_number(b):
    number = b["first"].number
    broken = number[:2] + ("00" if number[2:4] != "00" else "01") + number[4:]
    return [("UPDATE accounts SET number = :n WHERE id = :a", {"n": broken, "a": raw(b["first"].id)})]


def stale_last_value_date(b):
    # Behind its day-ends, it would let a posting take today's fast path on a date that is not the latest.
    return [("UPDATE accounts SET last_value_date = :d WHERE id = :a", {"d": days_ago(20), "a": raw(b["first"].id)})]


@pytest.mark.parametrize(("corruption", "expected"), [
    (corrupt_stored_balance, {"stored_balance"}),
    (corrupt_day_end, {"day_end_mismatch"}),
    (orphan_day_end, {"day_end_orphan"}),
    (unbalanced_entry, {"unbalanced_transaction"}),
    (empty_transaction, {"unbalanced_transaction"}),
    (negative_history, {"negative_day_end", "day_end_mismatch"}),
    (entry_date_drift, {"entry_value_date", "day_end_mismatch"}),
    (reversal_not_mirrored, {"reversal_mirror", "stored_balance"}),
    (mixed_currency, {"mixed_currency"}),
    (bad_account_number, {"account_number"}),
    (stale_last_value_date, {"last_value_date"}),
], ids=lambda value: getattr(value, "__name__", None))
def test_ledger_check_names_each_broken_invariant(books, runner, corruption, expected):
    behind_the_apps_back(*corruption(books))
    code, output = check(runner)
    assert code == 1
    named = {line.split()[1].rstrip(":") for line in output.splitlines() if line.startswith("FAIL ")}
    assert expected <= named, output
