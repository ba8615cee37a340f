"""Opening accounts and changing their name and status."""
import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.kernel import clock
from portal.ledger import errors, numbers
from portal.ledger.locking import lock_accounts
from portal.ledger.system import ensure_system_accounts
from portal.models import Account, AccountKind, AccountStatus, Role
from portal.money import CURRENCIES

MAX_NAME = 120

# The audit actions recorded here; portal.corrections names its kinds with these.
OPEN_ACTION = "account.open"
RENAME_ACTION = "account.rename"
FREEZE_ACTION = "account.freeze"
UNFREEZE_ACTION = "account.unfreeze"
CLOSE_ACTION = "account.close"


def open_account(owner, name, *, actor, currency="EUR", opened_on=None):
    """Open a customer account for `owner`, a customer, and return it."""
    name = _clean_name(name)
    currency = (currency or "").upper()
    if currency not in CURRENCIES:
        raise errors.ValidationError(f"must be one of {', '.join(sorted(CURRENCIES))}", field="currency")
    if owner.role != Role.CUSTOMER.value:
        raise errors.ValidationError("only customers own accounts", field="owner")
    if not owner.active:
        raise errors.ValidationError("the owner is deactivated", field="owner")
    today = clock.today()
    opened_on = opened_on or today
    if opened_on > today:
        raise errors.ValidationError("must not be in the future", field="opened_on")

    ensure_system_accounts(currency)
    number = numbers.generate()
    while db.session.scalar(sa.select(Account.id).where(Account.number == number)) is not None:
        number = numbers.generate()
    account = Account(number=number, name=name, owner_id=owner.id, currency=currency,
                      kind=AccountKind.CUSTOMER.value, status=AccountStatus.ACTIVE.value, balance=0,
                      opened_on=opened_on)
    db.session.add(account)
    db.session.flush()
    audit.record(actor, OPEN_ACTION, object_type="account", object_id=account.id, subject_user_id=owner.id,
                 changes={"number": [None, number], "name": [None, name], "currency": [None, currency],
                          "opened_on": [None, opened_on], "owner_id": [None, owner.id]})
    return account


def rename_account(account, name, *, actor, reason=None):
    """Give a customer account a new name."""
    name = _clean_name(name)
    account = _locked(account)
    if name == account.name:
        return account
    old, account.name = account.name, name
    audit.record(actor, RENAME_ACTION, object_type="account", object_id=account.id,
                 subject_user_id=account.owner_id, changes={"name": [old, name]}, reason=reason)
    db.session.flush()
    return account


def freeze(account, *, actor, reason, customer_note=None):
    """Stop postings in and out of an active account (staff corrections still apply)."""
    return _change_status(account, {AccountStatus.ACTIVE}, AccountStatus.FROZEN, FREEZE_ACTION, actor, reason,
                          customer_note)


def unfreeze(account, *, actor, reason, customer_note=None):
    """Let a frozen account take postings again."""
    return _change_status(account, {AccountStatus.FROZEN}, AccountStatus.ACTIVE, UNFREEZE_ACTION, actor, reason,
                          customer_note)


def close(account, *, actor, reason, customer_note=None):
    """Close an account at zero balance; it takes no postings at all afterwards."""
    return _change_status(account, {AccountStatus.ACTIVE, AccountStatus.FROZEN}, AccountStatus.CLOSED,
                          CLOSE_ACTION, actor, reason, customer_note)


def _change_status(account, allowed_from, new_status, action, actor, reason, customer_note):
    reason = errors.require_reason(reason)
    customer_note = errors.customer_note(customer_note)
    account = _locked(account)
    if AccountStatus(account.status) not in allowed_from:
        raise errors.InvalidStatusChange(f"a {account.status} account cannot be changed to {new_status.value}")
    if new_status is AccountStatus.CLOSED and account.balance != 0:
        raise errors.BalanceNotZero()
    old, account.status = account.status, new_status.value
    audit.record(actor, action, object_type="account", object_id=account.id, subject_user_id=account.owner_id,
                 changes=errors.noted({"status": [old, new_status.value]}, customer_note), reason=reason)
    db.session.flush()
    return account


def _locked(account):
    if not account.is_customer:
        raise errors.ValidationError("system accounts cannot be changed", field="account")
    return lock_accounts([account.id])[account.id]


def _clean_name(name):
    return errors.clean_text(name, field="name", max_length=MAX_NAME, required=True)
