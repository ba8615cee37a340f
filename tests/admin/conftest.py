"""Back-office fixtures: a small bank, and a logged-in client per role; every test here runs with four eyes on
(the default: money-moving corrections wait for a second member of staff) and off (FOUR_EYES empty)."""
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.identity import apps, consents
from portal.models import Role, User
from tests.factories import SYSTEM, days_ago, make_account, make_user
from tests.web.conftest import csrf_token, login

ROLES = ["anonymous", "customer", "viewer", "operator", "admin"]


@dataclass
class Bank:
    customer: object
    main: object
    savings: object
    withdrawal: object
    token: object
    staff: dict
    third_party: object  # a registered app the customer consented to
    consent: object


CHECKER_EMAIL = "checker@bank.example"  # the second member of staff who approves what a test requested
_REQUEST_PAGE = re.compile(r"/admin/correctionrequest/details/\?id=([0-9]+)")


@pytest.fixture(params=["four-eyes-on", "four-eyes-off"])
def four_eyes(request):
    """Whether the corrections named in FOUR_EYES by default wait for a second member of staff."""
    return request.param == "four-eyes-on"


@pytest.fixture
def app(app, four_eyes):
    """The app, with FOUR_EYES as the default (on) or empty (off)."""
    if not four_eyes:
        app.config["FOUR_EYES"] = frozenset()
    return app


@pytest.fixture
def bank(app):
    customer = make_user(email="carla@example.com", name="Carla Customer")
    main = make_account(customer, days_old=30, balance=200_00, name="Main")
    savings = make_account(customer, days_old=30, name="Savings")
    withdrawal = ledger.withdraw(main, 50_00, actor=SYSTEM, value_date=days_ago(3), description="Double charge")
    token, _ = identity.issue_token(customer, name="Budget app", scopes=["accounts:read"], accounts=[main],
                                    actor=SYSTEM)
    third_party, _ = apps.register_app(name="Budgetly", homepage="https://budgetly.example",
                                       redirect_uris=["https://budgetly.example/callback"],
                                       client_type="confidential", scopes=["accounts:read"], actor=SYSTEM)
    consent = consents.grant_consent(customer, third_party, scopes=["accounts:read"], accounts=[main], actor=SYSTEM)
    db.session.commit()
    staff = {role: make_user(role=Role(role), email=f"{role}@bank.example", name=role.title())
             for role in ("viewer", "operator", "admin")}
    return Bank(customer, main, savings, withdrawal, token, staff, third_party, consent)


@pytest.fixture
def as_role(app, bank):
    """as_role(role) -> a client logged in with that role ("anonymous": not logged in)."""
    def make(role):
        client = app.test_client()
        if role != "anonymous":
            email = "carla@example.com" if role == "customer" else f"{role}@bank.example"
            assert login(client, email).status_code == 302
        return client
    return make


def submit(client, path, data):
    """Fill a correction form: the review step, then the confirmation. Returns the final response.

    If the confirmation only requested the correction (four eyes), a second member of staff (an admin) approves
    it, and the approval's response is returned: the flow a correction takes to happen.
    """
    token = csrf_token(client.get(path).text)
    review = client.post(path, data={**data, "csrf_token": token})
    assert review.status_code == 200 and "Confirm:" in review.text, review.text[:2000]
    confirmed = client.post(path, data={**data, "csrf_token": csrf_token(review.text), "confirmed": "yes"})
    requested = _REQUEST_PAGE.fullmatch(confirmed.headers.get("Location", "")) if confirmed.status_code == 302 else None
    return confirmed if requested is None else approve(client.application, int(requested.group(1)))


def checker_client(app, email=CHECKER_EMAIL, role=Role.ADMIN):
    """Return a client logged in as a second member of staff (made the first time), to approve requests."""
    if db.session.scalar(sa.select(User).where(User.email == email)) is None:
        make_user(role=role, email=email, name="Second Checker")
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def approve(app, request_id, client=None):
    """Approve request `request_id` as a second member of staff; return the response."""
    client = client or checker_client(app)
    page = client.get(f"/admin/correctionrequest/details/?id={request_id}")
    assert "Approve and apply" in page.text, page.text[:3000]
    return client.post(f"/admin/correctionrequest/{request_id}/approve", data={"csrf_token": csrf_token(page.text)})


def review(client, path, data):
    """Fill a correction form up to its review step; return that response (nothing is applied)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client.get(path).text)})


def confirm(client, path, data):
    """Send a confirmation straight away, as a form reviewed before the state changed would be sent."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client.get(path).text), "confirmed": "yes"})
