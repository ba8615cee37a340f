"""Audit events told the way a customer reads them.

A customer reads the reasons of what they (or their tokens) did, and of the bank's corrections only the note
written for them ("Correction by the bank" without one): the staff's reason is internal.
"""
from portal import corrections
from portal.display import KIND_LABELS, SCOPE_LABELS, correction_text, money
from portal.extensions import db
from portal.models import ThirdPartyApp
from portal.money import AmountError, parse_amount

SIMPLE = {
    "auth.login": "Logged in",
    "auth.logout": "Logged out",
    "auth.login_failed": "Failed login attempt",
    "user.create": "Your user was created",
    "user.password_change": "Password changed",
    "user.password_reset_link": "The bank made a password reset link for you",
    "api.unauthorized": "An API request with an unusable token was refused",
    "api.forbidden": "An API request beyond the token's permissions was refused",
    "account.open": "Account opened",
    "account.rename": "Account renamed",
    "account.freeze": "Account frozen",
    "account.unfreeze": "Account unfrozen",
    "account.close": "Account closed",
    "token.create": "API token created",
    "token.revoke": "API token revoked",
    "consent.grant": "You gave an app access",
    "consent.deny": "You refused an app access",
    "consent.refresh": "An app renewed its access",
    "consent.revoke": "An app's access was revoked",
    "consent.expire": "An app's access expired",
    "consent.refresh_reuse": "An app's access was ended: a used renewal was presented again",
    "statement.download": "The bank's staff downloaded a statement of your account",
    "oauth.authorize": "An app asked for access",
    "oauth.token": "An app collected its access",
    "oauth.revoke": "An app gave up its access",
    "oauth_token.revoke": "An app's access token was revoked",
}

# An app's read (api.read), by what it read: the account's name follows when the event names one.
READS = {
    "accounts": "Read the list of your accounts",
    "account": "Read the details of",
    "balance": "Read the balance of",
    "transactions": "Read the transactions of",
    "transaction": "Read a transaction",
    "statements": "Read the list of statements of",
    "statement": "Read a statement of",
}

# What a refused attempt at one of the SIMPLE actions reads as (it did not happen; the customer sees it tried).
REFUSED = {"user.password_change": "A password change was refused"}


def _new(changes, field):
    value = (changes or {}).get(field)
    return value[1] if value else None


def describe(event, account_names, customer_id):
    """Return (summary, [detail lines]) for one audit event, as customer `customer_id` is told it."""
    changes = event.changes or {}
    if event.action.startswith("transaction."):
        summary, details = _describe_transaction(event, changes, account_names)
    elif event.action.startswith("account."):
        summary, details = _describe_account(event, changes, account_names)
    elif event.action.startswith("token."):
        summary, details = _describe_token(event, changes)
    elif event.action == "api.read":
        summary, details = _describe_read(event, account_names)
    else:
        refused = event.outcome != "success" and event.action in REFUSED
        summary, details = (REFUSED if refused else SIMPLE).get(event.action, event.action), []
    if event.actor_app_id is not None:
        details.insert(0, f"by the app {_app_name(event.actor_app_id)}")
    details.extend(_why(event, changes, customer_id))
    return summary, details


def who(event, token_name, actor_role):
    """Name who did it, as the customer reads it: an app by the app's own name (its personal token or an OAuth
    consent), a personal token for the customer's own use by the token's name; never a token called an app."""
    if event.actor_type == "token":
        if event.actor_app_id is not None:
            return f"App {_app_name(event.actor_app_id)}"
        return f"Token “{token_name}”" if token_name else "An API token"
    if event.actor_type == "system":
        return "The bank (system)"
    if event.actor_type == "anonymous":
        return "Someone not logged in"
    return "Bank staff" if actor_role and actor_role != "customer" else "You"


def by_the_bank(event, customer_id):
    """Whether the bank did it: a member of staff or the system (the command line). Not the customer, their
    tokens, nor someone at the login form with their email."""
    return event.actor_type == "system" or (event.actor_type == "user" and event.actor_user_id != customer_id)


def _why(event, changes, customer_id):
    """The reason of what the customer's side did, or what the bank tells them of a correction; never the
    bank's own reason, which is internal."""
    if not by_the_bank(event, customer_id):
        return [f"reason: {text}" for text in (event.reason, event.refusal_message) if text]
    kind = corrections.KINDS.get(event.action)
    if kind is not None and kind.notes:
        return [correction_text(_new(changes, "customer_note"))]
    return []


def _app_name(app_id):
    """The registered app's name (read once per request: the session keeps it)."""
    app = db.session.get(ThirdPartyApp, app_id)
    return f"“{app.name}”" if app is not None else f"#{app_id}"


def _describe_transaction(event, changes, account_names):
    """Tell a posting (kind, amount, account, value date), or a refused one, the way the customer reads it."""
    details = []
    kind = _new(changes, "kind")
    amount, currency = _new(changes, "amount"), _new(changes, "currency")
    account = account_names.get(_new(changes, "account_id") or event.object_id, "")
    if kind:
        summary = f"{KIND_LABELS.get(kind, kind)} of {_money(amount, currency)}" + (f" on {account}" if account else "")
        details.append(f"value date {_new(changes, 'value_date')}")
    else:
        summary = "A transaction was refused" if event.outcome != "success" else "Transaction"
        if account:
            summary += f" on {account}"
    return summary, details


def _describe_account(event, changes, account_names):
    """Tell a change to an account by the account's name, with its name or status before and after."""
    details = []
    summary = SIMPLE.get(event.action, event.action)
    name = account_names.get(event.object_id)
    if name:
        summary += f": {name}"
    for field, (old, new) in changes.items():
        if field in ("name", "status"):
            details.append(f"{field}: {old} → {new}" if old is not None else f"{field}: {new}")
    return summary, details


def _describe_read(event, account_names):
    """Tell what an app read ("Read the balance of Main"), or that it tried and was answered an error."""
    summary = READS.get(event.object_type, "Read your data")
    if summary.endswith(" of"):
        summary += " " + account_names.get(event.object_id, "an account")
    if event.outcome != "success":
        summary = "Tried to " + summary[0].lower() + summary[1:]
    return summary, []


def _describe_token(event, changes):
    """Tell an API token event by the token's name and prefix, with what the token may do."""
    details = []
    summary = SIMPLE.get(event.action, event.action)
    if _new(changes, "name"):
        summary += f" “{_new(changes, 'name')}” ({_new(changes, 'prefix')}…)"
        details.append("may: " + ", ".join(SCOPE_LABELS.get(scope, scope) for scope in _new(changes, "scopes") or []))
    return summary, details


def _money(amount, currency):
    """An amount recorded as a decimal string, shown as the pages show money, without its sign ("Withdrawal of
    €3.50": the kind says which way it went)."""
    try:
        return money(abs(parse_amount(amount, currency)), currency)
    except (AmountError, TypeError):
        return f"{amount} {currency}"
