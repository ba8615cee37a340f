"""Connected apps in Chromium on a phone: every app fits 390 px, and revoking works with the page's own form."""
from portal import identity
from portal.extensions import db
from portal.identity import apps, consents
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import PASSWORD, SYSTEM, make_account, make_user

pytestmark = BROWSER_MARKS


def ann_with_connected_apps():
    user = make_user(email="ann@example.com", name="Ann Example")
    main = make_account(user, days_old=40, balance=1_250_00, name="Everyday")
    savings = make_account(user, days_old=40, balance=5_000_00, name="Savings")
    budget, _ = apps.register_app(name="Budget Buddy with a rather long name", homepage="https://budget-buddy.example",
                                  redirect_uris=["https://budget-buddy.example/callback"], client_type="confidential",
                                  scopes=["accounts:read", "transactions:read"], actor=SYSTEM)
    payly, _ = apps.register_app(name="Payly", homepage="https://payly.example",
                                 redirect_uris=["https://payly.example/cb"], client_type="public",
                                 scopes=["accounts:read", "transactions:write"], actor=SYSTEM)
    consent = consents.grant_consent(user, budget, scopes=["accounts:read", "transactions:read"],
                                     accounts=[main, savings], actor=SYSTEM)
    identity.issue_token(user, name="Payly on my phone", scopes=["transactions:write"], accounts=[main],
                         actor=SYSTEM, app=payly)
    db.session.commit()
    return consent.id


def test_connected_apps_fit_a_phone_and_revoke_in_the_browser(live, page):
    consent_id = live.setup(ann_with_connected_apps)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live.url + "/login")
    page.fill("#email", "ann@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live.url + "/connected-apps")
    assert "Budget Buddy" in page.text_content("main") and "Payly" in page.text_content("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    button = page.locator(f"[data-testid=consent-{consent_id}] button")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "connected-apps-phone")
    button.click()
    assert "can no longer reach your accounts" in page.text_content("main")
    assert page.locator(f"[data-testid=consent-{consent_id}] .badge").inner_text() == "revoked"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The tokens page offers the apps by name and homepage, and still fits.
    page.goto(live.url + "/tokens")
    assert "Budget Buddy with a rather long name — https://budget-buddy.example" in page.inner_text("#app")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.console_errors == []
