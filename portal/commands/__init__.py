"""Command-line doors: `flask --app wsgi users|accounts|tokens|apps|corrections|ledger|audit|idempotency|demo …`.
Each acts as `system`."""
from portal.commands import accounts, apps, audit, corrections, demo, idempotency, ledger, tokens, users


def init_app(app):
    """Register every command group on `app`."""
    for module in (users, accounts, tokens, apps, corrections, ledger, audit, idempotency, demo):
        app.cli.add_command(module.group)
