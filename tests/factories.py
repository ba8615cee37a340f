"""Test data made through the domain layer, so every row a test starts from obeys the rules."""
import datetime as dt
import itertools

import sqlalchemy as sa

from portal import identity, ledger
from portal.audit import Actor
from portal.extensions import db
from portal.models import Account, AuditEvent, DailyBalance, Entry, Role, Transaction

SYSTEM = Actor.system(request_id="test")
PASSWORD = "correct horse battery"
_emails = itertools.count(1)


def make_user(role=Role.CUSTOMER, email=None, name="Test Person"):
    user = identity.create_user(email or f"user{next(_emails)}@example.com", name, role=role, password=PASSWORD,
                                actor=SYSTEM)
    db.session.commit()
    return user


def make_account(owner=None, *, currency="EUR", days_old=60, opened_on=None, balance=0, name="Main"):
    """Open an account `days_old` days ago, funded with `balance` minor units on its opening day."""
    owner = owner or make_user()
    opened_on = opened_on or ledger.today() - dt.timedelta(days=days_old)
    account = ledger.open_account(owner, name, actor=SYSTEM, currency=currency, opened_on=opened_on)
    if balance:
        ledger.deposit(account, balance, actor=SYSTEM, value_date=opened_on, description="Opening deposit")
    db.session.commit()
    return account


def days_ago(n):
    return ledger.today() - dt.timedelta(days=n)


def refresh(account):
    db.session.expire_all()
    return db.session.get(Account, account.id)


def snapshot():
    """Everything a refused operation must leave untouched, in comparable form."""
    db.session.expire_all()
    return {
        "balances": dict(db.session.execute(sa.select(Account.id, Account.balance)).all()),
        "statuses": dict(db.session.execute(sa.select(Account.id, Account.status)).all()),
        "day_ends": sorted(db.session.execute(
            sa.select(DailyBalance.account_id, DailyBalance.day, DailyBalance.closing)).all()),
        "transactions": db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)),
        "entries": db.session.scalar(sa.select(sa.func.count()).select_from(Entry)),
        "audit_events": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    }


def last_audit():
    """The newest audit event, read afresh."""
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
