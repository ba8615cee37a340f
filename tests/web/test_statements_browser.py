"""Statements in Chromium: from the account page to the statements page, which fits a 390 px phone, and both
downloads of the current month, read back."""
import csv
import io

import pypdf
import pytest

from portal import ledger
from portal.ledger.statements import Month
from tests.browser_support import BROWSER_MARKS, screenshot
from tests.web.test_browser import ann_with_history, assert_fits, log_in

pytestmark = BROWSER_MARKS


def ann_and_this_month():
    main_id, _, _ = ann_with_history()
    return main_id, str(Month.of(ledger.today()))


@pytest.mark.parametrize("width", [1280, 390])
def test_the_statements_page_lists_the_months_and_downloads_csv_and_pdf(live, page, width):
    main_id, period = live.setup(ann_and_this_month)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live)
    page.goto(f"{live.url}/accounts/{main_id}")
    page.get_by_test_id("statements-link").click()
    assert page.url == f"{live.url}/accounts/{main_id}/statements"
    rows = page.locator("[data-testid=statements] li")
    assert rows.first.get_attribute("data-period") == period
    assert "so far" in rows.first.inner_text()
    assert rows.count() >= 2  # the account is 40 days old: this month and at least the one before
    assert_fits(page, width, [".statement-month", ".statement-links a"])
    screenshot(page, "statements" if width > 390 else "statements-phone")

    with page.expect_download() as got:
        rows.first.locator("a", has_text="CSV").click()
    download = got.value
    assert download.suggested_filename.startswith("statement-FI") and download.suggested_filename.endswith(
        f"-{period}.csv")
    table = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))  # noqa: SIM115
    header = dict(row for row in table[:table.index([])])
    assert header["closing_balance"] == "987.60" and header["period"] == f"{period} (so far)"

    with page.expect_download() as got:
        rows.first.locator("a", has_text="PDF").click()
    download = got.value
    assert download.suggested_filename.endswith(f"-{period}.pdf")
    with open(download.path(), "rb") as file:
        text = pypdf.PdfReader(io.BytesIO(file.read())).pages[0].extract_text()
    assert "Closing balance €987.60" in text and "Ledger Bank" in text
    assert page.console_errors == []
