"""API fixtures: a customer with two accounts, a token with every scope, and helpers to call the API."""
from dataclasses import dataclass

import pytest

from portal import identity
from portal.extensions import db
from portal.models import Scope
from tests.factories import SYSTEM, make_account, make_user

ALL_SCOPES = [scope.value for scope in Scope]


def issue(owner, accounts, scopes=ALL_SCOPES, **kwargs):
    """Issue a token and return its secret.

    One holding deposits:write (the default: every scope) is issued as the bank issues one for its payment rail
    (`flask tokens issue --scope deposits:write`): a customer's own pages never offer that scope.
    """
    kwargs.setdefault("by_bank", Scope.DEPOSITS_WRITE.value in scopes)
    _, secret = identity.issue_token(owner, name="Third party", scopes=scopes, accounts=accounts, actor=SYSTEM,
                                     **kwargs)
    db.session.commit()
    return secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Customer:
    user: object
    main: object
    savings: object
    secret: str

    @property
    def headers(self):
        return bearer(self.secret)


@pytest.fixture
def customer(app):
    """A customer with a funded main account (100.00, opened 30 days ago), a savings account, an all-scope token."""
    user = make_user(email="ann@example.com")
    main = make_account(user, days_old=30, balance=100_00, name="Main")
    savings = make_account(user, days_old=30, name="Savings")
    return Customer(user, main, savings, issue(user, [main, savings]))


@pytest.fixture
def stranger(app):
    """Another customer, with an account of their own and a token for it."""
    user = make_user(email="stranger@example.com")
    account = make_account(user, days_old=30, balance=50_00, name="Theirs")
    return Customer(user, account, None, issue(user, [account]))
