"""End to end in Chromium: a customer logs in, reads balances, makes a read-only token, uses it, revokes it."""
import json
import re
import urllib.error
import urllib.request

from portal import ledger
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import PASSWORD, SYSTEM, days_ago, make_account, make_user

pytestmark = BROWSER_MARKS


def api_get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def ann_with_history():
    user = make_user(email="ann@example.com", name="Ann Example")
    main = make_account(user, days_old=40, balance=1_250_00, name="Everyday")
    make_account(user, days_old=40, balance=5_000_00, name="Savings")
    ledger.withdraw(main, 250_00, actor=SYSTEM, value_date=days_ago(20), description="Rent")
    ledger.withdraw(main, 12_40, actor=SYSTEM, value_date=days_ago(2), description="Groceries")
    return str(main.id), days_ago(2).isoformat(), days_ago(10).isoformat()


def log_in(page, live, password=PASSWORD):
    page.goto(live.url + "/login")
    page.fill("#email", "ann@example.com")
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_customer_journey_in_a_real_browser(live, page):
    main_id, last_posting, ten_days_ago = live.setup(ann_with_history)

    log_in(page, live, password="not the password")
    assert page.locator(".flash-error").inner_text() == "Wrong email or password."
    screenshot(page, "login-failed")

    log_in(page, live)
    assert page.url == live.url + "/"
    assert "€987.60" in page.locator(".account-card", has_text="Everyday").inner_text()
    screenshot(page, "accounts")

    page.click(".account-card >> text=Everyday")
    assert page.url.endswith(f"/accounts/{main_id}")
    rows = page.locator("table.table tbody tr")
    assert rows.first.inner_text().startswith(last_posting)
    page.fill("#date", ten_days_ago)
    page.click("button:has-text('Show')")
    assert "€1,000.00" in page.get_by_test_id("balance-at").inner_text()
    screenshot(page, "account")

    page.click("nav.mainnav >> text=API tokens")
    page.fill("#name", "Budget app")
    page.check("input[value='accounts:read']")
    page.check("input[value='transactions:read']")
    page.check(f"input[value='{main_id}']")
    page.click("button:has-text('Create token')")
    secret = page.input_value("#new-token")
    assert re.fullmatch(r"pt_[A-Za-z0-9_-]{43}", secret)
    screenshot(page, "tokens")

    status, body = api_get(f"{live.url}/api/v1/accounts/{main_id}/balance", secret)
    assert (status, body["balance"]) == (200, "987.60")
    status, body = api_get(f"{live.url}/api/v1/accounts/{main_id}/transactions", secret)
    assert status == 200 and body["data"][0]["description"] == "Groceries"

    page.goto(live.url + "/tokens")
    assert secret not in page.content()  # shown once only
    page.locator(f"tr[data-token-prefix='{secret[:10]}'] >> text=Revoke…").click()
    screenshot(page, "revoke-token")
    page.click("button:has-text('Yes, revoke it')")
    assert "is revoked" in page.locator(".flash-success").inner_text()
    assert page.locator(f"tr[data-token-prefix='{secret[:10]}'] .badge").inner_text() == "revoked"

    status, body = api_get(f"{live.url}/api/v1/accounts", secret)
    assert (status, body["code"]) == (401, "unauthorized")

    page.click("nav.mainnav >> text=Activity")
    assert page.locator("table[data-testid=activity]").inner_text().count("API token") >= 2
    screenshot(page, "activity")
    assert page.console_errors == []


def test_pages_fit_a_phone_screen(live, page):
    live.setup(ann_with_history)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "accounts-phone")


def test_a_customer_changes_their_password_in_the_browser_on_a_phone(live, page):
    live.setup(ann_with_history)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live)
    page.click("text=Password")
    assert page.url.endswith("/password")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "short")
    page.fill("#repeat", "short")
    page.click("main button[type=submit]")
    assert "at least 12 characters" in page.text_content("main")
    for selector in ("#current_password", "#new_password", "#repeat", "main button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector  # no sideways scrolling
    screenshot(page, "password-phone")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "a brand new passphrase")
    page.fill("#repeat", "a brand new passphrase")
    page.click("main button[type=submit]")
    assert "Your password is changed" in page.text_content("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.console_errors == []
