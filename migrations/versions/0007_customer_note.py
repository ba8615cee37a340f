"""transactions.customer_note: what the customer is told of a correction, apart from the staff's reason.

A reversal or an adjustment keeps its internal `reason` (staff and auditors only) and may carry a note written
for the customer; without one the customer reads a neutral "Correction by the bank". Existing rows get none:
their reasons were written for staff, so they are not copied over.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('customer_note')
