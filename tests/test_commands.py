"""The command-line doors: what they print, what they change, and that they audit as `system`."""
import re
import uuid

import pytest
import sqlalchemy as sa

from portal import identity
from portal.extensions import db
from portal.models import Account, ApiToken, AuditEvent, User
from tests.factories import SYSTEM, make_account, make_user


def count(model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def last_event():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def test_users_create_hashes_the_password_and_audits_as_system(runner):
    result = runner.invoke(args=["users", "create", "Dana@Example.com", "--name", "Dana", "--role", "operator",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "dana@example.com"))
    assert user.role == "operator" and user.active
    assert user.password_hash.startswith("$argon2id$")
    assert identity.verify_password(user.password_hash, "a long enough password")
    event = last_event()
    assert (event.action, event.actor_type, event.outcome, event.object_id) == (
        "user.create", "system", "success", str(user.id))
    assert "a long enough password" not in str(event.changes)


def test_users_create_prompts_for_a_password_when_none_is_given(runner):
    result = runner.invoke(args=["users", "create", "eve@example.com", "--name", "Eve"],
                           input="prompted password\nprompted password\n")
    assert result.exit_code == 0, result.output
    user = identity.find_user_by_email("eve@example.com")
    assert identity.verify_password(user.password_hash, "prompted password")


def test_users_create_refuses_a_duplicate_email_and_records_the_failure(runner):
    make_user(email="taken@example.com")
    users_before = count(User)
    result = runner.invoke(args=["users", "create", "TAKEN@example.com", "--name", "X", "--password", "x" * 12])
    assert result.exit_code == 1
    assert "EMAIL: is already in use" in result.output
    assert count(User) == users_before
    assert (last_event().action, last_event().outcome) == ("user.create", "failed")


def test_accounts_open_prints_only_the_new_account_id(runner):
    owner = make_user(email="owner@example.com")
    result = runner.invoke(args=["accounts", "open", "owner@example.com", "--name", "Savings", "--currency", "SEK",
                                 "--opened-on", "2026-01-15"])
    assert result.exit_code == 0, result.output
    account = db.session.get(Account, uuid.UUID(result.output.strip()))
    assert (account.owner_id, account.name, account.currency, str(account.opened_on)) == (
        owner.id, "Savings", "SEK", "2026-01-15")
    assert (last_event().action, last_event().actor_type) == ("account.open", "system")


def test_accounts_open_for_an_unknown_email_fails_and_opens_nothing(runner):
    before = count(Account)
    result = runner.invoke(args=["accounts", "open", "nobody@example.com", "--name", "X"])
    assert result.exit_code == 1 and "no user with email" in result.output
    assert count(Account) == before


def test_tokens_issue_prints_only_a_working_token_and_stores_only_its_hash(runner):
    owner = make_user(email="owner@example.com")
    first, second = make_account(owner), make_account(owner)
    result = runner.invoke(args=["tokens", "issue", "owner@example.com", "--scope", "accounts:read",
                                 "--scope", "transactions:read", "--account", str(first.id),
                                 "--account", second.number, "--name", "Budget app", "--expires-in-days", "30"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("pt_") and len(secret) >= 3 + 43 and "\n" not in secret
    token = identity.authenticate_token(secret)
    assert token.name == "Budget app"
    assert token.scope_set == {"accounts:read", "transactions:read"}
    assert {a.id for a in token.accounts} == {first.id, second.id}
    assert token.token_hash == identity.hash_secret(secret) and secret not in token.token_hash
    assert token.expires_at is not None
    assert secret not in str(last_event().changes)


def test_tokens_issue_refuses_another_customers_account(runner):
    make_user(email="owner@example.com")
    stranger_account = make_account()
    result = runner.invoke(args=["tokens", "issue", "owner@example.com", "--scope", "accounts:read",
                                 "--account", str(stranger_account.id)])
    assert result.exit_code == 1 and "--account: must be accounts of this customer" in result.output
    assert count(ApiToken) == 0


def test_tokens_revoke_by_id_or_by_the_leaked_secret_on_stdin(runner):
    owner = make_user(email="owner@example.com")
    account = make_account(owner)
    issued = [identity.issue_token(owner, name=f"App {n}", scopes=["accounts:read"], accounts=[account],
                                   actor=SYSTEM) for n in range(2)]
    db.session.commit()
    (first, _), (second, second_secret) = issued
    by_id = runner.invoke(args=["tokens", "revoke", str(first.id), "--reason", "customer asked by phone"])
    assert by_id.exit_code == 0 and by_id.output.strip() == str(first.id), by_id.output
    by_secret = runner.invoke(args=["tokens", "revoke", "--secret-from-stdin", "--reason", "found on GitHub"],
                              input=second_secret + "\n")
    assert by_secret.exit_code == 0 and by_secret.output.strip() == str(second.id), by_secret.output
    assert identity.authenticate_token(second_secret) is None
    db.session.expire_all()
    assert all(db.session.get(ApiToken, token.id).revoked_at is not None for token, _ in issued)
    event = last_event()
    assert (event.action, event.actor_type, event.reason) == ("token.revoke", "system", "found on GitHub")
    assert second_secret not in by_secret.output and second_secret not in str(event.changes)


def test_tokens_revoke_needs_exactly_one_way_to_name_the_token_and_a_reason(runner):
    assert runner.invoke(args=["tokens", "revoke", "--reason", "x"]).exit_code == 2
    assert runner.invoke(args=["tokens", "revoke", "1"]).exit_code == 2
    unknown = runner.invoke(args=["tokens", "revoke", "--secret-from-stdin", "--reason", "x"], input="pt_nope\n")
    assert unknown.exit_code == 1 and "no such token" in unknown.output


def test_demo_load_then_ledger_check_is_clean_and_a_second_load_changes_nothing(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "alice@example.com" in result.output and "operator@example.com" in result.output
    secret = re.search(r"pt_[A-Za-z0-9_-]{43}", result.output).group()
    assert identity.authenticate_token(secret) is not None
    roles = set(db.session.scalars(sa.select(User.role)))
    assert roles == {"customer", "viewer", "operator", "admin"}
    counts = (count(User), count(Account), count(AuditEvent))
    assert counts[1] > 3

    check = runner.invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output
    assert check.output.startswith("ledger check: OK")

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert (count(User), count(Account), count(AuditEvent)) == counts


def test_the_command_line_refuses_a_name_with_control_characters_and_records_the_failure(runner):
    owner = make_user(email="dora@example.com")
    accounts = db.session.scalar(sa.select(sa.func.count()).select_from(Account))
    # An argument that is not valid UTF-8 reaches Python as lone surrogates (surrogateescape).
    for name in ("\x1b[31mRed", "bad \udcff byte"):
        result = runner.invoke(args=["accounts", "open", "dora@example.com", "--name", name])
        assert result.exit_code == 1 and "--name:" in result.output, result.output
        db.session.expire_all()
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (event.action, event.outcome, event.subject_user_id) == ("account.open", "failed", owner.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == accounts


def test_a_surrogate_in_an_email_given_on_the_command_line_is_refused_and_the_failure_recorded(runner):
    result = runner.invoke(args=["users", "create", "bad\udcff@example.com", "--name", "X", "--password", "x" * 12])
    assert result.exit_code == 1 and "EMAIL:" in result.output, result.output
    event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (event.action, event.outcome) == ("user.create", "failed")
    assert "\udcff" not in str(event.changes)


def test_idempotency_purge_deletes_only_keys_older_than_asked_and_audits_it(runner):
    import datetime as dt

    from portal.kernel import clock
    from portal.models import IdempotencyKey

    user = make_user()
    now = clock.now()
    for key, hours in (("fresh", 1), ("day-old", 23), ("old", 25), ("older", 24 * 40)):
        db.session.add(IdempotencyKey(user_id=user.id, key=key, fingerprint="f" * 64, status_code=201,
                                      response_body="{}", created_at=now - dt.timedelta(hours=hours)))
    db.session.commit()
    result = runner.invoke(args=["idempotency", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Purged 2 idempotency keys older than 24 hours."
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(IdempotencyKey.key))) == {"fresh", "day-old"}
    event = last_event()
    assert (event.action, event.actor_type, event.outcome) == ("idempotency.purge", "system", "success")
    assert event.changes == {"deleted": [None, 2], "older_than_hours": [None, 24]}

    result = runner.invoke(args=["idempotency", "purge", "--older-than-hours", "720"])
    assert result.exit_code == 0 and result.output.strip() == "Purged 0 idempotency keys older than 720 hours."


@pytest.mark.parametrize("hours", ["23", "0", "-5"])
def test_idempotency_purge_refuses_to_forget_keys_younger_than_the_contract_promises(runner, hours):
    from portal.models import IdempotencyKey

    user = make_user()
    db.session.add(IdempotencyKey(user_id=user.id, key="k", fingerprint="f" * 64))
    db.session.commit()
    result = runner.invoke(args=["idempotency", "purge", "--older-than-hours", hours])
    assert result.exit_code != 0 and "24" in result.output, result.output
    assert count(IdempotencyKey) == 1


def test_users_set_password_prompts_twice_ends_every_session_and_audits_as_system(app, runner):
    from tests.web.conftest import login

    user = make_user(email="fay@example.com")
    browser = app.test_client()
    assert login(browser, "fay@example.com").status_code == 302
    result = runner.invoke(args=["users", "set-password", "FAY@example.com"],
                           input="a fresh long passphrase\na fresh long passphrase\n")
    assert result.exit_code == 0, result.output
    assert "a fresh long passphrase" not in result.output  # hidden input
    db.session.expire_all()
    assert identity.verify_password(db.session.get(User, user.id).password_hash, "a fresh long passphrase")
    event = last_event()
    assert (event.action, event.actor_type, event.outcome, event.object_id, event.reason) == (
        "user.password_change", "system", "success", str(user.id), "command line")
    assert "a fresh long passphrase" not in str(event.changes)
    response = browser.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("password, message", [("Password123!", "leaked passwords"), ("too short", "12 characters")])
def test_users_set_password_refuses_a_weak_password_and_changes_nothing(runner, password, message):
    user = make_user(email="gus@example.com")
    before = user.password_hash, user.session_version
    result = runner.invoke(args=["users", "set-password", "gus@example.com"], input=f"{password}\n{password}\n")
    assert result.exit_code == 1 and message in result.output
    db.session.expire_all()
    after = db.session.get(User, user.id)
    assert (after.password_hash, after.session_version) == before
    assert (last_event().action, last_event().outcome) == ("user.password_change", "failed")


def test_users_set_password_for_an_unknown_email_fails(runner):
    result = runner.invoke(args=["users", "set-password", "nobody@example.com"], input="x\nx\n")
    assert result.exit_code == 1 and "no user with email nobody@example.com" in result.output


@pytest.mark.parametrize("args, message", [
    (["users", "create", "not-an-email", "--name", "X", "--password", "x" * 12], "EMAIL: is not a valid email"),
    (["users", "create", "new@example.com", "--name", " ", "--password", "x" * 12], "--name: must not be empty"),
    (["users", "create", "new@example.com", "--name", "X", "--password", "short"], "--password: "),
    (["accounts", "open", "ida@example.com", "--name", " "], "--name: must not be empty"),
    (["accounts", "open", "ida@example.com", "--name", "Later", "--opened-on", "2999-01-01"],
     "--opened-on: must not be in the future"),
    (["tokens", "issue", "ida@example.com", "--scope", "accounts:read", "--account", "IDA", "--name", " "],
     "--name: must not be empty"),
])
def test_a_refusal_on_the_command_line_names_the_option_or_argument_and_changes_nothing(runner, args, message):
    ida = make_user(email="ida@example.com")
    account = make_account(ida, name="Ida's")
    args = [str(account.id) if arg == "IDA" else arg for arg in args]
    before = count(User), count(Account), count(ApiToken)
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and result.output.startswith(f"Error: {message}"), result.output
    assert (count(User), count(Account), count(ApiToken)) == before
    assert last_event().outcome == "failed"
