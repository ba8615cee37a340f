"""Rate limits shared across processes: two gunicorn servers, one Redis, one count per token and per login.

With RATELIMIT_STORAGE_URI=memory:// each process would count for itself and let twice the limit through;
test_without_a_shared_store_each_process_counts_alone shows exactly that, so the first two cannot pass by
accident. Production therefore refuses to start several workers that way, and says loudly when Redis is lost.
"""
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import uuid

import pytest
import redis

from tests.factories import PASSWORD
from tests.reliability.conftest import REDIS_URL, ROOT, SECRET_KEY, Http, free_port

pytestmark = pytest.mark.postgres_only



@pytest.fixture
def shared_limits():
    """Settings for servers that count in Redis, under a key prefix of this test's own."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
    prefix = f"portal-test-{uuid.uuid4().hex}"
    yield {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def alternate(servers, count, call):
    """Make `count` calls, alternating between the servers; return the statuses in order."""
    return [call(servers[n % len(servers)]) for n in range(count)]


def test_two_processes_enforce_one_api_limit_per_token(serve, small_bank, shared_limits):
    bank = small_bank(accounts=1)
    limits = {**shared_limits, "API_RATE_LIMIT": "5/minute"}
    servers = [serve(workers=2, **limits), serve(workers=2, **limits)]
    path = f"/api/v1/accounts/{bank.account_ids[0]}/balance"
    statuses = alternate(servers, 8, lambda server: Http(server.url, bank.secret).get(path).status)
    assert statuses == [200] * 5 + [429] * 3


class Browser:
    """Just enough of a browser for a login form: the session cookie, sent by hand (it is Secure-flagged)."""

    def __init__(self):
        self.cookie = None

    def login(self, server, email, password):
        page = Http(server.url).get("/login", headers=self._cookie())
        self._keep(page)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.body).group(1)
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token, "next": ""})
        answer = Http(server.url).request("POST", "/login", headers={
            **self._cookie(), "Content-Type": "application/x-www-form-urlencoded"}, raw=form.encode())
        self._keep(answer)
        return answer.status

    def _cookie(self):
        return {"Cookie": self.cookie} if self.cookie else {}

    def _keep(self, response):
        cookie = response.headers.get("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]


def test_two_processes_enforce_one_login_limit(serve, small_bank, shared_limits):
    small_bank(accounts=1)  # load@example.com
    limits = {**shared_limits, "LOGIN_RATE_LIMIT": "3/minute"}
    servers = [serve(workers=1, **limits), serve(workers=1, **limits)]
    browser = Browser()
    statuses = alternate(servers, 5, lambda server: browser.login(server, "load@example.com", "wrong password"))
    assert statuses == [200] * 3 + [429] * 2  # a failed login re-renders the form; then the limit
    # The right password does not get round the limit either.
    assert browser.login(servers[0], "load@example.com", PASSWORD) == 429


def test_without_a_shared_store_each_process_counts_alone(serve, small_bank):
    bank = small_bank(accounts=1)
    alone = {"API_RATE_LIMIT": "5/minute", "RATELIMIT_STORAGE_URI": "memory://"}
    servers = [serve(workers=1, **alone), serve(workers=1, **alone)]
    path = f"/api/v1/accounts/{bank.account_ids[0]}/balance"
    statuses = alternate(servers, 10, lambda server: Http(server.url, bank.secret).get(path).status)
    assert statuses == [200] * 10  # 5 per process: why production sets RATELIMIT_STORAGE_URI=redis://…


def production_env(**env):
    return {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": SECRET_KEY, "AUDIT_CHECKPOINT_KEY": SECRET_KEY,
            "LOG_LEVEL": "WARNING",
            **{key: str(value) for key, value in env.items()}}


@pytest.mark.parametrize("storage", [None, "memory://"])
def test_production_refuses_to_start_several_workers_that_would_each_count_alone(storage):
    env = production_env()
    env.pop("RATELIMIT_STORAGE_URI", None)  # the default, memory://
    if storage:
        env["RATELIMIT_STORAGE_URI"] = storage
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "-w", "3", "-b",
         f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        pytest.fail("gunicorn started three workers that would each count rate limits alone")
    assert server.returncode != 0
    assert "RATELIMIT_STORAGE_URI" in output and "3 workers" in output
    assert "Booting worker" not in output


def test_a_lost_rate_limit_store_is_logged_loudly_and_each_process_still_counts(serve, small_bank):
    bank = small_bank(accounts=1)
    server = serve(workers=1, API_RATE_LIMIT="3/minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    path = f"/api/v1/accounts/{bank.account_ids[0]}/balance"
    statuses = [Http(server.url, bank.secret).get(path).status for _ in range(5)]
    assert statuses == [200] * 3 + [429] * 2  # counted in the worker's memory, not failing and not unlimited
    server.stop()
    lines = [json.loads(line) for line in server.logs(tail=None).splitlines() if line.strip()]
    alarms = [line for line in lines if line["level"] == "ERROR" and "rate limit storage" in line["message"].lower()]
    assert len(alarms) == 1, lines  # once per process and outage, not once per request
    assert "each process counts alone" in alarms[0]["message"]
