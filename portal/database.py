"""Engine set-up that depends on the backend, and the end of each request's session."""
import logging

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db

log = logging.getLogger("portal.database")

# The largest value an INTEGER and a BIGINT column hold; a larger number compared with one is an error in
# PostgreSQL and an overflow in SQLite, so input is bounded by these before it reaches a query.
MAX_INTEGER = 2**31 - 1
MAX_BIGINT = 2**63 - 1


def largest_value(column):
    """The largest value an integer `column` holds (BIGINT or INTEGER)."""
    return MAX_BIGINT if isinstance(column.type, sa.BigInteger) else MAX_INTEGER


def is_unavailable(error):
    """Whether `error` means the database cannot be reached (lost, restarting, or the statement timed out)."""
    return (isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
            or isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)))


def upsert_insert(target):
    """An INSERT for `target` that knows ON CONFLICT, in the current session's dialect (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


def engine_options(config):
    """The engine options for `config`: on PostgreSQL, every session gets the configured statement timeout."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    timeout = int(config.get("DATABASE_STATEMENT_TIMEOUT_MS") or 0)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and timeout > 0:
        connect_args = dict(options.get("connect_args") or {})
        connect_args["options"] = f"{connect_args.get('options', '')} -c statement_timeout={timeout}".strip()
        options["connect_args"] = connect_args
    return options


def without_statement_timeout():
    """Lift the statement timeout for the rest of the current transaction (long-running commands)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL statement_timeout = 0"))


def configure_engine(engine):
    """Give SQLite the behaviour the ledger relies on: enforced foreign keys and a write lock taken up front.

    pysqlite normally opens a transaction lazily and only locks the database at the first write, so two
    postings could both read a balance before either writes. BEGIN IMMEDIATE takes the write lock at the start
    of every transaction instead, which makes SQLite's concurrent writers queue (busy_timeout) rather than race.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def release_session_at_teardown(app):
    """End each request's session without letting a lost connection turn a finished response into a 500.

    Flask-SQLAlchemy's own teardown rolls back the session's transaction; if the database went away after
    the response was made (a restart, a failover), that rollback raises and the WSGI server answers 500 in
    place of the response. This runs first (teardowns run in reverse order) and closes the session itself:
    the connection is invalidated, the pool replaces it, and the response stands. Whatever the request
    committed is committed; whatever it did not is rolled back by the server with the lost connection.
    """
    @app.teardown_appcontext
    def _release(_exc):
        try:
            db.session.close()
        except sa.exc.DBAPIError as error:
            log.warning("database connection lost while ending the session: %s", error.orig or error)
