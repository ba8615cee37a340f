"""The sealed hash chain over the audit log: each event's canonical bytes, its position and link, the sealer's
head row, and an append-only trigger that lets the sealer set position and link once and refuses all else.

Events already in the log get their canonical bytes here (format 1, portal/audit/canonical.py), computed from
their columns with the trigger out of the way; the sealer then chains them like any other waiting event.

On SQLite the columns are added in place (a table copy would lose the append-only triggers). Its UPDATE guard
names the columns it refuses: a later migration adding a column to audit_events must add it to that list
(tests/test_audit_chain.py tries an UPDATE of every column).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Every column of audit_events as of this revision but position and link.
GUARDED = ("id", "occurred_at", "actor_type", "actor_user_id", "actor_token_id", "actor_app_id", "actor_consent_id",
           "maker_user_id", "correction_request_id", "ip", "user_agent", "request_id", "client_request_id", "action",
           "object_type", "object_id", "subject_user_id", "changes", "reason", "outcome", "refusal_code",
           "refusal_message", "canonical")

PG_SEAL_ONLY = """
CREATE FUNCTION audit_events_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unsealed audit_events;
BEGIN
    -- The sealer's UPDATE: position and link set once, on a row that has neither, and nothing else changed
    -- (every column compared, whatever columns the table has: the row with position and link taken out).
    IF TG_OP = 'UPDATE' AND OLD.position IS NULL AND OLD.link IS NULL
            AND NEW.position IS NOT NULL AND NEW.link IS NOT NULL THEN
        unsealed := NEW;
        unsealed.position := NULL;
        unsealed.link := NULL;
        IF unsealed IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
"""

_SQLITE_REFUSE = "SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused')"


def _backfill(bind):
    """Give every event already written its canonical bytes (the trigger must be out of the way)."""
    from portal.audit.canonical import canonical_bytes  # format 1 is fixed: a change would be a new format

    events = sa.Table("audit_events", sa.MetaData(), autoload_with=bind)
    last = 0
    while True:
        rows = bind.execute(sa.select(events).where(events.c.id > last, events.c.canonical.is_(None))
                            .order_by(events.c.id).limit(5000)).all()
        if not rows:
            return
        bind.execute(events.update().where(events.c.id == sa.bindparam("event_id"))
                     .values(canonical=sa.bindparam("bytes")),
                     [{"event_id": row.id, "bytes": canonical_bytes(row._mapping)} for row in rows])
        last = rows[-1].id


def upgrade():
    bind = op.get_bind()
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link', sa.LargeBinary(), nullable=False),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    if bind.dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
        op.execute('ALTER TABLE audit_events ADD COLUMN canonical BLOB')
        op.execute('ALTER TABLE audit_events ADD COLUMN position INTEGER')
        op.execute('ALTER TABLE audit_events ADD COLUMN link BLOB')
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
        op.add_column('audit_events', sa.Column('canonical', sa.LargeBinary(), nullable=True))
        op.add_column('audit_events', sa.Column('position', sa.BigInteger(), nullable=True))
        op.add_column('audit_events', sa.Column('link', sa.LargeBinary(), nullable=True))
    op.create_index('ix_audit_events_position', 'audit_events', ['position'], unique=True)
    op.create_index('ix_audit_events_unsealed', 'audit_events', ['id'], unique=False,
                    postgresql_where=sa.text('position IS NULL'), sqlite_where=sa.text('position IS NULL'))
    _backfill(bind)

    if bind.dialect.name == 'sqlite':
        op.execute(f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE OF {', '.join(GUARDED)} ON audit_events "
                   f"BEGIN {_SQLITE_REFUSE.format(operation='UPDATE')}; END")
        op.execute("CREATE TRIGGER audit_events_seal_once BEFORE UPDATE OF position, link ON audit_events "
                   "WHEN OLD.position IS NOT NULL OR OLD.link IS NOT NULL OR NEW.position IS NULL OR NEW.link IS NULL "
                   f"BEGIN {_SQLITE_REFUSE.format(operation='UPDATE')}; END")
    else:
        op.execute(PG_SEAL_ONLY)
        op.execute('CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events '
                   'FOR EACH ROW EXECUTE FUNCTION audit_events_seal_only()')


def downgrade():
    bind = op.get_bind()
    op.drop_index('ix_audit_events_unsealed', table_name='audit_events')
    op.drop_index('ix_audit_events_position', table_name='audit_events')
    if bind.dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS audit_events_seal_once')
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_update')
        for column in ('link', 'position', 'canonical'):
            op.execute(f'ALTER TABLE audit_events DROP COLUMN {column}')
        op.execute('CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events '
                   f"BEGIN {_SQLITE_REFUSE.format(operation='UPDATE')}; END")
    else:
        op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION IF EXISTS audit_events_seal_only()')
        for column in ('link', 'position', 'canonical'):
            op.drop_column('audit_events', column)
        op.execute('CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events '
                   'FOR EACH ROW EXECUTE FUNCTION refuse_change()')
    op.drop_table('audit_chain_head')
