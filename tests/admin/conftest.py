"""Back-office fixtures: a small bank, and a logged-in client per role."""
from dataclasses import dataclass

import pytest

from portal import identity, ledger
from portal.extensions import db
from portal.identity import apps, consents
from portal.models import Role
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
    """Fill a correction form: the review step, then the confirmation. Returns the final response."""
    token = csrf_token(client.get(path).text)
    review = client.post(path, data={**data, "csrf_token": token})
    assert review.status_code == 200 and "Confirm:" in review.text, review.text[:2000]
    return client.post(path, data={**data, "csrf_token": csrf_token(review.text), "confirmed": "yes"})


def review(client, path, data):
    """Fill a correction form up to its review step; return that response (nothing is applied)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client.get(path).text)})


def confirm(client, path, data):
    """Send a confirmation straight away, as a form reviewed before the state changed would be sent."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client.get(path).text), "confirmed": "yes"})
