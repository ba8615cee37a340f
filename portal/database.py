"""Engine set-up that depends on the backend, and the end of each request's session."""
import logging
import select

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
    """The engine options for `config`: on PostgreSQL, every session gets the configured statement timeout, and
    the pool's pre-ping (a `SELECT 1` round trip per checkout) gives way to the socket check of
    `configure_engine`, which finds the same dead connections without asking the server."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return options
    options["pool_pre_ping"] = False
    timeout = int(config.get("DATABASE_STATEMENT_TIMEOUT_MS") or 0)
    if timeout > 0:
        connect_args = dict(options.get("connect_args") or {})
        connect_args["options"] = f"{connect_args.get('options', '')} -c statement_timeout={timeout}".strip()
        options["connect_args"] = connect_args
    return options


def lost(dbapi_connection):
    """Whether an idle PostgreSQL connection is known to be dead, without a round trip.

    An idle connection has read everything the server sent up to its last ReadyForQuery, so its socket has
    nothing to read. When the server ends the session (a restart, a failover, pg_terminate_backend) it sends
    a FATAL error and closes the socket, which makes it readable at once: that is the check, a poll that does
    not wait. (A server that vanishes without closing the socket is not seen here, nor by a pre-ping short of
    its timeout: that request answers a clean 503 and the pool replaces the connection.)
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def without_statement_timeout():
    """Lift the statement timeout for the rest of the current transaction (long-running commands)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL statement_timeout = 0"))


def configure_engine(engine):
    """Give the engine what its backend needs: on PostgreSQL, dead pooled connections replaced before use; on
    SQLite, enforced foreign keys and a write lock taken up front."""
    if engine.dialect.name == "postgresql":
        _replace_lost_connections(engine)
    elif engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _replace_lost_connections(engine):
    @sa.event.listens_for(engine, "checkout")
    def _refuse_lost(dbapi_connection, _record, _proxy):
        # Raising DisconnectionError makes the pool discard the connection and check out a fresh one (it tries
        # three times), so the request never sees the dead one.
        if lost(dbapi_connection):
            raise sa.exc.DisconnectionError("the server closed the connection")


def _configure_sqlite(engine):
    """pysqlite normally opens a transaction lazily and only locks the database at the first write, so two
    postings could both read a balance before either writes. BEGIN IMMEDIATE takes the write lock at the start
    of every transaction instead, which makes SQLite's concurrent writers queue (busy_timeout) rather than race.
    """
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
