"""`flask tokens …`"""
import datetime as dt

import click

from portal import identity
from portal.commands.support import account_by_reference, command_transaction, system_actor, user_by_email
from portal.ledger import clock
from portal.models import Scope

group = click.Group("tokens", help="Manage API tokens.")


@group.command("issue")
@click.argument("email")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([s.value for s in Scope]))
@click.option("--account", "accounts", multiple=True, required=True, help="An account id (or number).")
@click.option("--name", default="Command-line token", show_default=True)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="No expiry when not given.")
def issue(email, scopes, accounts, name, expires_in_days):
    """Issue a token for the customer with EMAIL and print the token (only); it is not shown again."""
    user = user_by_email(email)
    granted = [account_by_reference(reference) for reference in accounts]
    expires_at = clock.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    actor = system_actor()
    with command_transaction("token.create", actor, object_type="token", subject_user_id=user.id):
        _, secret = identity.issue_token(user, name=name, scopes=scopes, accounts=granted, actor=actor,
                                         expires_at=expires_at)
    click.echo(secret)
