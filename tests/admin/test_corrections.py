"""Each correction end to end: the domain effect, the audit row (actor, reason, before/after), refusals."""
import csv
import io

import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.models import Account, ApiToken, AuditEvent, Transaction, User
from tests.admin.conftest import CHECKER_EMAIL, confirm, review, submit
from tests.factories import SYSTEM, refresh, snapshot
from tests.web.conftest import csrf_token


def last_event(action):
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id.desc()).limit(1))


def test_reverse_a_transaction(as_role, bank, four_eyes):
    operator = as_role("operator")
    response = submit(operator, f"/admin/transaction/{bank.withdrawal.id}/reverse",
                      {"reason": "Customer was charged twice"})
    assert response.status_code == 302
    assert refresh(bank.main).balance == 200_00
    # Four eyes: the checker applies it (the actor), and the audit row names the operator who asked (the maker).
    maker = bank.staff["operator"].id
    checker = db.session.scalar(sa.select(User.id).where(User.email == CHECKER_EMAIL)) if four_eyes else None
    reversal = db.session.scalar(sa.select(Transaction).where(Transaction.reverses_id == bank.withdrawal.id))
    assert reversal.kind == "reversal" and reversal.reason == "Customer was charged twice"
    assert reversal.value_date == bank.withdrawal.value_date and reversal.created_by_user_id == (checker or maker)
    event = last_event("transaction.reverse")
    assert (event.actor_type, event.actor_user_id, event.reason, event.outcome) == (
        "user", checker or maker, "Customer was charged twice", "success")
    assert event.maker_user_id == (maker if four_eyes else None)
    assert (event.correction_request_id is not None) == four_eyes
    assert event.changes["reverses"] == [None, str(bank.withdrawal.id)]
    assert event.subject_user_id == bank.customer.id and event.ip == "127.0.0.1"


def test_reversing_twice_is_refused_shown_and_audited(as_role, bank):
    ledger.reverse(bank.withdrawal, actor=SYSTEM, reason="first")
    db.session.commit()
    operator = as_role("operator")
    path = f"/admin/transaction/{bank.withdrawal.id}/reverse"
    before = snapshot()
    # Known at the review step already: refused there, before any confirmation; nothing attempted, nothing audited.
    reviewed = review(operator, path, {"reason": "again"})
    assert "Refused: The transaction has already been reversed." in reviewed.text and "Confirm:" not in reviewed.text
    assert snapshot() == before
    # A confirmation sent anyway (the state changed after a review) is refused by the same rule, and audited.
    response = confirm(operator, path, {"reason": "again"})
    assert response.status_code == 200 and "Refused: The transaction has already been reversed." in response.text
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    event = last_event("transaction.reverse")
    assert event.outcome == "denied"
    # One meaning each: the refusal is the domain's code and message; the reason stays the operator's own words.
    assert (event.refusal_code, event.refusal_message, event.reason) == (
        "already_reversed", "The transaction has already been reversed.", "again")


def test_a_reason_is_required(as_role, bank):
    operator = as_role("operator")
    path = f"/admin/transaction/{bank.withdrawal.id}/reverse"
    before = snapshot()
    response = operator.post(path, data={"reason": "", "confirmed": "yes",
                                         "csrf_token": csrf_token(operator.get(path).text)})
    assert response.status_code == 200 and "This field is required." in response.text
    assert snapshot() == before


def test_review_step_changes_nothing(as_role, bank):
    operator = as_role("operator")
    path = f"/admin/account/{bank.main.id}/freeze"
    before = snapshot()
    review = operator.post(path, data={"reason": "fraud check", "csrf_token": csrf_token(operator.get(path).text)})
    assert "Confirm:" in review.text and "fraud check" in review.text
    assert snapshot() == before


def test_adjustment_credits_and_debits_against_the_corrections_account(as_role, bank):
    operator = as_role("operator")
    assert submit(operator, f"/admin/account/{bank.main.id}/adjust",
                  {"amount": "-12.50", "reason": "Fee correction", "value_date": ""}).status_code == 302
    assert refresh(bank.main).balance == 137_50
    corrections = ledger.system_account(ledger.system.SystemCode.CORRECTIONS, "EUR")
    assert ledger.current_balance(corrections) == 12_50
    event = last_event("transaction.adjust")
    assert event.changes["amount"] == [None, "-12.50"] and event.reason == "Fee correction"


def test_adjustment_that_would_overdraw_is_refused_and_changes_nothing(as_role, bank):
    operator = as_role("operator")
    path, data = f"/admin/account/{bank.main.id}/adjust", {"amount": "-150.01", "reason": "too much"}
    before = snapshot()
    reviewed = review(operator, path, data)
    assert "Refused: The account&#39;s balance would go below zero." in reviewed.text
    assert "Confirm:" not in reviewed.text and snapshot() == before
    response = confirm(operator, path, data)
    assert "Refused: The account&#39;s balance would go below zero." in response.text
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before


def test_adjustment_amount_must_be_valid(as_role, bank):
    operator = as_role("operator")
    path = f"/admin/account/{bank.main.id}/adjust"
    before = snapshot()
    response = operator.post(path, data={"amount": "1.001", "reason": "x",
                                         "csrf_token": csrf_token(operator.get(path).text)})
    assert "at most 2 decimals" in response.text and "Confirm:" not in response.text
    assert snapshot() == before


def test_freeze_unfreeze_and_close_only_at_zero(as_role, bank):
    operator = as_role("operator")
    submit(operator, f"/admin/account/{bank.main.id}/freeze", {"reason": "police request"})
    assert refresh(bank.main).status == "frozen"
    event = last_event("account.freeze")
    assert event.changes == {"status": ["active", "frozen"]} and event.reason == "police request"
    submit(operator, f"/admin/account/{bank.main.id}/unfreeze", {"reason": "cleared"})
    assert refresh(bank.main).status == "active"
    before = snapshot()
    assert "Only an account with a zero balance" in review(operator, f"/admin/account/{bank.main.id}/close",
                                                           {"reason": "customer asked"}).text
    assert snapshot() == before
    response = confirm(operator, f"/admin/account/{bank.main.id}/close", {"reason": "customer asked"})
    assert "Only an account with a zero balance can be closed." in response.text
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    submit(operator, f"/admin/account/{bank.savings.id}/close", {"reason": "unused"})
    assert refresh(bank.savings).status == "closed"


def test_rename_account(as_role, bank):
    submit(as_role("operator"), f"/admin/account/{bank.main.id}/rename", {"name": "Household", "reason": ""})
    assert refresh(bank.main).name == "Household"
    assert last_event("account.rename").changes == {"name": ["Main", "Household"]}


def test_open_account_for_a_customer(as_role, bank):
    submit(as_role("operator"), f"/admin/user/{bank.customer.id}/open-account",
           {"name": "Holiday", "currency": "EUR", "opened_on": "", "reason": ""})
    assert db.session.scalar(sa.select(Account).where(Account.name == "Holiday")).owner_id == bank.customer.id
    assert last_event("account.open").actor_user_id == bank.staff["operator"].id


def test_edit_user_and_deactivation_stops_their_tokens(as_role, bank, client):
    _, secret = identity.issue_token(bank.customer, name="App", scopes=["accounts:read"], accounts=[bank.main],
                                     actor=SYSTEM)
    db.session.commit()
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    submit(as_role("operator"), f"/admin/user/{bank.customer.id}/edit",
           {"name": "Carla C.", "email": "carla.c@example.com", "reason": "Account compromised"})  # active unticked
    user = db.session.get(User, bank.customer.id)
    assert (user.name, user.email, user.active) == ("Carla C.", "carla.c@example.com", False)
    event = last_event("user.update")
    assert event.changes == {"name": ["Carla Customer", "Carla C."],
                             "email": ["carla@example.com", "carla.c@example.com"], "active": [True, False]}
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_operators_cannot_edit_staff_but_admins_can(as_role, bank):
    viewer_id = bank.staff["viewer"].id
    assert as_role("operator").get(f"/admin/user/{viewer_id}/edit").status_code == 403
    submit(as_role("admin"), f"/admin/user/{viewer_id}/edit",
           {"name": "Vera", "email": "viewer@bank.example", "active": "y", "reason": "name change"})
    assert db.session.get(User, viewer_id).name == "Vera"


def test_admin_changes_a_role_and_creates_staff(as_role, bank):
    admin = as_role("admin")
    submit(admin, f"/admin/user/{bank.staff['viewer'].id}/role", {"role": "operator", "reason": "promotion"})
    assert db.session.get(User, bank.staff["viewer"].id).role == "operator"
    assert last_event("user.role_change").changes == {"role": ["viewer", "operator"]}
    response = submit(admin, "/admin/user/new-staff",
                      {"email": "new@bank.example", "name": "New Person", "role": "viewer", "reason": "hired"})
    assert response.status_code == 200 and 'data-testid="initial-password"' in response.text
    user = identity.find_user_by_email("new@bank.example")
    assert user.role == "viewer" and last_event("user.create").reason == "hired"
    password = response.text.split('data-testid="initial-password">')[1].split("<")[0]
    assert identity.verify_password(user.password_hash, password)
    assert password not in str(db.session.execute(sa.select(AuditEvent.__table__)).all())


def test_customers_cannot_be_made_staff(as_role, bank):
    admin, path = as_role("admin"), f"/admin/user/{bank.customer.id}/role"
    assert "Refused" in review(admin, path, {"role": "admin", "reason": "x"}).text
    response = confirm(admin, path, {"role": "admin", "reason": "x"})
    assert "Refused" in response.text
    assert db.session.get(User, bank.customer.id).role == "customer"


def test_revoke_a_token(as_role, bank):
    submit(as_role("operator"), f"/admin/apitoken/{bank.token.id}/revoke", {"reason": "Leaked on a forum"})
    db.session.expire_all()
    assert db.session.get(ApiToken, bank.token.id).revoked_at is not None
    event = last_event("token.revoke")
    assert event.reason == "Leaked on a forum" and event.subject_user_id == bank.customer.id


def test_search_finds_an_account_by_number_with_spaces_in_lower_case(as_role, bank):
    viewer = as_role("viewer")
    spaced = " ".join(bank.main.number[i:i + 4] for i in range(0, len(bank.main.number), 4)).lower()
    page = viewer.get("/admin/account/", query_string={"search": spaced}).text
    assert "List (1)" in page and "Main" in page
    assert "List (2)" in viewer.get("/admin/account/", query_string={"search": "carla@"}).text  # both hers


def test_search_finds_a_transaction_by_id_and_description(as_role, bank):
    viewer = as_role("viewer")
    assert "List (1)" in viewer.get("/admin/transaction/", query_string={"search": str(bank.withdrawal.id)}).text
    assert "List (1)" in viewer.get("/admin/transaction/", query_string={"search": "double"}).text


def test_csv_export_of_a_filtered_list_has_exactly_the_filtered_rows(app, as_role, bank):
    viewer = as_role("viewer")
    ledger.freeze(bank.savings, actor=SYSTEM, reason="x")
    db.session.commit()
    admin = app.extensions["admin"]
    view = next(v for v in (admin[0] if isinstance(admin, list) else admin)._views if v.endpoint == "account")
    arg = next(key for key, (_, flt) in view._filter_args.items()
               if flt.name == "Status" and flt.operation() == "equals")
    listing = viewer.get(f"/admin/account/?flt0_{arg}=frozen").text
    assert "List (1)" in listing
    response = viewer.get(f"/admin/account/export/csv/?flt0_{arg}=frozen")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(row["Name"], row["Status"]) for row in rows] == [("Savings", "frozen")]
    everything = list(csv.DictReader(io.StringIO(viewer.get("/admin/account/export/csv/").get_data(as_text=True))))
    assert len(everything) == db.session.scalar(sa.select(sa.func.count()).select_from(Account))


def test_csv_cells_that_look_like_formulas_are_neutralised(as_role, bank):
    ledger.rename_account(bank.main, "=HYPERLINK(\"http://evil\")", actor=SYSTEM)
    db.session.commit()
    text = as_role("viewer").get("/admin/account/export/csv/").get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_audit_history_of_one_object(as_role, bank):
    ledger.freeze(bank.main, actor=SYSTEM, reason="look here")
    db.session.commit()
    page = as_role("viewer").get("/admin/auditevent/",
                                 query_string={"object_type": "account", "object_id": str(bank.main.id)}).text
    assert "account.freeze" in page and "account.open" in page and "token.create" not in page


def test_dashboard_shows_ledger_health_and_recent_events(as_role, bank):
    page = as_role("viewer").get("/admin/").text
    assert "all invariants hold" in page and "Latest audit events" in page and "transaction.create" in page


def test_the_back_office_refuses_an_account_name_with_an_ansi_escape_and_audits_the_refusal(as_role, bank):
    path, data = f"/admin/account/{bank.main.id}/rename", {"name": "\x1b[31mMain", "reason": "asked by the customer"}
    assert "Refused: name:" in review(as_role("operator"), path, data).text
    page = confirm(as_role("operator"), path, data)
    assert page.status_code == 200 and "Refused: name:" in page.text
    db.session.expire_all()
    assert db.session.get(Account, bank.main.id).name == "Main"
    event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (event.action, event.outcome) == ("account.rename", "denied")


def test_the_confirm_page_shows_money_as_the_lists_do(as_role, bank):
    operator = as_role("operator")
    reviewed = review(operator, f"/admin/account/{bank.main.id}/adjust", {"amount": "-1000.00", "reason": "x"})
    assert "Refused" in reviewed.text  # 1 000 would overdraw 150: refused at review
    reviewed = review(operator, f"/admin/account/{bank.main.id}/adjust", {"amount": "-100.00", "reason": "fee"})
    assert "Confirm:" in reviewed.text and "−€100.00" in reviewed.text and "-100.00 EUR" not in reviewed.text
    reversal = review(operator, f"/admin/transaction/{bank.withdrawal.id}/reverse", {"reason": "twice"})
    assert "€50.00" in reversal.text and "50.00 EUR" not in reversal.text
