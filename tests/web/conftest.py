"""Web fixtures: logging in through the real form, with its CSRF token."""
import re

import pytest

from tests.factories import PASSWORD, make_account, make_user

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html):
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client, email, password=PASSWORD, next_=None):
    page = client.get("/login" + (f"?next={next_}" if next_ else ""))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(page.text),
                                       "next": next_ or ""})


def post_form(client, path, data=None, page=None):
    """POST to a page's form with the CSRF token read from `page` (default: the same path)."""
    html = client.get(page or path).text
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(html)})


@pytest.fixture
def ann(app):
    """A customer with two accounts (100.00 in Main), logged out."""
    user = make_user(email="ann@example.com", name="Ann Example")
    main = make_account(user, days_old=30, balance=100_00, name="Main")
    savings = make_account(user, days_old=30, name="Savings")
    return user, main, savings


@pytest.fixture
def ann_client(client, ann):
    assert login(client, "ann@example.com").status_code == 302
    return client
