"""`flask users …`"""
import click

from portal import identity
from portal.commands.support import command_transaction, system_actor, user_by_email
from portal.identity.credentials import PASSWORD_CHANGE_ACTION
from portal.models import Role

group = click.Group("users", help="Manage users.")


# The domain's fields, as `users create` names them (a refusal names what the person typed).
CREATE_OPTIONS = {"email": "EMAIL", "name": "--name", "role": "--role", "password": "--password"}


@group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CUSTOMER.value, show_default=True)
@click.option("--password", help="Prompted for (hidden, twice) when not given.")
def create(email, name, role, password):
    """Create a user (a customer, or staff: viewer, operator, admin)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    actor = system_actor()
    with command_transaction("user.create", actor, options=CREATE_OPTIONS, object_type="user",
                             changes={"email": [None, email]}):
        user = identity.create_user(email, name, role=role, password=password, actor=actor)
    click.echo(f"Created {user.role} {user.email} (id {user.id})")


@group.command("set-password")
@click.argument("email")
def set_password(email):
    """Set a user's password (prompted twice, hidden); every session of theirs ends. Audited as system."""
    user = user_by_email(email)
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    actor = system_actor()
    with command_transaction(PASSWORD_CHANGE_ACTION, actor, object_type="user", object_id=user.id):
        identity.set_password(user, password, actor=actor, how="command line")
    click.echo(f"Password set for {email}; every session of theirs has ended.")
