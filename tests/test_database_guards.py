"""The database's own guards, reached with raw SQL behind the domain layer's back."""
import uuid

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.models import AuditEvent
from tests.factories import SYSTEM, make_account

REFUSED = (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.InternalError, sa.exc.OperationalError)


def refused_sql(*statements):
    """Run the statements in one transaction and expect the database to refuse it, at the latest on commit."""
    with pytest.raises(REFUSED):
        for statement, params in statements:
            db.session.execute(sa.text(statement), params)
        db.session.commit()
    db.session.rollback()


def insert_transaction(txid, day):
    return ("INSERT INTO transactions (id, kind, value_date, booked_at, description) "
            "VALUES (:id, 'deposit', :day, CURRENT_TIMESTAMP, 'raw')", {"id": txid, "day": day})


def insert_entry(txid, account_id, amount, day):
    return ("INSERT INTO entries (transaction_id, account_id, amount, value_date) VALUES (:t, :a, :m, :d)",
            {"t": txid, "a": account_id, "m": amount, "d": day})


def ids(app, *values):
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL natively.
    return [v.hex if db.engine.dialect.name == "sqlite" else v for v in values]


class TestPostgresOnly:
    def test_unbalanced_transaction_is_rejected_at_commit(self, pg_app):
        account = make_account(balance=10_00)
        settlement = ledger.system_account(ledger.system.SystemCode.SETTLEMENT, "EUR")
        day = ledger.today()
        txid = uuid.uuid4()
        refused_sql(insert_transaction(txid, day), insert_entry(txid, account.id, 5_00, day),
                    insert_entry(txid, settlement.id, -4_00, day))
        assert db.session.scalar(sa.text("SELECT count(*) FROM transactions WHERE id = :id"), {"id": txid}) == 0

    def test_transaction_without_entries_is_rejected(self, pg_app):
        refused_sql(insert_transaction(uuid.uuid4(), ledger.today()))

    def test_single_leg_transaction_is_rejected(self, pg_app):
        account = make_account()
        txid = uuid.uuid4()
        refused_sql(insert_transaction(txid, ledger.today()), insert_entry(txid, account.id, 0, ledger.today()))
        refused_sql(insert_transaction(txid, ledger.today()), insert_entry(txid, account.id, 1, ledger.today()))

    def test_balanced_raw_transaction_is_accepted(self, pg_app):
        account = make_account()
        settlement = ledger.system_account(ledger.system.SystemCode.SETTLEMENT, "EUR")
        txid, day = uuid.uuid4(), ledger.today()
        for statement, params in (insert_transaction(txid, day), insert_entry(txid, account.id, 5_00, day),
                                  insert_entry(txid, settlement.id, -5_00, day)):
            db.session.execute(sa.text(statement), params)
        db.session.commit()  # the trigger is not simply refusing everything


@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_events",
    "TRUNCATE transactions CASCADE",
    "TRUNCATE entries",
    "TRUNCATE accounts CASCADE",  # reaches entries through the cascade
])
def test_truncate_of_the_journal_or_audit_log_is_refused(pg_app, statement):
    make_account(balance=10_00)
    db.session.commit()
    counts = "SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM transactions), " \
             "(SELECT count(*) FROM entries), (SELECT count(*) FROM accounts)"
    before = db.session.execute(sa.text(counts)).one()
    assert min(before) > 0
    with pytest.raises(sa.exc.ProgrammingError, match="is append-only: TRUNCATE refused"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert db.session.execute(sa.text(counts)).one() == before


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'rewritten'",
    "DELETE FROM audit_events",
    "UPDATE entries SET amount = amount * 2",
    "DELETE FROM entries",
    "UPDATE transactions SET description = 'rewritten'",
])
def test_journal_and_audit_log_are_append_only(app, statement):
    make_account(balance=10_00)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    refused_sql((statement, {}))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before
    assert db.session.scalar(sa.select(AuditEvent.reason).where(AuditEvent.reason == "rewritten")) is None


@pytest.mark.parametrize("statement", [
    "UPDATE accounts SET balance = -1 WHERE kind = 'customer'",
    "UPDATE daily_balances SET closing = -1",
    "UPDATE accounts SET balance = 5 WHERE kind = 'system'",
])
def test_check_constraints_refuse_negative_customer_balances(app, statement):
    make_account(balance=10_00)
    refused_sql((statement, {}))


def test_zero_entry_amount_is_refused(app):
    account = make_account(balance=10_00)
    txid = ledger.withdraw(account, 1_00, actor=SYSTEM).id
    db.session.commit()
    (raw_id,) = ids(app, txid)
    refused_sql(("INSERT INTO entries (transaction_id, account_id, amount, value_date) "
                 "SELECT transaction_id, :other, 0, value_date FROM entries WHERE transaction_id = :t LIMIT 1",
                 {"t": raw_id, "other": ids(app, make_account().id)[0]}))
