"""Secrets never reach the logs or the audit log; hostile text is stored verbatim and shown escaped everywhere."""
import csv
import io
import logging
import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from portal import identity, ledger
from portal.extensions import db
from portal.models import Account, ApiToken, AuditEvent, Role, Transaction
from tests.api.conftest import bearer
from tests.factories import PASSWORD, SYSTEM, make_account, make_user, snapshot
from tests.web.conftest import login, post_form

SCRIPT = '<script>alert("x")</script>'
SQLISH = "'; DROP TABLE accounts; --"
FORMULA = '=HYPERLINK("http://evil.example","x")'
PAYLOADS = [SCRIPT, SQLISH, FORMULA, "+1+1", "-2+3", "@SUM(A1)", '"><img src=x onerror=alert(1)>']


class Capture(logging.Handler):
    """Every record any logger emits during the test, formatted as the app formats them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        from portal.observability import JsonFormatter

        self.lines.append(JsonFormatter().format(record))


@pytest.fixture
def captured_logs():
    capture = Capture()
    loggers = [logging.getLogger(), logging.getLogger("portal.request"), logging.getLogger("portal")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    yield capture
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(capture)
        logger.setLevel(level)


def test_passwords_tokens_and_session_cookies_never_reach_logs_or_audit_rows(app, client, captured_logs):
    user = make_user(email="ann@example.com")
    main = make_account(user, days_old=10, balance=50_00)
    wrong_password = "Wrong-Horse-Battery-9"
    login(client, "ann@example.com", password=wrong_password)
    assert login(client, "ann@example.com").status_code == 302
    session_cookie = client.get_cookie("session").value
    created = post_form(client, "/tokens", {"name": "Budget app", "scopes": ["accounts:read", "transactions:write"],
                                            "accounts": [str(main.id)]})
    assert created.status_code == 303  # the list it redirects to shows the secret once
    secret = re.search(r'value="(pt_[A-Za-z0-9_-]+)"', client.get("/tokens").text).group(1)
    other = client.application.test_client()
    assert other.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200
    other.post(f"/api/v1/accounts/{main.id}/transactions", json={"amount": "-1.00"}, headers=bearer(secret))
    near_miss = secret[:-1] + ("X" if secret[-1] != "X" else "Y")
    assert other.get("/api/v1/accounts", headers=bearer(near_miss)).status_code == 401  # refused and logged
    other.get("/", headers={"Cookie": f"session={session_cookie}"})

    logs = "\n".join(captured_logs.lines)
    audit = str(db.session.execute(sa.select(AuditEvent.__table__)).all())
    assert "auth.login_failed" in audit and "api.unauthorized" in audit and len(captured_logs.lines) >= 6
    for text in (logs, audit):
        for secret_value in (PASSWORD, wrong_password, secret, secret[3:20], near_miss, session_cookie):
            assert secret_value not in text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_is_stored_verbatim_and_escaped_on_every_page_and_in_csv(app, client, payload):
    user = make_user(email="ann@example.com", name=payload)
    account = make_account(user, days_old=10, balance=50_00, name=payload[:60])
    withdrawal_id = ledger.withdraw(account, 1_00, actor=SYSTEM, description=payload).id
    db.session.commit()
    make_user(role=Role.OPERATOR, email="op@example.com")
    stored = db.session.scalar(sa.select(Transaction.description).where(Transaction.kind == "withdrawal"))
    assert stored == payload and db.session.get(Account, account.id).name == payload[:60]

    customer = client.application.test_client()
    assert login(customer, "ann@example.com").status_code == 302
    operator = client.application.test_client()
    assert login(operator, "op@example.com").status_code == 302
    pages = [customer.get("/"), customer.get(f"/accounts/{account.id}"), customer.get("/activity"),
             operator.get("/admin/account/"), operator.get(f"/admin/account/details/?id={account.id}"),
             operator.get("/admin/transaction/"), operator.get("/admin/user/"),
             operator.get("/admin/auditevent/"),
             operator.get("/admin/transaction/", query_string={"search": payload}),
             operator.get("/admin/account/", query_string={"flt0_0": payload}),
             customer.get("/tokens", query_string={"q": payload})]
    for response in pages:
        assert response.status_code == 200, response.request.path
        assert SCRIPT not in response.text and "<img src=x" not in response.text
    # The search box takes the payload as text: it finds the transaction whose description it is, shown escaped
    # (a leading = or ^ is Flask-Admin's operator for "exactly" or "starts with", so that term means less).
    found = operator.get("/admin/transaction/", query_string={"search": payload}).text
    assert str(escape(payload)) in found or payload.startswith(("=", "^"))
    assert (str(withdrawal_id) in found) != payload.startswith(("=", "^"))

    export = operator.get("/admin/transaction/export/csv/")
    assert export.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    formula = payload.startswith(("=", "+", "-", "@"))
    assert ("'" + payload if formula else payload) in cells  # a spreadsheet shows it as text, never runs it
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells if payload in cell)


def test_nul_characters_are_refused_at_the_door_not_by_the_database(app, client):
    """PostgreSQL cannot store NUL in text; found by tests/api/test_stateful.py as a 500 on a description."""
    user = make_user(email="ann@example.com")
    main = make_account(user, days_old=10, balance=50_00)
    make_user(role=Role.OPERATOR, email="op@example.com")
    _, secret = identity.issue_token(user, name="App", scopes=["transactions:write"], accounts=[main], actor=SYSTEM)
    db.session.commit()
    before = snapshot()
    api = client.application.test_client()
    answer = api.post(f"/api/v1/accounts/{main.id}/transactions", headers=bearer(secret),
                      json={"amount": "-1.00", "description": "coffee\x00"})
    assert answer.status_code == 400 and answer.get_json()["code"] == "validation_error"
    assert api.get(f"/api/v1/accounts/{main.id}/transactions", headers=bearer(secret),
                   query_string={"cursor": "a\x00"}).status_code == 400
    assert client.post("/login", data={"email": "ann@example.com\x00", "password": "x"}).status_code == 400
    operator = client.application.test_client()
    assert login(operator, "op@example.com").status_code == 302
    assert operator.get("/admin/transaction/", query_string={"search": "a\x00b"}).status_code == 400
    assert operator.get("/admin/user/", query_string={"search": "a\x00b"}).status_code == 400
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"}


def test_the_customer_pages_refuse_a_token_name_with_a_direction_override(ann_client, ann):
    page = post_form(ann_client, "/tokens", {"name": "Budget \u202eppa", "scopes": ["accounts:read"],
                                             "accounts": [str(ann[1].id)]})
    assert page.status_code == 200 and "The token was not created" in page.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
