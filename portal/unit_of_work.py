"""The unit of work: one per request or command. It ends in one commit, or in a rollback on any error.

Domain functions and the audit core write and flush but never commit. A door (an API resource, a page, a
back-office action, a command) only calls them; this module ends the unit:

- `refuse(...)` undoes the unit's work and has its end record the refusal in the audit log instead;
- `always(write)` keeps a write that belongs to the request whatever its outcome (a token's last use);
- `fail()` rolls back (the error handlers call it for every error a request ends in);
- `finish()` writes what must be written whatever the outcome, then commits once.

For requests `init_app` makes `finish` the last step of every request; commands use `scope()`.
The state lives in `flask.g`, which belongs to the request's (or the command's) app context.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import g

from portal import audit
from portal.extensions import db


@dataclass
class _State:
    failed: bool = False
    refusals: list = field(default_factory=list)
    writes: list = field(default_factory=list)


def _state():
    if "unit_of_work" not in g:
        g.unit_of_work = _State()
    return g.unit_of_work


def refuse(actor, action, refusal, *, outcome="denied", **audit_fields):
    """Undo the unit's work and record, at its end, that `actor` was refused `action`, and why (`refusal`).

    `refusal` is an `audit.Refusal` (a code and a message), or a domain error to take them from. It is the one
    meaning of "why refused" at every door; a `reason` in `audit_fields` is only ever a member of staff's own.
    The record is written after everything else is rolled back, so a refused attempt leaves nothing behind but
    its audit row, whatever the door does next (render a form again, or raise the error it answers with).
    """
    if not isinstance(refusal, audit.Refusal):
        refusal = audit.Refusal.of(refusal)
    db.session.rollback()
    _state().refusals.append((actor, action, dict(audit_fields, refusal=refusal, outcome=outcome)))


def always(write):
    """Run `write()` at the end of the unit, after a rollback too (bookkeeping such as a token's last use)."""
    _state().writes.append(write)


def fail():
    """Roll the unit's work back; the refusals and writes kept for its end are still made."""
    db.session.rollback()
    _state().failed = True


def finish(*, expire=True):
    """End the unit: make the kept writes and refusal records, then commit once. Safe to call twice.

    `expire=False` keeps the loaded objects' values after the commit, for a response still being streamed from
    them (a CSV export) once its request's unit has ended.
    """
    state = g.pop("unit_of_work", None) or _State()
    if state.failed:
        db.session.rollback()
    for actor, action, fields in state.refusals:
        audit.record(actor, action, **fields)
    for write in state.writes:
        write()
    session = db.session()
    session.expire_on_commit = expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@contextmanager
def scope():
    """Run a command's work as one unit: commit at the end, roll back (and re-raise) on any error."""
    try:
        yield
    except BaseException:
        fail()
        finish()
        raise
    finish()


def init_app(app):
    """End every request's unit of work before its response leaves: a failed commit is answered as the error it is.

    Registered after every other after-request hook, so it runs first: the request log and the headers then
    describe the response that was really sent.
    """

    @app.after_request
    def _finish(response):
        try:
            finish(expire=False)  # the session ends with the request: nothing reads it again but a streamed body
        except Exception as exc:  # noqa: BLE001 -- answered by the app's own error handlers, as a view's error
            return app.make_response(app.handle_user_exception(exc))
        return response
