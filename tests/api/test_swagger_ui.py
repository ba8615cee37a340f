"""The Swagger page in Chromium: a token pasted into Authorize works alone or with its "Bearer " scheme."""
import pytest

from tests.api.conftest import issue
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.factories import make_account, make_user

pytestmark = BROWSER_MARKS


def customer_with_token():
    user = make_user(email="ann@example.com")
    make_account(user, days_old=30, balance=125_40, name="Everyday")
    return issue(user, user.accounts)


def authorize(page, value):
    page.click(".auth-wrapper button.authorize")
    page.fill(".modal-ux input[type=text]", value)
    page.click(".modal-ux button.modal-btn.auth.authorize")
    page.click(".modal-ux button.btn-done")


def list_accounts(page):
    """Run "List the accounts granted to the token" and return (status shown, Authorization header sent)."""
    operation = page.locator("#operations-accounts-get_account_list")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_request(lambda request: request.url.endswith("/api/v1/accounts")) as sent:
        operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    return status.inner_text().strip(), sent.value.headers.get("authorization")


@pytest.mark.parametrize("pasted", ["bare", "with scheme"])
def test_a_pasted_token_works_alone_or_with_bearer(live, page, pasted):
    secret = live.setup(customer_with_token)
    page.goto(live.url + "/api/v1/docs")
    assert "docs/api.md" in page.locator(".information-container").inner_text()
    authorize(page, secret if pasted == "bare" else f"Bearer {secret}")

    status, sent = list_accounts(page)
    assert (status, sent) == ("200", f"Bearer {secret}")
    operation = page.locator("#operations-accounts-get_account_list")
    assert "125.40" in operation.locator(".live-responses-table").inner_text()
    # The curl line the page offers to copy is the request as sent, scheme included.
    assert f"Authorization: Bearer {secret}'" in operation.locator(".curl-command").inner_text()
    if pasted == "bare":
        screenshot(page, "swagger-authorized")
    assert page.console_errors == []


def test_the_docs_page_loads_with_nothing_refused_by_the_content_security_policy(live, page):
    page.goto(live.url + "/api/v1/docs")
    page.locator("#operations-accounts-get_account_list").wait_for()
    # Flask-RESTX's page carried an inline <style> the policy refused; its rules now come from a stylesheet.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    assert page.console_errors == []
