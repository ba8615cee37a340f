"""The customer's statements page: the months newest first, the current one "so far", each as CSV and PDF, in
the same words as the account page; nobody else's."""
import csv
import io
import re

import pypdf
import pytest

from portal import ledger
from portal.extensions import db
from portal.ledger.statements import Month
from portal.models import Role
from tests.factories import SYSTEM, make_account, make_user, snapshot
from tests.web.conftest import login
from tests.web.test_transactions import rows


def months_between(first, last):
    month, found = Month.of(last), []
    while (month.year, month.month) >= (first.year, first.month):
        found.append(str(month))
        month = month.previous()
    return found


def test_the_account_page_links_its_statements(ann_client, ann):
    _, main, _ = ann
    page = ann_client.get(f"/accounts/{main.id}").text
    assert f'href="/accounts/{main.id}/statements"' in page


def test_the_page_lists_every_month_newest_first_the_current_one_so_far(ann_client, ann):
    _, main, _ = ann
    page = ann_client.get(f"/accounts/{main.id}/statements")
    assert page.status_code == 200
    listed = re.findall(r'data-period="([0-9]{4}-[0-9]{2})"', page.text)
    assert listed == months_between(main.opened_on, ledger.today())
    first_row = page.text.split('data-period="')[1]
    assert "so far" in first_row.split("</li>")[0]
    assert page.text.count("so far") == 1
    for period in listed:
        assert f"/accounts/{main.id}/statements/{period}.csv" in page.text
        assert f"/accounts/{main.id}/statements/{period}.pdf" in page.text


def test_the_downloads_tell_each_transaction_in_the_account_pages_words(ann_client, ann):
    user, main, savings = ann
    bob = make_account(make_user(email="bob@example.com", name="Bob Example"), days_old=30, name="Bob's own")
    ledger.transfer(main, savings, 10_00, actor=SYSTEM, description="")
    ledger.transfer(main, bob, 5_00, actor=SYSTEM, description="rent")
    groceries = ledger.withdraw(main, 7_00, actor=SYSTEM, description="Groceries")
    db.session.commit()
    ledger.reverse(groceries, actor=SYSTEM, reason="internal reason")
    ledger.adjust(main, 1_00, actor=SYSTEM, reason="internal", customer_note="Fee refund €1 for łódź")
    db.session.commit()
    period = str(Month.of(ledger.today()))
    response = ann_client.get(f"/accounts/{main.id}/statements/{period}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="statement-{main.number}-{period}.csv"'
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    described = [row[1] for row in table[table.index([]) + 2:]]
    on_the_page = [text for text, _ in rows(ann_client, main)]
    this_month = [text for text in on_the_page if text in described]
    assert sorted(this_month) == sorted(described[-5:]) and len(this_month) >= 5
    assert {"Transfer to Savings", "Transfer to Bob Example: rent", "Correction by the bank: Fee refund €1 for łódź",
            } <= set(described)
    assert any(text.startswith("Reversal of Groceries (") for text in described)
    assert "internal" not in response.get_data(as_text=True)  # the staff's reason is never the customer's
    pdf = ann_client.get(f"/accounts/{main.id}/statements/{period}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Transfer to Bob Example: rent" in text and "Fee refund €1 for łódź" in text


@pytest.mark.parametrize("period", ["2026-13", "26-01", "2026-1", "2999-01", "1999-01"])
def test_a_bad_or_out_of_range_month_is_404_and_changes_nothing(ann_client, ann, period):
    _, main, _ = ann
    before = snapshot()
    assert ann_client.get(f"/accounts/{main.id}/statements/{period}.csv").status_code == 404
    assert snapshot() == before


def test_another_customers_statements_are_404_and_staff_get_403(app, client, ann):
    _, main, _ = ann
    make_user(email="eve@example.com")
    assert login(client, "eve@example.com").status_code == 302
    period = str(Month.of(ledger.today()))
    for url in (f"/accounts/{main.id}/statements", f"/accounts/{main.id}/statements/{period}.pdf"):
        assert client.get(url).status_code == 404
    staff = app.test_client()
    make_user(role=Role.VIEWER, email="viewer@bank.example")
    assert login(staff, "viewer@bank.example").status_code == 302
    assert staff.get(f"/accounts/{main.id}/statements").status_code == 403
    anonymous = app.test_client().get(f"/accounts/{main.id}/statements")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
