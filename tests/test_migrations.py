"""The migrations build exactly the schema the models describe, on every backend."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from tests.conftest import MIGRATIONS


def schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    assert schema_differences() == []


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    downgrade(directory=MIGRATIONS, revision="base")
    with db.engine.connect() as connection:
        remaining = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    upgrade(directory=MIGRATIONS)
    assert schema_differences() == []


def truncate_guards():
    return set(db.session.scalars(sa.text(
        "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%\\_no\\_truncate'")))


def test_the_truncate_guards_come_and_go_with_their_migration(pg_app):
    assert truncate_guards() == {"audit_events", "transactions", "entries"}
    db.session.rollback()
    downgrade(directory=MIGRATIONS, revision="0010")
    assert truncate_guards() == set()
    db.session.rollback()
    upgrade(directory=MIGRATIONS)
    assert truncate_guards() == {"audit_events", "transactions", "entries"}
