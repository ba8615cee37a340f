"""Fixtures: app -> db -> client, on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.

The schema comes from the migrations (not create_all), so the tests run against the same CHECK constraints and
triggers a deployed database has. SQLite tests get a copy of a migrated template file each; PostgreSQL tests
share one migrated database, emptied with TRUNCATE before each test.
"""
import contextvars
import os
import shutil

import pytest
import sqlalchemy as sa

os.environ["PORTAL_ENV"] = "testing"

from flask import has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402

pytest_plugins = ["tests.browser_support"]  # the `browser` and `page` fixtures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "migrations")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def _postgres_url():
    if not TEST_DATABASE_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def _migrate(url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database():
    url = _postgres_url()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    finally:
        engine.dispose()
    _migrate(url)
    return url


def _truncate_all(url):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        # The journal and audit log refuse TRUNCATE (migration 0011); the test role is a superuser, which may
        # turn the triggers off for this one transaction.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _database_url(backend, request, tmp_path):
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _truncate_all(url)
        return url
    path = tmp_path / "test.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


class IsolatedClient(FlaskClient):
    """A test client whose requests run as they do in production: each in its own app context and session.

    The test keeps its app context (for setting up data and asserting on it); each request runs in a fresh
    contextvars context, so it sees none of the test's `g` or session, only what the test committed. The
    test's own transaction is ended first, as another process's would be (SQLite would otherwise make the
    request wait for the test's write lock).
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.rollback()
        kwargs.setdefault("buffered", True)  # streamed bodies (CSV export) are read inside the request's context
        return contextvars.Context().run(super().open, *args, **kwargs)


def _make_app(url):
    overrides = {"SQLALCHEMY_DATABASE_URI": url}
    if url.startswith("postgresql"):
        # Room for the concurrency tests' threads to each hold a connection at once.
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "pool_size": 30}
    app = create_app(overrides)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """The database backend under test; every test using `app` runs on both."""
    return request.param


@pytest.fixture
def app(backend, request, tmp_path):
    """An app on a freshly migrated, empty database, with an app context pushed for the test."""
    app = _make_app(_database_url(backend, request, tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def pg_app(request, tmp_path):
    """Like `app`, on PostgreSQL only: for real row locks, triggers and concurrent threads."""
    app = _make_app(_database_url("postgresql", request, tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_collection_modifyitems(config, items):
    """Run tests marked postgres_only on the PostgreSQL backend alone (deselected, not skipped, on SQLite)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("backend") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def live(request, tmp_path):
    """The app served on 127.0.0.1 (a fresh migrated SQLite file), for the browser tests."""
    from tests.browser_support import LiveServer, require_chromium

    require_chromium()
    with LiveServer(_database_url("sqlite", request, tmp_path)) as server:
        yield server
