"""Row locks that make concurrent postings behave as some serial order.

PostgreSQL: customer account rows are locked in ascending id order, so two postings on the same accounts
queue instead of deadlocking. FOR NO KEY UPDATE is enough (only the balance changes) and does not block the
foreign-key checks of concurrent entry inserts. System accounts are never locked: they keep no stored balance.

SQLite has no row locks; the engine begins every transaction with BEGIN IMMEDIATE (see portal.database), so
one writer holds the database's write lock from its first statement.
"""
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account

_LOCK = (
    sa.select(Account)
    .where(Account.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(Account.id)
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def lock_accounts(account_ids):
    """Lock the given accounts and return them, freshly read, in a dict keyed by id."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    return {account.id: account for account in db.session.scalars(_LOCK, {"ids": ids})}
