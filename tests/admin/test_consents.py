"""Consents in the back-office: every staff role lists, searches, filters and exports them with their status as it
is now (an expiry not yet swept shows expired); nothing is created, edited or deleted there; operators revoke one
through the apps view's correction."""
import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import apps, consents
from portal.kernel import clock
from portal.models import Consent
from tests.admin.conftest import submit
from tests.factories import SYSTEM, make_account, make_user


@pytest.fixture
def consents_of_three_kinds(bank):
    """Carla's active consent to Budgetly (the bank's), Dora's revoked one and Erik's expired one (not yet swept)."""
    saver, _ = apps.register_app(name="Saver", homepage="https://saver.example", client_type="public",
                                 redirect_uris=["https://saver.example/cb"], scopes=["accounts:read"], actor=SYSTEM)
    dora, erik = make_user(email="dora@example.com"), make_user(email="erik@example.com")
    revoked = consents.grant_consent(dora, saver, scopes=["accounts:read"], accounts=[make_account(dora)],
                                     actor=SYSTEM)
    consents.revoke_consent(revoked, actor=SYSTEM, reason="asked")
    expired = consents.grant_consent(erik, saver, scopes=["accounts:read"], accounts=[make_account(erik)],
                                     actor=SYSTEM)
    expired.expires_at = clock.now() - dt.timedelta(minutes=1)
    db.session.commit()
    return {"active": bank.consent, "revoked": revoked, "expired": expired}


def listed(client, **query):
    """The consents a list page shows, by id (from each row's details link)."""
    page = client.get("/admin/consent/", query_string=query)
    assert page.status_code == 200
    return {int(found) for found in re.findall(r"/admin/consent/details/\?id=([0-9]+)", page.text)}


def status_filter(client):
    admin = client.application.extensions["admin"]
    view = next(v for v in (admin[0] if isinstance(admin, list) else admin)._views if v.endpoint == "consent")
    return next(key for key, (_, flt) in view._filter_args.items() if flt.name == "Status")


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_staff_role_lists_consents_with_their_status_now(as_role, bank, consents_of_three_kinds, role):
    page = as_role(role).get("/admin/consent/")
    assert page.status_code == 200 and "List (3)" in page.text
    text = page.text
    for email in ("carla@example.com", "dora@example.com", "erik@example.com"):
        assert email in text
    assert "Budgetly" in text and "Saver" in text and "accounts:read" in text
    assert bank.main.number[:4] in text
    statuses = re.findall(r'<td class="col-status">\s*(\w+)\s*</td>', text)
    assert sorted(statuses) == ["active", "expired", "revoked"]
    erik = as_role(role).get("/admin/consent/", query_string={"search": "erik@example.com"}).text
    assert re.findall(r'<td class="col-status">\s*(\w+)\s*</td>', erik) == ["expired"]
    # The sweep has not recorded it yet: stored as active, shown as what it is.
    assert db.session.get(Consent, consents_of_three_kinds["expired"].id).status == "active"


def test_consents_filter_by_their_status_now(as_role, bank, consents_of_three_kinds):
    viewer = as_role("viewer")
    key = status_filter(viewer)
    for status, consent in consents_of_three_kinds.items():
        assert listed(viewer, **{f"flt0_{key}": status}) == {consent.id}, status
    assert listed(viewer, **{f"flt0_{key}": "bogus"}) == set()


def test_consents_are_found_by_customer_or_app(as_role, bank, consents_of_three_kinds):
    viewer = as_role("viewer")
    assert listed(viewer, search="dora@example.com") == {consents_of_three_kinds["revoked"].id}
    assert listed(viewer, search="Saver") == {consents_of_three_kinds["revoked"].id,
                                              consents_of_three_kinds["expired"].id}
    assert listed(viewer, search=bank.third_party.client_id) == {bank.consent.id}
    # A search and filters on the customer and the app at once (each joins its table once).
    admin = viewer.application.extensions["admin"]
    view = next(v for v in (admin[0] if isinstance(admin, list) else admin)._views if v.endpoint == "consent")
    by = {(flt.name, flt.operation()): key for key, (_, flt) in view._filter_args.items()}
    email, app_name = by[("Customer email", "equals")], by[("App name", "contains")]
    assert listed(viewer, search="Saver", **{f"flt0_{email}": "erik@example.com",
                                             f"flt1_{app_name}": "Saver"}) == {consents_of_three_kinds["expired"].id}


def test_the_consents_export_is_plain_and_says_expired(as_role, bank, consents_of_three_kinds):
    response = as_role("viewer").get("/admin/consent/export/csv/")
    assert response.status_code == 200
    rows = {row["Id"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    expired = rows[str(consents_of_three_kinds["expired"].id)]
    assert (expired["Customer"], expired["Status"], expired["Scopes"]) == (
        "erik@example.com", "expired", "accounts:read")
    carla = rows[str(bank.consent.id)]
    assert carla["Accounts"] == bank.main.number and carla["App"] == f"Budgetly ({bank.third_party.client_id})"
    assert not [cell for row in rows.values() for cell in row.values() if cell and "<" in cell]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_a_consents_page_offers_revoking_to_operators_while_it_is_active(as_role, bank, consents_of_three_kinds,
                                                                         role):
    client = as_role(role)
    revoke = f"/admin/app/consent/{bank.consent.id}/revoke"
    active = client.get(f"/admin/consent/details/?id={bank.consent.id}")
    assert active.status_code == 200 and "carla@example.com" in active.text
    assert (revoke in active.text) == (role != "viewer")
    ended = client.get(f"/admin/consent/details/?id={consents_of_three_kinds['expired'].id}").text
    assert "expired" in ended and "/revoke" not in ended


def test_an_operator_revokes_a_consent_from_its_page(as_role, bank):
    operator = as_role("operator")
    page = operator.get(f"/admin/consent/details/?id={bank.consent.id}").text
    path = f"/admin/app/consent/{bank.consent.id}/revoke"
    assert path in page
    assert submit(operator, path, {"reason": "Customer called: lost phone"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Consent, bank.consent.id).status == "revoked"
    assert "revoked" in operator.get(f"/admin/consent/details/?id={bank.consent.id}").text


@pytest.mark.parametrize("path", ["/admin/consent/new/", f"/admin/consent/edit/?id={1}", "/admin/consent/delete/"])
def test_nothing_generic_writes_a_consent(as_role, bank, path):
    before = db.session.execute(sa.select(Consent.id, Consent.status, Consent.scopes)).all()
    admin = as_role("admin")
    assert admin.get(path).status_code in (302, 403, 404, 405)
    assert admin.post(path, data={"id": bank.consent.id, "status": "revoked"}).status_code in (302, 400, 403, 404,
                                                                                                405)
    db.session.expire_all()
    assert db.session.execute(sa.select(Consent.id, Consent.status, Consent.scopes)).all() == before
