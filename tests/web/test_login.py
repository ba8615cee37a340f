"""Login and logout: generic failures, CSRF, safe redirects, fresh sessions, rate limits, audit."""
import contextlib

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, Role
from tests.factories import PASSWORD, make_user
from tests.web.conftest import csrf_token, login


def events(action=None):
    db.session.expire_all()
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


def test_login_page_has_a_csrf_field_and_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200 and csrf_token(response.text)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.text and " style=" not in response.text


def test_customer_logs_in_to_their_accounts_with_a_safe_cookie(client, ann):
    response = login(client, "Ann@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    event = events("auth.login")[-1]
    assert (event.outcome, event.actor_user_id, event.ip) == ("success", ann[0].id, "127.0.0.1")
    assert "Main" in client.get("/").text


def test_staff_land_on_the_back_office(client, app):
    make_user(role=Role.OPERATOR, email="op@example.com")
    response = login(client, "op@example.com")
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("email, password", [("ann@example.com", "wrong password!"),
                                             ("nobody@example.com", PASSWORD)])
def test_wrong_password_and_unknown_email_get_the_same_answer(client, ann, email, password):
    response = login(client, email, password)
    assert response.status_code == 200  # the form again, with the one message
    assert "Wrong email or password." in response.text
    assert "not found" not in response.text.lower() and "unknown" not in response.text.lower()
    failed = events("auth.login_failed")[-1]
    assert failed.outcome == "denied" and password not in str(failed.changes)
    assert failed.refusal_code == ("unknown_email" if email.startswith("nobody") else "wrong_password")
    assert client.get("/").status_code == 302  # still anonymous


def test_deactivated_user_cannot_log_in_and_is_dropped_from_an_open_session(client, ann):
    user = ann[0]
    assert login(client, "ann@example.com").status_code == 302
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302
    response = login(client, "ann@example.com")
    assert response.status_code == 200 and "Wrong email or password." in response.text


def test_login_without_csrf_token_is_refused(client, ann):
    before = len(events())
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    assert len(events()) == before


@pytest.mark.parametrize("target, expected", [
    ("/tokens", "/tokens"),
    ("/accounts/x?y=1", "/accounts/x?y=1"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example", "/"),
    ("/\t/evil.example", "/"),  # browsers drop the tab: "//evil.example"
    ("http://localhost/tokens", "/tokens"),
])
def test_next_only_redirects_within_the_site(client, ann, target, expected):
    response = login(client, "ann@example.com", next_=target)
    assert response.headers["Location"] == expected


def test_login_starts_a_fresh_session(client, ann):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "ann@example.com")
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("_user_id") == str(ann[0].id)


def test_logout_is_a_post_with_csrf_and_is_audited(client, ann):
    login(client, "ann@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: still logged in
    assert client.get("/").status_code == 200
    page = client.get("/")
    response = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert events("auth.logout")[-1].actor_user_id == ann[0].id


@contextlib.contextmanager
def rate_limited_logins(limit, backend, request, tmp_path, monkeypatch):
    """A client of an app whose login form allows `limit` attempts (rate limiting on), with Ann to log in as."""
    from tests.conftest import _database_url

    monkeypatch.setenv("LOGIN_RATE_LIMIT", limit)
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(backend, request, tmp_path),
                      "RATELIMIT_ENABLED": True})
    with app.app_context():
        make_user(email="ann@example.com")
        yield app.test_client()
        db.session.remove()
        db.engine.dispose()


def test_login_attempts_are_rate_limited_per_address_and_email(backend, request, tmp_path, monkeypatch):
    with rate_limited_logins("3/minute", backend, request, tmp_path, monkeypatch) as client:
        statuses = [login(client, "ann@example.com", "wrong password!").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert "Too many attempts" in login(client, "ann@example.com").text  # even the right password waits
        assert login(client, "other@example.com", "whatever1234").status_code == 200  # another email is not


def test_a_rate_limited_login_says_when_to_try_again(backend, request, tmp_path, monkeypatch):
    with rate_limited_logins("2/minute", backend, request, tmp_path, monkeypatch) as client:
        for _ in range(2):
            assert "Retry-After" not in login(client, "ann@example.com", "wrong password!").headers
        logins = len(events("auth.login"))
        refused = login(client, "ann@example.com")
        assert refused.status_code == 429
        seconds = int(refused.headers["Retry-After"])
        assert 1 <= seconds <= 61  # a one-minute window, rounded up to whole seconds
        assert f"Please try again in {seconds} second" in refused.text
        assert len(events("auth.login")) == logins and client.get("/").status_code == 302  # not logged in
