"""`flask accounts …`"""
import click

from portal import ledger
from portal.commands.support import command_transaction, system_actor, user_by_email
from portal.money import CURRENCIES

group = click.Group("accounts", help="Manage accounts.")


# The domain's fields, as `accounts open` names them (a refusal names what the person typed).
OPEN_OPTIONS = {"owner": "EMAIL", "name": "--name", "currency": "--currency", "opened_on": "--opened-on"}


@group.command("open")
@click.argument("email")
@click.option("--name", required=True, help="The account's name, as the customer sees it.")
@click.option("--currency", default="EUR", show_default=True, type=click.Choice(sorted(CURRENCIES)))
@click.option("--opened-on", type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD; today by default.")
def open_(email, name, currency, opened_on):
    """Open an account for the customer with EMAIL and print its id (only)."""
    owner = user_by_email(email)
    actor = system_actor()
    with command_transaction("account.open", actor, options=OPEN_OPTIONS, object_type="account",
                             subject_user_id=owner.id):
        account = ledger.open_account(owner, name, actor=actor, currency=currency,
                                      opened_on=opened_on.date() if opened_on else None)
    click.echo(str(account.id))
