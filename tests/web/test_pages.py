"""The customer pages, form by form, including every refusal."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.kernel import clock
from portal.models import ApiToken, AuditEvent, Role
from portal.web import routes
from tests.api.conftest import bearer
from tests.factories import SYSTEM, days_ago, make_account, make_user, snapshot
from tests.web.conftest import csrf_token, login, post_form


@pytest.fixture
def stranger(app):
    user = make_user(email="stranger@example.com", name="Stranger")
    account = make_account(user, balance=5_00, name="Theirs")
    _, secret = identity.issue_token(user, name="Their app", scopes=["accounts:read"], accounts=[account],
                                     actor=SYSTEM)
    db.session.commit()
    return user, account, db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))


@pytest.mark.parametrize("path", ["/", "/tokens", "/activity", "/accounts/00000000-0000-0000-0000-000000000001"])
def test_anonymous_visitors_are_sent_to_login_with_next(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_index_lists_only_my_accounts_with_formatted_balances(ann_client, ann, stranger):
    page = ann_client.get("/").text
    assert "Main" in page and "Savings" in page and "€100.00" in page
    assert "Theirs" not in page and stranger[1].number not in page.replace(" ", "")


class TestAccountPage:
    def test_transactions_newest_first_with_pages(self, ann_client, ann):
        _, main, _ = ann
        for n in range(25):
            ledger.withdraw(main, 1_00, actor=SYSTEM, value_date=days_ago(25 - n), description=f"purchase {n:02d}")
        db.session.commit()
        page = ann_client.get(f"/accounts/{main.id}").text
        found = re.findall(r"purchase (\d\d)", page)
        assert found == [f"{n:02d}" for n in range(24, 4, -1)]  # 20 newest, newest first
        older = re.search(r'href="([^"]*before=[^"]+)"', page).group(1).replace("&amp;", "&")
        rest = ann_client.get(older).text
        assert re.findall(r"purchase (\d\d)", rest) == [f"{n:02d}" for n in range(4, -1, -1)]
        assert "Opening deposit" in rest
        assert "−€1.00" in page and "€75.00" in page

    def test_balance_at_a_past_date(self, ann_client, ann):
        _, main, _ = ann
        ledger.withdraw(main, 40_00, actor=SYSTEM, value_date=days_ago(3))
        db.session.commit()
        page = ann_client.get(f"/accounts/{main.id}?date={days_ago(4).isoformat()}").text
        assert f"At the end of {days_ago(4).isoformat()}" in page and "€100.00" in page
        page = ann_client.get(f"/accounts/{main.id}?date={days_ago(3).isoformat()}").text
        assert re.search(r'data-testid="balance-at">.*€60\.00', page, re.S)

    def test_future_and_malformed_dates_are_explained_not_answered(self, ann_client, ann):
        main = ann[1]
        tomorrow = (ledger.today() + dt.timedelta(days=1)).isoformat()
        page = ann_client.get(f"/accounts/{main.id}?date={tomorrow}")
        assert page.status_code == 200 and "Choose today or an earlier date." in page.text
        assert 'data-testid="balance-at"' not in page.text
        page = ann_client.get(f"/accounts/{main.id}?date=not-a-date")
        assert page.status_code == 200 and 'data-testid="balance-at"' not in page.text

    def test_another_customers_account_is_not_found(self, ann_client, stranger):
        response = ann_client.get(f"/accounts/{stranger[1].id}")
        assert response.status_code == 404
        assert "Theirs" not in response.text and "Not found" in response.text

    def test_a_tampered_cursor_is_a_bad_request(self, ann_client, ann):
        assert ann_client.get(f"/accounts/{ann[1].id}?before=%%%").status_code == 400


def token_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken))


def created_secret(response, client):
    """Follow a token creation's redirect to the list; return the secret it shows (once)."""
    assert response.status_code == 303 and response.headers["Location"] == "/tokens"
    page = client.get("/tokens").text
    return re.search(r'value="(pt_[A-Za-z0-9_-]+)"', page).group(1), page


class TestTokens:
    def create(self, client, ann, **overrides):
        data = {"name": "Budget app", "scopes": ["accounts:read", "transactions:read"],
                "accounts": [str(ann[1].id)], "expires_in": ""}
        data.update(overrides)
        return post_form(client, "/tokens", data)

    def test_created_token_is_shown_once_and_works_with_the_api(self, ann_client, ann, client):
        # Contract changed (issue 14): the POST redirects, and the list it redirects to shows the secret once.
        secret, page = created_secret(self.create(ann_client, ann), ann_client)
        assert "shown only this once" in page
        api = client.get("/api/v1/accounts", headers=bearer(secret))
        assert api.status_code == 200 and [a["name"] for a in api.get_json()["data"]] == ["Main"]
        again = ann_client.get("/tokens").text
        assert secret not in again and secret[:10] in again  # the prefix, never the secret
        token = identity.find_token(secret)
        assert token.scope_set == {"accounts:read", "transactions:read"} and token.expires_at is None
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "token.create"))
        assert secret not in str(event.changes) and event.actor_user_id == ann[0].id

    @pytest.mark.parametrize("days", [30, 90, 365])
    def test_expiry_choice_sets_the_expiry(self, ann_client, ann, days):
        self.create(ann_client, ann, expires_in=str(days))
        token = db.session.scalar(sa.select(ApiToken))
        assert dt.timedelta(days=days - 1) < token.expires_at - clock.now() <= dt.timedelta(days=days)

    def test_the_form_offers_30_90_365_days_or_never_with_90_chosen(self, ann_client):
        page = ann_client.get("/tokens").text
        select = re.search(r'<select[^>]*id="expires_in".*?</select>', page, re.S).group(0)
        assert re.findall(r'value="([0-9]*)"', select) == ["30", "90", "365", ""]
        assert re.search(r'<option selected value="90">|<option value="90" selected>', select)

    def test_a_form_without_an_expiry_gets_the_default_90_days(self, ann_client, ann):
        data = {"name": "Budget app", "scopes": ["accounts:read"], "accounts": [str(ann[1].id)]}
        assert post_form(ann_client, "/tokens", data).status_code == 303
        token = db.session.scalar(sa.select(ApiToken))
        assert dt.timedelta(days=89) < token.expires_at - clock.now() <= dt.timedelta(days=90)

    def test_the_secret_crosses_the_redirect_sealed_never_readable_in_the_cookie(self, app, ann_client, ann):
        self.create(ann_client, ann)
        cookie = ann_client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        carried = app.session_interface.get_signing_serializer(app).loads(cookie)["new_token"]
        secret, _ = created_secret(self.create(ann_client, ann), ann_client)  # a second one, to read its secret
        assert set(carried) == {"id", "sealed"} and "pt_" not in carried["sealed"]
        assert secret[len("pt_"):][:12] not in cookie

    def test_a_sealed_secret_is_not_shown_once_it_is_stale(self, ann_client, ann, monkeypatch):
        import time

        response = self.create(ann_client, ann)
        assert response.status_code == 303
        started = time.time()
        monkeypatch.setattr(time, "time", lambda: started + routes.NEW_TOKEN_SECONDS + 5)
        page = ann_client.get("/tokens").text
        assert 'data-testid="new-token"' not in page and token_count() == 1

    def test_reloading_the_page_after_creating_creates_nothing_and_shows_no_secret(self, ann_client, ann):
        secret, _ = created_secret(self.create(ann_client, ann), ann_client)
        reloaded = ann_client.get("/tokens").text  # what the browser's reload does after POST → redirect → GET
        assert token_count() == 1
        assert secret not in reloaded and secret[:10] in reloaded and 'data-testid="new-token"' not in reloaded

    def test_the_list_says_when_each_token_was_created(self, ann_client, ann):
        secret, _ = created_secret(self.create(ann_client, ann), ann_client)
        token = identity.find_token(secret)
        page = ann_client.get("/tokens").text
        row = re.search(rf'data-token-prefix="{re.escape(secret[:10])}".*?</tr>', page, re.S).group(0)
        assert "<th>Created</th>" in page
        assert f'data-label="Created">{token.created_at:%Y-%m-%d %H:%M} UTC' in row

    def test_revoked_tokens_are_folded_away_below_the_live_ones(self, ann_client, ann):
        first, _ = created_secret(self.create(ann_client, ann, name="Old app"), ann_client)
        second, _ = created_secret(self.create(ann_client, ann, name="New app"), ann_client)
        identity.revoke_token(identity.find_token(first), actor=SYSTEM)
        db.session.commit()
        page = ann_client.get("/tokens").text
        live, folded = page.split('data-testid="revoked-tokens"')
        assert second[:10] in live and first[:10] not in live
        assert "<summary>Revoked tokens (1)</summary>" in folded and first[:10] in folded.split("</details>")[0]
        assert "<details" in live[-200:] and " open" not in live[-200:]  # folded: closed until opened

    @pytest.mark.parametrize("overrides", [{"name": ""}, {"scopes": []}, {"accounts": []},
                                           {"scopes": ["accounts:admin"]}, {"expires_in": "9999"},
                                           {"expires_in": "7"}])
    def test_invalid_forms_create_nothing(self, ann_client, ann, overrides):
        before = snapshot()
        response = self.create(ann_client, ann, **overrides)
        assert response.status_code == 200 and "The token was not created" in response.text
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
        assert snapshot() == before

    def test_another_customers_account_cannot_be_granted(self, ann_client, ann, stranger):
        response = self.create(ann_client, ann, accounts=[str(stranger[1].id)])
        assert "The token was not created" in response.text
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                                 .where(ApiToken.user_id == ann[0].id)) == 0

    def test_creating_without_csrf_is_refused(self, ann_client, ann):
        response = ann_client.post("/tokens", data={"name": "x", "scopes": ["accounts:read"],
                                                    "accounts": [str(ann[1].id)]})
        assert response.status_code == 400
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0

    def test_revoke_asks_for_confirmation_then_revokes(self, ann_client, ann, client):
        secret, _ = created_secret(self.create(ann_client, ann), ann_client)
        token = identity.find_token(secret)
        confirm = ann_client.get(f"/tokens/{token.id}/revoke")
        assert confirm.status_code == 200 and "Yes, revoke it" in confirm.text
        db.session.expire_all()
        assert identity.find_token(secret).revoked_at is None  # looking at the question revokes nothing
        assert ann_client.post(f"/tokens/{token.id}/revoke").status_code == 400  # no CSRF token
        assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200
        response = ann_client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(confirm.text)})
        assert response.status_code == 302
        assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 401
        listing = ann_client.get("/tokens").text
        assert re.search(rf'data-token-prefix="{re.escape(secret[:10])}".*?badge-revoked', listing, re.S)

    def test_expired_token_is_shown_as_expired(self, ann_client, ann, monkeypatch):
        self.create(ann_client, ann, expires_in="30")  # 7 days is no longer offered (issue 14)
        later = clock.now() + dt.timedelta(days=31)
        monkeypatch.setattr(clock, "now", lambda: later)
        login(ann_client, "ann@example.com")  # a week on, the session has long timed out
        assert re.search(r'badge-expired">expired<', ann_client.get("/tokens").text)

    def test_another_customers_token_cannot_be_seen_or_revoked(self, ann_client, stranger):
        token = stranger[2]
        assert "Their app" not in ann_client.get("/tokens").text
        assert ann_client.get(f"/tokens/{token.id}/revoke").status_code == 404
        page = ann_client.get("/tokens")
        response = ann_client.post(f"/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(page.text)})
        assert response.status_code == 404
        db.session.expire_all()
        assert db.session.get(ApiToken, token.id).revoked_at is None


def test_activity_shows_what_concerns_me_and_nothing_else(ann_client, ann, stranger, client):
    _, main, _ = ann
    secret, _ = created_secret(post_form(ann_client, "/tokens", {
        "name": "Payments app", "scopes": ["transactions:write"], "accounts": [str(main.id)]}), ann_client)
    client.post(f"/api/v1/accounts/{main.id}/transactions", json={"amount": "-2.50"}, headers=bearer(secret))
    ledger.freeze(main, actor=SYSTEM, reason="card reported stolen")
    db.session.commit()
    ledger.withdraw(stranger[1], 1_00, actor=SYSTEM, description="stranger's coffee")
    db.session.commit()
    page = ann_client.get("/activity").text
    assert "Logged in" in page
    assert "API token created “Payments app”" in page
    assert "Withdrawal of €2.50 on Main" in page  # the kind says which way
    assert "Token “Payments app”" in page and "App “Payments app”" not in page  # a personal token is no app
    # Contract changed (issue 14): the bank's reason is internal; the customer reads the note, here none.
    assert "Account frozen: Main" in page and "card reported stolen" not in page
    assert "Correction by the bank" in page
    assert "stranger" not in page.lower()


@pytest.mark.parametrize("before", ["99999999999999999999", "9223372036854775808", "-1", "0", "٣", "1\n", "abc"])
def test_activity_before_something_that_is_no_event_id_is_a_bad_request_never_a_500(ann_client, before):
    assert ann_client.get("/activity", query_string={"before": before}).status_code == 400


def test_activity_pages_back_through_older_events(ann_client, ann):
    for n in range(25):
        ledger.rename_account(ann[1], f"Main {n}", actor=SYSTEM)
    db.session.commit()
    first = ann_client.get("/activity").text
    older = re.search(r'href="/activity\?before=([0-9]+)"', first).group(1)
    second = ann_client.get("/activity", query_string={"before": older})
    assert "Main 23 → Main 24" in first and "Main 3 → Main 4" not in first
    assert second.status_code == 200 and "Main 3 → Main 4" in second.text and "Main 23 → Main 24" not in second.text


def test_staff_cannot_use_customer_pages_and_customers_cannot_reach_admin(client, ann_client, app):
    assert ann_client.get("/admin/").status_code == 403
    make_user(role=Role.VIEWER, email="viewer@example.com")
    staff = app.test_client()
    login(staff, "viewer@example.com")
    assert staff.get("/tokens").status_code == 403
    assert staff.get("/").headers["Location"] == "/admin/"


def test_error_pages_are_styled_html(ann_client):
    response = ann_client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert 'class="error-code">404' in response.text and "portal.css" in response.text


def test_unexpected_errors_get_a_styled_500_without_internals(ann_client, monkeypatch):
    def explode():
        raise RuntimeError("internal detail: db password=hunter2")

    monkeypatch.setattr(routes, "own_accounts", explode)
    response = ann_client.get("/")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Something went wrong" in response.text and "hunter2" not in response.text


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/accounts", "/static/css/portal.css", "/nope"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    response.close()


def test_request_log_names_the_logged_in_user(ann_client, ann, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="portal.request"):
        ann_client.get("/")
    record = [r for r in caplog.records if r.name == "portal.request"][-1]
    assert (record.fields["actor"], record.fields["user_id"], record.fields["status"]) == ("user", ann[0].id, 200)
    assert set(record.fields) >= {"request_id", "method", "path", "status", "duration_ms", "actor", "token_id", "ip"}


def test_a_lost_database_connection_is_a_503_page_without_internals(ann_client, monkeypatch):
    def lost(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    for method in ("execute", "scalar", "scalars"):
        monkeypatch.setattr(db.session, method, lost)
    response = ann_client.get("/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "Briefly unavailable" in response.text and "server closed" not in response.text
