"""Statements through the API: the months, one month as JSON, CSV or PDF, content negotiation and the refusals."""
import csv
import datetime as dt
import io

import pypdf
import pytest

from portal import ledger
from portal.extensions import db
from portal.kernel import clock
from portal.models import Scope
from tests.api.conftest import bearer, issue
from tests.factories import SYSTEM, make_account, make_user, snapshot

NOW = dt.datetime(2026, 11, 15, 10, 0, tzinfo=dt.UTC)  # the bank's today: 2026-11-15


@pytest.fixture(autouse=True)
def mid_november(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def history(customer):
    """Main opened 2026-10-16 with 100.00; in October -30.00 and a transfer of 20.00 to Savings; in November
    +5.50, and the October withdrawal reversed (on its own value date: backdated into October)."""
    main, savings = customer.main, customer.savings
    ledger.withdraw(main, 30_00, actor=SYSTEM, value_date=dt.date(2026, 10, 20), description="Groceries")
    ledger.transfer(main, savings, 20_00, actor=SYSTEM, value_date=dt.date(2026, 10, 25), description="")
    db.session.commit()
    ledger.deposit(main, 5_50, actor=SYSTEM, value_date=dt.date(2026, 11, 2), description="=cmd|' /C calc'!A0")
    groceries = next(t for t in main_transactions(main) if t.description == "Groceries")
    ledger.reverse(groceries, actor=SYSTEM, reason="duplicate")
    db.session.commit()
    return customer


def main_transactions(account):
    from portal.models import Entry, Transaction

    return db.session.scalars(db.select(Transaction).join(Entry).where(Entry.account_id == account.id)).all()


def path(account, period=None):
    return f"/api/v1/accounts/{account.id}/statements" + (f"/{period}" if period else "")


def test_the_list_runs_from_the_opening_month_to_the_current_one_newest_first(client, history):
    response = client.get(path(history.main), headers=history.headers)
    assert response.status_code == 200
    assert response.get_json() == {"data": [{"period": "2026-11", "partial": True},
                                            {"period": "2026-10", "partial": False}]}


def test_a_past_month_as_json(client, history):
    response = client.get(path(history.main, "2026-10"), headers=history.headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert {k: body[k] for k in ("account_id", "number", "currency", "period", "partial", "from", "to",
                                 "opening_balance", "closing_balance", "total_in", "total_out")} == {
        "account_id": str(history.main.id), "number": history.main.number, "currency": "EUR", "period": "2026-10",
        "partial": False, "from": "2026-10-01", "to": "2026-10-31", "opening_balance": "0.00",
        "closing_balance": "80.00", "total_in": "130.00", "total_out": "50.00"}
    rows = [(t["value_date"], t["amount"], t["balance_after"], t["kind"], t["text"]) for t in body["transactions"]]
    assert rows == [("2026-10-16", "100.00", "100.00", "deposit", "Opening deposit"),
                    ("2026-10-20", "-30.00", "70.00", "withdrawal", "Groceries"),
                    ("2026-10-20", "30.00", "100.00", "reversal", "Reversal of Groceries (20 Oct)"),
                    ("2026-10-25", "-20.00", "80.00", "transfer", "Transfer to Savings")]
    assert body["transactions"][1]["reversed_by"] == body["transactions"][2]["id"]
    assert body["transactions"][3]["counterparty"] == "Savings"


def test_the_current_month_runs_to_today_and_agrees_with_the_balance_at_dates(client, history):
    body = client.get(path(history.main, "2026-11"), headers=history.headers).get_json()
    assert (body["partial"], body["from"], body["to"]) == (True, "2026-11-01", "2026-11-15")
    assert (body["opening_balance"], body["total_in"], body["total_out"], body["closing_balance"]) == (
        "80.00", "5.50", "0.00", "85.50")
    balance = f"/api/v1/accounts/{history.main.id}/balance"
    at = {day: client.get(balance, query_string={"date": day}, headers=history.headers).get_json()["balance"]
          for day in ("2026-10-31", "2026-11-15")}
    assert (body["opening_balance"], body["closing_balance"]) == (at["2026-10-31"], at["2026-11-15"])


def test_csv_rows_equal_the_json_rows_and_cells_are_formula_safe(client, history):
    body = client.get(path(history.main, "2026-11"), headers=history.headers).get_json()
    response = client.get(path(history.main, "2026-11"), headers={**history.headers, "Accept": "text/csv"},
                          buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed and "Content-Length" not in response.headers  # a generator, sent as it is made
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="statement-{history.main.number}-2026-11.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    header = dict(row for row in rows[:rows.index([])])
    assert header["account"] == history.main.number and header["opening_balance"] == body["opening_balance"]
    assert header["period"] == "2026-11 (so far)" and header["closing_balance"] == body["closing_balance"]
    table = rows[rows.index([]) + 1:]
    assert table[0] == ["date", "description", "kind", "counterparty", "amount", "balance_after"]
    assert table[1:] == [[t["value_date"], t["text"] if not t["text"].startswith("=") else "'" + t["text"],
                          t["kind"], t["counterparty"] or "", t["amount"], t["balance_after"]]
                         for t in body["transactions"]]
    assert table[1][1] == "'=cmd|' /C calc'!A0"  # a spreadsheet reads it as text, never runs it


def test_pdf_parses_and_carries_the_closing_balance(client, history):
    response = client.get(path(history.main, "2026-10"), headers={**history.headers, "Accept": "application/pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith(f'filename="statement-{history.main.number}-2026-10.pdf"')
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    assert "Closing balance €80.00" in text and "Page 1 of 1" in text
    assert "Transfer to Savings" in text and "Generated at 2026-11-15 10:00 UTC" in text


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "application/json"), ("*/*", "application/json"), ("application/json", "application/json"),
    ("text/csv", "text/csv"), ("application/pdf", "application/pdf"), ("text/*", "text/csv"),
    ("application/json;q=0.5, application/pdf", "application/pdf"),
    # Media-type parameters other than q (a charset, CSV's header flag) do not make a type unacceptable.
    ("application/json; charset=utf-8", "application/json"), ("text/csv; charset=utf-8", "text/csv"),
    ("text/csv; charset=UTF-8", "text/csv"), ("text/csv;header=present", "text/csv"),
    ("application/pdf; q=0.9, text/csv; charset=utf-8; q=0.5", "application/pdf"),
    ("APPLICATION/PDF", "application/pdf"),
])
def test_content_negotiation(client, history, accept, expected):
    headers = dict(history.headers, **({"Accept": accept} if accept else {}))
    response = client.get(path(history.main, "2026-10"), headers=headers)
    assert response.status_code == 200 and response.mimetype == expected
    assert "Accept" in response.vary  # a cache keeps one answer per Accept header, never the wrong format


def test_a_406_varies_on_accept_too(client, history):
    response = client.get(path(history.main, "2026-10"), headers={**history.headers, "Accept": "text/html"})
    assert response.status_code == 406 and "Accept" in response.vary


@pytest.mark.parametrize("accept", ["text/html", "application/xml, image/*", "application/json;q=0"])
def test_only_other_media_types_acceptable_is_406_in_the_envelope(client, history, accept):
    response = client.get(path(history.main, "2026-10"), headers={**history.headers, "Accept": accept})
    assert response.status_code == 406
    body = response.get_json()
    assert body["code"] == "not_acceptable" and body["request_id"]


@pytest.mark.parametrize("period", ["2026-13", "26-01", "2026-1", "2026-00", "2026-10-01", "２０２６-10", "x"])
def test_a_malformed_period_is_400_and_changes_nothing(client, history, period):
    before = snapshot()
    response = client.get(path(history.main, period), headers=history.headers)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "validation_error" and "period" in body["errors"]
    assert snapshot() == before


@pytest.mark.parametrize("period", ["2026-12", "2027-01", "9999-12", "2026-09", "1999-01", "0000-01"])
def test_a_future_month_or_one_before_the_opening_is_404(client, history, period):
    before = snapshot()
    response = client.get(path(history.main, period), headers=history.headers)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert snapshot() == before


def test_a_month_without_transactions_has_a_statement_with_opening_equal_to_closing(client, customer):
    ledger.withdraw(customer.main, 10_00, actor=SYSTEM, value_date=dt.date(2026, 10, 20))
    db.session.commit()
    body = client.get(path(customer.main, "2026-11"), headers=customer.headers).get_json()
    assert body["transactions"] == []
    assert body["opening_balance"] == body["closing_balance"] == "90.00"
    assert body["total_in"] == body["total_out"] == "0.00"
    pdf = client.get(path(customer.main, "2026-11"), headers={**customer.headers, "Accept": "application/pdf"})
    assert "No transactions in this period." in pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()


def test_a_token_without_transactions_read_is_403_and_only_the_refusal_is_recorded(client, customer):
    secret = issue(customer.user, [customer.main], scopes=[Scope.ACCOUNTS_READ.value])
    before = snapshot()
    for url in (path(customer.main), path(customer.main, "2026-11")):
        response = client.get(url, headers=bearer(secret))
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    after = snapshot()
    assert after["audit_events"] == before["audit_events"] + 2  # the two api.forbidden rows, nothing else
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"}


def test_an_account_not_granted_is_404_whoever_owns_it(client, customer, stranger):
    only_main = issue(customer.user, [customer.main], scopes=[Scope.TRANSACTIONS_READ.value])
    for account, headers in ((customer.savings, bearer(only_main)), (stranger.main, customer.headers)):
        for url in (path(account), path(account, "2026-11")):
            response = client.get(url, headers=headers)
            assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_a_statement_read_writes_nothing(client, history):
    before = snapshot()
    for accept in ("application/json", "text/csv", "application/pdf"):
        response = client.get(path(history.main, "2026-10"), headers={**history.headers, "Accept": accept})
        assert response.status_code == 200
    assert snapshot() == before


def test_another_customers_account_in_the_same_currency_is_named_by_its_owner(client, customer):
    other = make_account(make_user(email="bob@example.com", name="Bob Example"), days_old=5, name="Bob's")
    ledger.transfer(customer.main, other, 12_00, actor=SYSTEM, description="rent")
    db.session.commit()
    body = client.get(path(customer.main, "2026-11"), headers=customer.headers).get_json()
    assert body["transactions"][-1]["text"] == "Transfer to Bob Example: rent"
    assert body["transactions"][-1]["counterparty"] == "Bob Example"
