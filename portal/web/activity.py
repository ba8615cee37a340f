"""Audit events told the way a customer reads them."""
KIND_LABELS = {"deposit": "Deposit", "withdrawal": "Withdrawal", "transfer": "Transfer", "reversal": "Reversal",
               "adjustment": "Adjustment"}
SIMPLE = {
    "auth.login": "Logged in",
    "auth.logout": "Logged out",
    "auth.login_failed": "Failed login attempt",
    "user.create": "Your user was created",
    "api.unauthorized": "An API request with an unusable token was refused",
    "api.forbidden": "An API request beyond the token's permissions was refused",
    "account.open": "Account opened",
    "account.rename": "Account renamed",
    "account.freeze": "Account frozen",
    "account.unfreeze": "Account unfrozen",
    "account.close": "Account closed",
    "token.create": "API token created",
    "token.revoke": "API token revoked",
}


def _new(changes, field):
    value = (changes or {}).get(field)
    return value[1] if value else None


def describe(event, account_names):
    """Return (summary, [detail lines]) for one audit event."""
    changes = event.changes or {}
    details = []
    if event.action.startswith("transaction."):
        kind = _new(changes, "kind")
        amount, currency = _new(changes, "amount"), _new(changes, "currency")
        account = account_names.get(_new(changes, "account_id") or event.object_id, "")
        if kind:
            summary = f"{KIND_LABELS.get(kind, kind)} of {amount} {currency}" + (f" on {account}" if account else "")
            details.append(f"value date {_new(changes, 'value_date')}")
        else:
            summary = "A transaction was refused" if event.outcome != "success" else "Transaction"
            if account:
                summary += f" on {account}"
    elif event.action.startswith("account."):
        summary = SIMPLE.get(event.action, event.action)
        name = account_names.get(event.object_id)
        if name:
            summary += f": {name}"
        for field, (old, new) in changes.items():
            if field in ("name", "status"):
                details.append(f"{field}: {old} → {new}" if old is not None else f"{field}: {new}")
    elif event.action.startswith("token."):
        summary = SIMPLE.get(event.action, event.action)
        if _new(changes, "name"):
            summary += f" “{_new(changes, 'name')}” ({_new(changes, 'prefix')}…)"
            details.append("may: " + ", ".join(_new(changes, "scopes") or []))
    else:
        summary = SIMPLE.get(event.action, event.action)
    if event.reason:
        details.append(f"reason: {event.reason}")
    return summary, details
