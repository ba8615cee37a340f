"""Customer pages: `/`, `/accounts/<id>` (and its transactions), `/tokens`, `/activity`.

A customer only ever sees their own (404 for anything else, the same answer as for what does not exist).
"""
import datetime as dt
import functools

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from portal import identity, ledger, unit_of_work
from portal.converters import parse_row_id
from portal.display import KIND_LABELS, account_label, correction_text, counterparty, transaction_text
from portal.extensions import db
from portal.identity.apps import find_app
from portal.kernel import clock
from portal.ledger import history
from portal.models import CUSTOMER_SCOPES, Account, ApiToken, AppStatus, AuditEvent, Role, ThirdPartyApp, User
from portal.observability import request_actor
from portal.security import seal, unseal
from portal.web.activity import describe, who
from portal.web.forms import OWN_USE, SCOPE_LABELS, BalanceAtDateForm, RevokeTokenForm, TokenForm

bp = Blueprint("web", __name__)

PAGE_SIZE = 20
NEW_TOKEN = "new_token"  # noqa: S105 -- the session key that carries a new token's secret from the POST to the one GET showing it
NEW_TOKEN_SECONDS = 120  # how long the sealed secret can still be shown after the POST
# Refused attempts the customer is shown: their own (and their tokens'), and logins tried on their email. A refused
# attempt by staff or by the system is the bank's business, never the customer's.
SHOWN_REFUSALS = ("anonymous", "token")


def customer_required(view):
    """Logged in as a customer; staff get 403 (their home is the back-office)."""
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role != Role.CUSTOMER.value:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def own_accounts():
    """Return the logged-in customer's accounts, oldest first."""
    return db.session.scalars(sa.select(Account).where(Account.owner_id == current_user.id)
                              .order_by(Account.opened_on, Account.number)).all()


def own_account_or_404(account_id):
    """Return the customer's account, or 404 for one that does not exist or is someone else's (the same answer)."""
    account = db.session.get(Account, account_id)
    if account is None or account.owner_id != current_user.id:
        abort(404)
    return account


@bp.get("/")
@login_required
def index():
    """The customer's accounts and their balances."""
    if current_user.is_staff:
        return redirect(url_for("admin.index"))
    accounts = own_accounts()
    return render_template("web/index.html", accounts=accounts, totals=ledger.totals_by_currency(accounts))


@bp.get("/accounts/<uuid:account_id>")
@customer_required
def account(account_id):
    """One account: its transactions newest first, and its balance at the end of a chosen date."""
    account = own_account_or_404(account_id)
    form = BalanceAtDateForm(request.args)
    balance_at = None
    if form.date.data and form.validate():
        try:
            balance_at = (form.date.data, ledger.closing_balance(account, form.date.data))
        except ledger.InvalidValueDate:
            form.date.errors.append("Choose today or an earlier date.")
    try:
        after = history.decode_position(request.args["before"]) if request.args.get("before") else None
    except ValueError:
        abort(400)
    page = history.page(account, after=after, limit=PAGE_SIZE)
    return render_template("web/account.html", account=account, lines=told(page.lines), older=page.next_cursor,
                           first_page=after is None, form=form, balance_at=balance_at, today=ledger.today(),
                           kind_labels=KIND_LABELS)


def told(lines):
    """Pair each history line with what the customer reads of it ("Transfer to Savings", ...) and its particulars."""
    facts = history.particulars(lines)
    return [(line, transaction_text(line, facts[line.transaction_id], current_user.id), facts[line.transaction_id])
            for line in lines]


@bp.get("/accounts/<uuid:account_id>/transactions/<uuid:transaction_id>")
@customer_required
def transaction(account_id, transaction_id):
    """One transaction as the account sees it: amount, dates, kind, the other side, what it reverses, the note."""
    account = own_account_or_404(account_id)
    line = history.account_transaction(account, transaction_id)
    if line is None:
        abort(404)
    (line, text, facts), = told([line])
    # What it reverses and what reversed it have their entries on this account too (a reversal mirrors every leg).
    related = {other.transaction_id: other_text for other, other_text, _ in told(
        [history.account_transaction(account, other) for other in (line.reverses, line.reversed_by) if other])}
    correction = line.kind in ("reversal", "adjustment")
    return render_template("web/transaction.html", account=account, line=line, text=text,
                           kind=KIND_LABELS.get(line.kind, line.kind),
                           counterparty=counterparty(facts, current_user.id),
                           own_counterparty=facts.counterparty_owner_id == current_user.id, related=related,
                           note=correction_text(facts.customer_note) if correction else None)


def app_choices():
    """Return the token form's "for" choices: own use, or an active app from the bank's list (name, homepage).

    An app allowed nothing a customer can give (the bank's own payment rail: deposits:write) is not listed.
    """
    listed = db.session.scalars(sa.select(ThirdPartyApp).where(ThirdPartyApp.status == AppStatus.ACTIVE.value)
                                .order_by(ThirdPartyApp.name)).all()
    return [OWN_USE, *(SelectChoice(a.client_id, f"{a.name} — {a.homepage}") for a in listed
                       if a.scope_set & set(CUSTOMER_SCOPES))]


def account_choices(accounts):
    """Return the accounts as the token form's choices, each by name and number."""
    return [SelectChoice(str(a.id), account_label(a)) for a in accounts]


@bp.route("/tokens", methods=["GET", "POST"])
@customer_required
def tokens():
    """List the customer's API tokens; create one, then redirect to the list, which shows its secret once.

    POST → redirect → GET: reloading the page after creating a token shows the list again and creates nothing.
    The secret goes from the POST to the next GET in the session, which pops it.
    """
    accounts = [a for a in own_accounts() if a.status != "closed"]
    form = TokenForm()
    form.accounts.choices, form.app.choices = account_choices(accounts), app_choices()
    if form.validate_on_submit():
        if _create_token(form, accounts):
            return redirect(url_for("web.tokens"), code=303)
    elif request.method == "POST":
        flash("The token was not created: please correct the fields marked below.", "error")
    listed = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    new = session.pop(NEW_TOKEN, None) if request.method == "GET" else None
    shown = new and any(token.id == new.get("id") for token in listed)
    secret = unseal(new.get("sealed"), NEW_TOKEN_SECONDS) if shown else None
    return render_template("web/tokens.html", form=form, secret=secret, now=clock.now(),
                           tokens=[token for token in listed if token.revoked_at is None],
                           revoked=[token for token in listed if token.revoked_at is not None],
                           scope_labels=SCOPE_LABELS, revoke_form=RevokeTokenForm()), 200


def _create_token(form, accounts):
    """Issue the token the valid `form` asks for and keep its secret for the next page; False if refused."""
    chosen = [a for a in accounts if str(a.id) in set(form.accounts.data)]
    expires_at = clock.now() + dt.timedelta(days=int(form.expires_in.data)) if form.expires_in.data else None
    actor = request_actor(user=current_user)
    try:
        token, secret = identity.issue_token(current_user, name=form.name.data, scopes=form.scopes.data,
                                             accounts=chosen, expires_at=expires_at, actor=actor,
                                             app=find_app(form.app.data) if form.app.data else None)
    except ledger.ValidationError as exc:
        unit_of_work.refuse(actor, "token.create", exc, outcome="failed",
                            object_type="token", subject_user_id=current_user.id)
        flash(f"The token was not created: {exc.field} {exc.message}.", "error")
        return False
    session[NEW_TOKEN] = {"id": token.id, "sealed": seal(secret)}
    flash(f"Token “{token.name}” created. Copy it now: it will not be shown again.", "success")
    return True


@bp.route("/tokens/<id:token_id>/revoke", methods=["GET", "POST"])
@customer_required
def revoke_token(token_id):
    """Ask for confirmation (GET), then revoke (POST): the token stops working on its next request."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    form = RevokeTokenForm()
    if form.validate_on_submit():
        identity.revoke_token(token, actor=request_actor(user=current_user), reason="revoked by the customer")
        flash(f"Token “{token.name}” is revoked.", "success")
        return redirect(url_for("web.tokens"))
    return render_template("web/revoke_token.html", token=token, form=form, now=clock.now(),
                           scope_labels=SCOPE_LABELS)


@bp.get("/activity")
@customer_required
def activity():
    """What was done by and on behalf of the customer: logins, tokens, postings by tokens, staff corrections."""
    before = None
    if request.args.get("before"):
        # The id of an audit event, as the "older" link wrote it; anything else (a number past the column
        # reached the database as an overflow: a 500) is a bad request.
        before = parse_row_id(request.args["before"], AuditEvent.__table__.c.id)
        if before is None:
            abort(400)
    actor = aliased(User)
    query = (sa.select(AuditEvent, ApiToken.name, actor.role)
             .outerjoin(ApiToken, ApiToken.id == AuditEvent.actor_token_id)
             .outerjoin(actor, actor.id == AuditEvent.actor_user_id)
             .where(sa.or_(AuditEvent.subject_user_id == current_user.id,
                           AuditEvent.actor_user_id == current_user.id),
                    sa.or_(AuditEvent.outcome == "success", AuditEvent.actor_user_id == current_user.id,
                           AuditEvent.actor_type.in_(SHOWN_REFUSALS))))
    if before:
        query = query.where(AuditEvent.id < before)
    rows = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)).all()
    older = rows[PAGE_SIZE - 1][0].id if len(rows) > PAGE_SIZE else None
    names = {str(a.id): a.name for a in own_accounts()}
    events = [(event, who(event, token_name, role), role, *describe(event, names, current_user.id))
              for event, token_name, role in rows[:PAGE_SIZE]]
    return render_template("web/activity.html", events=events, older=older)
