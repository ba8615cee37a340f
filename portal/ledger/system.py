"""The bank's own accounts: one settlement and one corrections account per currency.

Every deposit and withdrawal has a leg on a settlement account, so the posting path asks for one each time.
Their ids never change once committed (accounts are never deleted), so each app remembers them: a posting
then costs no lookup. An id is remembered only once it is known to be committed; a pair created in the
current, uncommitted transaction is looked up again until it is.
"""
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from portal.database import upsert_insert
from portal.extensions import db
from portal.ledger import numbers
from portal.models import Account, AccountKind, SystemCode

# The date system accounts are "opened": before any customer account can be.
SYSTEM_OPENED_ON = dt.date(2000, 1, 1)
_UNCOMMITTED = "portal.system_accounts_uncommitted"


@dataclass(frozen=True)
class SystemAccountRef:
    """What a posting needs of a system account: its id and currency (it keeps no stored balance)."""

    id: object
    currency: str
    is_customer: bool = False


def ensure_system_accounts(currency):
    """Create the system accounts for `currency` if they are missing; safe when two sessions race to do it."""
    for code in SystemCode:
        created = db.session.execute(
            upsert_insert(Account)
            .values(number=numbers.generate(), name=f"{code.value.title()} {currency}", currency=currency,
                    kind=AccountKind.SYSTEM.value, system_code=code.value, balance=None,
                    opened_on=SYSTEM_OPENED_ON)
            .on_conflict_do_nothing(index_elements=["system_code", "currency"])
        )
        if created.rowcount:
            db.session.info[_UNCOMMITTED] = True


def system_account(code, currency):
    """Return the system account `code` for `currency`, creating the pair for a currency seen the first time."""
    stmt = sa.select(Account).where(Account.system_code == code.value, Account.currency == currency)
    account = db.session.scalar(stmt)
    if account is None:
        ensure_system_accounts(currency)
        account = db.session.scalar(stmt)
    return account


def system_account_ref(code, currency):
    """Return the id and currency of system account `code`, from the app's memory when it is committed."""
    known = current_app.extensions.setdefault("portal.system_accounts", {})
    ref = known.get((code, currency))
    if ref is None:
        account = system_account(code, currency)
        ref = SystemAccountRef(account.id, account.currency)
        if not db.session.info.get(_UNCOMMITTED):
            known[(code, currency)] = ref
    return ref


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_uncommitted(session):
    # After a commit the pair is committed; after a real rollback it is gone and will be created again.
    session.info.pop(_UNCOMMITTED, None)
