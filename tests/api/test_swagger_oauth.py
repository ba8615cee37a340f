"""Swagger UI's Authorize runs the OAuth 2.0 flow (authorization code + PKCE) against this server, in Chromium.

The popup comes back to /api/v1/oauth2-redirect.html, a page whose script is a file (the CSP forbids inline
script), and the access token it gets is then sent by "Try it out" like any other bearer token.
"""
from urllib.parse import parse_qs, urlsplit

from portal.extensions import db
from portal.identity import apps
from tests.api.test_swagger_ui import list_accounts
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import PASSWORD, SYSTEM, make_account, make_user

pytestmark = BROWSER_MARKS

REDIRECT_PATH = "/api/v1/oauth2-redirect.html"


def test_authorize_runs_the_pkce_flow_and_try_it_out_uses_the_access_token(live, page):
    def build():
        user = make_user(email="ann@example.com", name="Ann Example")
        make_account(user, days_old=30, balance=321_00, name="Everyday")
        app, secret = apps.register_app(name="Swagger tester", homepage="https://tester.example",
                                        redirect_uris=[live.url + REDIRECT_PATH], client_type="confidential",
                                        scopes=["accounts:read"], actor=SYSTEM)
        db.session.flush()
        return app.client_id, secret

    client_id, secret = live.setup(build)
    page.goto(live.url + "/api/v1/docs")
    page.click(".auth-wrapper button.authorize")
    oauth = page.locator(".modal-ux .auth-container").filter(has_text="oauth2")
    oauth.locator("#client_id").fill(client_id)
    oauth.locator("#client_secret").fill(secret)
    oauth.locator("label[for='accounts:read-accessCode-checkbox-oauth2']").click()  # the checkbox is drawn by CSS
    assert oauth.locator("input[data-value='accounts:read']").is_checked()
    with page.expect_popup() as opened:
        oauth.locator("button.modal-btn.auth.authorize").click()
    popup = opened.value
    popup.wait_for_url(f"{live.url}/login**")
    asked = parse_qs(urlsplit(popup.url).query)["next"][0]
    asked_for = parse_qs(urlsplit(asked).query)
    # Swagger UI sent PKCE (S256) and the registered redirect URI.
    assert asked_for["code_challenge_method"] == ["S256"] and asked_for["code_challenge"]
    assert asked_for["redirect_uri"] == [live.url + REDIRECT_PATH]
    popup.fill("#email", "ann@example.com")
    popup.fill("#password", PASSWORD)
    popup.click("button[type=submit]")
    assert popup.get_by_test_id("app-name").inner_text() == "Swagger tester"
    popup.locator("input[name=accounts]").first.check()
    with popup.expect_event("close"):
        popup.click("button[name=allow]")
    oauth = page.locator(".modal-ux .auth-container").filter(has_text="oauth2")
    oauth.get_by_text("Authorized").wait_for()
    screenshot(page, "swagger-oauth-authorized")
    page.click(".modal-ux button.btn-done")

    status, sent = list_accounts(page)
    assert status == "200" and sent.startswith("Bearer pat_")
    operation = page.locator("#operations-accounts-get_account_list")
    assert "321.00" in operation.locator(".live-responses-table").inner_text()
    assert [error for error in page.console_errors if not error.startswith("Applying inline style")] == []


def test_the_redirect_page_alone_explains_itself_and_has_no_inline_script(client):
    response = client.get(REDIRECT_PATH)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script src=" in body and "<script>" not in body
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
