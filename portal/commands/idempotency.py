"""`flask idempotency …`"""
import click

from portal.api import idempotency
from portal.commands.support import command_transaction, system_actor
from portal.database import without_statement_timeout

group = click.Group("idempotency", help="Manage the remembered results of Idempotency-Key requests.")


@group.command("purge")
@click.option("--older-than-hours", default=idempotency.KEEP_HOURS, show_default=True, type=int,
              help=f"Delete keys first used more than this many hours ago (at least {idempotency.KEEP_HOURS}).")
def purge(older_than_hours):
    """Delete remembered Idempotency-Key results older than the given age, and print how many."""
    actor = system_actor()
    with command_transaction("idempotency.purge", actor, object_type="idempotency_key"):
        without_statement_timeout()  # a first purge of a long-running system may delete many rows
        deleted = idempotency.purge(older_than_hours, actor=actor)
    click.echo(f"Purged {deleted} idempotency keys older than {older_than_hours} hours.")
