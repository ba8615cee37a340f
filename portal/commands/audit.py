"""`flask audit seal|verify|checkpoint`: the sealed hash chain over the audit log (docs/operations.md)."""
import signal
import time

import click
from flask import current_app

from portal import audit, unit_of_work
from portal.audit import Refusal
from portal.audit import chain as audit_chain
from portal.commands.support import system_actor
from portal.extensions import db
from portal.kernel import clock

group = click.Group("audit", help="Seal the audit log into its hash chain, verify it, sign checkpoints.")

CHAIN = "audit_chain"


def _seal_once(batch):
    """Seal one batch as its own unit of work (each batch commits: progress is kept, the head lock is short)."""
    with unit_of_work.scope():
        return audit_chain.seal(db.session, clock.now(), batch=batch)


def _record(actor, action, **fields):
    with unit_of_work.scope():
        audit.record(actor, action, object_type=CHAIN, **fields)


def _fail(actor, action, code, message, **fields):
    """Record the failure as `system`, then stop with its message (exit 1)."""
    _record(actor, action, outcome="failed", refusal=Refusal(code, message), **fields)
    raise click.ClickException(message)


@group.command("seal")
@click.option("--follow", is_flag=True, help="Keep sealing as events arrive, until stopped (SIGTERM, Ctrl-C).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="With --follow: seconds to wait when nothing is waiting.")
@click.option("--batch", default=audit_chain.SEAL_BATCH, show_default=True, type=click.IntRange(1, 100_000),
              help="Events sealed per transaction.")
def seal(follow, interval, batch):
    """Seal the waiting audit events into the chain, then exit (or, with --follow, keep sealing)."""
    actor = system_actor()
    start = audit_chain.head_position(db.session)
    db.session.rollback()
    if follow:
        _record(actor, "audit.seal", changes={"follow": [None, True]}, object_id=str(start))
        click.echo(f"audit seal: following from position {start}")
    total, position = _seal_until(actor, start, batch, interval if follow else None)
    if not follow:
        _record(actor, "audit.seal", object_id=str(position), changes={"position": [start, position]})
    click.echo(f"audit seal: {total} events sealed, the chain ends at position {position}")


def _seal_until(actor, position, batch, interval):
    """Seal batches until none is waiting (`interval` None) or, following, until SIGTERM or Ctrl-C."""
    total, stopping = 0, []
    if interval is not None:  # a container stop (SIGTERM) ends the loop after the batch in hand
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping:
            try:
                sealed = _seal_once(batch)
            except audit_chain.ChainError as exc:
                _fail(actor, "audit.seal", "chain.unsealable", str(exc), object_id=str(position))
            total, position = total + sealed.count, sealed.position
            if sealed.count and interval is not None:
                click.echo(f"sealed {sealed.count} up to {sealed.position} lag {sealed.lag_seconds:.3f}s")
            if sealed.count < batch:
                if interval is None:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return total, position


def _checkpoint_key():
    key = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if not key:
        raise click.ClickException("AUDIT_CHECKPOINT_KEY is not set: checkpoints cannot be signed or checked")
    return key


@group.command("checkpoint")
def checkpoint():
    """Print a signed checkpoint (position, link, time, HMAC-SHA256) of the last sealed event, as JSON."""
    key = _checkpoint_key()
    actor = system_actor()
    with unit_of_work.scope():
        taken = audit_chain.take_checkpoint(db.session, clock.now())
        audit.record(actor, "audit.checkpoint", object_type=CHAIN, object_id=str(taken.position))
    click.echo(taken.document(key))


@group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"),
              help="A checkpoint from `flask audit checkpoint` the log must still extend.")
@click.option("--max-waiting-seconds", default=audit_chain.MAX_WAITING_SECONDS, show_default=True,
              type=click.IntRange(1), help="How long an event may wait for the sealer before it counts as a failure.")
def verify(checkpoint_file, max_waiting_seconds):
    """Recompute every link of the chain; exit 1 naming the first broken position and what is wrong."""
    actor = system_actor()
    taken = None
    if checkpoint_file is not None:
        try:
            taken = audit_chain.read_checkpoint(checkpoint_file.read(), _checkpoint_key())
        except audit_chain.ChainError as exc:
            _fail(actor, audit_chain.VERIFY_ACTION, "chain.checkpoint", f"audit verify: {exc}")
    db.session.rollback()  # the verify reads on a connection of its own; hold no lock here meanwhile
    report = audit_chain.verify(db.engine, clock.now(), checkpoint=taken, max_waiting=max_waiting_seconds)
    waiting = f"{report.waiting} waiting"
    if report.oldest_waiting is not None:
        waiting += f" (oldest since {report.oldest_waiting.isoformat()})"
    click.echo(f"audit verify: {report.sealed} events checked up to position {report.position}, {waiting}; "
               f"{report.seconds:.2f} s, {report.rate:,.0f} events/s")
    if taken is not None and report.ok:
        click.echo(f"audit verify: the log extends the checkpoint of {taken.time} (position {taken.position})")
    if not report.ok:
        problem = report.problem
        _fail(actor, audit_chain.VERIFY_ACTION, f"chain.{problem.kind}", f"audit verify FAILED: {problem.message}",
              object_id=str(problem.position if problem.position is not None else report.position))
    _record(actor, audit_chain.VERIFY_ACTION, object_id=str(report.position))
    click.echo("audit verify: OK")
