"""End to end in Chromium: a customer logs in, reads balances, makes a read-only token, uses it, revokes it; every
customer page fits a 390 px phone; reloading after creating a token creates no second one."""
import json
import re
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.models import Account, ApiToken, User
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
    assert page.url == live.url + "/tokens"  # redirected: a reload repeats the GET, not the POST
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
    revoked = page.get_by_test_id("revoked-tokens")
    assert not revoked.locator(f"tr[data-token-prefix='{secret[:10]}']").is_visible()  # folded away
    revoked.locator("summary").click()
    assert revoked.locator(f"tr[data-token-prefix='{secret[:10]}'] .badge").inner_text() == "revoked"

    status, body = api_get(f"{live.url}/api/v1/accounts", secret)
    assert (status, body["code"]) == (401, "unauthorized")

    page.click("nav.mainnav >> text=Activity")
    assert page.locator("table[data-testid=activity]").inner_text().count("API token") >= 2
    screenshot(page, "activity")
    assert page.console_errors == []


def test_reloading_after_creating_a_token_creates_no_second_one(live, page):
    main_id, _, _ = live.setup(ann_with_history)
    log_in(page, live)
    page.goto(live.url + "/tokens")
    page.fill("#name", "Budget app")
    page.check("input[value='accounts:read']")
    page.check(f"input[value='{main_id}']")
    page.click("button:has-text('Create token')")
    secret = page.input_value("#new-token")
    rows = page.locator("table[data-testid=tokens] tbody tr")
    assert rows.count() == 1

    page.reload()
    assert rows.count() == 1  # the reload asked for the list again; it did not post the form again
    assert page.locator("#new-token").count() == 0 and secret not in page.content()  # shown once only
    page.go_back()
    page.reload()
    assert page.locator("table[data-testid=tokens] tbody tr").count() == 1
    assert live.setup(lambda: db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken))) == 1


def ann_with_everything():
    """Ann's history, with a transfer between her accounts, one from Bob, a reversal with a note from the bank,
    a live and a revoked token, and a long description (the layout must wrap it, not scroll)."""
    main_id, last_posting, ten_days_ago = ann_with_history()
    ann = db.session.scalar(sa.select(User).where(User.email == "ann@example.com"))
    main, savings = db.session.scalars(sa.select(Account).where(Account.owner_id == ann.id)
                                       .order_by(Account.name)).all()  # Everyday, Savings
    bob = make_account(make_user(email="bob@example.com", name="Bob Example"), days_old=40, balance=900_00)
    ledger.transfer(main, savings, 100_00, actor=SYSTEM, value_date=days_ago(15))
    ledger.transfer(bob, main, 42_50, actor=SYSTEM, value_date=days_ago(12), description="Concert tickets")
    charge = ledger.withdraw(main, 123_45, actor=SYSTEM, value_date=days_ago(8),
                             description="Furniture-store-with-a-very-long-name-and-no-spaces-Helsinki-Centre")
    ledger.reverse(charge, actor=SYSTEM, reason="INTERNAL: card terminal fault", customer_note="Charged twice")
    for name in ("Budget app with a rather long name", "Old tax tool"):
        token, _ = identity.issue_token(ann, name=name, scopes=["accounts:read", "transactions:read"],
                                        accounts=[main, savings], actor=SYSTEM)
    identity.revoke_token(token, actor=SYSTEM)
    ledger.freeze(savings, actor=SYSTEM, reason="INTERNAL: check", customer_note="We are checking a payment.")
    return main_id, str(charge.id)


OVERFLOW = """(width) => Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .map(e => [e.tagName + (e.className ? '.' + e.className : '') + ' ' + (e.innerText || '').slice(0, 30),
               e.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && (r.left < -0.5 || r.right > width + 0.5))
    .map(([name, r]) => `${name} [${Math.round(r.left)}, ${Math.round(r.right)}]`)"""
BOXES = """(selector) => Array.from(document.querySelectorAll(selector))
    .filter(e => e.getClientRects().length)
    .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; })"""


def assert_fits(page, width, must_show=()):
    """Nothing sticks out sideways, and each of `must_show` (selectors) has elements, all within the viewport."""
    page.wait_for_load_state()  # after a click that navigates: measure the new page, not the one it leaves
    assert page.evaluate(OVERFLOW, width) == [], page.url  # names what sticks out, if anything does
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    for selector in must_show:
        boxes = page.evaluate(BOXES, selector)
        assert boxes, f"nothing matches {selector} on {page.url}"
        for left, right, _, _ in boxes:
            assert left >= 0 and right <= width, (selector, left, right, page.url)


@pytest.mark.parametrize("width", [390, 1280])
def test_every_customer_page_shows_amounts_and_actions_without_sideways_scrolling(live, page, width):
    main_id, charge_id = live.setup(ann_with_everything)
    page.set_viewport_size({"width": width, "height": 844})
    phone = width == 390

    page.goto(live.url + "/login")
    assert_fits(page, width, ["button[type=submit]", "#email", "#password"])
    log_in(page, live, password="not the password")
    assert_fits(page, width, [".flash-error", "button[type=submit]"])
    log_in(page, live)

    assert page.url == live.url + "/"
    assert_fits(page, width, [".account-card .amount", ".total .amount", "form.inline button"])

    page.goto(f"{live.url}/accounts/{main_id}")
    assert page.locator("[data-testid=transactions] .tx-amount .amount").count() == 7
    assert_fits(page, width, ["[data-testid=balance]", "[data-testid=transactions] .tx-amount .amount",
                              "[data-testid=transactions] .tx-text a", "form.row-form button"])
    texts = page.locator("[data-testid=transactions] .tx-text a").all_inner_texts()
    assert "Transfer to Savings" in texts and "Transfer from Bob Example: Concert tickets" in texts
    assert any(text.startswith("Reversal of Furniture-store") for text in texts)
    if phone:
        # Each row's amount sits on the first line of its row, at the right, beside what the row is.
        for row in page.locator("[data-testid=transactions] tbody tr").all():
            text, amount = row.locator(".tx-text").bounding_box(), row.locator(".tx-amount .amount").bounding_box()
            assert amount["x"] >= text["x"] + text["width"] - 1 and abs(amount["y"] - text["y"]) < 12
        screenshot(page, "account-phone")

    page.locator("[data-testid=transactions] .tx-text a", has_text="Reversal of Furniture").click()
    assert page.get_by_test_id("note").inner_text() == "Correction by the bank: Charged twice"
    assert "INTERNAL" not in page.content()
    assert_fits(page, width, [".tx-big .amount", "[data-testid=reverses]"])
    if phone:
        screenshot(page, "transaction-phone")
    page.get_by_test_id("reverses").click()
    assert charge_id in page.url and page.get_by_test_id("reversed-by").is_visible()

    page.goto(live.url + "/tokens")
    assert_fits(page, width, ["[data-testid=tokens] a.button.danger", "form.stack button[type=submit]"])
    page.get_by_test_id("revoked-tokens").locator("summary").click()
    assert_fits(page, width, ["[data-testid=revoked-tokens] .badge-revoked"])
    page.locator("[data-testid=tokens] a.button.danger").first.click()
    assert_fits(page, width, ["form.actions button.danger", "form.actions a.button"])  # the question, then back
    page.click("text=Cancel")
    page.fill("#name", "Phone app")
    page.check("input[value='accounts:read']")
    page.check(f"input[value='{main_id}']")
    page.click("button:has-text('Create token')")
    page.wait_for_selector("#new-token")
    assert_fits(page, width, ["#new-token", "[data-copy]", "[data-testid=tokens] a.button.danger"])
    if phone:
        screenshot(page, "tokens-phone")

    page.goto(live.url + "/activity")
    assert_fits(page, width, ["[data-testid=activity] .badge", "[data-testid=activity] .details"])
    assert "We are checking a payment." in page.content() and "INTERNAL" not in page.content()

    assert page.console_errors == []
    response = page.goto(live.url + "/accounts/00000000-0000-0000-0000-000000000000")
    assert response.status == 404
    assert_fits(page, width, [".error-code", ".error-page a.button"])


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


def ann_with_used_tokens():
    """Ann's history and four tokens with long names, expiries and a recorded last use (every column full)."""
    import datetime as dt

    from portal.kernel import clock

    main_id, _, _ = ann_with_history()
    ann = db.session.scalar(sa.select(User).where(User.email == "ann@example.com"))
    accounts = db.session.scalars(sa.select(Account).where(Account.owner_id == ann.id)).all()
    for n in range(4):
        token, _ = identity.issue_token(ann, name=f"Budgeting app number {n} with a long name",
                                        scopes=["accounts:read", "transactions:read", "transactions:write"],
                                        accounts=accounts, actor=SYSTEM, expires_at=clock.now() + dt.timedelta(days=90))
        token.last_used_at, token.last_used_ip = clock.now(), "2001:db8:85a3::8a2e:370:7334"
    return main_id


@pytest.mark.parametrize("width", [1024, 1200, 1280, 1366])
def test_the_tokens_page_fits_laptop_screens_with_every_column_full(live, page, width):
    live.setup(ann_with_used_tokens)
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live)
    page.goto(live.url + "/tokens")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for box in page.locator("[data-testid=tokens] a.button.danger").all():
        bounds = box.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
