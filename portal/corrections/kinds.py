"""The kinds of correction the back-office offers, each one domain call (issue "Four eyes" stores requests for them)."""
import datetime as dt
import secrets

from portal import identity, ledger
from portal.corrections.registry import Kind, register
from portal.display import account_label, money
from portal.identity import apps, consents
from portal.identity.apps import EDIT_ACTION, REACTIVATE_ACTION, REGISTER_ACTION, ROTATE_ACTION, SUSPEND_ACTION
from portal.identity.consents import REVOKE_ACTION as CONSENT_REVOKE_ACTION
from portal.identity.resets import RESET_LINK_ACTION
from portal.identity.tokens import REVOKE_ACTION
from portal.identity.users import CREATE_ACTION, ROLE_CHANGE_ACTION, UPDATE_ACTION
from portal.kernel import clock
from portal.ledger import ValidationError, numbers
from portal.ledger.accounts import CLOSE_ACTION, FREEZE_ACTION, OPEN_ACTION, RENAME_ACTION, UNFREEZE_ACTION
from portal.ledger.posting import ADJUST_ACTION, REVERSE_ACTION
from portal.models import ConsentStatus, Role

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


def _lines(parameters, name):
    """The text in parameters[name] as a list of its non-empty lines (or whitespace-separated words)."""
    return _text(parameters, name).split()


def _names(parameters, name):
    """parameters[name] as a list of text values (the scopes an app may hold)."""
    value = parameters[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("must be a list of names", field=name)
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


# Third-party apps and consents.

APP_FIELDS = ("name", "homepage", "redirect_uris", "scopes", "ip_allowlist")


def _app_fields(parameters):
    """The app's fields from a request: redirect URIs and allowlist one per line, scopes a list."""
    return {"name": _text(parameters, "name"), "homepage": _text(parameters, "homepage"),
            "redirect_uris": _lines(parameters, "redirect_uris"), "scopes": _names(parameters, "scopes"),
            "ip_allowlist": _lines(parameters, "ip_allowlist")}


def _register_app(_, parameters, *, actor, reason):
    """Register the app; return (app, client_secret) so the secret is shown once (it never enters the request)."""
    return apps.register_app(**_app_fields(parameters), client_type=_text(parameters, "client_type"), actor=actor,
                              reason=reason)


def _app_summary(parameters):
    return [f"Name: {parameters['name']}", f"Homepage: {parameters['homepage']}",
            f"Redirect URIs: {', '.join(str(parameters['redirect_uris']).split()) or 'none'}",
            f"Scopes it may hold: {', '.join(parameters['scopes'] or []) or 'none'}",
            f"IP allowlist: {', '.join(str(parameters['ip_allowlist']).split()) or 'anywhere'}"]


register(Kind(REGISTER_ACTION, "app", ADMINS, _register_app, success="App registered.",
              title=lambda _: "Register a third-party app",
              summary=lambda _, request: [*_app_summary(request.parameters),
                                          f"Type: {request.parameters['client_type']}", f"Reason: {request.reason}"],
              parameters=(*APP_FIELDS, "client_type"), needs_target=False))


def _edit_app(app, parameters, *, actor, reason):
    return apps.edit_app(app, actor=actor, reason=reason, **_app_fields(parameters))


register(Kind(EDIT_ACTION, "app", ADMINS, _edit_app, success="App updated.",
              title=lambda app: f"Edit the app “{app.name}” ({app.client_id})",
              summary=lambda app, request: [*_app_summary(request.parameters), f"Reason: {request.reason}"],
              parameters=APP_FIELDS))


def _app_status_change(action, operation, verb, done, consequence):
    def perform(app, parameters, *, actor, reason):
        return operation(app, actor=actor, reason=reason)

    return Kind(action, "app", OPERATORS, perform, success=done,
                title=lambda app: f"{verb} the app “{app.name}” ({app.client_id})",
                summary=lambda app, request: [f"App: {app.name}, now {app.status}", consequence,
                                              f"Reason: {request.reason}"])


register(_app_status_change(SUSPEND_ACTION, apps.suspend_app, "Suspend", "App suspended.",
                            "Every token and consent of the app stops working on its next request."))
register(_app_status_change(REACTIVATE_ACTION, apps.reactivate_app, "Reactivate", "App reactivated.",
                            "Its tokens and consents work again, unless they expired or were revoked meanwhile."))


def _rotate_secret(app, parameters, *, actor, reason):
    """Give the app a new client secret; return (app, client_secret) so it is shown once (never in the request)."""
    return app, apps.rotate_secret(app, actor=actor, reason=reason)


register(Kind(ROTATE_ACTION, "app", ADMINS, _rotate_secret, success="Client secret rotated.",
              title=lambda app: f"Rotate the client secret of “{app.name}” ({app.client_id})",
              summary=lambda app, request: [
                  f"App: {app.name}, {app.client_type}",
                  "The new secret is shown once, on the next page; the old one stops working at once: the app "
                  "cannot get or refresh tokens until its developer puts the new one in.",
                  "Its customers' consents stay; access tokens already issued live out their 10 minutes (suspend "
                  "the app to stop them at once).",
                  f"Reason: {request.reason}"]))


def _revoke_consent(consent, parameters, *, actor, reason):
    if consent.status_at(clock.now()) != ConsentStatus.ACTIVE.value:
        raise ValidationError(f"the consent has already ended ({consent.status_at(clock.now())})", field="status")
    return consents.revoke_consent(consent, actor=actor, reason=reason)


register(Kind(CONSENT_REVOKE_ACTION, "consent", OPERATORS, _revoke_consent, success="Consent revoked.",
              title=lambda consent: f"Revoke {consent.user.email}'s consent to “{consent.app.name}”",
              summary=lambda consent, request: [
                  f"Customer: {consent.user.name} <{consent.user.email}>",
                  f"App: {consent.app.name} ({consent.app.client_id})", f"Scopes: {consent.scopes}",
                  "Accounts: " + ", ".join(numbers.display(a.number) for a in consent.accounts),
                  "The app's tokens under this consent stop at once; the customer can grant it again.",
                  f"Reason: {request.reason}"],
              subject=lambda consent: consent.user_id))
