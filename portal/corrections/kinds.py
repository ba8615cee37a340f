"""The kinds of correction the back-office offers, each one domain call (issue "Four eyes" stores requests for them)."""
import datetime as dt
import secrets

from portal import identity, ledger
from portal.corrections.registry import Kind, register
from portal.display import account_label, money
from portal.identity.resets import RESET_LINK_ACTION
from portal.identity.tokens import REVOKE_ACTION
from portal.identity.users import CREATE_ACTION, ROLE_CHANGE_ACTION, UPDATE_ACTION
from portal.ledger import ValidationError, numbers
from portal.ledger.accounts import CLOSE_ACTION, FREEZE_ACTION, OPEN_ACTION, RENAME_ACTION, UNFREEZE_ACTION
from portal.ledger.posting import ADJUST_ACTION, REVERSE_ACTION
from portal.models import Role

OPERATORS = (Role.OPERATOR, Role.ADMIN)  # correct customers' data
ADMINS = (Role.ADMIN,)  # manage staff
INITIAL_PASSWORD_BYTES = 12


def _date(parameters, name):
    """The ISO date in parameters[name] as a date, or None when it is None."""
    value = parameters[name]
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError("must be a date in YYYY-MM-DD format", field=name) from None


def _text(parameters, name):
    value = parameters[name]
    if not isinstance(value, str):
        raise ValidationError("must be text", field=name)
    return value


def _owner(account):
    return account.owner_id


# Transactions.

def _reverse(transaction, parameters, *, actor, reason, customer_note):
    return ledger.reverse(transaction, actor=actor, reason=reason, customer_note=customer_note)


def _reverse_summary(transaction, request):
    legs = [f"{numbers.display(e.account.number)} ({e.account.name}): "
            f"{money(-e.amount, e.account.currency)}" for e in transaction.entries]
    return [*legs, f"Reason: {request.reason}"]


def _reversed_customer(transaction):
    return next((e.account.owner_id for e in transaction.entries if e.account.is_customer), None)


def _adjust(account, parameters, *, actor, reason, customer_note):
    amount = parameters["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValidationError("must be an integer number of minor units", field="amount")
    return ledger.adjust(account, amount, actor=actor, reason=reason, value_date=_date(parameters, "value_date"),
                         customer_note=customer_note)


def _adjust_summary(account, request):
    amount, value_date = request.parameters["amount"], request.parameters["value_date"]
    return [f"Account: {account_label(account)}",
            f"Amount: {money(amount, account.currency)} (the corrections account takes "
            "the other side)",
            f"Value date: {value_date or 'today'}", f"Reason: {request.reason}"]


register(Kind(REVERSE_ACTION, "transaction", OPERATORS, _reverse, success="Transaction reversed.",
              title=lambda transaction: f"Reverse the {transaction.kind} of {transaction.value_date}",
              summary=_reverse_summary, subject=_reversed_customer, notes=True))
register(Kind(ADJUST_ACTION, "account", OPERATORS, _adjust, success="Adjustment posted.",
              title=lambda account: f"Post an adjustment on {numbers.display(account.number)}",
              summary=_adjust_summary, parameters=("amount", "value_date"), subject=_owner, notes=True))


# Accounts.

def _status_change(action, operation, verb, done):
    def perform(account, parameters, *, actor, reason, customer_note):
        return operation(account, actor=actor, reason=reason, customer_note=customer_note)

    return Kind(action, "account", OPERATORS, perform, success=done,
                title=lambda account: f"{verb} {numbers.display(account.number)}",
                summary=lambda account, request: [f"Account: {account_label(account)}, now {account.status}",
                                                  f"Reason: {request.reason}"],
                subject=_owner, notes=True)


register(_status_change(FREEZE_ACTION, ledger.freeze, "Freeze", "Account frozen."))
register(_status_change(UNFREEZE_ACTION, ledger.unfreeze, "Unfreeze", "Account unfrozen."))
register(_status_change(CLOSE_ACTION, ledger.close, "Close", "Account closed."))


def _rename(account, parameters, *, actor, reason):
    return ledger.rename_account(account, _text(parameters, "name"), actor=actor, reason=reason or None)


register(Kind(RENAME_ACTION, "account", OPERATORS, _rename, success="Account renamed.",
              title=lambda account: f"Rename {numbers.display(account.number)}",
              summary=lambda account, request: [f"Name: {account.name} → {request.parameters['name']}"],
              parameters=("name",), subject=_owner))


def _open(owner, parameters, *, actor, reason):
    # The form's reason is optional and the domain records none for an opening: it is in the request only.
    return ledger.open_account(owner, _text(parameters, "name"), actor=actor, currency=_text(parameters, "currency"),
                               opened_on=_date(parameters, "opened_on"))


register(Kind(OPEN_ACTION, "user", OPERATORS, _open, success="Account opened.",
              title=lambda owner: f"Open an account for {owner.email}",
              summary=lambda owner, request: [f"Name: {request.parameters['name']}",
                                              f"Currency: {request.parameters['currency']}",
                                              f"Opened on: {request.parameters['opened_on'] or 'today'}"],
              parameters=("name", "currency", "opened_on"), subject=lambda owner: owner.id))


# Users and tokens.

def _update_user(user, parameters, *, actor, reason):
    if not isinstance(parameters["active"], bool):
        raise ValidationError("must be true or false", field="active")
    return identity.update_user(user, actor=actor, reason=reason, name=_text(parameters, "name"),
                                email=_text(parameters, "email"), active=parameters["active"])


def _update_summary(user, request):
    new = request.parameters
    return [f"Name: {user.name} → {new['name']}", f"Email: {user.email} → {new['email']}",
            f"Active: {user.active} → {new['active']}", f"Reason: {request.reason}"]


register(Kind(UPDATE_ACTION, "user", OPERATORS, _update_user, success="User updated.",
              title=lambda user: f"Edit {user.email}", summary=_update_summary,
              parameters=("name", "email", "active"), subject=lambda user: user.id, staff_roles=ADMINS))


def _change_role(user, parameters, *, actor, reason):
    return identity.change_role(user, _text(parameters, "role"), actor=actor, reason=reason)


register(Kind(ROLE_CHANGE_ACTION, "user", ADMINS, _change_role, success="Role changed.",
              title=lambda user: f"Change the role of {user.email}",
              summary=lambda user, request: [f"Role: {user.role} → {request.parameters['role']}",
                                             f"Reason: {request.reason}"],
              parameters=("role",)))


def _create_staff(_, parameters, *, actor, reason):
    """Create the user with a one-time initial password, to be changed at first login; return (user, password)
    so it can be shown once.

    The password is made here, not asked for: it never enters the request, which may be stored.
    """
    password = secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)
    user = identity.create_user(_text(parameters, "email"), _text(parameters, "name"),
                                role=_text(parameters, "role"), password=password, actor=actor, reason=reason,
                                must_change_password=True)
    return user, password


register(Kind(CREATE_ACTION, "user", ADMINS, _create_staff, success="Staff user created.",
              title=lambda _: "Create a staff user",
              summary=lambda _, request: [f"Email: {request.parameters['email']}",
                                          f"Name: {request.parameters['name']}",
                                          f"Role: {request.parameters['role']}", f"Reason: {request.reason}"],
              parameters=("email", "name", "role"), needs_target=False))


def _reset_link(user, parameters, *, actor, reason):
    """Make the link; return (user, secret) so the back-office shows it once (it never enters the request)."""
    _, secret = identity.issue_reset(user, actor=actor, reason=reason)
    return user, secret


register(Kind(RESET_LINK_ACTION, "user", OPERATORS, _reset_link, success="Password reset link created.",
              title=lambda user: f"Make a password reset link for {user.email}",
              summary=lambda user, request: [f"Customer: {user.name} <{user.email}>",
                                             "A link that sets a new password once, within 30 minutes; any "
                                             "earlier link stops working. Hand it over only to the customer.",
                                             f"Reason: {request.reason}"],
              subject=lambda user: user.id, staff_roles=()))


def _revoke(token, parameters, *, actor, reason, customer_note):
    return identity.revoke_token(token, actor=actor, reason=reason, customer_note=customer_note)


register(Kind(REVOKE_ACTION, "token", OPERATORS, _revoke, success="Token revoked.",
              title=lambda token: f"Revoke token “{token.name}” ({token.prefix}…)",
              summary=lambda token, request: [f"Owner: {token.user.email}", f"Reason: {request.reason}"],
              subject=lambda token: token.user_id, notes=True))
