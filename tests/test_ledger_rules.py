"""The ledger's rules, each refusal checked to have changed nothing. Runs on SQLite and PostgreSQL."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.kernel import clock
from portal.models import AuditEvent, Entry, Role, Transaction
from tests.factories import SYSTEM, days_ago, make_account, make_user, refresh, snapshot


def refused(error, operation):
    """Run `operation`, expect `error`, roll back as a door would, and assert nothing changed."""
    before = snapshot()
    with pytest.raises(error):
        operation()
    db.session.rollback()
    assert snapshot() == before


def day_ends(account, days):
    return {day: ledger.balance_at(account, day) for day in days}


class TestWithdrawals:
    def test_withdrawal_to_exactly_zero_is_accepted(self, app):
        account = make_account(balance=10_00)
        ledger.withdraw(account, 10_00, actor=SYSTEM)
        db.session.commit()
        assert refresh(account).balance == 0
        assert ledger.balance_at(account, ledger.today()) == 0

    def test_withdrawal_of_one_cent_more_than_the_balance_is_refused(self, app):
        account = make_account(balance=10_00)
        refused(ledger.InsufficientFunds, lambda: ledger.withdraw(account, 10_01, actor=SYSTEM))
        assert refresh(account).balance == 10_00

    def test_backdated_withdrawal_that_makes_a_past_day_end_negative_is_refused(self, app):
        # 100 on day -10, another 100 on day -2: today's 200 would cover 150, the day-ends -10..-3 would not.
        account = make_account(days_old=10, balance=100_00)
        ledger.deposit(account, 100_00, actor=SYSTEM, value_date=days_ago(2))
        db.session.commit()
        refused(ledger.InsufficientFunds,
                lambda: ledger.withdraw(account, 150_00, actor=SYSTEM, value_date=days_ago(5)))
        # Where the history allows it, the same amount is accepted.
        ledger.withdraw(account, 150_00, actor=SYSTEM, value_date=days_ago(2))
        db.session.commit()
        assert refresh(account).balance == 50_00

    def test_backdated_withdrawal_on_a_day_with_postings_counts_that_days_end(self, app):
        account = make_account(days_old=10)
        ledger.deposit(account, 100_00, actor=SYSTEM, value_date=days_ago(4))
        db.session.commit()
        # Day -5 ended at 0, but day -4 ended at 100: a withdrawal dated -4 is covered.
        ledger.withdraw(account, 60_00, actor=SYSTEM, value_date=days_ago(4))
        db.session.commit()
        assert day_ends(account, [days_ago(5), days_ago(4), days_ago(0)]) == {
            days_ago(5): 0, days_ago(4): 40_00, days_ago(0): 40_00}

    def test_non_positive_amounts_are_refused(self, app):
        account = make_account(balance=10_00)
        for amount in (0, -5):
            refused(ledger.InvalidAmount, lambda a=amount: ledger.withdraw(account, a, actor=SYSTEM))
            refused(ledger.InvalidAmount, lambda a=amount: ledger.deposit(account, a, actor=SYSTEM))


class TestBalanceAtDate:
    def test_balance_at_a_date_includes_that_date(self, app):
        account = make_account(days_old=10)
        ledger.deposit(account, 7_00, actor=SYSTEM, value_date=days_ago(3))
        db.session.commit()
        assert ledger.balance_at(account, days_ago(4)) == 0
        assert ledger.balance_at(account, days_ago(3)) == 7_00
        assert ledger.balance_at(account, days_ago(1)) == 7_00

    def test_balance_before_opening_is_zero(self, app):
        account = make_account(days_old=10, balance=5_00)
        assert ledger.balance_at(account, days_ago(11)) == 0
        assert ledger.balance_at(account, days_ago(10)) == 5_00

    def test_backdated_deposit_moves_every_later_day_end(self, app):
        account = make_account(days_old=10, balance=5_00)
        ledger.withdraw(account, 1_00, actor=SYSTEM, value_date=days_ago(5))
        ledger.deposit(account, 2_00, actor=SYSTEM, value_date=days_ago(7))
        db.session.commit()
        assert day_ends(account, [days_ago(8), days_ago(7), days_ago(5), days_ago(0)]) == {
            days_ago(8): 5_00, days_ago(7): 7_00, days_ago(5): 6_00, days_ago(0): 6_00}

    def test_system_account_balance_is_derived_from_its_entries(self, app):
        first = make_account(balance=30_00)
        second = make_account(balance=12_00)
        ledger.withdraw(first, 5_00, actor=SYSTEM)
        db.session.commit()
        settlement = ledger.system_account(ledger.system.SystemCode.SETTLEMENT, "EUR")
        assert settlement.balance is None  # nothing stored: it is never a hot row
        assert ledger.current_balance(settlement) == -(30_00 + 12_00 - 5_00)
        assert ledger.current_balance(first) + ledger.current_balance(second) + ledger.current_balance(
            settlement) == 0


class TestValueDates:
    def test_future_value_date_is_refused(self, app):
        account = make_account(balance=10_00)
        tomorrow = ledger.today() + dt.timedelta(days=1)
        refused(ledger.InvalidValueDate, lambda: ledger.deposit(account, 1_00, actor=SYSTEM, value_date=tomorrow))

    def test_value_date_before_opening_is_refused(self, app):
        account = make_account(days_old=5, balance=10_00)
        refused(ledger.InvalidValueDate,
                lambda: ledger.deposit(account, 1_00, actor=SYSTEM, value_date=days_ago(6)))

    def test_today_follows_the_bank_time_zone(self, app, monkeypatch):
        # 22:30 UTC on 1 March is already 2 March in Helsinki (UTC+2 in winter).
        monkeypatch.setattr(clock, "now", lambda: dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.UTC))
        app.config["BANK_TIMEZONE"] = "UTC"
        assert ledger.today() == dt.date(2026, 3, 1)
        app.config["BANK_TIMEZONE"] = "Europe/Helsinki"
        assert ledger.today() == dt.date(2026, 3, 2)
        account = make_account(opened_on=dt.date(2026, 3, 1))
        ledger.deposit(account, 1_00, actor=SYSTEM)
        db.session.commit()
        assert ledger.balance_at(account, dt.date(2026, 3, 1)) == 0
        assert ledger.balance_at(account, dt.date(2026, 3, 2)) == 1_00


class TestReversals:
    def test_reversal_restores_every_historical_day_end(self, app):
        account = make_account(days_old=10, balance=50_00)
        days = [days_ago(n) for n in range(11)]
        before = day_ends(account, days)
        deposit = ledger.deposit(account, 20_00, actor=SYSTEM, value_date=days_ago(6))
        ledger.withdraw(account, 60_00, actor=SYSTEM, value_date=days_ago(3))
        db.session.commit()
        assert ledger.balance_at(account, days_ago(6)) == 70_00
        withdrawal = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "withdrawal"))
        reversal = ledger.reverse(withdrawal, actor=SYSTEM, reason="customer disputed")
        db.session.commit()
        assert reversal.value_date == withdrawal.value_date
        assert reversal.reverses_id == withdrawal.id
        db.session.expire_all()
        assert db.session.get(Transaction, withdrawal.id).reversed_by.id == reversal.id
        assert [e.amount for e in reversal.entries] == [-e.amount for e in withdrawal.entries]
        after = day_ends(account, days)
        assert after == {day: before[day] + (20_00 if day >= days_ago(6) else 0) for day in days}
        assert deposit.reversed_by is None

    def test_a_transaction_is_reversed_at_most_once(self, app):
        account = make_account(balance=50_00)
        withdrawal = ledger.withdraw(account, 10_00, actor=SYSTEM)
        db.session.commit()
        ledger.reverse(withdrawal, actor=SYSTEM, reason="mistake")
        db.session.commit()
        refused(ledger.AlreadyReversed, lambda: ledger.reverse(withdrawal, actor=SYSTEM, reason="again"))
        assert refresh(account).balance == 50_00

    def test_a_reversal_is_not_reversible(self, app):
        account = make_account(balance=50_00)
        withdrawal = ledger.withdraw(account, 10_00, actor=SYSTEM)
        reversal = ledger.reverse(withdrawal, actor=SYSTEM, reason="mistake")
        db.session.commit()
        refused(ledger.NotReversible, lambda: ledger.reverse(reversal, actor=SYSTEM, reason="undo the undo"))

    def test_reversal_that_would_overdraw_is_refused(self, app):
        account = make_account(days_old=10)
        deposit = ledger.deposit(account, 30_00, actor=SYSTEM, value_date=days_ago(5))
        ledger.withdraw(account, 25_00, actor=SYSTEM, value_date=days_ago(2))
        db.session.commit()
        refused(ledger.InsufficientFunds, lambda: ledger.reverse(deposit, actor=SYSTEM, reason="bounced"))

    def test_reversal_needs_a_reason(self, app):
        account = make_account(balance=50_00)
        withdrawal = ledger.withdraw(account, 10_00, actor=SYSTEM)
        db.session.commit()
        refused(ledger.ReasonRequired, lambda: ledger.reverse(withdrawal, actor=SYSTEM, reason="  "))


class TestTransfers:
    def test_transfer_moves_money_between_customers_and_balances(self, app):
        source, destination = make_account(balance=40_00), make_account(balance=1_00)
        transaction = ledger.transfer(source, destination, 15_00, actor=SYSTEM, description="rent")
        db.session.commit()
        assert (refresh(source).balance, refresh(destination).balance) == (25_00, 16_00)
        assert sorted(e.amount for e in transaction.entries) == [-15_00, 15_00]

    def test_transfer_between_currencies_is_refused(self, app):
        euros, krona = make_account(balance=40_00), make_account(currency="SEK", balance=40_00)
        refused(ledger.CurrencyMismatch, lambda: ledger.post(euros, -1_00, counterparty=krona, actor=SYSTEM))
        refused(ledger.CurrencyMismatch, lambda: ledger.transfer(euros, krona, 1_00, actor=SYSTEM))

    def test_transfer_to_the_same_account_is_refused(self, app):
        account = make_account(balance=40_00)
        refused(ledger.InvalidCounterparty, lambda: ledger.transfer(account, account, 1_00, actor=SYSTEM))

    def test_post_pulls_money_from_the_counterparty_with_a_positive_amount(self, app):
        mine, theirs = make_account(balance=0), make_account(balance=10_00)
        transaction = ledger.post(mine, 4_00, counterparty=theirs, actor=SYSTEM)
        db.session.commit()
        assert transaction.kind == "transfer"
        assert (refresh(mine).balance, refresh(theirs).balance) == (4_00, 6_00)
        refused(ledger.InsufficientFunds, lambda: ledger.post(mine, 6_01, counterparty=theirs, actor=SYSTEM))


class TestLargestBalance:
    """A customer balance and every day-end is a BIGINT of minor units: the ledger refuses to go past it."""

    def test_every_door_meets_the_same_ceiling(self, app):
        from portal.database import MAX_BIGINT

        account = make_account(balance=10_00)
        refused(ledger.InvalidAmount, lambda: ledger.deposit(account, MAX_BIGINT - 10_00 + 1, actor=SYSTEM))
        refused(ledger.InvalidAmount, lambda: ledger.adjust(account, MAX_BIGINT, actor=SYSTEM, reason="typo"))
        refused(ledger.InvalidAmount, lambda: ledger.deposit(account, 2**70, actor=SYSTEM))
        ledger.deposit(account, MAX_BIGINT - 10_00, actor=SYSTEM)
        db.session.commit()
        assert refresh(account).balance == MAX_BIGINT
        assert ledger.balance_at(account, ledger.today()) == MAX_BIGINT
        with pytest.raises(ledger.InvalidAmount) as refusal:
            ledger.deposit(account, 1, actor=SYSTEM)
        db.session.rollback()
        assert refusal.value.field == "amount" and "largest" in refusal.value.message
        assert refresh(account).balance == MAX_BIGINT


class TestAccountStates:
    def test_frozen_account_takes_no_postings_but_staff_corrections_apply(self, app):
        account = make_account(balance=20_00)
        other = make_account(balance=20_00)
        ledger.freeze(account, actor=SYSTEM, reason="suspected fraud")
        db.session.commit()
        refused(ledger.AccountFrozen, lambda: ledger.deposit(account, 1_00, actor=SYSTEM))
        refused(ledger.AccountFrozen, lambda: ledger.withdraw(account, 1_00, actor=SYSTEM))
        refused(ledger.AccountFrozen, lambda: ledger.transfer(other, account, 1_00, actor=SYSTEM))
        ledger.adjust(account, -5_00, actor=SYSTEM, reason="fee refund clawback")
        db.session.commit()
        assert refresh(account).balance == 15_00

    def test_only_an_account_at_zero_can_be_closed(self, app):
        account = make_account(balance=20_00)
        refused(ledger.BalanceNotZero, lambda: ledger.close(account, actor=SYSTEM, reason="customer left"))
        ledger.withdraw(account, 20_00, actor=SYSTEM)
        ledger.close(account, actor=SYSTEM, reason="customer left")
        db.session.commit()
        assert refresh(account).status == "closed"

    def test_closed_account_takes_nothing_at_all(self, app):
        account = make_account()
        other = make_account(balance=5_00)
        ledger.close(account, actor=SYSTEM, reason="customer left")
        db.session.commit()
        refused(ledger.AccountClosed, lambda: ledger.deposit(account, 1_00, actor=SYSTEM))
        refused(ledger.AccountClosed, lambda: ledger.adjust(account, 1_00, actor=SYSTEM, reason="x"))
        refused(ledger.InvalidCounterparty, lambda: ledger.post(other, -1_00, counterparty=account, actor=SYSTEM))
        refused(ledger.InvalidStatusChange, lambda: ledger.unfreeze(account, actor=SYSTEM, reason="x"))

    def test_freeze_and_unfreeze_follow_the_state_machine(self, app):
        account = make_account()
        refused(ledger.InvalidStatusChange, lambda: ledger.unfreeze(account, actor=SYSTEM, reason="x"))
        refused(ledger.ReasonRequired, lambda: ledger.freeze(account, actor=SYSTEM, reason=""))
        ledger.freeze(account, actor=SYSTEM, reason="investigation")
        ledger.unfreeze(account, actor=SYSTEM, reason="cleared")
        db.session.commit()
        assert refresh(account).status == "active"

    def test_adjustment_cannot_overdraw(self, app):
        account = make_account(balance=5_00)
        refused(ledger.InsufficientFunds, lambda: ledger.adjust(account, -5_01, actor=SYSTEM, reason="fee"))

    def test_staff_cannot_own_accounts(self, app):
        staff = make_user(role=Role.OPERATOR)
        refused(ledger.ValidationError, lambda: ledger.open_account(staff, "Mine", actor=SYSTEM))


class TestAudit:
    def test_posting_writes_its_audit_row_in_the_same_transaction(self, app):
        account = make_account(balance=20_00)
        transaction = ledger.withdraw(account, 3_00, actor=SYSTEM, description="cash")
        db.session.commit()
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_id == str(transaction.id)))
        assert (event.action, event.actor_type, event.outcome) == ("transaction.create", "system", "success")
        assert event.changes["amount"] == [None, "-3.00"]
        assert event.subject_user_id == account.owner_id

    def test_rolled_back_posting_leaves_no_audit_row(self, app):
        account = make_account(balance=20_00)
        before = snapshot()
        ledger.withdraw(account, 3_00, actor=SYSTEM)
        db.session.rollback()
        assert snapshot() == before

    def test_status_change_records_before_and_after_and_reason(self, app):
        account = make_account()
        ledger.freeze(account, actor=SYSTEM, reason="police request")
        db.session.commit()
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.freeze"))
        assert event.changes == {"status": ["active", "frozen"]}
        assert event.reason == "police request"

    def test_entries_of_every_transaction_sum_to_zero(self, app):
        first, second = make_account(balance=20_00), make_account(balance=20_00)
        ledger.transfer(first, second, 5_00, actor=SYSTEM)
        ledger.adjust(second, 1_00, actor=SYSTEM, reason="goodwill")
        db.session.commit()
        sums = db.session.execute(sa.select(Entry.transaction_id, sa.func.sum(Entry.amount))
                                  .group_by(Entry.transaction_id)).all()
        assert len(sums) == 4 and all(total == 0 for _, total in sums)
