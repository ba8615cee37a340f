"""The ledger's reading rules the doors share: no balance for a future date, currency totals, the cursor page."""
import datetime as dt

import pytest

from portal import ledger
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import history
from tests.factories import SYSTEM, days_ago, make_account, make_user

# 22:30 UTC on 1 March is already 2 March in Helsinki (UTC+2 in winter).
LATE_EVENING_UTC = dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.UTC)


class TestClosingBalance:
    def test_today_in_the_bank_time_zone_is_accepted_and_tomorrow_refused(self, app, monkeypatch):
        monkeypatch.setattr(clock, "now", lambda: LATE_EVENING_UTC)
        app.config["BANK_TIMEZONE"] = "Europe/Helsinki"
        account = make_account(opened_on=dt.date(2026, 2, 1), balance=7_00)
        assert ledger.closing_balance(account, dt.date(2026, 3, 2)) == 7_00  # still 1 March in UTC
        with pytest.raises(ledger.InvalidValueDate) as refusal:
            ledger.closing_balance(account, dt.date(2026, 3, 3))
        assert (refusal.value.field, refusal.value.message) == ("date", "must not be in the future")

    def test_a_day_before_the_opening_is_zero_not_refused(self, app):
        account = make_account(days_old=3, balance=5_00)
        assert ledger.closing_balance(account, days_ago(10)) == 0

    def test_the_rule_is_the_one_postings_meet(self, app):
        tomorrow = ledger.today() + dt.timedelta(days=1)
        ledger.refuse_future(ledger.today())
        with pytest.raises(ledger.InvalidValueDate) as refusal:
            ledger.refuse_future(tomorrow)
        assert refusal.value.field == "value_date"
        # balance_at itself reads any day: lines booked by a clock a moment ahead still get a running balance.
        assert ledger.balance_at(make_account(balance=1_00), tomorrow) == 1_00


def test_totals_by_currency_sum_each_currency_in_the_order_the_accounts_come(app):
    owner = make_user()
    accounts = [make_account(owner, currency="USD", balance=1_50), make_account(owner, balance=2_00),
                make_account(owner, currency="USD", balance=25), make_account(owner, currency="JPY", balance=300)]
    totals = ledger.totals_by_currency(accounts)
    assert totals == {"USD": 1_75, "EUR": 2_00, "JPY": 300}
    assert list(totals) == ["USD", "EUR", "JPY"]
    assert ledger.totals_by_currency([]) == {}


class TestPage:
    @pytest.fixture
    def account(self, app):
        account = make_account(days_old=10, balance=1_00)
        for days in (9, 9, 7, 5, 5, 5, 2, 0):
            ledger.deposit(account, 1_00 + days, actor=SYSTEM, value_date=days_ago(days))
        db.session.commit()
        return account  # nine lines

    def test_pages_walk_the_whole_history_once_newest_first(self, account):
        everything = history.account_history(account, limit=100)
        walked, after = [], None
        while True:
            page = history.page(account, after=after, limit=4)
            walked.append(page.lines)
            if page.next_cursor is None:
                break
            after = history.decode_position(page.next_cursor)
        assert [len(lines) for lines in walked] == [4, 4, 1]
        assert [line for lines in walked for line in lines] == everything

    def test_the_next_cursor_is_the_last_lines_position_and_none_on_an_exact_last_page(self, account):
        first = history.page(account, limit=3)
        assert history.decode_position(first.next_cursor) == history.position_of(first.lines[-1])
        assert history.page(account, limit=9).next_cursor is None
        assert history.page(account, limit=8).next_cursor is not None

    def test_the_value_date_range_narrows_the_page(self, account):
        page = history.page(account, limit=2, date_from=days_ago(5), date_to=days_ago(5))
        assert [line.value_date for line in page.lines] == [days_ago(5)] * 2
        rest = history.page(account, limit=2, date_from=days_ago(5), date_to=days_ago(5),
                            after=history.decode_position(page.next_cursor))
        assert len(rest.lines) == 1 and rest.next_cursor is None

    def test_an_empty_history_is_one_empty_last_page(self, app):
        page = history.page(make_account(), limit=25)
        assert page.lines == [] and page.next_cursor is None
