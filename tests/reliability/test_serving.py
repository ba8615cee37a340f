"""Production serving: gunicorn with deploy/gunicorn.conf.py writes JSON lines a log stack can ingest as they are."""
import json

import pytest

from tests.reliability.conftest import Http

pytestmark = pytest.mark.postgres_only


def test_every_log_line_is_json_and_the_access_line_carries_the_request_id(serve, small_bank):
    bank = small_bank(accounts=1)
    server = serve(workers=2, LOG_LEVEL="INFO")
    response = Http(server.url, bank.secret).get(f"/api/v1/accounts/{bank.account_ids[0]}/balance",
                                                 headers={"X-Request-ID": "trace-me-42"})
    assert response.status == 200 and response.headers["X-Request-ID"] == "trace-me-42"
    server.stop()
    lines = [json.loads(line) for line in server.logs(tail=None).splitlines() if line.strip()]  # each one parses
    about = [line for line in lines if line.get("request_id") == "trace-me-42"]
    by_logger = {line["logger"]: line for line in about}
    assert set(by_logger) == {"portal.request", "gunicorn.access"}
    assert by_logger["gunicorn.access"]["status"] == 200 and by_logger["gunicorn.access"]["method"] == "GET"
    assert by_logger["portal.request"]["token_id"] is not None and by_logger["portal.request"]["actor"] == "token"
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)


def test_log_level_is_respected(serve, small_bank):
    bank = small_bank(accounts=1)
    server = serve(workers=1, LOG_LEVEL="WARNING")
    assert Http(server.url, bank.secret).get(f"/api/v1/accounts/{bank.account_ids[0]}/balance").status == 200
    server.stop()
    lines = [json.loads(line) for line in server.logs(tail=None).splitlines() if line.strip()]
    # Served, and said nothing below WARNING: no request lines, no access lines, no worker chatter.
    assert [line for line in lines if line["level"] in ("DEBUG", "INFO")] == []
