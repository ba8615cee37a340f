"""accounts.last_value_date: the latest value date posted to a customer account, read under its row lock.

A posting decides "today" from the clock and from this column of the rows it locked, so a posting that waited
for its lock across midnight is checked and booked on a date consistent with what those rows already hold.
Filled from the day-end rows (one per account and value date with postings).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_value_date', sa.Date(), nullable=True))
    op.execute(
        "UPDATE accounts SET last_value_date = "
        "(SELECT max(day) FROM daily_balances WHERE daily_balances.account_id = accounts.id) "
        "WHERE kind = 'customer'"
    )


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('last_value_date')
