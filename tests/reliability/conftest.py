"""The app as production runs it: gunicorn with several worker processes, on PostgreSQL, called over HTTP.

`serve(**env)` starts one server on a free port of 127.0.0.1 against the test's PostgreSQL database (already
migrated and emptied by `pg_app`); every server is stopped when the test ends. `Http` is a small JSON client
that never raises on an HTTP status, so a test can count what the server answered.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from portal import identity
from portal.extensions import db
from tests.factories import SYSTEM, make_account, make_user

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = "reliability-tests-only-" + "k" * 32
APPLICATION_NAME = "portal-under-test"  # how the tests tell the server's sessions from their own
# Bounds on waiting, never on speed: a loaded CI machine is slow, and that is not what these tests are about.
START_SECONDS = 180
WORKER_TIMEOUT_SECONDS = 300  # gunicorn kills a worker silent this long; a starved one must not be killed
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    body: object
    headers: dict


class Http:
    """JSON over HTTP with urllib: one call, one answer, whatever its status."""

    def __init__(self, base_url, token=None):
        self.base_url, self.token = base_url, token

    def request(self, method, path, body=None, headers=None, timeout=120, raw=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (loopback)
                status, raw, got = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status, parsed, got)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)


class Server:
    """gunicorn with the production config (deploy/gunicorn.conf.py) serving wsgi:app in production mode; its
    log is kept for the failure message."""

    def __init__(self, database_url, log_path, workers=3, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environment = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": SECRET_KEY,
                       "AUDIT_CHECKPOINT_KEY": SECRET_KEY,
                       "DATABASE_URL": f"{database_url}{'&' if '?' in database_url else '?'}"
                                       f"application_name={APPLICATION_NAME}",
                       "API_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING",
                       **{key: str(value) for key, value in env.items()}}
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-w", str(workers),
             "-b", f"127.0.0.1:{self.port}", "--timeout", str(WORKER_TIMEOUT_SECONDS), "--graceful-timeout", "5",
             "wsgi:app"],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:  # pytest.fail too: a server that never became ready must not outlive the test
            self.stop()
            raise

    def _wait_ready(self):
        # A busy machine boots workers slowly: the socket listens before any worker has loaded the app, so a
        # probe may wait, time out or be reset. Each of those only means "not yet"; the bound is generous
        # because how fast a server starts is not what these tests are about.
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited: {self.logs()}")
            try:
                if self._listening() and Http(self.url).get("/readyz", timeout=5).status == 200:
                    return
            except OSError:  # timed out, refused or reset while the workers boot
                pass
            time.sleep(0.2)
        pytest.fail(f"gunicorn did not become ready in {START_SECONDS} s: {self.logs()}")

    def _listening(self):
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def logs(self, tail=5000):
        """The server's output so far (its last `tail` characters; all of it with tail=None)."""
        if not self.log.closed:
            self.log.flush()
        text = Path(self.log_path).read_text()
        return text[-tail:] if tail else text

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture
def serve(pg_app, tmp_path):
    """serve(workers=3, **env) -> a running Server on the test's database; stopped after the test.

    Rate limits count in Redis (TEST_REDIS_URL), under a key prefix of the test's own, as production's must:
    deploy/gunicorn.conf.py refuses several workers counting alone with memory://. RATELIMIT_STORAGE_URI in
    `env` chooses otherwise.
    """
    servers = []
    prefix = f"portal-test-{uuid.uuid4().hex}"

    def start(workers=3, **env):
        env = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix, **env}
        server = Server(pg_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / f"gunicorn-{len(servers)}.log",
                        workers=workers, **env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    try:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
    except redis.RedisError:
        pass  # nothing was counted there, then


@dataclass
class Bank:
    """One customer with `accounts` funded accounts and a token with every scope on all of them."""

    owner: object
    account_ids: list
    opening: dict
    secret: str


@pytest.fixture
def small_bank(pg_app):
    def build(accounts=2, balance=100_00):
        owner = make_user(email="load@example.com")
        opened = [make_account(owner, days_old=10, balance=balance, name=f"Account {n}") for n in range(accounts)]
        # The load deposits as well as withdraws: a token the bank issues (deposits:write is never a customer's).
        _, secret = identity.issue_token(owner, name="Load", scopes=["accounts:read", "transactions:read",
                                                                     "transactions:write", "deposits:write"],
                                         accounts=opened, actor=SYSTEM, by_bank=True)
        ids = [str(account.id) for account in opened]
        db.session.commit()
        db.session.close()  # hold no connection while the test disturbs the database
        return Bank(owner, ids, dict.fromkeys(ids, balance), secret)
    return build


@pytest.fixture
def engine(pg_app):
    """An engine of the test's own, outside the server, to watch and disturb the server's sessions."""
    engine = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def balances(pg_app, account_ids):
    db.session.rollback()
    rows = db.session.execute(sa.text("SELECT id::text, balance FROM accounts WHERE id::text = ANY(:ids)"),
                              {"ids": list(account_ids)}).all()
    return dict(rows)


def counts(pg_app):
    db.session.rollback()
    return {table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)
            for table in ("transactions", "entries", "daily_balances", "idempotency_keys")}
