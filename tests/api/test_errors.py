"""One error envelope for everything, request ids, rate limits, and no internals on a 500."""
import logging
import re

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from tests.api.conftest import bearer, issue

ENVELOPE = {"code", "message", "request_id"}


def assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert set(body) - {"errors"} == ENVELOPE
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/accounts/not-a-uuid", "/api/v1/accounts/1/balance",
                                  "/api/v1/", "/api/v1/accounts/00000000-0000-0000-0000-000000000000/x"])
def test_unknown_routes_under_the_api_are_404_in_the_envelope(client, customer, path):
    assert_envelope(client.get(path, headers=customer.headers), 404, "not_found")


def test_wrong_method_is_405_in_the_envelope_with_allow(client, customer):
    response = client.delete("/api/v1/accounts", headers=customer.headers)
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    response = client.put(f"/api/v1/accounts/{customer.main.id}/transactions", headers=customer.headers)
    assert_envelope(response, 405, "method_not_allowed")


def test_unexpected_errors_are_500_without_internals_and_logged_with_the_request_id(
        client, customer, monkeypatch, caplog):
    from portal.api import accounts

    def explode(_account):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(accounts, "account_json", explode)
    with caplog.at_level(logging.ERROR, logger="portal.api"):
        response = client.get("/api/v1/accounts", headers=customer.headers)
    body = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    assert any(r.fields["request_id"] == body["request_id"] and r.exc_info for r in caplog.records)


def test_a_sane_client_request_id_is_echoed_and_a_hostile_one_replaced(client, customer):
    sane = client.get("/api/v1/accounts", headers={**customer.headers, "X-Request-ID": "abc-123.x"})
    assert sane.headers["X-Request-ID"] == "abc-123.x"
    hostile = client.get("/api/v1/accounts", headers={**customer.headers, "X-Request-ID": "a b;<script>"})
    assert hostile.headers["X-Request-ID"] != "a b;<script>" and len(hostile.headers["X-Request-ID"]) == 32
    assert client.get("/healthz").headers["X-Request-ID"]


def test_audit_rows_keep_a_client_request_id_beside_the_servers_own(client, customer, caplog):
    """A client may choose its id (it correlates with it) but not the id the bank's records rely on."""
    from portal.models import AuditEvent

    url = f"/api/v1/accounts/{customer.main.id}/transactions"
    events = []
    with caplog.at_level(logging.INFO, logger="portal.request"):
        for _ in range(2):  # the same client id twice: two requests, two server ids
            response = client.post(url, json={"amount": "-1.00"},
                                   headers={**customer.headers, "X-Request-ID": "client-chosen-1"})
            assert response.status_code == 201 and response.headers["X-Request-ID"] == "client-chosen-1"
            db.session.expire_all()
            events.append(db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)))
    assert [e.client_request_id for e in events] == ["client-chosen-1", "client-chosen-1"]
    assert all(re.fullmatch(r"[0-9a-f]{32}", e.request_id) for e in events)
    assert events[0].request_id != events[1].request_id
    lines = [r.fields for r in caplog.records if r.name == "portal.request" and r.fields["method"] == "POST"]
    assert [(f["request_id"], f["server_request_id"]) for f in lines] == [
        ("client-chosen-1", events[0].request_id), ("client-chosen-1", events[1].request_id)]

    plain = client.post(url, json={"amount": "-1.00"}, headers=customer.headers)
    db.session.expire_all()
    event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (event.request_id, event.client_request_id) == (plain.headers["X-Request-ID"], None)


@pytest.mark.parametrize("sent", ["x" * 65, "a b", "ünï", "id;drop", ""])
def test_a_client_request_id_out_of_bounds_is_neither_echoed_nor_stored(client, customer, sent):
    from portal.models import AuditEvent

    response = client.post(f"/api/v1/accounts/{customer.main.id}/transactions", json={"amount": "-1.00"},
                           headers={**customer.headers, "X-Request-ID": sent})
    assert response.status_code == 201 and response.headers["X-Request-ID"] != sent
    db.session.expire_all()
    event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (event.request_id, event.client_request_id) == (response.headers["X-Request-ID"], None)


def test_rate_limit_is_per_token_with_retry_after(backend, request, tmp_path, monkeypatch):
    from tests.conftest import _database_url
    monkeypatch.setenv("API_RATE_LIMIT", "3/minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(backend, request, tmp_path),
                      "RATELIMIT_ENABLED": True})
    with app.app_context():
        from tests.factories import make_account, make_user
        user = make_user()
        first, second = issue(user, [make_account(user)]), issue(user, [make_account(user)])
        client = app.test_client()
        statuses = [client.get("/api/v1/accounts", headers=bearer(first)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/accounts", headers=bearer(first))
        assert_envelope(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 0
        # Another token of the same customer has its own allowance.
        assert client.get("/api/v1/accounts", headers=bearer(second)).status_code == 200
        assert "Retry-After" not in client.get("/api/v1/accounts", headers=bearer(second)).headers
        db.session.remove()
        db.engine.dispose()


def test_a_lost_database_connection_is_a_clean_503(client, customer, monkeypatch):
    def lost(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "execute", lost)
    response = client.get("/api/v1/accounts", headers=customer.headers)
    assert_envelope(response, 503, "service_unavailable")
    assert "server closed" not in response.get_data(as_text=True)
