"""Third-party apps in the back-office: every role lists them; admins register, edit and rotate secrets; operators
suspend, reactivate and revoke a customer's consent; a refusal changes nothing and is audited as denied."""
import datetime as dt
import secrets

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import apps
from portal.identity.tokens import OAUTH_ACCESS_PREFIX, hash_secret
from portal.kernel import clock
from portal.models import ApiToken, AuditEvent, Consent, OAuthToken, ThirdPartyApp
from tests.admin.conftest import ROLES, review, submit
from tests.factories import SYSTEM, last_audit
from tests.web.conftest import csrf_token

NEW_APP = {"name": "Saver", "homepage": "https://saver.example", "client_type": "confidential",
           "redirect_uris": "https://saver.example/callback\nhttp://127.0.0.1:8765/callback",
           "scopes": ["accounts:read", "transactions:read"], "ip_allowlist": "10.0.0.0/8",
           "reason": "Partnership agreement 2026-12"}


def state():
    """The apps, consents and credentials as they are: what a refusal must leave untouched."""
    db.session.expire_all()
    return {
        "apps": db.session.execute(sa.select(
            ThirdPartyApp.client_id, ThirdPartyApp.name, ThirdPartyApp.homepage, ThirdPartyApp.redirect_uris,
            ThirdPartyApp.scopes, ThirdPartyApp.ip_allowlist, ThirdPartyApp.status,
            ThirdPartyApp.client_secret_hash).order_by(ThirdPartyApp.id)).all(),
        "consents": db.session.execute(sa.select(Consent.id, Consent.status).order_by(Consent.id)).all(),
        "oauth": db.session.execute(sa.select(OAuthToken.id, OAuthToken.revoked_at).order_by(OAuthToken.id)).all(),
        "tokens": db.session.execute(sa.select(ApiToken.id, ApiToken.revoked_at).order_by(ApiToken.id)).all(),
        "audit": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    }


def access_token(bank):
    db.session.add(OAuthToken(consent_id=bank.consent.id, app_id=bank.third_party.id, user_id=bank.customer.id,
                              access_token_hash=hash_secret(OAUTH_ACCESS_PREFIX + secrets.token_urlsafe(32)),
                              scopes="accounts:read", access_expires_at=clock.now() + dt.timedelta(minutes=10)))
    db.session.commit()


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_staff_role_lists_apps_and_sees_consents_tokens_and_calls_never_a_secret(as_role, bank, role):
    client = as_role(role)
    listing = client.get("/admin/app/")
    assert listing.status_code == 200 and bank.third_party.client_id in listing.text and "Budgetly" in listing.text
    assert ("Register an app" in listing.text) == (role == "admin")
    details = client.get(f"/admin/app/details/?id={bank.third_party.id}")
    assert details.status_code == 200
    page = details.text
    assert "https://budgetly.example/callback" in page and "accounts:read" in page
    assert bank.customer.email in page  # the consent
    assert "consent.grant" in page  # a recent call of the app: its consent, named in the audit log
    assert bank.third_party.client_secret_hash not in page and "client_secret_hash" not in page
    assert ("Edit…" in page) == (role == "admin") and ("Rotate secret…" in page) == (role == "admin")
    assert ("Suspend…" in page) == (role != "viewer") and ("Revoke…" in page) == (role != "viewer")


def test_the_apps_list_exports_no_secret(as_role, bank):
    csv_text = as_role("viewer").get("/admin/app/export/csv/").text
    assert bank.third_party.client_id in csv_text and bank.third_party.client_secret_hash not in csv_text


def test_an_admin_registers_an_app_and_sees_its_secret_once(as_role, bank):
    response = submit(as_role("admin"), "/admin/app/register", NEW_APP)
    assert response.status_code == 200
    app = db.session.scalar(sa.select(ThirdPartyApp).where(ThirdPartyApp.name == "Saver"))
    assert app.client_id in response.text and app.status == "active" and app.client_type == "confidential"
    assert app.redirect_uri_list == ["https://saver.example/callback", "http://127.0.0.1:8765/callback"]
    assert app.scope_set == {"accounts:read", "transactions:read"} and app.allowlist == ["10.0.0.0/8"]
    shown = response.text.split('data-testid="client-secret">')[1].split("<")[0]
    assert apps.check_client_secret(app, shown) and shown not in app.client_secret_hash
    event = last_audit()
    assert (event.action, event.actor_user_id, event.reason, event.outcome) == (
        "app.register", bank.staff["admin"].id, "Partnership agreement 2026-12", "success")
    assert shown not in str(event.changes)
    # The secret is not shown again: not on the app's page.
    assert shown not in as_role("admin").get(f"/admin/app/details/?id={app.id}").text


def test_a_public_app_has_no_secret(as_role, bank):
    response = submit(as_role("admin"), "/admin/app/register", {**NEW_APP, "client_type": "public"})
    app = db.session.scalar(sa.select(ThirdPartyApp).where(ThirdPartyApp.name == "Saver"))
    assert app.client_secret_hash is None and "has no client secret" in response.text


@pytest.mark.parametrize("bad", [{"homepage": "http://saver.example"}, {"redirect_uris": "ftp://saver.example/cb"},
                                 {"redirect_uris": "https://saver.example/cb#frag"},
                                 {"ip_allowlist": "not an address"}, {"scopes": ["money:print"]},
                                 {"name": ""}, {"reason": ""}])
def test_registering_bad_input_is_refused_and_changes_nothing(as_role, bank, bad):
    admin = as_role("admin")
    before = state()
    response = review(admin, "/admin/app/register", {**NEW_APP, **bad})
    assert response.status_code == 200 and "Confirm:" not in response.text
    assert state() == before


def test_an_admin_edits_an_app(as_role, bank):
    response = submit(as_role("admin"), f"/admin/app/{bank.third_party.id}/edit-app", {
        "name": "Budgetly Pro", "homepage": "https://budgetly.example",
        "redirect_uris": "https://budgetly.example/callback\nhttps://budgetly.example/v2/callback",
        "scopes": ["accounts:read", "transactions:read"], "ip_allowlist": "", "reason": "New version"})
    assert response.status_code == 302
    db.session.expire_all()
    app = db.session.get(ThirdPartyApp, bank.third_party.id)
    assert app.name == "Budgetly Pro" and len(app.redirect_uri_list) == 2
    assert app.scope_set == {"accounts:read", "transactions:read"}
    event = last_audit()
    assert (event.action, event.reason) == ("app.edit", "New version")
    assert event.changes["name"] == ["Budgetly", "Budgetly Pro"]


def test_an_operator_suspends_and_reactivates_an_app_with_a_reason(as_role, bank):
    operator = as_role("operator")
    path = f"/admin/app/{bank.third_party.id}/suspend"
    assert submit(operator, path, {"reason": "Data leak under investigation"}).status_code == 302
    assert db.session.get(ThirdPartyApp, bank.third_party.id).status == "suspended"
    event = last_audit()
    assert (event.action, event.reason, event.actor_user_id) == (
        "app.suspend", "Data leak under investigation", bank.staff["operator"].id)
    # Suspending twice is refused at the review, and nothing is written.
    before = state()
    again = review(operator, path, {"reason": "again"})
    assert "already suspended" in again.text and state() == before
    assert submit(operator, f"/admin/app/{bank.third_party.id}/reactivate", {"reason": "Cleared"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ThirdPartyApp, bank.third_party.id).status == "active"
    assert (last_audit().action, last_audit().reason) == ("app.reactivate", "Cleared")


def test_an_operator_revokes_a_customers_consent_and_its_tokens_stop(as_role, bank):
    access_token(bank)
    operator = as_role("operator")
    path = f"/admin/app/consent/{bank.consent.id}/revoke"
    assert submit(operator, path, {"reason": "Customer called: lost phone"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Consent, bank.consent.id).status == "revoked"
    assert all(token.revoked_at is not None for token in db.session.scalars(sa.select(OAuthToken)))
    event = last_audit()
    assert (event.action, event.reason, event.actor_user_id, event.subject_user_id, event.actor_app_id) == (
        "consent.revoke", "Customer called: lost phone", bank.staff["operator"].id, bank.customer.id,
        bank.third_party.id)
    before = state()
    assert "already ended" in review(operator, path, {"reason": "twice"}).text
    assert state() == before


def test_an_admin_rotates_a_client_secret_sees_the_new_one_once_and_the_old_one_stops(as_role, bank):
    admin = as_role("admin")
    old_hash = bank.third_party.client_secret_hash
    path = f"/admin/app/{bank.third_party.id}/rotate-secret"
    response = submit(admin, path, {"reason": "Secret pasted in a support ticket"})
    assert response.status_code == 200
    shown = response.text.split('data-testid="client-secret">')[1].split("<")[0]
    db.session.expire_all()
    app = db.session.get(ThirdPartyApp, bank.third_party.id)
    assert app.client_secret_hash != old_hash and apps.check_client_secret(app, shown)
    assert shown.startswith("cs_") and shown not in app.client_secret_hash
    event = last_audit()
    assert (event.action, event.actor_user_id, event.reason, event.outcome, event.object_id) == (
        "app.secret_rotate", bank.staff["admin"].id, "Secret pasted in a support ticket", "success", str(app.id))
    assert shown not in str(event.changes)
    # Shown once: not on the app's page, and not by reloading the confirmation's page (a new form, nothing done).
    assert shown not in admin.get(f"/admin/app/details/?id={app.id}").text
    assert shown not in admin.get(path).text


def test_rotating_needs_a_confidential_app_and_a_reason_and_otherwise_changes_nothing(as_role, bank):
    admin = as_role("admin")
    public, _ = apps.register_app(name="Pocket", homepage="https://pocket.example", client_type="public",
                                  redirect_uris=["https://pocket.example/cb"], scopes=["accounts:read"], actor=SYSTEM)
    db.session.commit()
    assert "Rotate secret…" not in admin.get(f"/admin/app/details/?id={public.id}").text
    before = state()
    refused = review(admin, f"/admin/app/{public.id}/rotate-secret", {"reason": "Leak"})
    assert refused.status_code == 200 and "Confirm:" not in refused.text
    assert "no client secret to rotate" in refused.text
    blank = review(admin, f"/admin/app/{bank.third_party.id}/rotate-secret", {"reason": ""})
    assert blank.status_code == 200 and "Confirm:" not in blank.text
    assert state() == before


ACTIONS = {  # path, the action a refusal is audited as, who may
    "register": ("/admin/app/register", "app.register", {"admin"}),
    "edit": ("/admin/app/{app}/edit-app", "app.edit", {"admin"}),
    "suspend": ("/admin/app/{app}/suspend", "app.suspend", {"operator", "admin"}),
    "reactivate": ("/admin/app/{app}/reactivate", "app.reactivate", {"operator", "admin"}),
    "revoke": ("/admin/app/consent/{consent}/revoke", "consent.revoke", {"operator", "admin"}),
    "rotate-secret": ("/admin/app/{app}/rotate-secret", "app.secret_rotate", {"admin"}),
}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_posting_an_app_action_without_the_role_changes_nothing_and_is_audited(as_role, bank, role, name):
    path, action, allowed = ACTIONS[name]
    if role in allowed:
        return
    if name == "reactivate":
        apps.suspend_app(bank.third_party, actor=SYSTEM, reason="to reactivate")
        db.session.commit()
    client = as_role(role)
    path = path.format(app=bank.third_party.id, consent=bank.consent.id)
    assert client.get(path).status_code == 403
    token = csrf_token(client.get("/" if role == "customer" else "/admin/").text)
    before = state()
    response = client.post(path, data={**NEW_APP, "csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 403
    after = state()
    assert after.pop("audit") == before.pop("audit") + 1 and after == before
    denied = last_audit()
    assert (denied.outcome, denied.refusal_code) == ("denied", "forbidden")
    assert denied.action == (action if role != "customer" else "admin.access")


def test_app_actions_need_a_valid_csrf_token(as_role, bank):
    operator = as_role("operator")
    before = state()
    response = operator.post(f"/admin/app/{bank.third_party.id}/suspend",
                             data={"reason": "no token", "confirmed": "yes", "csrf_token": "forged"})
    assert response.status_code == 400 and state() == before


def test_the_audit_log_narrows_to_what_one_app_did(as_role, bank):
    page = as_role("viewer").get(f"/admin/auditevent/?app={bank.third_party.id}").text
    assert "consent.grant" in page and "token.create" not in page
    assert "consent.grant" not in as_role("viewer").get("/admin/auditevent/?app=999999999999999999999").text
