"""`flask corrections …`: the four-eyes requests, for the scripted bank. The checker is named with --as."""
import click
import sqlalchemy as sa

from portal.commands.support import command_transaction, system_actor, user_by_email
from portal.corrections import approvals
from portal.extensions import db
from portal.kernel import clock
from portal.models import REQUEST_STATUSES, RequestedCorrection

group = click.Group("corrections", help="List, approve and reject corrections waiting for a second member of staff.")


@group.command("list")
@click.option("--status", type=click.Choice(REQUEST_STATUSES), help="Only requests with this status.")
def list_(status):
    """List requests, pending first and oldest first: id, status, kind, target, maker, requested at, reason."""
    actor = system_actor()
    with command_transaction(approvals.EXPIRE_ACTION, actor):
        approvals.expire_due(actor)  # what is past its expiry is listed (and recorded) as expired
    query = sa.select(RequestedCorrection).order_by(
        sa.case((RequestedCorrection.status == "pending", 0), else_=1), RequestedCorrection.requested_at,
        RequestedCorrection.id)
    if status:
        query = query.where(RequestedCorrection.status == status)
    now = clock.now()
    for stored in db.session.scalars(query):
        click.echo("\t".join([str(stored.id), stored.shown_status(now), stored.kind,
                              f"{stored.target_type}:{stored.target_id}", stored.maker.email,
                              stored.requested_at.isoformat(timespec="seconds"), stored.reason.replace("\n", " ")]))


def _checker_and_request(request_id, email):
    checker = user_by_email(email)
    stored = db.session.get(RequestedCorrection, request_id)
    if stored is None:
        raise click.ClickException(f"no correction request {request_id}")
    # The command acts as `system`, on behalf of the member of staff it names: they are the checker.
    return checker, stored, system_actor().with_request(user_id=checker.id)


@group.command("approve")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--as", "email", required=True, help="The checker's email: not the maker, with the kind's role.")
def approve(request_id, email):
    """Approve request ID as the member of staff with EMAIL: its correction is applied now, or it fails."""
    checker, stored, actor = _checker_and_request(request_id, email)
    with command_transaction(approvals.APPROVE_ACTION, actor, object_type=approvals.OBJECT_TYPE,
                             object_id=request_id):
        stored = approvals.approve(stored, checker, actor)
        status, refusal = stored.status, stored.refusal_message
    if status == "failed":
        raise click.ClickException(f"request {request_id} failed: {refusal}; nothing changed")
    if status == "expired":
        raise click.ClickException(f"request {request_id} has expired and cannot be approved")
    click.echo(f"Approved request {request_id}; the correction is applied.")


@group.command("reject")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--as", "email", required=True, help="The checker's email: not the maker, with the kind's role.")
@click.option("--comment", required=True, help="Why it is rejected (the maker reads it).")
def reject(request_id, email, comment):
    """Reject request ID as the member of staff with EMAIL, with a comment; nothing else changes."""
    checker, stored, actor = _checker_and_request(request_id, email)
    with command_transaction(approvals.REJECT_ACTION, actor, object_type=approvals.OBJECT_TYPE,
                             object_id=request_id):
        status = approvals.reject(stored, checker, actor, comment).status
    if status == "expired":
        raise click.ClickException(f"request {request_id} has expired")
    click.echo(f"Rejected request {request_id}.")
