"""End to end in Chromium: the example third-party client (examples/third_party_app) connects to the live bank —
the customer logs in and allows it one account, the client gets tokens, reads the balance and refreshes — then the
customer revokes it on /connected-apps and the client's next call is refused with 401."""
import io
import threading

from examples.third_party_app.client import ApiError, BankClient, CallbackServer, run
from portal.extensions import db
from portal.identity import apps
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import PASSWORD, SYSTEM, make_account, make_user

pytestmark = BROWSER_MARKS


def test_the_example_client_connects_reads_a_balance_and_is_cut_off(live, page):
    callback = CallbackServer("http://127.0.0.1:0/callback")  # a free port, the example's own listener

    def build():
        user = make_user(email="ann@example.com", name="Ann Example")
        main = make_account(user, days_old=30, balance=1_234_56, name="Everyday")
        make_account(user, days_old=30, balance=9_000_00, name="Savings")
        app, secret = apps.register_app(name="Budget Buddy", homepage="https://budgetbuddy.example",
                                        redirect_uris=[callback.redirect_uri], client_type="confidential",
                                        scopes=["accounts:read", "transactions:read"], actor=SYSTEM)
        db.session.flush()
        return str(main.id), app.client_id, secret

    main_id, client_id, secret = live.setup(build)
    client = BankClient(client_id, secret, base_url=live.url, redirect_uri=callback.redirect_uri)
    out, outcome = io.StringIO(), {}

    def flow():
        try:
            run(client, out=out, timeout=60, callback=callback)
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            outcome["error"] = error

    thread = threading.Thread(target=flow, daemon=True)
    thread.start()
    try:
        page.goto(client.authorization_url())
        page.wait_for_url(f"{live.url}/login**")
        page.fill("#email", "ann@example.com")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        assert page.get_by_test_id("app-name").inner_text() == "Budget Buddy"
        page.check(f"input[value='{main_id}']")
        screenshot(page, "oauth-consent")
        page.click("button[name=allow]")
        page.wait_for_url(f"{callback.redirect_uri}?**")
        assert "Thanks" in page.inner_text("h1")
    finally:
        thread.join(timeout=60)
    assert not thread.is_alive(), "the example client did not finish its flow"
    assert "error" not in outcome, outcome.get("error")

    printed = out.getvalue()
    assert "Everyday" in printed and "1234.56 EUR" in printed and "Savings" not in printed
    assert "Refreshed" in printed
    balance = client.get(f"/accounts/{main_id}/balance")  # with the refreshed access token
    assert (balance["balance"], balance["currency"]) == ("1234.56", "EUR")

    page.goto(live.url + "/connected-apps")
    page.locator("[data-testid^=consent-]").get_by_role("button", name="Revoke").click()
    assert "Budget Buddy can no longer reach your accounts" in page.locator(".flash-success").inner_text()
    screenshot(page, "oauth-revoked")

    try:
        client.get(f"/accounts/{main_id}/balance")
    except ApiError as error:
        assert error.status == 401
    else:
        raise AssertionError("the revoked app could still read the balance")
