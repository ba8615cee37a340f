"""The bank's own accounts: one settlement and one corrections account per currency."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.ledger import numbers
from portal.models import Account, AccountKind, SystemCode

# The date system accounts are "opened": before any customer account can be.
SYSTEM_OPENED_ON = dt.date(2000, 1, 1)


def ensure_system_accounts(currency):
    """Create the system accounts for `currency` if they are missing; safe when two sessions race to do it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for code in SystemCode:
        db.session.execute(
            insert(Account)
            .values(number=numbers.generate(), name=f"{code.value.title()} {currency}", currency=currency,
                    kind=AccountKind.SYSTEM.value, system_code=code.value, balance=None,
                    opened_on=SYSTEM_OPENED_ON)
            .on_conflict_do_nothing(index_elements=["system_code", "currency"])
        )


def system_account(code, currency):
    """Return the system account `code` for `currency`, creating the pair for a currency seen the first time."""
    stmt = sa.select(Account).where(Account.system_code == code.value, Account.currency == currency)
    account = db.session.scalar(stmt)
    if account is None:
        ensure_system_accounts(currency)
        account = db.session.scalar(stmt)
    return account
