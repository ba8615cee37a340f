"""Four eyes in the back-office: a correction in FOUR_EYES is requested, shown on its target's page, in the inbox
and on the dashboard, and decided by a second member of staff; the maker is never offered Approve, and a direct
POST by the maker is refused and audited."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.kernel import clock
from portal.models import AuditEvent, RequestedCorrection, Transaction, User
from tests.admin.conftest import approve, checker_client
from tests.factories import refresh, snapshot
from tests.web.conftest import csrf_token


@pytest.fixture
def four_eyes():
    """This module is about approvals: four eyes is on (the other admin modules run with it on and off)."""
    return True


def request_reversal(client, bank, reason="Customer was charged twice"):
    """Ask for the reversal of the bank's withdrawal (review, then confirm); return (response, stored request)."""
    path = f"/admin/transaction/{bank.withdrawal.id}/reverse"
    review = client.post(path, data={"reason": reason, "csrf_token": csrf_token(client.get(path).text)})
    assert "Request approval" in review.text and "Nothing changes until a second member" in review.text
    response = client.post(path, data={"reason": reason, "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    stored = db.session.scalars(sa.select(RequestedCorrection).order_by(RequestedCorrection.id.desc())).first()
    return response, stored


def detail(stored):
    return f"/admin/correctionrequest/details/?id={stored.id}"


def post(client, stored, decision, **data):
    page = client.get(detail(stored))
    return client.post(f"/admin/correctionrequest/{stored.id}/{decision}",
                       data={**data, "csrf_token": csrf_token(page.text)})


def denied(action):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action,
                                                          AuditEvent.outcome == "denied")).all()


def test_a_request_changes_nothing_and_is_shown_to_its_maker_without_approve(as_role, bank):
    operator = as_role("operator")
    before = snapshot()
    response, stored = request_reversal(operator, bank)
    assert response.status_code == 302 and response.headers["Location"] == detail(stored)
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    page = operator.get(detail(stored)).text
    assert "Requested: it takes effect when a second member of staff approves it." in page
    assert "pending" in page and "Approve and apply" not in page and "Withdraw" in page
    assert "You asked for this correction" in page and "Customer was charged twice" in page


def test_the_maker_s_direct_post_is_refused_and_audited(as_role, bank):
    operator = as_role("operator")
    _, stored = request_reversal(operator, bank)
    before = snapshot()
    response = post(operator, stored, "approve")
    assert response.status_code == 302
    assert "cannot decide on it" in operator.get(detail(stored)).text
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    (event,) = denied("correction.approve")
    assert (event.actor_user_id, event.refusal_code, event.object_id) == (
        bank.staff["operator"].id, "maker_is_checker", str(stored.id))
    assert refresh(bank.main).balance == 150_00
    assert db.session.get(RequestedCorrection, stored.id).status == "pending"


def test_a_second_member_of_staff_approves_and_it_is_applied(as_role, bank):
    _, stored = request_reversal(as_role("operator"), bank)
    admin = as_role("admin")
    page = admin.get(detail(stored)).text
    assert "Approve and apply" in page and "Withdraw" not in page
    response = approve(None, stored.id, client=admin)
    assert response.status_code == 302
    assert "Approved: Transaction reversed." in admin.get(detail(stored)).text
    assert refresh(bank.main).balance == 200_00
    stored = db.session.get(RequestedCorrection, stored.id)
    assert (stored.status, stored.checker_id) == ("approved", bank.staff["admin"].id)
    applied = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "transaction.reverse"))
    assert (applied.actor_user_id, applied.maker_user_id, applied.correction_request_id) == (
        bank.staff["admin"].id, bank.staff["operator"].id, stored.id)
    story = admin.get(detail(stored)).text
    assert "correction.request" in story and "correction.approve" in story and "transaction.reverse" in story
    assert "asked by operator@bank.example" in story


def test_approval_after_the_money_was_spent_fails_with_the_reason(as_role, bank):
    from portal import ledger
    from tests.factories import SYSTEM

    operator = as_role("operator")
    path = f"/admin/account/{bank.main.id}/adjust"
    data = {"amount": "-140.00", "reason": "fee taken back"}
    review = operator.post(path, data={**data, "csrf_token": csrf_token(operator.get(path).text)})
    operator.post(path, data={**data, "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    stored = db.session.scalar(sa.select(RequestedCorrection))
    ledger.withdraw(refresh(bank.main), 100_00, actor=SYSTEM, description="Rent")
    db.session.commit()
    admin = as_role("admin")
    before = snapshot()
    approve(None, stored.id, client=admin)
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    page = admin.get(detail(stored)).text
    assert "Failed: the correction is refused now" in page and "insufficient_funds" in page
    assert db.session.get(RequestedCorrection, stored.id).status == "failed"


def test_reject_needs_a_comment_which_the_maker_reads(as_role, bank):
    operator = as_role("operator")
    _, stored = request_reversal(operator, bank)
    admin = as_role("admin")
    post(admin, stored, "reject", comment="")
    assert db.session.get(RequestedCorrection, stored.id).status == "pending"
    assert denied("correction.reject")[0].refusal_code == "validation_error"
    post(admin, stored, "reject", comment="It was two coffees, not a double charge")
    db.session.expire_all()
    assert db.session.get(RequestedCorrection, stored.id).status == "rejected"
    assert "It was two coffees, not a double charge" in operator.get(detail(stored)).text
    assert refresh(bank.main).balance == 150_00


def test_only_the_maker_withdraws(as_role, bank):
    operator = as_role("operator")
    _, stored = request_reversal(operator, bank)
    post(as_role("admin"), stored, "withdraw")
    assert db.session.get(RequestedCorrection, stored.id).status == "pending"
    assert denied("correction.withdraw")[0].refusal_code == "not_maker"
    post(operator, stored, "withdraw")
    db.session.expire_all()
    assert db.session.get(RequestedCorrection, stored.id).status == "withdrawn"
    assert "Approve and apply" not in as_role("admin").get(detail(stored)).text


def test_a_viewer_sees_the_inbox_but_cannot_act(as_role, bank):
    _, stored = request_reversal(as_role("operator"), bank)
    viewer = as_role("viewer")
    inbox = viewer.get("/admin/correctionrequest/").text
    assert "transaction.reverse" in inbox and "operator@bank.example" in inbox
    page = viewer.get(detail(stored)).text
    assert "Approve and apply" not in page and "Reject" not in page
    response = viewer.post(f"/admin/correctionrequest/{stored.id}/approve",
                           data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403 and db.session.get(RequestedCorrection, stored.id).status == "pending"
    assert denied("correction.approve")[0].refusal_code == "forbidden"


def test_the_target_page_and_dashboard_show_what_is_pending(as_role, bank):
    operator = as_role("operator")
    _, stored = request_reversal(operator, bank)
    transaction_page = operator.get(f"/admin/transaction/details/?id={bank.withdrawal.id}").text
    assert "Pending approval" in transaction_page and detail(stored).replace("?", "") in transaction_page.replace(
        "?", "").replace("&amp;", "&")
    assert "Corrections awaiting approval: <a" in operator.get("/admin/").text
    assert ">1</a>" in operator.get("/admin/").text
    path = f"/admin/account/{bank.main.id}/unfreeze"
    from portal import ledger
    from tests.factories import SYSTEM
    ledger.freeze(refresh(bank.main), actor=SYSTEM, reason="fraud check")
    db.session.commit()
    review = operator.post(path, data={"reason": "cleared", "csrf_token": csrf_token(operator.get(path).text)})
    operator.post(path, data={"reason": "cleared", "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    assert "Pending approval" in operator.get(f"/admin/account/details/?id={bank.main.id}").text
    assert refresh(bank.main).status == "frozen"


def test_freeze_applies_at_once(as_role, bank):
    from tests.admin.conftest import submit

    response = submit(as_role("operator"), f"/admin/account/{bank.main.id}/freeze", {"reason": "fraud check"})
    assert response.status_code == 302 and refresh(bank.main).status == "frozen"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestedCorrection)) == 0


def test_a_role_change_needs_an_admin_checker(as_role, bank, app):
    admin = as_role("admin")
    path = f"/admin/user/{bank.staff['viewer'].id}/role"
    review = admin.post(path, data={"role": "operator", "reason": "promoted",
                                    "csrf_token": csrf_token(admin.get(path).text)})
    admin.post(path, data={"role": "operator", "reason": "promoted", "csrf_token": csrf_token(review.text),
                           "confirmed": "yes"})
    stored = db.session.scalar(sa.select(RequestedCorrection))
    operator = as_role("operator")
    assert "Approve and apply" not in operator.get(detail(stored)).text
    post(operator, stored, "approve")
    assert db.session.get(RequestedCorrection, stored.id).status == "pending"
    approve(app, stored.id, client=checker_client(app))  # a second admin
    db.session.expire_all()
    assert db.session.get(RequestedCorrection, stored.id).status == "approved"
    assert db.session.get(User, bank.staff["viewer"].id).role == "operator"


def test_the_inbox_lists_pending_first_oldest_first_and_expired_as_expired(as_role, bank, monkeypatch):
    operator = as_role("operator")
    _, first = request_reversal(operator, bank)
    for account, amount in ((bank.main, "1.00"), (bank.savings, "2.00")):  # one waiting request per target
        path = f"/admin/account/{account.id}/adjust"
        data = {"amount": amount, "reason": f"refund {amount}"}
        review = operator.post(path, data={**data, "csrf_token": csrf_token(operator.get(path).text)})
        operator.post(path, data={**data, "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    second, third = db.session.scalars(sa.select(RequestedCorrection).where(RequestedCorrection.id != first.id)
                                       .order_by(RequestedCorrection.id)).all()
    post(operator, second, "withdraw")
    inbox = as_role("viewer").get("/admin/correctionrequest/").text
    assert inbox.index(f"#{first.id}<") < inbox.index(f"#{third.id}<") < inbox.index(f"#{second.id}<")
    assert "€2.00" in inbox and "€50.00" in inbox
    moment = clock.now() + dt.timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: moment)
    inbox = as_role("viewer").get("/admin/correctionrequest/").text
    assert inbox.count("expired") >= 2
    db.session.expire_all()
    assert db.session.get(RequestedCorrection, first.id).status == "expired"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "correction.expire")) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)
                             .where(Transaction.kind == "reversal")) == 0


def test_the_customer_sees_only_the_applied_correction_with_its_note(as_role, bank):
    operator = as_role("operator")
    path = f"/admin/transaction/{bank.withdrawal.id}/reverse"
    data = {"reason": "Internal: card terminal fault", "customer_note": "We refunded a double charge."}
    review = operator.post(path, data={**data, "csrf_token": csrf_token(operator.get(path).text)})
    operator.post(path, data={**data, "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    stored = db.session.scalar(sa.select(RequestedCorrection))
    customer = as_role("customer")
    waiting = customer.get("/activity").text
    assert "We refunded a double charge." not in waiting and "correction." not in waiting
    approve(None, stored.id, client=as_role("admin"))
    activity = customer.get("/activity").text
    assert "We refunded a double charge." in activity
    assert "Internal: card terminal fault" not in activity and "correction." not in activity
    assert "approv" not in activity.lower()
