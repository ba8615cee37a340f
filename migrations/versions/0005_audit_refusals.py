"""A refusal is recorded as data of its own: a stable code and a message, apart from a staff member's reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Events recorded before this revision keep their refusal text in `reason`, as written then: the log is
    # append-only, and rewriting it to move the text would be the kind of edit it exists to prevent.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refusal_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('refusal_message', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('refusal_message')
        batch_op.drop_column('refusal_code')
