"""Role × view × action, over HTTP: every view and every action endpoint checks the role itself."""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, User
from tests.admin.conftest import ROLES
from tests.factories import last_audit, snapshot
from tests.web.conftest import csrf_token

VIEWS = [
    "/admin/", "/admin/user/", "/admin/user/details/?id={customer}", "/admin/account/",
    "/admin/account/details/?id={main}", "/admin/transaction/", "/admin/transaction/details/?id={withdrawal}",
    "/admin/entry/", "/admin/apitoken/", "/admin/apitoken/details/?id={token}", "/admin/auditevent/",
    "/admin/account/export/csv/", "/admin/auditevent/export/csv/",
    "/admin/consent/", "/admin/consent/details/?id={consent}", "/admin/consent/export/csv/",
]
OPERATOR_ACTIONS = [
    "/admin/user/{customer}/edit", "/admin/user/{customer}/open-account", "/admin/account/{main}/rename",
    "/admin/account/{main}/freeze", "/admin/account/{main}/close", "/admin/account/{main}/adjust",
    "/admin/transaction/{withdrawal}/reverse", "/admin/apitoken/{token}/revoke",
]
ADMIN_ACTIONS = ["/admin/user/{viewer}/role", "/admin/user/new-staff"]
ACTION_OF = {"edit": "user.update", "open-account": "account.open", "rename": "account.rename",
             "freeze": "account.freeze", "close": "account.close", "adjust": "transaction.adjust",
             "reverse": "transaction.reverse", "revoke": "token.revoke", "role": "user.role_change",
             "new-staff": "user.create"}
EXPECTED_VIEW = {"anonymous": 302, "customer": 403, "viewer": 200, "operator": 200, "admin": 200}


def fill(path, bank):
    return path.format(customer=bank.customer.id, main=bank.main.id, withdrawal=bank.withdrawal.id,
                       token=bank.token.id, viewer=bank.staff["viewer"].id, consent=bank.consent.id)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", VIEWS)
def test_views_by_role(as_role, bank, role, path):
    response = as_role(role).get(fill(path, bank))
    assert response.status_code == EXPECTED_VIEW[role]
    if role == "anonymous":
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", OPERATOR_ACTIONS + ADMIN_ACTIONS)
def test_action_forms_by_role(as_role, bank, role, path):
    allowed = role == "admin" or (role == "operator" and path in OPERATOR_ACTIONS)
    response = as_role(role).get(fill(path, bank))
    expected = 200 if allowed else EXPECTED_VIEW[role] if role in ("anonymous", "customer") else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role", ["customer", "viewer"])
@pytest.mark.parametrize("path", OPERATOR_ACTIONS + ADMIN_ACTIONS)
def test_posting_an_action_directly_without_the_role_changes_nothing(as_role, bank, role, path):
    client = as_role(role)
    token = csrf_token(client.get("/" if role == "customer" else "/admin/").text)
    before = snapshot()
    users = db.session.execute(sa.select(User.id, User.name, User.email, User.role, User.active)).all()
    response = client.post(fill(path, bank), data={
        "csrf_token": token, "confirmed": "yes", "reason": "sneaky", "amount": "1000.00", "name": "Hacked",
        "email": "hacked@example.com", "role": "admin", "currency": "EUR"})
    assert response.status_code == 403
    after = snapshot()
    # The refusal is audited (as denied, naming what was asked and who asked), and nothing else is written.
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    denied = last_audit()
    assert (denied.outcome, denied.actor_user_id, denied.refusal_code) == (
        "denied", (bank.customer if role == "customer" else bank.staff[role]).id, "forbidden")
    assert denied.action == (ACTION_OF[path.split("/")[-1]] if role != "customer" else "admin.access")
    assert db.session.execute(sa.select(User.id, User.name, User.email, User.role, User.active)).all() == users
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.id == bank.token.id)) is None


@pytest.mark.parametrize("path", OPERATOR_ACTIONS)
def test_actions_without_a_valid_csrf_token_are_refused(as_role, bank, path):
    operator = as_role("operator")
    stolen = csrf_token(as_role("admin").get("/admin/").text)  # a real token, but of another session
    before = snapshot()
    data = {"confirmed": "yes", "reason": "no token", "amount": "10.00", "name": "X", "email": "x@example.com"}
    assert operator.post(fill(path, bank), data=data).status_code == 400
    for token in ("", "forged-token", "IjAwMDAi.aaaa.bbbb", stolen):
        assert operator.post(fill(path, bank), data={**data, "csrf_token": token}).status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/admin/account/new/", "/admin/account/edit/?id={main}",
                                  "/admin/transaction/edit/?id={withdrawal}", "/admin/auditevent/edit/?id=1",
                                  "/admin/entry/new/"])
def test_generic_create_and_edit_are_off(as_role, bank, path):
    client = as_role("admin")
    before = snapshot()
    page = client.get(fill(path, bank))
    assert page.status_code in (302, 403, 404)
    client.post(fill(path, bank), data={"csrf_token": csrf_token(client.get("/admin/").text), "balance": "1"})
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/admin/account/delete/", "/admin/transaction/delete/",
                                  "/admin/auditevent/delete/", "/admin/entry/delete/", "/admin/user/delete/"])
def test_nothing_can_be_deleted(as_role, bank, path):
    client = as_role("admin")
    before = snapshot()
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    client.post(path, data={"csrf_token": csrf_token(client.get("/admin/").text), "id": str(bank.main.id)})
    client.post(path.replace("delete/", "action/"), data={
        "csrf_token": csrf_token(client.get("/admin/").text), "action": "delete", "rowid": str(bank.main.id)})
    assert snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users


def test_viewer_sees_no_correction_controls(as_role, bank):
    viewer = as_role("viewer")
    account = viewer.get(f"/admin/account/details/?id={bank.main.id}").text
    assert "Post an adjustment" not in account and "Freeze" not in account
    assert "Reverse…" not in viewer.get(f"/admin/transaction/details/?id={bank.withdrawal.id}").text
    assert "Revoke…" not in viewer.get(f"/admin/apitoken/details/?id={bank.token.id}").text
    assert "Edit name" not in viewer.get(f"/admin/user/details/?id={bank.customer.id}").text
    operator = as_role("operator")
    assert "Post an adjustment" in operator.get(f"/admin/account/details/?id={bank.main.id}").text
    assert "Reverse…" in operator.get(f"/admin/transaction/details/?id={bank.withdrawal.id}").text
    assert "Change role" not in operator.get(f"/admin/user/details/?id={bank.staff['viewer'].id}").text


TOO_BIG = "99999999999999999999"  # no INTEGER or BIGINT id is this large; each of these was a 500


@pytest.mark.parametrize("role, path", [
    ("customer", f"/tokens/{TOO_BIG}/revoke"),
    ("admin", f"/admin/user/{TOO_BIG}/edit"), ("admin", f"/admin/user/{TOO_BIG}/role"),
    ("admin", f"/admin/user/{TOO_BIG}/open-account"), ("admin", f"/admin/apitoken/{TOO_BIG}/revoke"),
    ("admin", "/admin/user/4294967296/edit"),  # beyond INTEGER, within BIGINT
])
def test_ids_too_large_for_their_column_are_not_found(as_role, bank, role, path):
    assert as_role(role).get(path).status_code == 404


@pytest.mark.parametrize("view", ["user", "apitoken", "consent", "auditevent", "entry"])
def test_details_of_an_id_too_large_for_its_column_go_back_to_the_list(as_role, bank, view):
    response = as_role("viewer").get(f"/admin/{view}/details/?id={TOO_BIG}")
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/admin/{view}/")


def test_number_filters_refuse_numbers_their_column_cannot_hold(as_role, bank):
    """Every filter of every list, fed numbers beyond INTEGER and BIGINT: an invalid filter, never a 500."""
    admin = as_role("admin")
    for view in ("user", "account", "transaction", "entry", "apitoken", "consent", "auditevent"):
        for position in range(60):  # more than any list has: an unknown position is ignored
            for value in (TOO_BIG, "-" + TOO_BIG, "4294967296", "1,2," + TOO_BIG):
                response = admin.get(f"/admin/{view}/", query_string={f"flt0_{position}": value})
                assert response.status_code == 200, (view, position, value)


@pytest.mark.parametrize("view", ["user", "account", "transaction", "entry", "apitoken", "consent", "auditevent"])
@pytest.mark.parametrize("page", ["-1", "-99999999999999999999", TOO_BIG, "9223372036854775807", "٣"])
def test_a_page_number_out_of_range_is_a_list_page_never_a_500(as_role, bank, view, page):
    response = as_role("viewer").get(f"/admin/{view}/", query_string={"page": page})
    assert response.status_code == 200, (view, page)


@pytest.mark.parametrize("subject", [TOO_BIG, "4294967296", "²", "-1", "1\n"])
def test_the_audit_log_of_a_customer_that_cannot_exist_is_empty_never_a_500(as_role, bank, subject):
    response = as_role("viewer").get("/admin/auditevent/", query_string={"subject": subject})
    assert response.status_code == 200
    assert "carla@example.com" not in response.text and "auth.login" not in response.text


def test_the_audit_log_of_one_customer_still_narrows_to_them(as_role, bank):
    response = as_role("viewer").get("/admin/auditevent/", query_string={"subject": str(bank.customer.id)})
    assert response.status_code == 200 and "account.open" in response.text and "auth.login" not in response.text


@pytest.mark.parametrize(("referer", "location"), [
    ("http://localhost/admin/account/?page=1", "/admin/account/?page=1"),
    ("/admin/user/", "/admin/user/"),
    ("https://evil.example/admin/", "/admin/"),
    ("http://localhost.evil.example/admin/", "/admin/"),
    ("//evil.example/admin/", "/admin/"),
    ("/\\evil.example", "/admin/"),
    ("/\t/evil.example", "/admin/"),
    ("http://localhost//evil.example/", "/admin/"),
    ("javascript:alert(1)", "/admin/"),
    ("", "/admin/"),
])
def test_check_again_now_goes_back_only_to_a_page_of_this_site(as_role, bank, referer, location):
    staff = as_role("viewer")
    token = csrf_token(staff.get("/admin/").text)
    response = staff.post("/admin/health/refresh", data={"csrf_token": token}, headers={"Referer": referer})
    assert response.status_code == 302 and response.headers["Location"] == location


def test_a_customer_opening_the_back_office_is_refused_and_audited(as_role, bank):
    customer = as_role("customer")
    before = snapshot()
    assert customer.get("/admin/").status_code == 403
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    denied = last_audit()
    assert (denied.action, denied.outcome, denied.actor_user_id, denied.object_id) == (
        "admin.access", "denied", bank.customer.id, "/admin/")


def test_an_operator_asking_for_an_admin_only_correction_is_audited_as_denied(as_role, bank):
    operator = as_role("operator")
    assert operator.get(f"/admin/user/{bank.staff['viewer'].id}/role").status_code == 403
    denied = last_audit()
    assert (denied.action, denied.outcome, denied.actor_user_id, denied.object_type) == (
        "user.role_change", "denied", bank.staff["operator"].id, "request")
