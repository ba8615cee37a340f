"""Random sequences of postings against a plain in-memory model of the rules (hypothesis, stateful).

After every step: each transaction's entries sum to zero, stored balances equal entry sums, no customer
day-end is negative, and every balance (now and at every date) matches the model. The model decides
independently whether an operation must be accepted or refused; the ledger has to agree.
"""
import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from portal import ledger
from portal.extensions import db
from portal.models import Account, DailyBalance, Entry
from tests.factories import SYSTEM, make_account, make_user

HISTORY = 12
amounts = st.integers(min_value=1, max_value=5_000)
days_back = st.integers(min_value=0, max_value=HISTORY)
account_index = st.integers(min_value=0, max_value=2)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.today = ledger.today()
        self.days = [self.today - dt.timedelta(days=n) for n in range(HISTORY + 1)]
        owner = make_user()
        self.accounts = [make_account(owner, days_old=HISTORY) for _ in range(3)]
        self.ids = [a.id for a in self.accounts]
        self.postings = {a.id: [] for a in self.accounts}  # the model: (value date, amount) per account
        self.transactions = []  # (id, {account id: amount}, value date, is reversal)
        self.reversed = set()

    # -- the model ------------------------------------------------------------------------------------------
    def day_end(self, account_id, day):
        return sum(amount for when, amount in self.postings[account_id] if when <= day)

    def allowed(self, legs, day):
        """Whether no customer day-end from `day` on would go below zero."""
        return all(self.day_end(account_id, d) + amount >= 0
                   for account_id, amount in legs.items() for d in self.days if d >= day)

    def apply(self, operation, legs, day, *, refusal=ledger.InsufficientFunds, reversal=False):
        expected = self.allowed(legs, day)
        try:
            transaction = operation()
            db.session.commit()
        except refusal:
            db.session.rollback()
            assert not expected, "the ledger refused what the model allows"
            return
        assert expected, "the ledger accepted what the model refuses"
        for account_id, amount in legs.items():
            self.postings[account_id].append((day, amount))
        self.transactions.append((transaction.id, legs, day, reversal))

    def account(self, index):
        return db.session.get(Account, self.ids[index])

    # -- operations -----------------------------------------------------------------------------------------
    @rule(index=account_index, amount=amounts, back=days_back)
    def deposit(self, index, amount, back):
        day = self.days[back]
        self.apply(lambda: ledger.deposit(self.account(index), amount, actor=SYSTEM, value_date=day),
                   {self.ids[index]: amount}, day)

    @rule(index=account_index, amount=amounts, back=days_back)
    def withdraw(self, index, amount, back):
        day = self.days[back]
        self.apply(lambda: ledger.withdraw(self.account(index), amount, actor=SYSTEM, value_date=day),
                   {self.ids[index]: -amount}, day)

    @rule(source=account_index, destination=account_index, amount=amounts, back=days_back)
    def transfer(self, source, destination, amount, back):
        if source == destination:
            return
        day = self.days[back]
        self.apply(lambda: ledger.transfer(self.account(source), self.account(destination), amount, actor=SYSTEM,
                                           value_date=day),
                   {self.ids[source]: -amount, self.ids[destination]: amount}, day)

    @rule(index=account_index, amount=st.integers(min_value=-5_000, max_value=5_000).filter(bool), back=days_back)
    def adjust(self, index, amount, back):
        day = self.days[back]
        self.apply(lambda: ledger.adjust(self.account(index), amount, actor=SYSTEM, reason="property test",
                                         value_date=day),
                   {self.ids[index]: amount}, day)

    @rule(pick=st.integers(min_value=0, max_value=10_000))
    def reverse(self, pick):
        from portal.models import Transaction

        if not self.transactions:
            return
        txid, legs, day, is_reversal = self.transactions[pick % len(self.transactions)]
        transaction = db.session.get(Transaction, txid)
        if is_reversal:
            refusal = ledger.NotReversible
        elif txid in self.reversed:
            refusal = ledger.AlreadyReversed
        else:
            refusal = None
        if refusal is not None:
            try:
                ledger.reverse(transaction, actor=SYSTEM, reason="property test")
            except refusal:
                db.session.rollback()
                return
            raise AssertionError(f"expected {refusal.__name__}")
        mirrored = {account_id: -amount for account_id, amount in legs.items()}
        before = len(self.transactions)
        self.apply(lambda: ledger.reverse(transaction, actor=SYSTEM, reason="property test"), mirrored, day,
                   reversal=True)
        if len(self.transactions) > before:
            self.reversed.add(txid)

    # -- invariants -----------------------------------------------------------------------------------------
    @invariant()
    def entries_sum_to_zero_per_transaction(self):
        unbalanced = db.session.execute(
            sa.select(Entry.transaction_id).group_by(Entry.transaction_id)
            .having(sa.or_(sa.func.sum(Entry.amount) != 0, sa.func.count() < 2))).all()
        assert unbalanced == []

    @invariant()
    def balances_match_the_model_and_entries(self):
        db.session.expire_all()
        for account_id in self.ids:
            account = db.session.get(Account, account_id)
            entries_total = db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(Entry.amount), 0)).where(Entry.account_id == account_id))
            assert account.balance == entries_total == self.day_end(account_id, self.today)
            for day in self.days:
                assert ledger.balance_at(account, day) == self.day_end(account_id, day) >= 0

    @invariant()
    def no_stored_day_end_is_negative(self):
        lowest = db.session.scalar(sa.select(sa.func.min(DailyBalance.closing))
                                   .where(DailyBalance.account_id.in_(self.ids)))
        assert lowest is None or lowest >= 0


def test_random_operation_sequences_keep_every_invariant(app):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )
