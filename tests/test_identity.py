"""Users and API tokens in the domain: hashing, issuing, the states in which a token stops working."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.extensions import db
from portal.kernel import clock
from portal.kernel.errors import ValidationError
from portal.models import ApiToken, AuditEvent, Role
from tests.factories import PASSWORD, SYSTEM, make_account, make_user


def issue(owner, accounts, **kwargs):
    token, secret = identity.issue_token(owner, name="App", scopes=["accounts:read"], accounts=accounts,
                                         actor=SYSTEM, **kwargs)
    db.session.commit()
    return token, secret


def test_passwords_are_hashed_with_argon2id_and_verified(app):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert identity.verify_password(user.password_hash, PASSWORD)
    assert not identity.verify_password(user.password_hash, PASSWORD + "x")
    assert not identity.verify_password(None, PASSWORD)


def test_emails_are_unique_whatever_their_case(app):
    make_user(email="Mixed.Case@Example.com")
    assert identity.find_user_by_email("mixed.case@example.COM").email == "mixed.case@example.com"
    with pytest.raises(ledger.ValidationError, match="already in use"):
        make_user(email="MIXED.case@example.com")


def test_token_secret_is_shown_once_and_stored_only_as_its_hash(app):
    owner = make_user()
    token, secret = issue(owner, [make_account(owner)])
    assert secret.startswith("pt_") and len(secret) >= 46
    assert token.prefix == secret[:10]
    stored = db.session.execute(sa.select(ApiToken.__table__)).one()._asdict()
    assert secret not in str(stored)
    assert identity.authenticate_token(secret).id == token.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "token.create"))
    assert secret not in str(event.changes) and token.token_hash not in str(event.changes)


def test_token_stops_working_when_revoked(app):
    owner = make_user()
    token, secret = issue(owner, [make_account(owner)])
    identity.revoke_token(token, actor=SYSTEM)
    db.session.commit()
    assert identity.authenticate_token(secret) is None
    assert token.status(clock.now()) == "revoked"


def test_token_stops_working_when_expired(app, monkeypatch):
    owner = make_user()
    token, secret = issue(owner, [make_account(owner)], expires_at=clock.now() + dt.timedelta(hours=1))
    assert identity.authenticate_token(secret) is not None
    later = clock.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert identity.authenticate_token(secret) is None
    assert token.status(later) == "expired"


def test_token_stops_working_when_its_owner_is_deactivated(app):
    owner = make_user()
    _, secret = issue(owner, [make_account(owner)])
    owner.active = False
    db.session.commit()
    assert identity.authenticate_token(secret) is None


@pytest.mark.parametrize("secret", ["", "pt_", "pt_unknown", "Bearer pt_x", "x" * 300])
def test_unknown_or_malformed_secrets_find_nothing(app, secret):
    owner = make_user()
    issue(owner, [make_account(owner)])
    assert identity.authenticate_token(secret) is None


def test_tokens_need_a_scope_an_own_account_and_a_future_expiry(app):
    owner, staff = make_user(), make_user(role=Role.VIEWER)
    own, foreign = make_account(owner), make_account()
    cases = [
        dict(user=owner, scopes=[], accounts=[own]),
        dict(user=owner, scopes=["accounts:write"], accounts=[own]),
        dict(user=owner, scopes=["accounts:read"], accounts=[]),
        dict(user=owner, scopes=["accounts:read"], accounts=[foreign]),
        dict(user=owner, scopes=["accounts:read"], accounts=[own], expires_at=clock.now()),
        dict(user=staff, scopes=["accounts:read"], accounts=[own]),
    ]
    for case in cases:
        with pytest.raises(ledger.ValidationError):
            identity.issue_token(case.pop("user"), name="App", actor=SYSTEM, **case)
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def near_miss(secret):
    """The secret with its last character changed (to one it is not: a fixed replacement is it 1 time in 64)."""
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


def test_tokens_are_looked_up_by_their_hash_never_by_the_secret(app):
    """The secret never travels to the database, so no comparison of it can leak timing; equal hashes are
    found through the unique index."""
    owner = make_user()
    _, secret = issue(owner, [make_account(owner)])
    sent = []

    def record(_conn, _cursor, _statement, parameters, *_):
        sent.append(str(parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert identity.find_token(secret) is not None
        assert identity.find_token(near_miss(secret)) is None
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert sent and not any(secret in params or secret[3:] in params for params in sent)
    assert any(identity.hash_secret(secret) in params for params in sent)
    stored = db.session.execute(sa.select(ApiToken.__table__)).all()
    assert secret not in str(stored)


@pytest.mark.parametrize("password", [
    "short", "Password123!", "2024sunshine!!", "qwertyuiopasdf", "zyxwvutsrqpo", "1q2w3e4r5t6y", "abcabcabcabc",
    "monkeymonkey12", "x" * 20, "ann@example.com", "AnnExample12", "annexample", "y" * 2000,
])
def test_weak_passwords_are_refused_with_a_reason(password):
    from portal.identity import password_rules

    assert password_rules.problem(password, email="ann@example.com", name="Ann Example") is not None


@pytest.mark.parametrize("password", ["correct horse battery", "x7#Kp2!mQz9w", "my cat eats tuna on sundays"])
def test_long_uncommon_passwords_are_accepted(password):
    from portal.identity import password_rules

    assert password_rules.problem(password, email="ann@example.com", name="Ann Example") is None


def test_the_common_password_list_ships_with_the_code():
    from portal.identity import password_rules

    common = password_rules.common_passwords()
    assert len(common) >= 4000 and {"password", "123456", "iloveyou"} <= common
    assert all(entry == entry.lower() for entry in common)


def test_new_users_get_the_same_password_rules(app):
    with pytest.raises(ValidationError, match="leaked"):
        identity.create_user("weak@example.com", "Weak", role=Role.CUSTOMER, password="Password123!", actor=SYSTEM)
