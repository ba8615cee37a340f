"""Monthly statements from the ledger: the sum rule and every balance_after over random histories (backdated
postings and reversals included), agreement with the balance at a date, and the PDF's layout."""
import datetime as dt
import io
import time
import uuid
from types import SimpleNamespace

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import ledger
from portal.api.statements import statement_json
from portal.display import money
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import ceiling, history
from portal.ledger.statements import Month, Statement, StatementLine, UnknownPeriod, parse_month, periods, statement
from portal.statements import csv_rows
from portal.statements.pdf import render
from tests.factories import SYSTEM, make_account, make_user

NOW = dt.datetime(2026, 11, 15, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 15)
OPENED = dt.date(2026, 8, 20)
SPAN = (TODAY - OPENED).days


@pytest.fixture(autouse=True)
def mid_november(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


# One step of a random history: (operation, account 0 or 1, amount, days after the opening, which earlier
# transaction a reversal undoes). Value dates land anywhere from the opening to today: most are backdated.
steps = st.lists(st.tuples(st.sampled_from(["deposit", "withdraw", "transfer", "reverse"]),
                           st.integers(0, 1), st.integers(1, 50_000), st.integers(0, SPAN), st.integers(0, 30)),
                 min_size=1, max_size=25)


def play(accounts, plan):
    """Apply the plan through the ledger (refusals roll back and are skipped); return the kept transactions."""
    made = []
    for operation, index, amount, offset, pick in plan:
        account, other = accounts[index], accounts[1 - index]
        day = OPENED + dt.timedelta(days=offset)
        try:
            if operation == "deposit":
                made.append(ledger.deposit(account, amount, actor=SYSTEM, value_date=day, description="in"))
            elif operation == "withdraw":
                made.append(ledger.withdraw(account, amount, actor=SYSTEM, value_date=day, description="out"))
            elif operation == "transfer":
                made.append(ledger.transfer(account, other, amount, actor=SYSTEM, value_date=day))
            elif made:
                made.append(ledger.reverse(made[pick % len(made)], actor=SYSTEM, reason="test"))
            db.session.commit()
        except ledger.LedgerError:
            db.session.rollback()
    return made


def test_the_sum_rule_and_every_balance_after_hold_over_random_histories(app):
    owner = make_user()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=steps)
    def check(plan):
        accounts = [make_account(owner, opened_on=OPENED), make_account(owner, opened_on=OPENED, name="Savings")]
        play(accounts, plan)
        for account in accounts:
            # The model: every entry of the account, by value date, read straight from the ledger's entries.
            entries = history.lines_between(account, OPENED, TODAY)[0]
            months = periods(account)
            assert [str(month) for month, _ in months] == ["2026-11", "2026-10", "2026-09", "2026-08"]
            for month, partial in months:
                made = statement(account, month)
                to = TODAY if partial else month.last_day
                assert made.date_to == to and made.partial == partial
                expected_opening = sum(e.amount for e in entries if e.value_date < month.first_day)
                expected_closing = sum(e.amount for e in entries if e.value_date <= to)
                assert made.opening == expected_opening == ledger.closing_balance(
                    account, month.first_day - dt.timedelta(days=1))
                assert made.closing == expected_closing == ledger.closing_balance(account, to)
                assert made.opening + made.total_in - made.total_out == made.closing
                running = made.opening
                for item in made.lines:
                    running += item.line.amount
                    assert item.balance_after == running
                    assert month.first_day <= item.line.value_date <= to
                assert running == made.closing
                assert sorted(item.line.entry_id for item in made.lines) == sorted(
                    e.entry_id for e in entries if month.first_day <= e.value_date <= to)
                values = [(item.line.value_date, item.line.entry_id) for item in made.lines]
                assert values == sorted(values)  # oldest first
                # CSV rows are the JSON rows.
                body = statement_json(made)
                rows = list(csv_rows(made))
                table = rows[rows.index(()) + 2:]
                assert table == [(t["value_date"], t["text"], t["kind"], t["counterparty"] or "", t["amount"],
                                  t["balance_after"]) for t in body["transactions"]]
    check()


@pytest.mark.parametrize("text", ["2026-13", "26-01", "2026-1", "2026-00", "2026-001", "2026-10 ", "", None, "२०२६-10"])
def test_a_malformed_month_is_a_validation_error_naming_the_period(text):
    with pytest.raises(ledger.ValidationError) as raised:
        parse_month(text)
    assert raised.value.field == "period"


def test_months_have_their_first_and_last_days():
    assert (Month(2028, 2).first_day, Month(2028, 2).last_day) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert (Month(2026, 12).next(), Month(2026, 1).previous()) == (Month(2027, 1), Month(2025, 12))
    assert str(parse_month("2026-01")) == "2026-01"


def test_a_future_month_or_one_before_the_opening_has_no_statement(app):
    account = make_account(opened_on=OPENED)
    for month in (Month(2026, 12), Month(2026, 7), Month(9999, 12), Month(1, 1)):
        with pytest.raises(UnknownPeriod):
            statement(account, month)
    assert statement(account, Month(2026, 8)).date_from == dt.date(2026, 8, 1)  # the opening month is whole


def test_a_statement_costs_the_same_number_of_queries_whatever_the_month_holds(app):
    from sqlalchemy import event

    account = make_account(opened_on=OPENED, balance=1_000_00)
    counted, queries = [], {}

    def count(*_):
        counted.append(1)
    for n, month in ((1, Month(2026, 9)), (40, Month(2026, 10))):
        for _ in range(n):
            ledger.withdraw(account, 1, actor=SYSTEM, value_date=month.first_day)
        db.session.commit()
        db.session.expire_all()
        account = db.session.get(type(account), account.id)
        counted.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert len(statement(account, month).lines) == n
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        queries[n] = len(counted)
    assert queries[1] == queries[40] <= 6  # the lines with both balances, particulars (two), the holder


def fake_statement(lines, *, holder="Zoë Łukasiewicz", description="Groceries", opening=500_000):
    """A statement built in memory (the PDF's layout needs no database)."""
    account = SimpleNamespace(id=uuid.uuid4(), owner_id=1, number="FI2142420000000001", name="Main",
                              currency="EUR")
    items, balance = [], opening
    for n in range(lines):
        amount = -(n % 97 + 1) * 10
        balance += amount
        line = history.Line(entry_id=n + 1, transaction_id=uuid.uuid4(), account_id=account.id, amount=amount,
                            currency="EUR", description=f"{description} {n}", value_date=dt.date(2026, 10, 1 + n % 31),
                            booked_at=NOW, kind="withdrawal", counterparty_account_id=None, reverses=None,
                            reversed_by=None)
        items.append(StatementLine(line, balance, history.Particulars()))
    spent = opening - balance
    return Statement(account=account, holder=holder, period=Month(2026, 10), date_from=dt.date(2026, 10, 1),
                     date_to=dt.date(2026, 10, 31), partial=False, opening=opening, closing=balance, total_in=0,
                     total_out=spent, lines=items, generated_at=NOW)


def test_a_month_of_1000_transactions_is_a_multi_page_pdf_with_the_header_on_every_page():
    made = fake_statement(1000)
    started = time.perf_counter()
    pdf = render(made)
    elapsed = time.perf_counter() - started
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 10
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert "Ledger Bank" in text and "Statement 2026-10" in text and "FI21 4242 0000 0000 01" in text
        assert "Zoë Łukasiewicz" in text and "2026-10-01 to 2026-10-31" in text
        assert "Balance after" in text and "Description" in text  # the table's column names again
        assert f"Page {number} of {len(pages)}" in text and "Generated at 2026-11-15 10:00 UTC" in text
    whole = "\n".join(page.extract_text() for page in pages)
    assert "Groceries 0" in whole and "Groceries 999" in whole  # every row, none lost at a page break
    assert f"Closing balance €{made.closing // 100:,}.{made.closing % 100:02d}" in pages[-1].extract_text()
    assert elapsed < 10, elapsed


def pdf_lines(made):
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(render(made))).pages).splitlines()


def test_the_pdf_prints_amounts_as_the_pages_do_and_the_csv_keeps_them_plain():
    made = fake_statement(2, opening=5_829_398)  # −0.10 then −0.20: 58,293.88 and 58,293.68 after them
    lines = pdf_lines(made)
    for label, printed in (("Opening balance", "€58,293.98"), ("Total in", "€0.00"), ("Total out", "€0.30"),
                           ("Closing balance", "€58,293.68")):
        assert f"{label} {printed}" in lines
    assert any(line.startswith("2026-10-01 Groceries 0 Withdrawal −€0.10 €58,293.88") for line in lines), lines
    assert any(line.startswith("2026-10-02 Groceries 1 Withdrawal −€0.20 €58,293.68") for line in lines), lines
    rows = list(csv_rows(made))
    assert ("opening_balance", "58293.98") in rows and ("closing_balance", "58293.68") in rows
    assert rows[-1][-2:] == ("-0.20", "58293.68")


def test_an_amount_too_wide_for_its_column_is_set_smaller_and_printed_whole():
    made = fake_statement(1, opening=ceiling.LARGEST_BALANCE)
    balance_after = money(made.lines[0].balance_after, "EUR")  # €92,233,720,368,547,757.97: 17 digits
    sizes = []
    pypdf.PdfReader(io.BytesIO(render(made))).pages[0].extract_text(
        visitor_text=lambda text, cm, tm, font, size: sizes.append((text.strip(), size)))
    # The closing balance above and under the table at their own size; the row's cell set smaller to stay inside
    # its 30 mm column.
    assert sorted(size for text, size in sizes if text == balance_after) == [pytest.approx(6.03, abs=0.01), 10, 10]
    assert ("−€0.10", 8.5) in sizes  # an amount that fits keeps the table's size


def test_text_outside_latin_1_prints_and_a_missing_glyph_never_fails_the_statement():
    made = fake_statement(3, description="Café € łódź Ωμέγα привет 😀 漢字")
    text = pypdf.PdfReader(io.BytesIO(render(made))).pages[0].extract_text()
    assert "Café € łódź Ωμέγα привет" in text
    assert "漢" not in text and "??" in text  # DejaVu has no CJK (nor most emoji): a question mark stands in


def test_statements_read_while_postings_arrive_always_add_up(pg_app):
    """The balances and the lines come from one statement, so one snapshot: a reader never sees a posting in the
    lines that the closing balance misses, or the other way round."""
    from tests.test_concurrency import run_together

    account = make_account(opened_on=OPENED, balance=1_000_00)
    account_id, month = account.id, Month(2026, 11)

    def work(i):
        from portal.models import Account

        problems = []
        for n in range(25):
            current = db.session.get(Account, account_id)
            if i % 2:  # a writer
                ledger.deposit(current, 1_00 + n, actor=SYSTEM, value_date=dt.date(2026, 11, 1 + n % 15))
                db.session.commit()
            else:  # a reader
                made = statement(current, month)
                running = made.opening + sum(item.line.amount for item in made.lines)
                if running != made.closing or made.opening + made.total_in - made.total_out != made.closing:
                    problems.append((made.opening, running, made.closing))
                db.session.rollback()  # the next read sees what was committed since
        return problems

    assert run_together(pg_app, 8, work) == [[]] * 8
    final = statement(db.session.get(type(account), account_id), month)
    assert len(final.lines) == 4 * 25 and final.closing == 1_000_00 + 4 * sum(1_00 + n for n in range(25))
