"""Four eyes: stored correction requests waiting for a second member of staff; audit events name the maker and
the request of a correction applied on approval.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS audit_events_no_{lower} BEFORE {operation} ON audit_events BEGIN "
            "SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END")


def upgrade():
    op.create_table('correction_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('customer_note', sa.Text(), nullable=True),
    sa.Column('maker_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('checker_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('refusal_code', sa.String(length=64), nullable=True),
    sa.Column('refusal_message', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn', 'expired', 'failed')", name=op.f('ck_correction_requests_status_known')),
    sa.CheckConstraint('checker_id IS NULL OR checker_id <> maker_id', name=op.f('ck_correction_requests_maker_is_not_checker')),
    sa.ForeignKeyConstraint(['checker_id'], ['users.id'], name=op.f('fk_correction_requests_checker_id_users')),
    sa.ForeignKeyConstraint(['maker_id'], ['users.id'], name=op.f('fk_correction_requests_maker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_requests'))
    )
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_requests_maker_id'), ['maker_id'], unique=False)
        batch_op.create_index('ix_correction_requests_status', ['status', 'requested_at'], unique=False)
        batch_op.create_index('ix_correction_requests_target', ['target_type', 'target_id'], unique=False)

    # On SQLite a new foreign key means copying the table, and the copy would lose the append-only triggers:
    # the columns are added in place there (as 0008 does), with named constraints on PostgreSQL.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE audit_events ADD COLUMN maker_user_id INTEGER REFERENCES users (id)')
        op.execute('ALTER TABLE audit_events ADD COLUMN correction_request_id INTEGER '
                   'REFERENCES correction_requests (id)')
    else:
        with op.batch_alter_table('audit_events', schema=None) as batch_op:
            batch_op.add_column(sa.Column('maker_user_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('correction_request_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_audit_events_maker_user_id_users'), 'users',
                                        ['maker_user_id'], ['id'])
            batch_op.create_foreign_key(batch_op.f('fk_audit_events_correction_request_id_correction_requests'),
                                        'correction_requests', ['correction_request_id'], ['id'])
    op.create_index('ix_audit_events_correction_request_id', 'audit_events', ['correction_request_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_audit_events_correction_request_id', table_name='audit_events')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops a column with a REFERENCES clause only by copying the table: put the triggers back after.
        with op.batch_alter_table('audit_events', schema=None, recreate='always') as batch_op:
            batch_op.drop_column('correction_request_id')
            batch_op.drop_column('maker_user_id')
        for operation in ('UPDATE', 'DELETE'):
            op.execute(_TRIGGER.format(lower=operation.lower(), operation=operation))
    else:
        with op.batch_alter_table('audit_events', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_audit_events_correction_request_id_correction_requests'),
                                     type_='foreignkey')
            batch_op.drop_constraint(batch_op.f('fk_audit_events_maker_user_id_users'), type_='foreignkey')
            batch_op.drop_column('correction_request_id')
            batch_op.drop_column('maker_user_id')

    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_correction_requests_target')
        batch_op.drop_index('ix_correction_requests_status')
        batch_op.drop_index(batch_op.f('ix_correction_requests_maker_id'))

    op.drop_table('correction_requests')
