"""The running balance beside each line of a history page, and what a person reads of each line."""
import datetime as dt

import sqlalchemy as sa

from portal import ledger
from portal.display import short_date, transaction_text
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import history
from tests.factories import SYSTEM, days_ago, make_account, make_user


def test_each_line_carries_the_balance_just_after_it_on_every_page(app):
    account = make_account(balance=100_00, days_old=10)
    # Several postings on one day, and one dated back before them: the order is value date, then entry id.
    for amount, day in [(5_00, 3), (7_00, 3), (2_00, 1), (1_00, 3), (4_00, 0), (3_00, 6)]:
        ledger.withdraw(account, amount, actor=SYSTEM, value_date=days_ago(day), description="spend")
    db.session.commit()

    everything = history.account_history(account, limit=100)
    expected, balance = [], ledger.current_balance(account)
    for line in everything:  # newest first: the balance after a line, then undo it for the one before
        expected.append(balance)
        balance -= line.amount
    assert balance == 0

    page_one = history.account_history(account, limit=3)
    page_two = history.account_history(account, after=history.position_of(page_one[-1]), limit=3)
    shown = history.running_balances(account, page_one) + history.running_balances(account, page_two)
    assert [after for _, after in shown] == expected[:6]
    assert [line for line, _ in shown] == everything[:6]


def test_an_empty_page_has_no_balances(app):
    assert history.running_balances(make_account(), []) == []



def test_particulars_name_the_other_side_and_what_a_reversal_undoes_in_two_queries(app):
    ann = make_user(name="Ann Example")
    main, savings = make_account(ann, balance=100_00, name="Main"), make_account(ann, name="Savings")
    bob = make_account(make_user(name="Bob Example"), balance=50_00, name="Bob's own name")
    transfer = ledger.transfer(main, savings, 10_00, actor=SYSTEM, value_date=days_ago(4), description="Rainy day")
    ledger.reverse(transfer, actor=SYSTEM, reason="internal", customer_note="Sent by mistake")
    ledger.transfer(bob, main, 5_00, actor=SYSTEM)
    db.session.commit()
    lines = history.account_history(main, limit=10)

    statements = []

    def count(*args):
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        facts = history.particulars(lines)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2  # whatever the page's length

    assert [transaction_text(line, facts[line.transaction_id], ann.id) for line in lines] == [
        "Transfer from Bob Example",
        f"Reversal of Transfer to Savings: Rainy day ({short_date(days_ago(4))})",
        "Transfer to Savings: Rainy day",
        "Opening deposit",
    ]
    # Seen from Savings, the same transfer names Main; the reversal's note is the customer's, not the reason.
    on_savings = history.account_history(savings, limit=10)
    seen = history.particulars(on_savings)
    assert [transaction_text(line, seen[line.transaction_id], ann.id) for line in on_savings] == [
        f"Reversal of Transfer from Main: Rainy day ({short_date(days_ago(4))})", "Transfer from Main: Rainy day"]
    assert seen[on_savings[0].transaction_id].customer_note == "Sent by mistake"
    assert history.particulars([]) == {}


def test_a_date_reads_as_people_say_it_with_the_year_only_when_it_is_not_this_one(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 12, 4))
    assert short_date(dt.date(2026, 11, 12)) == "12 Nov"
    assert short_date(dt.date(2025, 1, 3)) == "3 Jan 2025"
