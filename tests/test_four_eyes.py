"""Four eyes in the domain and from the shell: every state of a correction request, every refusal, the CHECKs,
concurrent approvals (PostgreSQL, real threads), and the configuration that turns it on."""
import datetime as dt
import logging

import pytest
import sqlalchemy as sa

from portal import corrections, create_app, ledger
from portal.audit import Actor
from portal.config import ConfigError
from portal.corrections import approvals
from portal.extensions import db
from portal.kernel import clock
from portal.models import Account, AuditEvent, RequestedCorrection, Role, Transaction, User
from tests.factories import SYSTEM, days_ago, make_account, make_user, refresh, snapshot
from tests.test_concurrency import run_together
from tests.test_database_guards import refused_sql


@pytest.fixture
def world(app):
    customer = make_user(email="carla@example.com")
    main = make_account(customer, days_old=30, balance=200_00)
    charge = ledger.withdraw(main, 50_00, actor=SYSTEM, value_date=days_ago(3), description="Double charge")
    db.session.commit()
    staff = {name: make_user(role=role, email=f"{name}@bank.example") for name, role in (
        ("maker", Role.OPERATOR), ("checker", Role.OPERATOR), ("admin", Role.ADMIN), ("admin2", Role.ADMIN),
        ("viewer", Role.VIEWER))}
    return customer, main, charge, staff


def as_actor(user):
    return Actor.for_user(user, request_id=f"test-{user.id}")


def reversal(charge, maker, note=None):
    return corrections.CorrectionRequest(kind="transaction.reverse", target_type="transaction",
                                         target_id=str(charge.id), reason="charged twice", customer_note=note,
                                         maker_id=maker.id)


def adjustment(account, maker, amount):
    return corrections.CorrectionRequest(kind="transaction.adjust", target_type="account", target_id=str(account.id),
                                         parameters={"amount": amount, "value_date": None}, reason="fee refund",
                                         maker_id=maker.id)


def requested(asked, maker):
    stored = approvals.request(asked, as_actor(maker))
    db.session.commit()
    return stored


def events(action, request_id=None):
    db.session.expire_all()
    query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if request_id is not None:
        query = query.where(AuditEvent.object_id == str(request_id))
    return db.session.scalars(query).all()


def reversals():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)
                             .where(Transaction.kind == "reversal"))


# Requesting.

def test_a_request_is_stored_and_changes_nothing_else(world):
    customer, main, charge, staff = world
    before = snapshot()
    stored = requested(reversal(charge, staff["maker"], note="We refunded a double charge."), staff["maker"])
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.kind, stored.target_type, stored.target_id, stored.maker_id) == (
        "pending", "transaction.reverse", "transaction", str(charge.id), staff["maker"].id)
    assert stored.expires_at - stored.requested_at == dt.timedelta(days=7)
    assert stored.customer_note == "We refunded a double charge." and stored.reason == "charged twice"
    (event,) = events("correction.request")
    assert (event.actor_user_id, event.object_type, event.object_id, event.subject_user_id) == (
        staff["maker"].id, "correction_request", str(stored.id), None)  # staff's story, not the customer's


def test_an_obviously_refused_correction_is_refused_at_once(world):
    _, main, charge, staff = world
    ledger.reverse(charge, actor=SYSTEM, reason="first")
    db.session.commit()
    before = snapshot()
    with pytest.raises(ledger.AlreadyReversed):
        approvals.request(reversal(charge, staff["maker"]), as_actor(staff["maker"]))
    db.session.rollback()
    assert snapshot() == before and db.session.scalar(sa.select(sa.func.count()).select_from(RequestedCorrection)) == 0


def test_the_same_correction_is_not_requested_twice_while_one_waits(world):
    _, _, charge, staff = world
    requested(reversal(charge, staff["maker"]), staff["maker"])
    with pytest.raises(approvals.AlreadyRequested):
        approvals.request(reversal(charge, staff["checker"]), as_actor(staff["checker"]))


def test_a_maker_without_the_role_cannot_request(world):
    _, _, charge, staff = world
    with pytest.raises(corrections.NotPermitted):
        approvals.request(reversal(charge, staff["viewer"]), as_actor(staff["viewer"]))


@pytest.mark.parametrize("kind", sorted(approvals.IMMEDIATE))
def test_what_applies_at_once_is_never_requested(world, kind):
    _, main, _, staff = world
    asked = corrections.CorrectionRequest(kind=kind, target_type="account", target_id=str(main.id), reason="x",
                                          maker_id=staff["admin"].id)
    with pytest.raises(ledger.ValidationError):
        approvals.request(asked, as_actor(staff["admin"]))


# Approving.

def test_approval_applies_it_in_the_decision_s_transaction_naming_maker_and_checker(world):
    customer, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"], note="We refunded a double charge."), staff["maker"])
    approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()
    assert refresh(main).balance == 200_00 and reversals() == 1
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.checker_id) == ("approved", staff["checker"].id) and stored.decided_at
    (applied,) = events("transaction.reverse")
    assert (applied.actor_user_id, applied.maker_user_id, applied.correction_request_id) == (
        staff["checker"].id, staff["maker"].id, stored.id)
    assert applied.subject_user_id == customer.id and applied.reason == "charged twice"
    (approved,) = events("correction.approve", stored.id)
    assert approved.actor_user_id == staff["checker"].id and approved.outcome == "success"
    reversal_row = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "reversal"))
    assert reversal_row.customer_note == "We refunded a double charge."


def test_the_maker_cannot_approve_their_own_request(world):
    _, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    before = snapshot()
    with pytest.raises(approvals.MakerIsChecker):
        approvals.approve(stored, staff["maker"], as_actor(staff["maker"]))
    db.session.rollback()
    assert snapshot() == before and db.session.get(RequestedCorrection, stored.id).status == "pending"


def test_a_role_change_needs_an_admin_checker(world):
    _, _, _, staff = world
    asked = corrections.CorrectionRequest(kind="user.role_change", target_type="user", target_id=staff["viewer"].id,
                                          parameters={"role": "operator"}, reason="promoted",
                                          maker_id=staff["admin"].id)
    stored = requested(asked, staff["admin"])
    with pytest.raises(corrections.NotPermitted):
        approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))  # an operator
    db.session.rollback()
    approvals.approve(stored, staff["admin2"], as_actor(staff["admin2"]))
    db.session.commit()
    assert db.session.get(User, staff["viewer"].id).role == "operator"


def test_a_viewer_cannot_approve(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    with pytest.raises(corrections.NotPermitted):
        approvals.approve(stored, staff["viewer"], as_actor(staff["viewer"]))


def test_approval_after_the_money_was_spent_fails_and_changes_nothing_else(world):
    customer, main, _, staff = world
    stored = requested(adjustment(main, staff["maker"], -150_00), staff["maker"])  # possible when requested
    ledger.withdraw(main, 100_00, actor=SYSTEM, description="Rent")  # spent meanwhile: 50.00 left
    db.session.commit()
    before = snapshot()
    decided = approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()  # the decision still commits
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before  # correction.fail only
    assert decided.status == "failed"
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.checker_id, stored.refusal_code) == ("failed", staff["checker"].id,
                                                                       "insufficient_funds")
    (failed,) = events("correction.fail", stored.id)
    assert failed.outcome == "failed" and failed.refusal_code == "insufficient_funds"
    assert events("transaction.adjust") == []
    with pytest.raises(approvals.NotPending):  # decided: it cannot be approved again
        approvals.approve(stored, staff["admin"], as_actor(staff["admin"]))


def test_approval_after_the_account_closed_fails(world):
    customer, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    ledger.withdraw(main, 150_00, actor=SYSTEM)
    ledger.close(refresh(main), actor=SYSTEM, reason="customer left")
    db.session.commit()
    decided = approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()
    assert decided.status == "failed" and decided.refusal_code == "account_closed" and reversals() == 0


def test_approval_of_a_transaction_already_reversed_fails(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    ledger.reverse(charge, actor=SYSTEM, reason="by someone else")
    db.session.commit()
    decided = approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()
    assert decided.status == "failed" and decided.refusal_code == "already_reversed" and reversals() == 1


def test_a_maker_who_lost_the_role_meanwhile_fails(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    db.session.execute(sa.update(User).where(User.id == staff["maker"].id).values(role="viewer"))
    db.session.commit()
    decided = approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()
    assert decided.status == "failed" and decided.refusal_code == "not_permitted" and reversals() == 0


# Rejecting, withdrawing, expiring.

def test_reject_needs_a_comment_and_changes_nothing_else(world):
    _, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    with pytest.raises(ledger.ValidationError):
        approvals.reject(stored, staff["checker"], as_actor(staff["checker"]), "  ")
    db.session.rollback()
    before = snapshot()
    approvals.reject(stored, staff["checker"], as_actor(staff["checker"]), "Not a double charge: two coffees")
    db.session.commit()
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.comment, stored.checker_id) == (
        "rejected", "Not a double charge: two coffees", staff["checker"].id)
    (event,) = events("correction.reject", stored.id)
    assert event.reason == "Not a double charge: two coffees"
    with pytest.raises(approvals.NotPending):
        approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))


def test_the_maker_cannot_reject_their_own_request(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    with pytest.raises(approvals.MakerIsChecker):
        approvals.reject(stored, staff["maker"], as_actor(staff["maker"]), "changed my mind")


def test_only_the_maker_withdraws(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    with pytest.raises(approvals.NotMaker):
        approvals.withdraw(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.rollback()
    approvals.withdraw(stored, staff["maker"], as_actor(staff["maker"]))
    db.session.commit()
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.checker_id) == ("withdrawn", None)
    assert len(events("correction.withdraw", stored.id)) == 1
    with pytest.raises(approvals.NotPending):
        approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))


def later(monkeypatch, delta):
    moment = clock.now() + delta
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_an_expired_request_shows_as_expired_and_cannot_be_approved(world, monkeypatch):
    _, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    later(monkeypatch, dt.timedelta(days=7, seconds=1))
    assert stored.shown_status(clock.now()) == "expired"
    assert approvals.pending_for("transaction", charge.id) == [] and approvals.count_pending() == 0
    before = snapshot()
    decided = approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))
    db.session.commit()
    assert decided.status == "expired" and reversals() == 0
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 2 and after == before
    assert len(events("correction.expire", stored.id)) == 1
    (refused,) = events("correction.approve", stored.id)
    assert (refused.outcome, refused.refusal_code) == ("denied", "expired")
    with pytest.raises(approvals.NotPending):
        approvals.approve(stored, staff["checker"], as_actor(staff["checker"]))


@pytest.mark.parametrize("decision", ["reject", "withdraw"])
def test_an_expired_request_cannot_be_rejected_or_withdrawn_either(world, monkeypatch, decision):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    later(monkeypatch, dt.timedelta(days=8))
    if decision == "reject":
        decided = approvals.reject(stored, staff["checker"], as_actor(staff["checker"]), "too late")
    else:
        decided = approvals.withdraw(stored, staff["maker"], as_actor(staff["maker"]))
    db.session.commit()
    assert decided.status == "expired" and db.session.get(RequestedCorrection, stored.id).status == "expired"
    assert len(events("correction.expire", stored.id)) == 1
    (refused,) = events(f"correction.{decision}", stored.id)
    assert (refused.outcome, refused.refusal_code) == ("denied", "expired")


def test_expiry_is_recorded_when_found(world, monkeypatch):
    _, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    requested(adjustment(main, staff["maker"], 1_00), staff["maker"])
    later(monkeypatch, dt.timedelta(days=6))
    assert approvals.expire_due(SYSTEM) == 0
    later(monkeypatch, dt.timedelta(days=1, seconds=1))
    assert approvals.expire_due(SYSTEM) == 2
    db.session.commit()
    assert db.session.get(RequestedCorrection, stored.id).status == "expired"
    assert len(events("correction.expire")) == 2 and approvals.expire_due(SYSTEM) == 0


# The database backs the domain.

def test_the_check_refuses_a_checker_who_is_the_maker(world):
    _, _, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    refused_sql(("UPDATE correction_requests SET checker_id = maker_id, status = 'approved' WHERE id = :id",
                 {"id": stored.id}))
    refused_sql(("INSERT INTO correction_requests (kind, target_type, target_id, parameters, reason, maker_id, "
                 "requested_at, expires_at, status, checker_id) VALUES ('transaction.reverse', 'transaction', 'x', "
                 "'{}', 'r', :m, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'approved', :m)", {"m": staff["maker"].id}))
    refused_sql(("UPDATE correction_requests SET status = 'done' WHERE id = :id", {"id": stored.id}))
    assert db.session.get(RequestedCorrection, stored.id).status == "pending"


# Concurrency: two checkers at once apply it exactly once.

@pytest.mark.postgres_only
def test_two_checkers_approving_at_once_apply_it_exactly_once(pg_app):
    customer = make_user(email="carla@example.com")
    main = make_account(customer, balance=200_00)
    charge = ledger.withdraw(main, 50_00, actor=SYSTEM)
    db.session.commit()
    maker = make_user(role=Role.OPERATOR, email="maker@bank.example")
    checkers = [make_user(role=Role.ADMIN, email=f"checker{i}@bank.example").id for i in range(8)]
    stored_id = requested(reversal(charge, maker), maker).id

    def approve(i):
        checker = db.session.get(User, checkers[i])
        try:
            decided = approvals.approve(db.session.get(RequestedCorrection, stored_id), checker, as_actor(checker))
            db.session.commit()
            return decided.status
        except approvals.NotPending:
            db.session.rollback()
            return "not_pending"

    results = run_together(pg_app, len(checkers), approve)
    assert sorted(results) == ["approved"] + ["not_pending"] * (len(checkers) - 1)
    assert reversals() == 1 and refresh(main).balance == 200_00
    assert len(events("transaction.reverse")) == 1 and len(events("correction.approve")) == 1


# Configuration.

def test_four_eyes_defaults_to_the_money_moving_corrections_and_role_changes(app):
    assert app.config["FOUR_EYES"] == {"transaction.reverse", "transaction.adjust", "account.close",
                                       "account.unfreeze", "user.role_change"}


@pytest.mark.parametrize("value", ["transaction.reverse,nope", "account.freeze", "user.create"])
def test_unknown_or_immediate_kinds_are_refused_at_start_up(value):
    with pytest.raises(ConfigError):
        create_app({"FOUR_EYES": value, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_empty_turns_it_off_and_production_warns(monkeypatch, caplog):
    monkeypatch.setenv("FOUR_EYES", "")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["FOUR_EYES"] == frozenset()
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY", "y" * 32)
    with caplog.at_level(logging.WARNING):
        create_app("production")
    assert any("FOUR_EYES is empty" in record.getMessage() for record in caplog.records)


# The shell: `flask corrections …`.

def test_cli_lists_approves_and_rejects_and_the_maker_cannot_approve(world, runner):
    customer, main, charge, staff = world
    first = requested(reversal(charge, staff["maker"]), staff["maker"]).id
    second = requested(adjustment(main, staff["maker"], 5_00), staff["maker"]).id
    listed = runner.invoke(args=["corrections", "list", "--status", "pending"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 2
    assert listed.output.splitlines()[0].startswith(f"{first}\tpending\ttransaction.reverse")

    before = snapshot()
    refused = runner.invoke(args=["corrections", "approve", str(first), "--as", "maker@bank.example"])
    assert refused.exit_code == 1 and "cannot decide on it" in refused.output
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    (denied,) = [e for e in events("correction.approve", first) if e.outcome != "success"]
    assert (denied.actor_type, denied.actor_user_id, denied.refusal_code) == (
        "system", staff["maker"].id, "maker_is_checker")

    approved = runner.invoke(args=["corrections", "approve", str(first), "--as", "checker@bank.example"])
    assert approved.exit_code == 0, approved.output
    assert reversals() == 1
    (applied,) = events("transaction.reverse")
    assert (applied.actor_type, applied.actor_user_id, applied.maker_user_id) == (
        "system", staff["checker"].id, staff["maker"].id)

    no_comment = runner.invoke(args=["corrections", "reject", str(second), "--as", "checker@bank.example"])
    assert no_comment.exit_code == 2
    rejected = runner.invoke(args=["corrections", "reject", str(second), "--as", "checker@bank.example",
                                   "--comment", "Not owed"])
    assert rejected.exit_code == 0, rejected.output
    assert db.session.get(RequestedCorrection, second).status == "rejected"
    assert db.session.scalar(sa.select(Account.balance).where(Account.id == main.id)) == 200_00
    everything = runner.invoke(args=["corrections", "list"])
    assert [line.split("\t")[1] for line in everything.output.splitlines()] == ["approved", "rejected"]


def test_cli_reports_a_failed_approval(world, runner):
    _, main, charge, staff = world
    stored = requested(reversal(charge, staff["maker"]), staff["maker"])
    ledger.reverse(charge, actor=SYSTEM, reason="by someone else")
    db.session.commit()
    result = runner.invoke(args=["corrections", "approve", str(stored.id), "--as", "checker@bank.example"])
    assert result.exit_code == 1 and "failed" in result.output
    assert db.session.get(RequestedCorrection, stored.id).status == "failed"
