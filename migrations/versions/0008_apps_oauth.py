"""Registered third-party apps, customers' consents, OAuth 2.0 codes and tokens; tokens and audit events name
the app (and consent) a credential acts for.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:47:42.296981

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('third_party_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('homepage', sa.String(length=255), nullable=False),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('client_type', sa.String(length=16), nullable=False),
    sa.Column('client_secret_hash', sa.String(length=64), nullable=True),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('ip_allowlist', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(client_type = 'confidential') = (client_secret_hash IS NOT NULL)", name=op.f('ck_third_party_apps_secret_iff_confidential')),
    sa.CheckConstraint("client_type IN ('confidential', 'public')", name=op.f('ck_third_party_apps_client_type_known')),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_third_party_apps_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_third_party_apps')),
    sa.UniqueConstraint('client_id', name=op.f('uq_third_party_apps_client_id'))
    )
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_ip', sa.String(length=45), nullable=True),
    sa.CheckConstraint("status IN ('active', 'revoked', 'expired')", name=op.f('ck_consents_status_known')),
    sa.ForeignKeyConstraint(['app_id'], ['third_party_apps.id'], name=op.f('fk_consents_app_id_third_party_apps')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_app_id'), ['app_id'], unique=False)
        batch_op.create_index('ix_consents_user_app', ['user_id', 'app_id'], unique=False)

    op.create_table('consent_accounts',
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_consent_accounts_account_id_accounts')),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_consent_accounts_consent_id_consents')),
    sa.PrimaryKeyConstraint('consent_id', 'account_id', name=op.f('pk_consent_accounts'))
    )
    with op.batch_alter_table('consent_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_accounts_account_id'), ['account_id'], unique=False)

    op.create_table('oauth_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['third_party_apps.id'], name=op.f('fk_oauth_codes_app_id_third_party_apps')),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_oauth_codes_consent_id_consents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oauth_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_codes_code_hash'))
    )
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_codes_consent_id'), ['consent_id'], unique=False)

    op.create_table('oauth_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=True),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['third_party_apps.id'], name=op.f('fk_oauth_tokens_app_id_third_party_apps')),
    sa.ForeignKeyConstraint(['code_id'], ['oauth_codes.id'], name=op.f('fk_oauth_tokens_code_id_oauth_codes')),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_oauth_tokens_consent_id_consents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oauth_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_tokens')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_oauth_tokens_access_token_hash')),
    sa.UniqueConstraint('refresh_token_hash', name=op.f('uq_oauth_tokens_refresh_token_hash'))
    )
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_tokens_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_tokens_consent_id'), ['consent_id'], unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('app_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_app_id_third_party_apps'), 'third_party_apps', ['app_id'], ['id'])

    # On SQLite a new foreign key means copying the table, and the copy would lose the append-only triggers:
    # the columns are added in place there (SQLite accepts REFERENCES on ADD COLUMN), with named constraints
    # on PostgreSQL.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE audit_events ADD COLUMN actor_app_id INTEGER REFERENCES third_party_apps (id)')
        op.execute('ALTER TABLE audit_events ADD COLUMN actor_consent_id INTEGER REFERENCES consents (id)')
        op.create_index('ix_audit_events_actor_app_id', 'audit_events', ['actor_app_id'], unique=False)
    else:
        with op.batch_alter_table('audit_events', schema=None) as batch_op:
            batch_op.add_column(sa.Column('actor_app_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('actor_consent_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f('ix_audit_events_actor_app_id'), ['actor_app_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f('fk_audit_events_actor_consent_id_consents'), 'consents',
                                        ['actor_consent_id'], ['id'])
            batch_op.create_foreign_key(batch_op.f('fk_audit_events_actor_app_id_third_party_apps'),
                                        'third_party_apps', ['actor_app_id'], ['id'])



def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops a column with a REFERENCES clause only by copying the table: put the triggers back after.
        op.drop_index('ix_audit_events_actor_app_id', table_name='audit_events')
        with op.batch_alter_table('audit_events', schema=None, recreate='always') as batch_op:
            batch_op.drop_column('actor_consent_id')
            batch_op.drop_column('actor_app_id')
        for operation in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER IF NOT EXISTS audit_events_no_{operation.lower()} BEFORE {operation} "
                       f"ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {operation} "
                       "refused'); END")
    else:
        with op.batch_alter_table('audit_events', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_audit_events_actor_app_id_third_party_apps'), type_='foreignkey')
            batch_op.drop_constraint(batch_op.f('fk_audit_events_actor_consent_id_consents'), type_='foreignkey')
            batch_op.drop_index(batch_op.f('ix_audit_events_actor_app_id'))
            batch_op.drop_column('actor_consent_id')
            batch_op.drop_column('actor_app_id')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_app_id_third_party_apps'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_app_id'))
        batch_op.drop_column('app_id')

    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_consent_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_code_id'))

    op.drop_table('oauth_tokens')
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_codes_consent_id'))

    op.drop_table('oauth_codes')
    with op.batch_alter_table('consent_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_accounts_account_id'))

    op.drop_table('consent_accounts')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_user_app')
        batch_op.drop_index(batch_op.f('ix_consents_app_id'))

    op.drop_table('consents')
    op.drop_table('third_party_apps')
