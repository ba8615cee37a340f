"""Refuse TRUNCATE of the journal and the audit log on PostgreSQL.

The append-only triggers (0001, 0010) are row-level: they fire on UPDATE and DELETE but not on TRUNCATE, which
removes every row without visiting one. A statement-level BEFORE TRUNCATE trigger on transactions, entries and
audit_events closes that door with the same refusal ("<table> is append-only: TRUNCATE refused"). It also fires
when another table's TRUNCATE ... CASCADE reaches these tables.

Like the other triggers, it stops the application's role, not a superuser: `SET LOCAL session_replication_role =
replica` (superuser only) turns it off for one transaction, as the test suite and bench/growth.py do to empty a
database.

SQLite has no TRUNCATE (its DELETE without WHERE already meets the append-only triggers): nothing to do there, and
these tables must never be batch-copied on SQLite (the copy would drop their triggers).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_events", "transactions", "entries")


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in APPEND_ONLY:  # refuse_change() (0001) raises "<table> is append-only: <TG_OP> refused"
        op.execute(f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
                   'FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in APPEND_ONLY:
        op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
