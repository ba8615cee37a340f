"""`flask apps …`: register third-party apps, suspend and reactivate them, rotate their secrets, record expired
consents."""
from urllib.parse import urlsplit

import click

from portal.commands.support import app_by_client_id, command_transaction, system_actor
from portal.identity import apps, consents
from portal.models import ClientType, Scope

group = click.Group("apps", help="Manage registered third-party apps.")


def _origin(uri):
    """The scheme and host of a URI: the homepage an app gets when none is given."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri  # not a URL: the domain refuses it, as the redirect URI it is
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else uri


@group.command("register")
@click.argument("name_argument", metavar="[NAME]", required=False)
@click.option("--name", help="The name customers see (or give it as NAME).")
@click.option("--homepage", help="Shown to customers; defaults to the first redirect URI's origin.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, help="Exact; repeatable.")
@click.option("--type", "client_type", type=click.Choice([t.value for t in ClientType]),
              help="confidential (a client secret) or public (PKCE only); default confidential.")
@click.option("--public", is_flag=True, help="Same as --type public.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([s.value for s in Scope]),
              help="A scope the app may ever hold; repeatable.")
@click.option("--allow-ip", "allowlist", multiple=True, help="A CIDR API calls must come from; repeatable.")
def register(name_argument, name, homepage, redirect_uris, client_type, public, scopes, allowlist):
    """Register an app; print its client id, then (confidential apps) its client secret, shown only this once."""
    if (name_argument is None) == (name is None):
        raise click.UsageError("give the app's name once: as NAME or --name")
    if public and client_type == ClientType.CONFIDENTIAL.value:
        raise click.UsageError("--public contradicts --type confidential")
    client_type = ClientType.PUBLIC.value if public else client_type or ClientType.CONFIDENTIAL.value
    actor = system_actor()
    # The domain's fields, as this command's options: a homepage left out is the first redirect URI's origin, so
    # that URI is what a person must fix when it is refused.
    options = {"name": "--name" if name else "NAME", "homepage": "--homepage" if homepage else "--redirect-uri",
               "redirect_uris": "--redirect-uri", "client_type": "--type", "scopes": "--scope",
               "ip_allowlist": "--allow-ip"}
    with command_transaction(apps.REGISTER_ACTION, actor, options=options, object_type="app"):
        app, secret = apps.register_app(name=name or name_argument, homepage=homepage or _origin(redirect_uris[0]),
                                        redirect_uris=redirect_uris, client_type=client_type, scopes=scopes,
                                        ip_allowlist=allowlist, actor=actor)
    click.echo(app.client_id)
    if secret:
        click.echo(secret)


def _status_command(command_name, operation, action):
    @group.command(command_name)
    @click.argument("client_id")
    @click.option("--reason", required=True, help="Why, for the audit log.")
    def command(client_id, reason):
        app = app_by_client_id(client_id)
        actor = system_actor()
        with command_transaction(action, actor, object_type="app", object_id=app.id, reason=reason):
            operation(app, actor=actor, reason=reason)
        click.echo(f"{app.client_id} {app.status}")

    command.help = operation.__doc__
    return command


suspend = _status_command("suspend", apps.suspend_app, apps.SUSPEND_ACTION)
reactivate = _status_command("reactivate", apps.reactivate_app, apps.REACTIVATE_ACTION)


@group.command("rotate-secret")
@click.argument("client_id")
@click.option("--reason", required=True, help="Why, for the audit log.")
def rotate_secret(client_id, reason):
    """Give a confidential app a new client secret and print it, shown only this once; the old one stops at once."""
    app = app_by_client_id(client_id)
    actor = system_actor()
    with command_transaction(apps.ROTATE_ACTION, actor, options={"client_type": "CLIENT_ID", "reason": "--reason"},
                             object_type="app", object_id=app.id, reason=reason):
        secret = apps.rotate_secret(app, actor=actor, reason=reason)
    click.echo(secret)


@group.command("expire-consents")
def expire_consents():
    """Record every consent past its expiry as expired (audited `consent.expire`, its tokens revoked).

    Access already ends at the expiry; run this on a schedule (say every 15 minutes) so the log and the
    customer's connected apps say when. Prints how many consents it expired.
    """
    actor = system_actor()
    with command_transaction(consents.EXPIRE_ACTION, actor, object_type="consent"):
        expired = consents.expire_due_consents(actor=actor)
    click.echo(f"{len(expired)} consent{'' if len(expired) == 1 else 's'} expired")
