"""The back-office in Chromium: an operator asks to correct a double charge and a second one approves it (four
eyes); a viewer can look but not touch."""
import pytest

from portal import ledger
from portal.models import Role
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import PASSWORD, SYSTEM, days_ago, make_account, make_user

pytestmark = BROWSER_MARKS


def small_bank():
    customer = make_user(email="carla@example.com", name="Carla Customer")
    account = make_account(customer, days_old=30, balance=500_00, name="Everyday")
    ledger.withdraw(account, 42_00, actor=SYSTEM, value_date=days_ago(5), description="Coffee machine")
    charge = ledger.withdraw(account, 42_00, actor=SYSTEM, value_date=days_ago(5), description="Coffee machine (twice)")
    for role in (Role.VIEWER, Role.OPERATOR):
        make_user(role=role, email=f"{role.value}@bank.example", name=f"{role.value.title()} Staff")
    make_user(role=Role.OPERATOR, email="checker@bank.example", name="Olga Checker")
    return account.number, str(account.id), str(charge.id)


def log_in(page, live, email):
    page.goto(live.url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def log_out(page):
    page.click("button:has-text('Log out')")


def test_operator_requests_the_reversal_of_a_double_charge_and_a_second_one_approves_it(live, page):
    number, account_id, charge_id = live.setup(small_bank)
    log_in(page, live, "operator@bank.example")
    assert page.url == live.url + "/admin/"
    assert "all invariants hold" in page.get_by_test_id("ledger-health").inner_text()
    screenshot(page, "admin-dashboard")

    spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4)).lower()
    page.fill("input[name=search][placeholder^='Account number']", spaced)
    page.click("button:has-text('Accounts')")
    assert "List (1)" in page.inner_text("body")
    screenshot(page, "admin-accounts")
    page.locator("table.model-list a", has_text=number[:4]).first.click()
    assert page.get_by_test_id("balance").inner_text() == "€416.00"
    screenshot(page, "admin-account")

    page.locator("[data-testid=history] a", has_text="Coffee machine (twice)").click()
    assert charge_id in page.url
    page.click("text=Reverse…")
    page.fill("#reason", "Card terminal charged the customer twice")
    page.fill("#customer_note", "We refunded a double charge.")
    page.click("button:has-text('Review')")
    summary = page.get_by_test_id("summary").inner_text()
    assert "Card terminal charged the customer twice" in summary
    assert "The customer is told: We refunded a double charge." in summary
    assert "Nothing changes until a second member of staff approves it" in page.get_by_test_id("four-eyes").inner_text()
    screenshot(page, "admin-confirm-reversal")
    page.click("button:has-text('Request approval')")
    # Requested, not applied: the maker sees the request, is not offered Approve, and the money has not moved.
    assert "Requested: it takes effect when a second member of staff approves it." in page.inner_text("body")
    assert page.get_by_test_id("status").inner_text() == "pending"
    assert page.locator("button:has-text('Approve')").count() == 0
    assert page.locator("button:has-text('Withdraw')").count() == 1
    request_url = page.url
    screenshot(page, "admin-approval-requested")
    page.goto(f"{live.url}/admin/transaction/details/?id={charge_id}")
    assert "Pending approval" in page.get_by_test_id("pending-approval").inner_text()
    screenshot(page, "admin-pending-banner")
    page.goto(f"{live.url}/admin/account/details/?id={account_id}")
    assert page.get_by_test_id("balance").inner_text() == "€416.00"
    log_out(page)

    # A second operator finds it in the inbox and approves it: now it is applied.
    log_in(page, live, "checker@bank.example")
    assert "Corrections awaiting approval: 1" in page.get_by_test_id("awaiting-approval").inner_text()
    page.click("a:has-text('Approvals')")
    inbox = page.inner_text("table.model-list")
    assert "transaction.reverse" in inbox and "pending" in inbox and "operator@bank.example" in inbox
    assert "€42.00" in inbox or "-€42.00" in inbox or "−€42.00" in inbox
    screenshot(page, "admin-approvals-inbox")
    page.goto(request_url)
    screenshot(page, "admin-approval-request")
    page.click("button:has-text('Approve and apply')")
    assert "Approved: Transaction reversed." in page.inner_text("body")
    assert page.get_by_test_id("status").inner_text() == "approved"
    story = page.get_by_test_id("story").inner_text()
    assert "correction.request" in story and "correction.approve" in story and "transaction.reverse" in story
    assert "asked by operator@bank.example" in story
    screenshot(page, "admin-approval-approved")
    page.goto(f"{live.url}/admin/transaction/details/?id={charge_id}")
    assert "Reversed by" in page.inner_text("body")

    page.goto(f"{live.url}/admin/account/details/?id={account_id}")
    assert page.get_by_test_id("balance").inner_text() == "€458.00"
    history = page.get_by_test_id("history").inner_text()
    assert "reversal" in history and "reversed" in history

    page.click("text=Audit history of this account")
    page.goto(f"{live.url}/admin/auditevent/?search=transaction.reverse")
    audit = page.inner_text("table.model-list")
    assert "transaction.reverse" in audit and "Card terminal charged the customer twice" in audit
    screenshot(page, "admin-audit")
    assert not [e for e in page.console_errors if "Content Security Policy" not in e]


def test_viewer_sees_no_correction_controls_and_is_refused_a_direct_post(live, page):
    _, account_id, charge_id = live.setup(small_bank)
    log_in(page, live, "viewer@bank.example")
    page.goto(f"{live.url}/admin/transaction/details/?id={charge_id}")
    assert page.locator("text=Reverse…").count() == 0
    page.goto(f"{live.url}/admin/account/details/?id={account_id}")
    assert page.get_by_test_id("corrections").count() == 0
    # Post the operator's form directly, with the viewer's own valid CSRF token: refused by the endpoint itself.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(f"{live.url}/admin/transaction/{charge_id}/reverse",
                                 form={"csrf_token": token, "reason": "sneaky", "confirmed": "yes"})
    assert response.status == 403
    page.goto(f"{live.url}/admin/account/details/?id={account_id}")
    assert page.get_by_test_id("balance").inner_text() == "€416.00"


@pytest.mark.parametrize("width", [1200, 1280, 1366, 1440])
def test_the_admin_navigation_fits_on_one_line(live, page, width):
    live.setup(small_bank)
    page.set_viewport_size({"width": width, "height": 800})
    live.setup(lambda: make_user(role=Role.ADMIN, email="admin@bank.example", name="Adalberta Administrator"))
    log_in(page, live, "admin@bank.example")
    page.goto(live.url + "/admin/")  # measured once the page and its stylesheets have loaded, not mid-navigation
    visible = "els => els.filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect())"
    boxes = page.eval_on_selector_all(".navbar .nav-link, .navbar-brand, .navbar button, .navbar .who", visible)
    tops = [round(box["top"] + box["height"] / 2) for box in boxes]  # the middle of each: one line, one middle
    heights = [round(box["height"]) for box in boxes]
    assert len(tops) >= 8
    # One line: every link and the log-out button start within a few pixels of each other, none wraps inside.
    assert max(tops) - min(tops) <= 16, tops
    assert max(heights) <= 44, heights
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [390, 1280])
def test_wide_tables_scroll_inside_their_box_and_the_page_keeps_its_width(live, page, width):
    _, account_id, _ = live.setup(small_bank)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live, "operator@bank.example")
    for path in ("/admin/", f"/admin/account/details/?id={account_id}"):
        page.goto(live.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        # Every table sits in a box that scrolls sideways when the table is wider than the screen.
        unwrapped = page.eval_on_selector_all(
            "table", "tables => tables.filter(t => !t.closest('.table-responsive')).map(t => t.className)")
        assert unwrapped == [], path
    assert page.console_errors == []
