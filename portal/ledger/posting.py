"""Posting transactions: the only code that writes transactions, entries and balances.

Every function validates, locks, re-checks against the locked rows, writes, and records the audit event, all
in the caller's database transaction. It writes but never commits: the door (request, command) commits once,
or rolls back on any error. A LedgerError is raised before anything is written.
"""
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import ceiling, dates, errors
from portal.ledger.balances import apply_to_day_ends, lowest_day_end_from, set_todays_day_ends
from portal.ledger.locking import lock_accounts
from portal.ledger.system import system_account_ref
from portal.models import Account, AccountStatus, Entry, SystemCode, Transaction, TransactionKind
from portal.money import format_amount

MAX_DESCRIPTION = 140

# The audit actions of the staff corrections posted here; portal.corrections names its kinds with these.
REVERSE_ACTION = "transaction.reverse"
ADJUST_ACTION = "transaction.adjust"

# The posting's writes, built once (building a statement costs more than sending it): plain Core, no unit of work.
_INSERT_TRANSACTION = Transaction.__table__.insert()
_INSERT_ENTRY = Entry.__table__.insert()
_ACCOUNTS = Account.__table__
_MOVE_BALANCE = (
    _ACCOUNTS.update()
    .where(_ACCOUNTS.c.id == sa.bindparam("account"))
    .values(balance=_ACCOUNTS.c.balance + sa.bindparam("amount"),
            last_value_date=sa.case((sa.or_(_ACCOUNTS.c.last_value_date.is_(None),
                                            _ACCOUNTS.c.last_value_date < sa.bindparam("day")), sa.bindparam("day")),
                                    else_=_ACCOUNTS.c.last_value_date))
)


def deposit(account, amount, *, actor, value_date=None, description=""):
    """Bring `amount` (minor units, > 0) into a customer account from the outside world."""
    _require_positive(amount)
    settlement = system_account_ref(SystemCode.SETTLEMENT, account.currency)
    return _post(TransactionKind.DEPOSIT, [(account, amount), (settlement, -amount)], actor=actor,
                 value_date=value_date, description=description)


def withdraw(account, amount, *, actor, value_date=None, description=""):
    """Take `amount` (minor units, > 0) out of a customer account to the outside world."""
    _require_positive(amount)
    settlement = system_account_ref(SystemCode.SETTLEMENT, account.currency)
    return _post(TransactionKind.WITHDRAWAL, [(account, -amount), (settlement, amount)], actor=actor,
                 value_date=value_date, description=description)


def transfer(source, destination, amount, *, actor, value_date=None, description="", subject=None):
    """Move `amount` (minor units, > 0) from one customer account to another of the same currency."""
    _require_positive(amount)
    for account in (source, destination):
        if not account.is_customer:
            raise errors.InvalidCounterparty("transfers are between customer accounts")
    if source.id == destination.id:
        raise errors.InvalidCounterparty("an account cannot transfer to itself")
    return _post(TransactionKind.TRANSFER, [(source, -amount), (destination, amount)], actor=actor,
                 value_date=value_date, description=description, subject=subject or source)


def post(account, amount, *, actor, counterparty=None, value_date=None, description=""):
    """Post a signed amount as seen from `account`, the way the API states it.

    Positive brings money in, negative takes it out. Without a counterparty the other leg is the settlement
    account; with one it is a transfer, and a counterparty that cannot take part is a validation error
    (the account itself being closed or frozen is a state refusal).
    """
    if amount == 0:
        raise errors.InvalidAmount("must not be zero")
    if counterparty is None:
        if amount > 0:
            return deposit(account, amount, actor=actor, value_date=value_date, description=description)
        return withdraw(account, -amount, actor=actor, value_date=value_date, description=description)
    if counterparty.currency != account.currency:
        raise errors.CurrencyMismatch(
            f"the counterparty account is in {counterparty.currency}, this account in {account.currency}")
    if amount > 0:
        return transfer(counterparty, account, amount, actor=actor, value_date=value_date,
                        description=description, subject=account)
    return transfer(account, counterparty, -amount, actor=actor, value_date=value_date, description=description)


def reverse(transaction, *, actor, reason, customer_note=None):
    """Post the mirror image of `transaction` on its value date, so every day-end is as if it never happened.

    `reason` is for staff and auditors; `customer_note`, if any, is what the customer is told.
    """
    reason = errors.require_reason(reason)
    customer_note = errors.customer_note(customer_note)
    if transaction.kind == TransactionKind.REVERSAL.value:
        raise errors.NotReversible()
    legs = [(entry.account, -entry.amount) for entry in transaction.entries]
    return _post(TransactionKind.REVERSAL, legs, actor=actor, value_date=transaction.value_date,
                 description=f"Reversal of {transaction.id}"[:MAX_DESCRIPTION], reason=reason,
                 reverses=transaction, correction=True, action=REVERSE_ACTION, customer_note=customer_note)


def adjust(account, amount, *, actor, reason, value_date=None, description="", customer_note=None):
    """Post a staff adjustment of a signed amount between a customer account and the corrections account.

    `reason` is for staff and auditors; `customer_note`, if any, is what the customer is told.
    """
    reason = errors.require_reason(reason)
    customer_note = errors.customer_note(customer_note)
    if amount == 0:
        raise errors.InvalidAmount("must not be zero")
    if not account.is_customer:
        raise errors.ValidationError("adjustments are posted to customer accounts", field="account_id")
    corrections = system_account_ref(SystemCode.CORRECTIONS, account.currency)
    return _post(TransactionKind.ADJUSTMENT, [(account, amount), (corrections, -amount)], actor=actor,
                 value_date=value_date, description=description or "Adjustment", reason=reason,
                 correction=True, action=ADJUST_ACTION, customer_note=customer_note)


def _require_positive(amount):
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise errors.InvalidAmount("must be an integer number of minor units")
    if amount <= 0:
        raise errors.InvalidAmount("must be greater than zero")


def _post(kind, legs, *, actor, value_date, description, subject=None, reason=None, reverses=None,
          correction=False, action="transaction.create", customer_note=None):
    """Write one balanced transaction with the given (account, signed amount) legs."""
    description = errors.clean_text(description, field="description", max_length=MAX_DESCRIPTION)
    _check_legs(legs)
    customer_ids = [account.id for account, _ in legs if account.is_customer]
    locked = lock_accounts(customer_ids)
    today = _today_under_lock(locked.values())
    value_date = value_date or today
    dates.refuse_future(value_date, today=today)
    subject = locked.get(getattr(subject, "id", None)) or locked[customer_ids[0]]
    for account_id in customer_ids:
        _check_can_post(locked[account_id], value_date, is_subject=account_id == subject.id, correction=correction)

    if reverses is not None:
        # Checked under the account locks, so two simultaneous reversals cannot both pass.
        already = db.session.scalar(sa.select(Transaction.id).where(Transaction.reverses_id == reverses.id))
        if already is not None:
            raise errors.AlreadyReversed()

    for account_id, amount in ((account.id, amount) for account, amount in legs):
        if amount < 0 and account_id in locked and lowest_day_end_from(
                account_id, value_date, today=today, balance=locked[account_id].balance) + amount < 0:
            raise errors.InsufficientFunds()
    ceiling.refuse_past_largest(legs, locked, value_date, today=today, subject=subject)

    transaction = Transaction(
        id=uuid.uuid4(), kind=kind.value, value_date=value_date, booked_at=clock.now(), description=description,
        created_by_user_id=actor.user_id, created_by_token_id=actor.token_id,
        reverses_id=reverses.id if reverses is not None else None, reason=reason, customer_note=customer_note,
    )
    _insert(transaction, legs)
    moves = {account.id: amount for account, amount in legs if account.id in locked}
    _add_to_balances(locked, moves, value_date)
    if value_date == today:
        set_todays_day_ends(today, {account_id: locked[account_id].balance for account_id in moves})
    else:
        for account_id, amount in moves.items():
            apply_to_day_ends(account_id, value_date, amount)

    subject_amount = next(amount for account, amount in legs if account.id == subject.id)
    audit.record(
        actor, action, object_type="transaction", object_id=transaction.id, subject_user_id=subject.owner_id,
        reason=reason,
        changes=errors.noted({
            "kind": [None, kind.value],
            "account_id": [None, str(subject.id)],
            "amount": [None, format_amount(subject_amount, subject.currency)],
            "currency": [None, subject.currency],
            "value_date": [None, value_date],
            "legs": [None, [[str(account.id), format_amount(amount, account.currency)] for account, amount in legs]],
            **({"reverses": [None, str(reverses.id)]} if reverses is not None else {}),
        }, customer_note),
    )
    return transaction


def _check_legs(legs):
    """Refuse legs that are not one balanced transaction: non-zero, summing to zero, one currency, each account once."""
    if sum(amount for _, amount in legs) != 0 or any(amount == 0 for _, amount in legs):
        raise errors.InvalidAmount("the legs of a transaction must be non-zero and sum to zero")
    if len({account.currency for account, _ in legs}) != 1:
        raise errors.CurrencyMismatch()
    if len({account.id for account, _ in legs}) != len(legs):
        raise errors.InvalidCounterparty("an account appears twice in one transaction")


def _insert(transaction, legs):
    """INSERT the transaction and its entries as plain statements, then attach the object to the session.

    The unit of work would cost more than the posting's own SQL; the object comes back as a persistent one
    (its entries load on first access), as if it had been flushed.
    """
    db.session.execute(_INSERT_TRANSACTION, {column.key: getattr(transaction, column.key)
                                             for column in Transaction.__table__.columns})
    db.session.execute(_INSERT_ENTRY, [
        {"transaction_id": transaction.id, "account_id": account.id, "amount": amount,
         "value_date": transaction.value_date} for account, amount in legs])
    make_transient_to_detached(transaction)
    db.session.add(transaction)


def _today_under_lock(locked):
    """Return the date that counts as today for a posting on the `locked` accounts.

    Read after the locks, never before: a posting that waited for them across midnight must not be checked
    against, nor write a day-end from, a balance that already holds the new day's postings. It is the clock's
    date, or the latest value date the locked rows already hold if that is later (another server's clock a
    moment ahead, or this one stepped back), so every date from it on has one day-end: the stored balance.
    """
    return max([clock.today(), *(account.last_value_date for account in locked
                                 if account.last_value_date is not None)])


def _add_to_balances(locked, moves, value_date):
    """Move the locked accounts' stored balances by {account id: amount} and their latest value date up to
    `value_date`: one UPDATE, run for each account in one round trip (no unit-of-work flush)."""
    db.session.execute(_MOVE_BALANCE, [{"account": account_id, "amount": amount, "day": value_date}
                                       for account_id, amount in moves.items()])
    for account_id, amount in moves.items():
        account = locked[account_id]
        set_committed_value(account, "balance", account.balance + amount)
        set_committed_value(account, "last_value_date", max(filter(None, [account.last_value_date, value_date])))


def _check_can_post(account, value_date, *, is_subject, correction):
    """Refuse postings a locked account's state or history does not allow."""
    if account.status == AccountStatus.CLOSED.value:
        if is_subject:
            raise errors.AccountClosed()
        raise errors.InvalidCounterparty("the counterparty account is closed")
    if account.status == AccountStatus.FROZEN.value and not correction:
        raise errors.AccountFrozen(field=None if is_subject else "counterparty_account_id")
    if value_date < account.opened_on:
        raise errors.InvalidValueDate("must not be before the account was opened")
