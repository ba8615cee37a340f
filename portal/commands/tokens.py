"""`flask tokens …`"""
import datetime as dt
import sys

import click

from portal import identity
from portal.commands.support import (
    account_by_reference,
    app_by_client_id,
    command_transaction,
    system_actor,
    user_by_email,
)
from portal.extensions import db
from portal.kernel import clock
from portal.models import ApiToken, Scope

group = click.Group("tokens", help="Manage API tokens.")


# The domain's fields, as `tokens issue` names them (a refusal names what the person typed).
ISSUE_OPTIONS = {"user": "EMAIL", "name": "--name", "scopes": "--scope", "accounts": "--account",
                 "expires_at": "--expires-in-days", "app": "--app"}


@group.command("issue")
@click.argument("email")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([s.value for s in Scope]))
@click.option("--account", "accounts", multiple=True, required=True, help="An account id (or number).")
@click.option("--name", default="Command-line token", show_default=True)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="No expiry when not given.")
@click.option("--app", "client_id", help="The registered app (client id) the token is for.")
def issue(email, scopes, accounts, name, expires_in_days, client_id):
    """Issue a token for the customer with EMAIL and print the token (only); it is not shown again.

    The bank issues it: it may hold deposits:write (for the bank's own payment-rail integrations).
    """
    user = user_by_email(email)
    granted = [account_by_reference(reference) for reference in accounts]
    app = app_by_client_id(client_id) if client_id else None
    expires_at = clock.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    actor = system_actor()
    with command_transaction("token.create", actor, options=ISSUE_OPTIONS, object_type="token",
                             subject_user_id=user.id):
        _, secret = identity.issue_token(user, name=name, scopes=scopes, accounts=granted, actor=actor,
                                         expires_at=expires_at, app=app, by_bank=True)
    click.echo(secret)


@group.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--secret-from-stdin", is_flag=True,
              help="Read the token itself from standard input (a leaked secret: nothing in the shell history).")
@click.option("--reason", required=True, help="Why, for the audit log.")
def revoke(token_id, secret_from_stdin, reason):
    """Revoke the token TOKEN_ID, or the token whose secret is given on standard input; print its id."""
    if (token_id is None) == (not secret_from_stdin):
        raise click.UsageError("give either TOKEN_ID or --secret-from-stdin")
    token = (identity.find_token(sys.stdin.read().strip()) if secret_from_stdin
             else db.session.get(ApiToken, token_id))
    if token is None:
        raise click.ClickException("no such token")
    actor = system_actor()
    with command_transaction("token.revoke", actor, object_type="token", object_id=token.id,
                             subject_user_id=token.user_id):
        identity.revoke_token(token, actor=actor, reason=reason)
    click.echo(token.id)
