"""Passwords people can change: /password for everyone, a forced change for generated ones, reset links an
operator hands over, and `flask users set-password`. Each change is audited without the password."""
import datetime as dt
import hashlib
import re

import pytest
import sqlalchemy as sa

from portal import identity
from portal.audit import Actor
from portal.extensions import db
from portal.kernel import clock
from portal.kernel.errors import ValidationError
from portal.models import AuditEvent, PasswordReset, Role, User
from tests.admin.conftest import submit
from tests.factories import PASSWORD, SYSTEM, make_user
from tests.web.conftest import csrf_token, login, post_form

NEW_PASSWORD = "a brand new passphrase"


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def events(action):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def everything_audited():
    db.session.expire_all()
    return str(db.session.execute(sa.select(AuditEvent.__table__)).all())


def change(client, current, new, repeat=None):
    return post_form(client, "/password", {"current_password": current, "new_password": new,
                                           "repeat": new if repeat is None else repeat})


def sent_to_login(response):
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# /password

def test_a_customer_changes_their_password_and_it_is_audited_without_it(app, ann_client, ann):
    user = ann[0]
    response = change(ann_client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert identity.verify_password(reload(user).password_hash, NEW_PASSWORD)
    event = events("user.password_change")[-1]
    assert (event.outcome, event.actor_user_id, event.object_id, event.subject_user_id) == (
        "success", user.id, str(user.id), user.id)
    assert NEW_PASSWORD not in everything_audited() and PASSWORD not in everything_audited()
    fresh = app.test_client()
    assert login(fresh, "ann@example.com", PASSWORD).status_code == 200  # the old one no longer works
    assert login(fresh, "ann@example.com", NEW_PASSWORD).status_code == 302


def test_staff_change_their_password_too(app, client):
    make_user(role=Role.VIEWER, email="vera@bank.example")
    login(client, "vera@bank.example")
    assert "Change your password" in client.get("/password").text
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("current, new, repeat, message, outcome", [
    ("not my password at all", NEW_PASSWORD, None, "is not your current password", "denied"),
    (PASSWORD, "short pass", None, "at least 12 characters", "failed"),
    (PASSWORD, "Password123!", None, "leaked passwords", "failed"),
    (PASSWORD, "iloveyou2024", None, "leaked passwords", "failed"),
    (PASSWORD, "123456789012", None, "run of keys", "failed"),
    (PASSWORD, "aaaaaaaaaaaaaaa", None, "different characters", "failed"),
    (PASSWORD, "ann@example.com", None, "email address or name", "failed"),
    (PASSWORD, PASSWORD, None, "must differ from your current password", "failed"),
    (PASSWORD, NEW_PASSWORD, "a brand new passphrasE", "The two new passwords differ.", None),
])
def test_a_refused_new_password_changes_nothing(app, ann_client, ann, current, new, repeat, message, outcome):
    user = ann[0]
    before = reload(user)
    hash_before, version_before = before.password_hash, before.session_version
    refusals_before = len(events("user.password_change"))
    response = change(ann_client, current, new, repeat)
    assert response.status_code == 200 and message in response.text
    after = reload(user)
    assert (after.password_hash, after.session_version) == (hash_before, version_before)
    assert ann_client.get("/tokens").status_code == 200  # still logged in
    recorded = events("user.password_change")[refusals_before:]
    if outcome is None:  # the form refused it: the domain was never asked
        assert recorded == []
    else:
        assert [(e.outcome, e.actor_user_id) for e in recorded] == [(outcome, user.id)]
        row = str([(e.changes, e.reason, e.refusal_message, e.object_id) for e in recorded])
        assert new not in row and current not in row


def test_password_needs_a_login_and_a_csrf_token(app, client, ann):
    assert sent_to_login(client.get("/password"))
    login(client, "ann@example.com")
    response = client.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "repeat": NEW_PASSWORD})
    assert response.status_code == 400
    assert identity.verify_password(reload(ann[0]).password_hash, PASSWORD)


# A generated password must be changed first.

def test_staff_created_with_a_generated_password_must_change_it_before_anything_else(app, client):
    admin = make_user(role=Role.ADMIN, email="admin@bank.example")
    admin_client = app.test_client()
    login(admin_client, "admin@bank.example")
    page = submit(admin_client, "/admin/user/new-staff",
                  {"email": "new@bank.example", "name": "New Person", "role": "operator", "reason": "hired"})
    generated = page.text.split('data-testid="initial-password">')[1].split("<")[0]
    assert identity.find_user_by_email("new@bank.example").must_change_password
    assert admin.must_change_password is False

    assert login(client, "new@bank.example", generated).headers["Location"] == "/password"
    for path in ("/admin/", "/admin/user/", "/", "/tokens"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/password", path
    assert 'data-testid="must-change"' in client.get("/password").text
    response = change(client, generated, NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert reload(identity.find_user_by_email("new@bank.example")).must_change_password is False
    assert events("user.password_change")[-1].changes == {"password": ["[redacted]", "[redacted]"],
                                                          "must_change_password": [True, False]}


def test_a_user_who_must_change_their_password_can_still_log_out(app, client):
    identity.create_user("temp@bank.example", "Temp", role=Role.VIEWER, password="generated-Xy7#kq2LmP",
                         actor=SYSTEM, must_change_password=True)
    db.session.commit()
    login(client, "temp@bank.example", "generated-Xy7#kq2LmP")
    response = post_form(client, "/logout", page="/password")
    assert sent_to_login(response)


# Reset links.

@pytest.fixture
def operator_client(app, ann):
    make_user(role=Role.OPERATOR, email="otto@bank.example")
    client = app.test_client()
    login(client, "otto@bank.example")
    return client


def make_link(operator_client, user):
    page = submit(operator_client, f"/admin/user/{user.id}/password-reset", {"reason": "called, identity checked"})
    assert page.status_code == 200
    link = re.search(r'data-testid="reset-link">([^<]+)<', page.text).group(1)
    return link.removeprefix("http://localhost")


def reset(client, path, new=NEW_PASSWORD, repeat=None):
    page = client.get(path)
    return client.post(path, data={"new_password": new, "repeat": repeat or new, "csrf_token": csrf_token(page.text)})


def test_an_operator_makes_a_reset_link_shown_once_stored_as_a_hash_and_audited(app, operator_client, ann):
    user = ann[0]
    assert "Password reset link…" in operator_client.get(f"/admin/user/details/?id={user.id}").text
    path = make_link(operator_client, user)
    secret = path.rsplit("/", 1)[1]
    assert path.startswith("/password/reset/") and len(secret) >= 40
    stored = db.session.scalar(sa.select(PasswordReset))
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.expires_at - stored.created_at == dt.timedelta(minutes=30)
    event = events("user.password_reset_link")[-1]
    assert (event.outcome, event.subject_user_id, event.reason) == ("success", user.id, "called, identity checked")
    assert secret not in everything_audited()
    assert secret not in operator_client.get(f"/admin/user/details/?id={user.id}").text  # shown once only


def test_the_reset_link_sets_a_password_once_and_ends_every_session(app, operator_client, ann_client, ann):
    user = ann[0]
    path = make_link(operator_client, user)
    stranger = app.test_client()
    assert "Set a new password" in stranger.get(path).text
    response = reset(stranger, path)
    assert sent_to_login(response)
    assert identity.verify_password(reload(user).password_hash, NEW_PASSWORD)
    assert sent_to_login(ann_client.get("/"))  # the customer's open session ended too
    event = events("user.password_change")[-1]
    assert (event.outcome, event.actor_user_id, event.reason) == ("success", user.id, "reset link")

    hash_after = reload(user).password_hash
    assert stranger.get(path).status_code == 404  # single use
    again = stranger.post(path, data={"new_password": "yet another passphrase", "repeat": "yet another passphrase"})
    assert again.status_code in (400, 404)
    assert reload(user).password_hash == hash_after
    assert login(app.test_client(), "ann@example.com", NEW_PASSWORD).status_code == 302


def test_a_reset_link_expires_after_30_minutes(app, ann, monkeypatch):
    user = ann[0]
    _, secret = identity.issue_reset(user, actor=SYSTEM, reason="called")
    db.session.commit()
    hash_before = reload(user).password_hash
    issued = clock.now()
    client = app.test_client()
    monkeypatch.setattr(clock, "now", lambda: issued + dt.timedelta(minutes=29, seconds=50))
    assert client.get(f"/password/reset/{secret}").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: issued + dt.timedelta(minutes=30))
    assert client.get(f"/password/reset/{secret}").status_code == 404
    monkeypatch.setattr(clock, "now", lambda: issued + dt.timedelta(minutes=29, seconds=50))
    page = client.get(f"/password/reset/{secret}")
    monkeypatch.setattr(clock, "now", lambda: issued + dt.timedelta(minutes=31))
    response = client.post(f"/password/reset/{secret}", data={
        "new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 404
    assert reload(user).password_hash == hash_before


def test_a_refused_password_on_the_reset_page_changes_nothing_and_keeps_the_link(app, ann):
    user = ann[0]
    _, secret = identity.issue_reset(user, actor=SYSTEM, reason="called")
    db.session.commit()
    hash_before = reload(user).password_hash
    client = app.test_client()
    response = reset(client, f"/password/reset/{secret}", new="Password123!")
    assert response.status_code == 200 and "leaked passwords" in response.text
    assert reload(user).password_hash == hash_before
    assert events("user.password_change")[-1].outcome == "failed"
    assert sent_to_login(reset(client, f"/password/reset/{secret}"))  # the link still works once


def test_a_newer_link_or_another_password_change_ends_the_older_link(app, ann):
    user = ann[0]
    _, first = identity.issue_reset(user, actor=SYSTEM, reason="called")
    _, second = identity.issue_reset(user, actor=SYSTEM, reason="called again")
    db.session.commit()
    client = app.test_client()
    assert client.get(f"/password/reset/{first}").status_code == 404
    assert client.get(f"/password/reset/{second}").status_code == 200
    identity.set_password(reload(user), NEW_PASSWORD, actor=SYSTEM, how="command line")
    db.session.commit()
    assert client.get(f"/password/reset/{second}").status_code == 404


@pytest.mark.parametrize("secret", ["nothing-like-it", "x" * 500, "%00"])
def test_an_unknown_link_is_404(client, secret):
    assert client.get(f"/password/reset/{secret}").status_code in (400, 404)


def test_reset_links_are_for_active_customers_only(app, ann):
    operator = make_user(role=Role.OPERATOR, email="otto@bank.example")
    with pytest.raises(ValidationError):
        identity.issue_reset(operator, actor=SYSTEM)
    identity.update_user(ann[0], actor=SYSTEM, reason="closed", active=False)
    with pytest.raises(ValidationError):
        identity.issue_reset(ann[0], actor=Actor.for_user(operator))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 0


def test_the_request_log_does_not_hold_a_reset_link_s_secret(app, ann, caplog):
    _, secret = identity.issue_reset(ann[0], actor=SYSTEM)
    db.session.commit()
    with caplog.at_level("INFO", logger="portal.request"):
        app.test_client().get(f"/password/reset/{secret}")
    paths = [r.fields["path"] for r in caplog.records if r.name == "portal.request"]
    assert paths == ["/password/reset/…"]


def test_the_customer_s_activity_tells_a_change_from_a_refused_attempt(app, ann_client):
    change(ann_client, "not my password at all", NEW_PASSWORD)
    change(ann_client, PASSWORD, NEW_PASSWORD)
    page = ann_client.get("/activity").text
    assert "A password change was refused" in page and "Password changed" in page
    assert NEW_PASSWORD not in page and PASSWORD not in page


def test_guessing_the_current_password_is_rate_limited_per_user(backend, request, tmp_path, monkeypatch):
    from portal import create_app
    from tests.conftest import IsolatedClient, _database_url

    monkeypatch.setenv("LOGIN_RATE_LIMIT", "3/minute")
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(backend, request, tmp_path),
                      "RATELIMIT_ENABLED": True})
    app.test_client_class = IsolatedClient
    with app.app_context():
        user = make_user(email="ann@example.com")
        client = app.test_client()
        login(client, "ann@example.com")
        statuses = [change(client, f"guess number {n}", NEW_PASSWORD).status_code for n in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert change(client, PASSWORD, NEW_PASSWORD).status_code == 429  # even the right one waits
        assert identity.verify_password(reload(user).password_hash, PASSWORD)
        db.session.remove()
        db.engine.dispose()
