"""Audit rows keep the client's X-Request-ID beside the server's own request id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows keep what they have in request_id (the client's id when it sent a sane one, else the
    # server's): which it was was not recorded, so it cannot be split now.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('client_request_id')
