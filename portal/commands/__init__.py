"""Command-line doors: `flask --app wsgi users|accounts|tokens|apps|corrections|ledger|idempotency|demo …`. Each
acts as `system`."""
from portal.commands import accounts, apps, corrections, demo, idempotency, ledger, tokens, users


def init_app(app):
    """Register every command group on `app`."""
    for module in (users, accounts, tokens, apps, corrections, ledger, idempotency, demo):
        app.cli.add_command(module.group)
