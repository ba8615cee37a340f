"""`/connected-apps`, the tokens page's app choice and the activity page's app names: the customer sees every app
that can reach their money, and cuts one off; nobody else's, and nothing without a CSRF token."""
import datetime as dt
import re
import secrets

import pytest
import sqlalchemy as sa

from portal import identity
from portal.extensions import db
from portal.identity import apps, consents
from portal.identity.tokens import OAUTH_ACCESS_PREFIX, hash_secret
from portal.kernel import clock
from portal.models import ApiToken, AuditEvent, Consent, OAuthToken, Role
from tests.api.conftest import bearer
from tests.factories import SYSTEM, make_account, make_user
from tests.web.conftest import csrf_token, login, post_form


def register(name="Budgetly", scopes=("accounts:read", "transactions:read")):
    app, _ = apps.register_app(name=name, homepage=f"https://{name.lower()}.example",
                               redirect_uris=[f"https://{name.lower()}.example/callback"],
                               client_type="confidential", scopes=scopes, actor=SYSTEM)
    db.session.commit()
    return app


def consent_with_token(user, app, account, *, scopes=("accounts:read",), days=90):
    """A consent and an OAuth access token under it, as the OAuth server issues them; return both."""
    consent = consents.grant_consent(user, app, scopes=scopes, accounts=[account], days=days, actor=SYSTEM)
    secret = OAUTH_ACCESS_PREFIX + secrets.token_urlsafe(32)
    db.session.add(OAuthToken(consent_id=consent.id, app_id=app.id, user_id=user.id,
                              access_token_hash=hash_secret(secret), scopes=consent.scopes,
                              access_expires_at=clock.now() + dt.timedelta(minutes=10)))
    db.session.commit()
    return consent, secret


def app_token(user, app, account, scopes=("accounts:read",)):
    token, secret = identity.issue_token(user, name="for " + app.name, scopes=scopes, accounts=[account],
                                         actor=SYSTEM, app=app)
    db.session.commit()
    return token, secret


def state():
    """The consents and credentials as they are, and the audit log's length: what a refusal must not change."""
    db.session.expire_all()
    return {"consents": db.session.execute(sa.select(Consent.id, Consent.status, Consent.revoked_at)).all(),
            "oauth": db.session.execute(sa.select(OAuthToken.id, OAuthToken.revoked_at)).all(),
            "tokens": db.session.execute(sa.select(ApiToken.id, ApiToken.revoked_at, ApiToken.app_id)).all(),
            "audit": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))}


def section(page, app):
    """The part of the page about one app."""
    match = re.search(rf'data-testid="app-{re.escape(app.client_id)}">(.*?)</section>', page, re.S)
    assert match, f"{app.name} is not on the page"
    return match.group(1)


@pytest.fixture
def other(app):
    user = make_user(email="olga@example.com", name="Olga Other")
    return user, make_account(user, balance=5_00, name="Olga's")


def test_the_page_lists_every_app_that_can_reach_my_money_and_no_other(ann_client, ann, other, client):
    user, main, savings = ann
    budgetly, payly, idle = register("Budgetly"), register("Payly"), register("Idle")
    consent, access = consent_with_token(user, budgetly, main, scopes=("accounts:read", "transactions:read"))
    token, secret = app_token(user, payly, savings)
    consent_with_token(other[0], idle, other[1])  # someone else's consent: not mine
    assert client.get(f"/api/v1/accounts/{main.id}/balance", headers=bearer(access)).status_code == 200

    page = ann_client.get("/connected-apps")
    assert page.status_code == 200
    text = page.text
    assert "Idle" not in text and "Olga" not in text
    budgetly_part = section(text, budgetly)
    assert "https://budgetly.example" in budgetly_part and f'data-testid="consent-{consent.id}"' in budgetly_part
    assert "Read accounts and balances" in budgetly_part and "Read transactions" in budgetly_part
    assert ">Main<" in budgetly_part and ">active<" in budgetly_part
    assert "Revoking ends this app&#39;s access at once" in budgetly_part or "Revoking ends this app's" in budgetly_part
    # What it did, told in the customer's words (the consent it was given), never as a raw action name.
    assert "What it did" in budgetly_part and "You gave an app access" in budgetly_part
    assert "consent.grant" not in budgetly_part
    payly_part = section(text, payly)
    assert f"{token.prefix}…" in payly_part and ">Savings<" in payly_part and "Never" in payly_part
    assert secret not in text and access not in text
    assert 'href="/connected-apps"' in text  # in the site's navigation


def test_statuses_expired_revoked_and_app_suspended_are_shown_and_only_live_access_has_a_revoke(ann_client, ann):
    user, main, _ = ann
    budgetly, payly, gone = register("Budgetly"), register("Payly"), register("Gone")
    expiring, _ = consent_with_token(user, budgetly, main, days=1)
    app_token(user, payly, main)
    revoked, _ = consent_with_token(user, gone, main)
    consents.revoke_consent(revoked, actor=SYSTEM)
    apps.suspend_app(payly, actor=SYSTEM, reason="investigation")
    expiring.expires_at = clock.now() - dt.timedelta(minutes=1)  # past its expiry, not yet marked: still shown
    db.session.commit()
    page = ann_client.get("/connected-apps").text
    assert ">expired<" in section(page, budgetly) and "Revoke</button>" not in section(page, budgetly)
    assert ">app suspended<" in section(page, payly) and "suspended by the bank" in section(page, payly)
    assert "Revoke</button>" in section(page, payly)  # a suspended app's access can still be ended for good
    assert ">revoked<" in section(page, gone) and "Revoke</button>" not in section(page, gone)


def test_revoking_a_consent_ends_its_tokens_at_once(ann_client, ann, client):
    user, main, _ = ann
    budgetly = register()
    consent, access = consent_with_token(user, budgetly, main)
    page = ann_client.get("/connected-apps")
    response = ann_client.post(f"/connected-apps/consents/{consent.id}/revoke",
                               data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == "/connected-apps"
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).status == "revoked"
    assert db.session.scalar(sa.select(OAuthToken.revoked_at)) is not None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "consent.revoke"))
    assert (event.actor_user_id, event.subject_user_id, event.actor_app_id, event.actor_consent_id) == (
        user.id, user.id, budgetly.id, consent.id)
    assert client.get(f"/api/v1/accounts/{main.id}/balance", headers=bearer(access)).status_code == 401
    after = ann_client.get("/connected-apps").text
    assert "can no longer reach your accounts" in after and ">revoked<" in section(after, budgetly)


def test_revoking_an_app_token_stops_it_on_its_next_request(ann_client, ann, client):
    user, main, _ = ann
    payly = register("Payly")
    token, secret = app_token(user, payly, main)
    assert client.get(f"/api/v1/accounts/{main.id}/balance", headers=bearer(secret)).status_code == 200
    response = post_form(ann_client, f"/connected-apps/tokens/{token.id}/revoke", page="/connected-apps")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert client.get(f"/api/v1/accounts/{main.id}/balance", headers=bearer(secret)).status_code == 401
    # Revoking again changes nothing.
    before = state()
    assert post_form(ann_client, f"/connected-apps/tokens/{token.id}/revoke", page="/connected-apps").status_code == 302
    after = state()
    assert after.pop("audit") == before.pop("audit") and after == before


def test_what_an_app_did_is_listed_under_it(ann_client, ann, client):
    user, main, _ = ann
    payly = register("Payly", scopes=("accounts:read", "transactions:write"))
    _, secret = app_token(user, payly, main, scopes=("transactions:write",))
    client.post(f"/api/v1/accounts/{main.id}/transactions", json={"amount": "-2.50"}, headers=bearer(secret))
    part = section(ann_client.get("/connected-apps").text, payly)
    assert "Withdrawal of €2.50 on Main" in part


def test_what_an_app_read_is_told_in_words_under_it_and_on_the_activity_page(ann_client, ann, client):
    user, main, savings = ann
    budgetly = register()
    _, access = consent_with_token(user, budgetly, main)
    assert client.get(f"/api/v1/accounts/{main.id}/balance", headers=bearer(access)).status_code == 200
    assert client.get(f"/api/v1/accounts/{savings.id}/balance", headers=bearer(access)).status_code == 404
    part = section(ann_client.get("/connected-apps").text, budgetly)
    assert "Read the balance of Main" in part and "Tried to read the balance of Savings" in part, part
    page = ann_client.get("/activity").text
    assert "Read the balance of Main" in page and "Tried to read the balance of Savings" in page


def test_revoking_without_a_csrf_token_changes_nothing(ann_client, ann):
    user, main, _ = ann
    consent, _ = consent_with_token(user, register(), main)
    token, _ = app_token(user, register("Payly"), main)
    before = state()
    for path in (f"/connected-apps/consents/{consent.id}/revoke", f"/connected-apps/tokens/{token.id}/revoke"):
        for data in ({}, {"csrf_token": "forged"}):
            assert ann_client.post(path, data=data).status_code == 400
    after = state()
    after.pop("audit"), before.pop("audit")  # a CSRF refusal may be logged; nothing else may change
    assert after == before


def test_another_customers_access_cannot_be_seen_or_revoked(ann_client, ann, other):
    consent, _ = consent_with_token(other[0], register(), other[1])
    token, _ = app_token(other[0], register("Payly"), other[1])
    own_use, _ = identity.issue_token(ann[0], name="my script", scopes=["accounts:read"], accounts=[ann[1]],
                                      actor=SYSTEM)
    db.session.commit()
    page = ann_client.get("/connected-apps")
    assert "Budgetly" not in page.text and "Payly" not in page.text and "my script" not in page.text
    before = state()
    for path in (f"/connected-apps/consents/{consent.id}/revoke", f"/connected-apps/tokens/{token.id}/revoke",
                 f"/connected-apps/tokens/{own_use.id}/revoke",  # not an app's: the tokens page revokes it
                 "/connected-apps/consents/999999/revoke", "/connected-apps/tokens/99999999999999999999/revoke"):
        assert ann_client.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 404, path
    assert state() == before


def test_staff_and_strangers_are_kept_out(app, client, ann):
    consent, _ = consent_with_token(ann[0], register(), ann[1])
    assert client.get("/connected-apps").headers["Location"].startswith("/login")
    make_user(email="op@bank.example", role=Role.OPERATOR)
    db.session.commit()
    staff = app.test_client()
    assert login(staff, "op@bank.example").status_code == 302
    before = state()
    assert staff.get("/connected-apps").status_code == 403
    token = csrf_token(staff.get("/password").text)
    assert staff.post(f"/connected-apps/consents/{consent.id}/revoke", data={"csrf_token": token}).status_code == 403
    after = state()
    after.pop("audit"), before.pop("audit")
    assert after == before


class TestTokensForAnApp:
    def create(self, client, **overrides):
        return post_form(client, "/tokens", {"name": "For Budgetly", "scopes": ["accounts:read"],
                                             "accounts": [str(overrides.pop("account").id)], **overrides})

    def test_the_tokens_page_offers_the_banks_active_apps_with_their_homepage_and_own_use(self, ann_client, ann):
        register("Budgetly")
        apps.suspend_app(register("Shady"), actor=SYSTEM, reason="fraud")
        register("Rail", scopes=("deposits:write",))  # the bank's own: nothing a customer can give it
        db.session.commit()
        page = ann_client.get("/tokens").text
        assert "My own use" in page and "Budgetly — https://budgetly.example" in page
        assert "Shady" not in page and "Rail" not in page

    def test_a_token_for_an_app_names_it_and_holds_only_its_scopes(self, ann_client, ann, client):
        budgetly = register("Budgetly", scopes=("accounts:read",))
        assert self.create(ann_client, account=ann[1], app=budgetly.client_id).status_code == 303
        secret = re.search(r'value="(pt_[^"]+)"', ann_client.get("/tokens").text).group(1)
        token = identity.find_token(secret)
        assert token.app_id == budgetly.id and token.scopes == "accounts:read"
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "token.create")
                                 ).changes["app"] == [None, budgetly.client_id]
        assert section(ann_client.get("/connected-apps").text, budgetly)

    def test_own_use_is_the_default(self, ann_client, ann):
        assert self.create(ann_client, account=ann[1]).status_code == 303
        token = identity.find_token(re.search(r'value="(pt_[^"]+)"', ann_client.get("/tokens").text).group(1))
        assert token.app_id is None

    @pytest.mark.parametrize("case", ["scope the app may not hold", "suspended app", "unknown app"])
    def test_refused_choices_create_nothing(self, ann_client, ann, case):
        budgetly = register("Budgetly", scopes=("accounts:read",))
        if case == "suspended app":
            page = ann_client.get("/tokens").text  # the form was shown while the app was still listed
            apps.suspend_app(budgetly, actor=SYSTEM, reason="fraud")
            db.session.commit()
        client_id = "app_unknown" if case == "unknown app" else budgetly.client_id
        scopes = ["transactions:write"] if case == "scope the app may not hold" else ["accounts:read"]
        before = state()
        if case == "suspended app":
            response = ann_client.post("/tokens", data={"name": "x", "scopes": scopes, "accounts": [str(ann[1].id)],
                                                        "app": client_id, "csrf_token": csrf_token(page)})
        else:
            response = self.create(ann_client, account=ann[1], app=client_id, scopes=scopes)
        assert response.status_code == 200 and "was not created" in response.text
        after = state()
        assert after.pop("audit") >= before.pop("audit") and after == before


def test_activity_names_the_app_for_each_api_event(ann_client, ann, client):
    user, main, _ = ann
    budgetly = register()
    _, access = consent_with_token(user, budgetly, main)
    client.get(f"/api/v1/accounts/{main.id}/transactions", headers=bearer(access))  # beyond its consent: 403
    page = ann_client.get("/activity").text
    assert "by the app “Budgetly”" in page and "App “None”" not in page


def who_of_api_events(page):
    """The "Who" cell of every event done with an API credential, as the customer reads it."""
    cells = re.findall(r'<td data-label="Who">\s*(.*?)\s*</td>', page, re.S)
    return {cell for cell in cells if cell not in ("You", "Bank staff", "The bank (system)", "Someone not logged in")}


@pytest.mark.parametrize("credential", ["own-use token", "app's token", "OAuth consent"])
def test_activity_calls_a_personal_token_a_token_and_an_app_by_its_own_name(ann_client, ann, client, credential):
    user, main, _ = ann
    budgetly = register()
    if credential == "own-use token":
        _, secret = identity.issue_token(user, name="w1", scopes=("accounts:read",), accounts=[main], actor=SYSTEM)
        db.session.commit()
    elif credential == "app's token":
        _, secret = app_token(user, budgetly, main)  # named "for Budgetly"
    else:
        _, secret = consent_with_token(user, budgetly, main)
    before = state()
    client.get(f"/api/v1/accounts/{main.id}/transactions", headers=bearer(secret))  # beyond its scopes: 403
    assert state()["audit"] == before["audit"] + 1  # the refusal is on the page to read
    page = ann_client.get("/activity").text
    expected = {"own-use token": "Token “w1”"}.get(credential, "App “Budgetly”")
    assert who_of_api_events(page) == {expected}
    assert "App “w1”" not in page and "App “for Budgetly”" not in page and "An app (see details)" not in page
