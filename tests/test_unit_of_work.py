"""One unit of work per request or command: one commit at the end, a rollback on any error, refusals recorded.

Commits are counted on the engine, so these hold whichever door a change comes in by.
"""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, AuditEvent, Transaction
from tests.api.conftest import bearer, issue
from tests.factories import make_account, make_user, snapshot
from tests.web.conftest import login, post_form


@pytest.fixture
def commits(app):
    """A list that gets one entry per COMMIT the engine sends, from any session."""
    seen = []

    def count(_connection):
        seen.append(1)

    sa.event.listen(db.engine, "commit", count)
    yield seen
    sa.event.remove(db.engine, "commit", count)


@pytest.fixture
def funded(app):
    owner = make_user(email="uow@example.com")
    account = make_account(owner, balance=100_00)
    return owner, account, issue(owner, [account])


def post(client, account, secret, body):
    return client.post(f"/api/v1/accounts/{account.id}/transactions", json=body, headers=bearer(secret))


def audit_rows(action):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_a_posting_commits_once_with_its_audit_row_and_the_tokens_last_use(client, funded, commits):
    _, account, secret = funded
    response = post(client, account, secret, {"amount": "-10.00"})
    assert response.status_code == 201
    assert len(commits) == 1
    assert [event.outcome for event in audit_rows("transaction.create")][-1] == "success"
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_a_refused_posting_commits_once_its_refusal_and_last_use_and_nothing_else(client, funded, commits):
    _, account, secret = funded
    before = snapshot()
    response = post(client, account, secret, {"amount": "-1000.00"})
    assert response.status_code == 409
    assert len(commits) == 1
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    assert audit_rows("transaction.create")[-1].outcome == "denied"
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None  # a refused call is still a use


def test_an_unknown_token_commits_only_its_refusal(client, funded, commits):
    _, account, _ = funded
    before = snapshot()
    response = client.get(f"/api/v1/accounts/{account.id}/balance", headers=bearer("pt_" + "x" * 43))
    assert response.status_code == 401
    assert len(commits) == 1
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before


def test_a_commit_that_fails_is_an_error_response_and_nothing_is_written(client, funded, monkeypatch):
    _, account, secret = funded
    before = snapshot()

    def lost(*_args, **_kwargs):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(sa.orm.Session, "commit", lost)  # every session's: the request has one of its own
    response = post(client, account, secret, {"amount": "-10.00"})
    monkeypatch.undo()
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == before["transactions"]
    assert snapshot()["balances"] == before["balances"]


def test_a_refused_command_commits_its_refusal_once_and_nothing_else(runner, commits):
    make_user(email="cli@example.com")
    commits.clear()
    before = snapshot()
    result = runner.invoke(args=["accounts", "open", "cli@example.com", "--name", "\x1b[31mMain"])
    assert result.exit_code == 1 and "name" in result.output
    assert len(commits) == 1
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
    refused = audit_rows("account.open")[-1]
    assert (refused.outcome, refused.refusal_code, refused.reason) == ("failed", "validation_error", None)
    assert refused.refusal_message.startswith("name: ")


def test_the_customer_pages_record_a_refused_token_creation(client, app):
    owner = make_user(email="pages@example.com")
    account = make_account(owner, balance=10_00)
    assert login(client, owner.email).status_code == 302
    before = snapshot()
    response = post_form(client, "/tokens", {"name": "\u202eevil", "scopes": ["accounts:read"],
                                             "accounts": [str(account.id)], "expires_in": "30"})
    assert response.status_code == 200 and "was not created" in response.text
    refused = audit_rows("token.create")
    assert refused and refused[-1].outcome == "failed" and refused[-1].subject_user_id == owner.id
    assert refused[-1].refusal_code == "validation_error" and refused[-1].refusal_message.startswith("name: ")
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before


def test_an_api_read_costs_the_credential_check_and_its_own_query(client, funded):
    """The one credential check reads the token, its owner and the URL's account in one round trip."""
    _, account, secret = funded
    client.get(f"/api/v1/accounts/{account.id}/balance", headers=bearer(secret))  # last use written once
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/api/v1/accounts/{account.id}/balance", headers=bearer(secret))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert [s for s in statements if s != "BEGIN"] == ["SELECT", "SELECT"], statements  # BEGIN: SQLite's own
