"""The running balance beside each line of a history page: the ledger's rule, whichever page a door shows."""
from portal import ledger
from portal.extensions import db
from portal.ledger import history
from tests.factories import SYSTEM, days_ago, make_account


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
