"""Corrections as data: requests round-trip through JSON, apply by one call, and are validated again when applied."""
from dataclasses import replace

import pytest
import sqlalchemy as sa

from portal import corrections, ledger
from portal.admin.corrections import FORMS
from portal.audit import Actor
from portal.extensions import db
from portal.identity import apps
from portal.models import AuditEvent, Role, User
from tests.admin.conftest import ROLES
from tests.factories import SYSTEM, refresh, snapshot


def request_for(kind, target, parameters=None, *, maker, reason="asked by the customer"):
    kind = corrections.kind_of(kind)
    return corrections.CorrectionRequest(kind=kind.name, target_type=kind.target_type,
                                         target_id=kind.target_key(target), parameters=parameters or {},
                                         reason=reason, maker_id=maker.id)


def as_staff(user):
    return Actor.for_user(user, request_id="test")


def last_event():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


# One request of every kind, on the bank of tests/admin/conftest.py: (target, parameters, set-up).
SAMPLES = {
    "transaction.reverse": (lambda bank: bank.withdrawal, {}, None),
    "transaction.adjust": (lambda bank: bank.main, {"amount": -12_50, "value_date": None}, None),
    "account.freeze": (lambda bank: bank.main, {}, None),
    "account.unfreeze": (lambda bank: bank.main, {}, lambda bank: ledger.freeze(bank.main, actor=SYSTEM, reason="x")),
    "account.close": (lambda bank: bank.savings, {}, None),
    "account.rename": (lambda bank: bank.main, {"name": "Household"}, None),
    "account.open": (lambda bank: bank.customer, {"name": "Holiday", "currency": "EUR", "opened_on": None}, None),
    "user.update": (lambda bank: bank.customer, {"name": "Carla C.", "email": "carla.c@example.com", "active": True},
                    None),
    "user.role_change": (lambda bank: bank.staff["viewer"], {"role": "operator"}, None),
    "user.create": (lambda bank: None, {"email": "new@bank.example", "name": "New Person", "role": "viewer"}, None),
    "token.revoke": (lambda bank: bank.token, {}, None),
    "user.password_reset_link": (lambda bank: bank.customer, {}, None),
    "app.register": (lambda bank: None, {"name": "Saver", "homepage": "https://saver.example",
                                         "redirect_uris": "https://saver.example/cb\nhttp://127.0.0.1:9/cb",
                                         "client_type": "public", "scopes": ["accounts:read"],
                                         "ip_allowlist": "10.0.0.0/8"}, None),
    "app.edit": (lambda bank: bank.third_party, {"name": "Budgetly Pro", "homepage": "https://budgetly.example",
                                                 "redirect_uris": "https://budgetly.example/callback",
                                                 "scopes": ["accounts:read", "transactions:read"],
                                                 "ip_allowlist": ""}, None),
    "app.suspend": (lambda bank: bank.third_party, {}, None),
    "app.reactivate": (lambda bank: bank.third_party, {},
                       lambda bank: apps.suspend_app(bank.third_party, actor=SYSTEM, reason="x")),
    "consent.revoke": (lambda bank: bank.consent, {}, None),
    "app.secret_rotate": (lambda bank: bank.third_party, {}, None),
}


def test_every_kind_has_a_sample_and_a_form():
    assert set(SAMPLES) == set(corrections.KINDS) == set(FORMS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_request_round_trips_through_json_and_applies_as_the_action_it_is_named_for(app, bank, name):
    target, parameters, setup = SAMPLES[name]
    if setup:
        setup(bank)
        db.session.commit()
    admin = bank.staff["admin"]
    asked = request_for(name, target(bank), parameters, maker=admin)
    stored = asked.to_json()
    again = corrections.CorrectionRequest.from_json(stored)
    assert again == asked and again.to_json() == stored
    title, summary = corrections.describe(again)
    assert title and all(isinstance(line, str) for line in summary)

    corrections.apply(again, as_staff(admin))
    db.session.commit()
    event = last_event()
    # The kind's name is the action its domain call records: one name, written once.
    reason = None if name == "account.open" else "asked by the customer"  # an opening records no reason (yet)
    assert (event.action, event.outcome, event.actor_user_id, event.reason) == (name, "success", admin.id, reason)


def test_applying_a_request_is_what_the_back_office_does(app, bank):
    operator = bank.staff["operator"]
    asked = request_for("transaction.adjust", bank.main, {"amount": -12_50, "value_date": None}, maker=operator,
                        reason="Fee correction")
    corrections.apply(corrections.CorrectionRequest.from_json(asked.to_json()), as_staff(operator))
    db.session.commit()
    assert refresh(bank.main).balance == 137_50
    event = last_event()
    assert event.changes["amount"] == [None, "-12.50"] and event.reason == "Fee correction"
    assert event.subject_user_id == bank.customer.id


def refused(error, request, actor):
    before = snapshot()
    with pytest.raises(error):
        corrections.apply(request, actor)
    db.session.rollback()
    assert snapshot() == before


def test_an_unknown_kind_is_refused(app, bank):
    admin = bank.staff["admin"]
    for kind in ("account.delete", "transaction.create", "", None):
        asked = corrections.CorrectionRequest(kind=kind, target_type="account", target_id=str(bank.main.id),
                                              maker_id=admin.id)
        refused(ledger.ValidationError, asked, as_staff(admin))
    with pytest.raises(ledger.ValidationError):
        corrections.kind_of("account.delete")


def test_a_request_is_validated_again_against_the_state_it_meets(app, bank):
    operator = bank.staff["operator"]
    freeze = request_for("account.freeze", bank.main, maker=operator)
    ledger.close(bank.savings, actor=SYSTEM, reason="unused")
    ledger.freeze(bank.main, actor=SYSTEM, reason="already")
    db.session.commit()
    refused(ledger.InvalidStatusChange, freeze, as_staff(operator))  # asked for while active; frozen since
    refused(ledger.AccountClosed, request_for("transaction.adjust", bank.savings, {"amount": 1_00, "value_date": None},
                                              maker=operator), as_staff(operator))


def test_a_request_whose_target_is_gone_or_of_another_type_is_refused(app, bank):
    operator = bank.staff["operator"]
    asked = request_for("account.freeze", bank.main, maker=operator)
    for target_type, target_id in [("account", "00000000-0000-0000-0000-000000000000"), ("account", "not a uuid"),
                                   ("account", None), ("account", 7), ("user", bank.customer.id),
                                   ("account", True)]:
        stale = replace(asked, target_type=target_type, target_id=target_id)
        refused(ledger.ValidationError, stale, as_staff(operator))


def test_parameters_must_be_exactly_the_kinds_and_plain(app, bank):
    admin = bank.staff["admin"]
    for parameters in [{}, {"amount": 1_00}, {"amount": 1_00, "value_date": None, "extra": 1},
                       {"amount": "1.00", "value_date": None}, {"amount": True, "value_date": None},
                       {"amount": 1_00, "value_date": "yesterday"}]:
        refused(ledger.ValidationError, request_for("transaction.adjust", bank.main, parameters, maker=admin),
                as_staff(admin))
    refused(ledger.ValidationError, request_for("account.rename", bank.main, {"name": 42}, maker=admin),
            as_staff(admin))
    refused(ledger.ValidationError, request_for("user.update", bank.customer, {
        "name": "Carla", "email": "carla@example.com", "active": "no"}, maker=admin), as_staff(admin))


@pytest.mark.parametrize("text", [
    "[]", "{}", "not json", '{"kind": "account.freeze"}',
    '{"kind": 1, "target_type": "account", "target_id": null, "parameters": {}, "reason": "", '
    '"customer_note": null, "maker_id": 1}',
    '{"kind": "account.freeze", "target_type": "account", "target_id": null, "parameters": [], "reason": "", '
    '"customer_note": null, "maker_id": 1}',
    '{"kind": "account.freeze", "target_type": "account", "target_id": null, "parameters": {}, "reason": "", '
    '"customer_note": null, "maker_id": true}',
    '{"kind": "account.freeze", "target_type": "account", "target_id": null, "parameters": {}, "reason": "", '
    '"customer_note": null, "maker_id": 1, "checker_id": 2}',
])
def test_only_a_request_reads_back_as_one(text):
    with pytest.raises(ledger.ValidationError):
        corrections.CorrectionRequest.from_json(text)


def test_a_maker_without_the_role_is_refused_by_the_domain_too(app, bank):
    for maker, name, target, parameters in [
            (bank.staff["viewer"], "account.freeze", bank.main, {}),
            (bank.customer, "account.freeze", bank.main, {}),
            (bank.staff["operator"], "user.role_change", bank.staff["viewer"], {"role": "admin"}),
            (bank.staff["operator"], "user.update", bank.staff["viewer"],
             {"name": "V", "email": "viewer@bank.example", "active": True})]:
        refused(corrections.NotPermitted, request_for(name, target, parameters, maker=maker), as_staff(maker))
    nobody = replace(request_for("account.freeze", bank.main, maker=bank.customer), maker_id=None)
    refused(corrections.NotPermitted, nobody, SYSTEM)


def test_the_customer_sees_the_note_or_a_neutral_line(app, bank):
    asked = request_for("transaction.reverse", bank.withdrawal, maker=bank.staff["operator"])
    assert corrections.for_customer(asked) == "Correction by the bank"
    noted = replace(asked, customer_note="We refunded a double charge.")
    assert corrections.for_customer(noted) == "We refunded a double charge."
    assert corrections.CorrectionRequest.from_json(noted.to_json()) == noted


# Each kind's back-office page, and a target whose rule differs (a member of staff's details: admins only).
PAGES = {
    "transaction.reverse": [("/admin/transaction/{withdrawal}/reverse", "withdrawal")],
    "transaction.adjust": [("/admin/account/{main}/adjust", "main")],
    "account.freeze": [("/admin/account/{main}/freeze", "main")],
    "account.unfreeze": [("/admin/account/{main}/unfreeze", "main")],
    "account.close": [("/admin/account/{main}/close", "main")],
    "account.rename": [("/admin/account/{main}/rename", "main")],
    "account.open": [("/admin/user/{customer}/open-account", "customer")],
    "user.update": [("/admin/user/{customer}/edit", "customer"), ("/admin/user/{viewer}/edit", "viewer")],
    "user.role_change": [("/admin/user/{viewer}/role", "viewer")],
    "user.create": [("/admin/user/new-staff", None)],
    "token.revoke": [("/admin/apitoken/{token}/revoke", "token")],
    "user.password_reset_link": [("/admin/user/{customer}/password-reset", "customer"),
                                 ("/admin/user/{viewer}/password-reset", "viewer")],  # customers only
    "app.register": [("/admin/app/register", None)],
    "app.edit": [("/admin/app/{third_party}/edit-app", "third_party")],
    "app.suspend": [("/admin/app/{third_party}/suspend", "third_party")],
    "app.reactivate": [("/admin/app/{third_party}/reactivate", "third_party")],
    "consent.revoke": [("/admin/app/consent/{consent}/revoke", "consent")],
    "app.secret_rotate": [("/admin/app/{third_party}/rotate-secret", "third_party")],
}


def test_every_kind_has_a_back_office_page():
    assert set(PAGES) == set(corrections.KINDS)


@pytest.mark.parametrize("role", ROLES)
def test_the_registry_s_role_rules_are_what_the_back_office_enforces(as_role, bank, role):
    client = as_role(role)
    user = None if role == "anonymous" else db.session.scalar(sa.select(User).where(User.email == (
        "carla@example.com" if role == "customer" else f"{role}@bank.example")))
    targets = {"withdrawal": bank.withdrawal, "main": bank.main, "customer": bank.customer, "token": bank.token,
               "viewer": bank.staff["viewer"], "third_party": bank.third_party, "consent": bank.consent,
               None: None}
    ids = {name: getattr(target, "id", None) for name, target in targets.items() if name}
    for name, pages in PAGES.items():
        kind = corrections.kind_of(name)
        for path, target in pages:
            allowed = user is not None and kind.permits(user, targets[target])
            status = client.get(path.format(**ids)).status_code
            expected = 200 if allowed else 302 if role == "anonymous" else 403
            assert status == expected, (role, name, path)
    assert (user is not None and user.has_role(*corrections.OPERATORS)) == (role in ("operator", "admin"))


def test_roles_as_the_registry_states_them():
    assert corrections.OPERATORS == (Role.OPERATOR, Role.ADMIN) and corrections.ADMINS == (Role.ADMIN,)
    admins_only = {name for name, kind in corrections.KINDS.items() if kind.roles == corrections.ADMINS}
    assert admins_only == {"user.role_change", "user.create", "app.register", "app.edit", "app.secret_rotate"}
    assert corrections.kind_of("user.update").staff_roles == corrections.ADMINS
