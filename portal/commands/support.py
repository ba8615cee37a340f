"""What every command shares: the system actor, one commit per command, and refusals as clean errors."""
import uuid
from contextlib import contextmanager

import click
import sqlalchemy as sa

from portal import unit_of_work
from portal.audit import Actor
from portal.converters import parse_uuid
from portal.extensions import db
from portal.identity import find_user_by_email
from portal.identity.apps import find_app
from portal.ledger import LedgerError
from portal.models import Account


def system_actor():
    """Return the `system` actor, with a fresh id tying this command's audit rows together."""
    return Actor.system(request_id=f"cli-{uuid.uuid4().hex[:16]}")


@contextmanager
def command_transaction(action, actor, *, options=None, **audit_fields):
    """Run the command as one unit of work: one commit; on a domain refusal, its audit record alone, and exit 1.

    `options` maps the domain's field names to the command's own options (`{"ip_allowlist": "--allow-ip"}`), so
    the error names what the person typed.
    """
    with unit_of_work.scope():
        try:
            yield
        except LedgerError as exc:
            unit_of_work.refuse(actor, action, exc, outcome="failed", **audit_fields)
            refusal = click.ClickException(_describe(exc, options or {}))
        else:
            return
    raise refusal from None


def _describe(exc, options):
    return f"{options.get(exc.field, exc.field)}: {exc.message}" if exc.field else exc.message


def user_by_email(email):
    """Return the user with `email`, or stop with an error naming it."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


def account_by_reference(reference):
    """Return the account whose id or number (spaces allowed) is `reference`, or stop with an error."""
    account_id = parse_uuid(reference)
    clause = Account.id == account_id if account_id else Account.number == reference.replace(" ", "").upper()
    account = db.session.scalar(sa.select(Account).where(clause))
    if account is None:
        raise click.ClickException(f"no account {reference}")
    return account


def app_by_client_id(client_id):
    """Return the registered app with this client id, or stop with an error naming it."""
    app = find_app(client_id)
    if app is None:
        raise click.ClickException(f"no app {client_id}")
    return app
