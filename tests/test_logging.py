"""The log line every request writes: JSON for a log stack, one short line for a person at `make run`."""
import io
import json
import logging
import re
import threading
import urllib.request
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.config import ConfigError
from portal.observability import configure_logging

# Werkzeug's development server may leave a socket to the garbage collector; that is the server's business.
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TESTING = SimpleNamespace(config={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"})
CONSOLE_LINE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2} GET /healthz 200 [0-9]+ ms req=[0-9a-f]{8}")


@pytest.fixture
def stderr(monkeypatch):
    """What the app's own log handler writes (it holds the stderr of the process that first configured it)."""
    out = io.StringIO()
    configure_logging(TESTING)  # adds the handler, if no app in this process has yet
    handler = next(h for h in logging.getLogger("portal").handlers if h.get_name() == "portal")
    monkeypatch.setattr(handler, "stream", out)
    yield out
    # Loggers outlive apps: leave them as the test suite's own apps configure them.
    configure_logging(TESTING)


def app_in(monkeypatch, env):
    monkeypatch.setenv("PORTAL_ENV", env)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "k" * 40)
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def serve_one_request(app, path="/healthz"):
    """Serve `app` with Werkzeug's development server (what `make run` uses) and GET `path` once."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_development_logs_one_line_a_person_reads_per_request(monkeypatch, stderr, caplog):
    app = app_in(monkeypatch, "development")
    assert app.config["LOG_FORMAT"] == "console"
    with caplog.at_level(logging.INFO):
        serve_one_request(app)
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1 and CONSOLE_LINE.fullmatch(lines[0]), lines
    # The development server's own line for the same request is dropped ("GET /healthz HTTP/1.1" 200 -) ...
    served = [r for r in caplog.records if r.name == "werkzeug"]
    assert [r for r in served if "/healthz" in r.getMessage()] == []
    # ... and only that: its banner and its errors still reach the console.
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info(" * Running on %s", "http://127.0.0.1:5000")
        logging.getLogger("werkzeug").error('127.0.0.1 - - [date] code %s, message %s', 400, "Bad request syntax")
    assert [r.getMessage() for r in caplog.records if r.name == "werkzeug"][-2:] == [
        " * Running on http://127.0.0.1:5000", "127.0.0.1 - - [date] code 400, message Bad request syntax"]


def test_development_console_lines_name_the_credential_and_keep_tracebacks(monkeypatch, stderr):
    app_in(monkeypatch, "development")
    log = logging.getLogger("portal.request")
    log.info("request", extra={"fields": {"request_id": "0123456789abcdef", "method": "POST", "path": "/api/v1/x",
                                          "status": 201, "duration_ms": 12.4, "token_id": 3, "user_id": 1}})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("portal.api").exception("unhandled error", extra={"fields": {"request_id": "feedbeef99"}})
    lines = stderr.getvalue().splitlines()
    assert re.fullmatch(r"[0-9:]{8} POST /api/v1/x 201 12 ms req=01234567 token=3", lines[0])
    assert re.fullmatch(r"[0-9:]{8} ERROR portal.api: unhandled error req=feedbeef", lines[1])
    assert "Traceback" in lines[2] and lines[-1] == "RuntimeError: boom"


@pytest.mark.parametrize("env", ["production", "testing"])
def test_outside_development_each_request_is_one_json_line(monkeypatch, stderr, env):
    app = app_in(monkeypatch, env)
    serve_one_request(app)
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["logger"], line["method"], line["path"], line["status"]) == ("portal.request", "GET", "/healthz", 200)
    assert not any(isinstance(f, logging.Filter) and type(f).__name__ == "DevServerRequestLine"
                   for f in logging.getLogger("werkzeug").filters)


def test_log_format_can_be_chosen_and_is_checked(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("PORTAL_ENV", "development")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["LOG_FORMAT"] == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
