"""`flask apps …` and the demo's apps: what they print, what they change, and that they audit as `system`."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import apps
from portal.models import ApiToken, AuditEvent, ThirdPartyApp
from tests.factories import SYSTEM


def last_event():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def apps_now():
    db.session.expire_all()
    return db.session.execute(sa.select(ThirdPartyApp.client_id, ThirdPartyApp.status)).all()


def registered(**overrides):
    fields = {"name": "Budgetly", "homepage": "https://budgetly.example", "client_type": "confidential",
              "redirect_uris": ["https://budgetly.example/callback"], "scopes": ["accounts:read"], **overrides}
    app, _ = apps.register_app(**fields, actor=SYSTEM)
    db.session.commit()
    return app


def test_apps_register_prints_the_client_id_then_the_secret_and_stores_only_its_hash(runner):
    result = runner.invoke(args=["apps", "register", "--name", "Budgetly", "--homepage", "https://budgetly.example",
                                 "--redirect-uri", "https://budgetly.example/callback",
                                 "--redirect-uri", "http://127.0.0.1:8765/callback", "--type", "confidential",
                                 "--scope", "accounts:read", "--scope", "transactions:read",
                                 "--allow-ip", "10.0.0.0/8", "--allow-ip", "192.0.2.7"])
    assert result.exit_code == 0, result.output
    client_id, secret = result.output.splitlines()
    app = apps.find_app(client_id)
    assert (app.name, app.homepage, app.client_type, app.status) == (
        "Budgetly", "https://budgetly.example", "confidential", "active")
    assert app.redirect_uri_list == ["https://budgetly.example/callback", "http://127.0.0.1:8765/callback"]
    assert app.scope_set == {"accounts:read", "transactions:read"}
    assert app.allowlist == ["10.0.0.0/8", "192.0.2.7/32"]
    assert apps.check_client_secret(app, secret) and secret not in app.client_secret_hash
    event = last_event()
    assert (event.action, event.actor_type, event.outcome, event.object_id) == (
        "app.register", "system", "success", str(app.id))
    assert secret not in str(event.changes)


def test_apps_register_a_public_app_prints_only_the_client_id(runner):
    # The form of the design document: NAME as an argument, --public, the homepage from the redirect URI.
    result = runner.invoke(args=["apps", "register", "Pocket", "--redirect-uri", "https://pocket.example/cb",
                                 "--scope", "accounts:read", "--public"])
    assert result.exit_code == 0, result.output
    (client_id,) = result.output.splitlines()
    app = apps.find_app(client_id)
    assert app.client_type == "public" and app.client_secret_hash is None
    assert app.homepage == "https://pocket.example/"


@pytest.mark.parametrize("args, message", [
    (["--name", "X", "--homepage", "https://x.example", "--redirect-uri", "http://evil.example/cb",
      "--scope", "accounts:read"], "--redirect-uri: must be an https URL"),
    (["--name", "X", "--redirect-uri", "https://x.example/cb", "--scope", "accounts:read", "--allow-ip", "nope"],
     "--allow-ip: must be IP addresses or CIDR ranges"),
    (["--name", "\x1b[31mX", "--redirect-uri", "https://x.example/cb", "--scope", "accounts:read"], "--name: must"),
    (["\x1b[31mX", "--redirect-uri", "https://x.example/cb", "--scope", "accounts:read"], "NAME: must"),
    (["--name", "X", "--homepage", "ftp://x.example", "--redirect-uri", "https://x.example/cb",
      "--scope", "accounts:read"], "--homepage: must be an https URL"),
    (["--name", "X", "--homepage", "x" * 300, "--redirect-uri", "https://x.example/cb",
      "--scope", "accounts:read"], "--homepage: must be at most 255 characters"),
    (["--name", "X", "--homepage", "https://[x.example", "--redirect-uri", "https://x.example/cb",
      "--scope", "accounts:read"], "--homepage: must be an https URL"),
    (["--name", "X", "--homepage", "https://x.example:99999", "--redirect-uri", "https://x.example/cb",
      "--scope", "accounts:read"], "--homepage: must be an https URL"),
    (["--name", "X", "--homepage", "https://x .example", "--redirect-uri", "https://x.example/cb",
      "--scope", "accounts:read"], "--homepage: must be an https URL"),
    # No --homepage: it would be the redirect URI's origin, so the redirect URI is what is wrong.
    (["--name", "X", "--redirect-uri", "ftp://x.example/cb", "--scope", "accounts:read"],
     "--redirect-uri: must be an https URL"),
    (["--name", "X", "--redirect-uri", "https://[x.example/cb", "--scope", "accounts:read"],
     "--redirect-uri: must be an https URL"),
    (["--name", "X", "--redirect-uri", "https://x.example/cb#top", "--scope", "accounts:read"],
     "--redirect-uri: must not have a fragment"),
])
def test_apps_register_refuses_bad_input_naming_the_option_registers_nothing_and_records_the_failure(
        runner, args, message):
    result = runner.invoke(args=["apps", "register", *args])
    assert result.exit_code == 1 and result.output.startswith(f"Error: {message}"), result.output
    assert apps_now() == []
    assert (last_event().action, last_event().outcome) == ("app.register", "failed")


@pytest.mark.parametrize("args", [
    ["--redirect-uri", "https://x.example/cb", "--scope", "accounts:read"],  # no name
    ["X", "--name", "Y", "--redirect-uri", "https://x.example/cb", "--scope", "accounts:read"],  # two names
    ["X", "--scope", "accounts:read"],  # no redirect URI
    ["X", "--redirect-uri", "https://x.example/cb"],  # no scope
    ["X", "--redirect-uri", "https://x.example/cb", "--scope", "money:print"],
    ["X", "--redirect-uri", "https://x.example/cb", "--scope", "accounts:read", "--type", "confidential",
     "--public"],
])
def test_apps_register_usage_errors_change_nothing(runner, args):
    assert runner.invoke(args=["apps", "register", *args]).exit_code == 2
    assert apps_now() == []


def test_apps_suspend_and_reactivate_with_a_reason(runner):
    app = registered()
    result = runner.invoke(args=["apps", "suspend", app.client_id, "--reason", "Data leak under investigation"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{app.client_id} suspended" and apps_now() == [(app.client_id, "suspended")]
    event = last_event()
    assert (event.action, event.actor_type, event.reason, event.changes["status"]) == (
        "app.suspend", "system", "Data leak under investigation", ["active", "suspended"])

    again = runner.invoke(args=["apps", "suspend", app.client_id, "--reason", "twice"])
    assert again.exit_code == 1 and "already suspended" in again.output
    assert (last_event().action, last_event().outcome) == ("app.suspend", "failed")

    result = runner.invoke(args=["apps", "reactivate", app.client_id, "--reason", "Cleared"])
    assert result.exit_code == 0 and apps_now() == [(app.client_id, "active")]
    assert (last_event().action, last_event().reason) == ("app.reactivate", "Cleared")


def test_apps_suspend_needs_a_known_app_and_a_reason(runner):
    app = registered()
    assert runner.invoke(args=["apps", "suspend", app.client_id]).exit_code == 2
    unknown = runner.invoke(args=["apps", "suspend", "app_nope", "--reason", "x"])
    assert unknown.exit_code == 1 and "no app app_nope" in unknown.output
    blank = runner.invoke(args=["apps", "suspend", app.client_id, "--reason", "   "])
    assert blank.exit_code == 1 and apps_now() == [(app.client_id, "active")]


def test_demo_load_registers_the_demo_app_and_a_payment_rail_holding_deposits_write(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client id\s+(app_\S+)", result.output).group(1)
    client_secret = re.search(r"client secret\s+(cs_\S+)", result.output).group(1)
    demo = apps.find_app(client_id)
    assert apps.check_client_secret(demo, client_secret)
    # The example client's callback, and the Swagger page's popup on both names of the local server.
    assert demo.redirect_uri_list == ["http://127.0.0.1:8765/callback",
                                      "http://127.0.0.1:5000/api/v1/oauth2-redirect.html",
                                      "http://localhost:5000/api/v1/oauth2-redirect.html"]
    assert demo.scope_set == {"accounts:read", "transactions:read"} and demo.client_type == "confidential"
    url = re.search(r"http://127\.0\.0\.1:5000/oauth/authorize\?\S+", result.output).group()
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [client_id] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8765/callback"]
    assert query["scope"] == ["accounts:read transactions:read"] and "code_challenge" in query
    # Who holds deposits:write: the bank's payment rail, through a token the bank issued for Alice.
    holders = db.session.scalars(sa.select(ApiToken).where(ApiToken.scopes.contains("deposits:write"))).all()
    assert [(t.user.email, t.app.name) for t in holders] == [("alice@example.com", "Payment rail (bank-internal)")]
    rail_secret = re.search(r"Payment rail token.*\n\s+(pt_\S+)", result.output).group(1)
    assert holders[0].prefix == rail_secret[:len(holders[0].prefix)]


def test_the_demo_payment_rail_token_deposits_through_the_api(app, runner, client):
    output = runner.invoke(args=["demo", "load"]).output
    rail_secret = re.search(r"Payment rail token.*\n\s+(pt_\S+)", output).group(1)
    path = re.search(r"(/api/v1/accounts/\S+/transactions)", output).group(1)
    response = client.post(path, json={"amount": "100.00", "description": "Incoming payment"},
                           headers={"Authorization": f"Bearer {rail_secret}"})
    assert response.status_code == 201, response.text
    event = last_event()
    assert event.action.startswith("transaction.") and event.actor_app_id is not None
    # It cannot take money out.
    refused = client.post(path, json={"amount": "-1.00"}, headers={"Authorization": f"Bearer {rail_secret}"})
    assert refused.status_code == 403


def secret_hashes():
    db.session.expire_all()
    return db.session.execute(sa.select(ThirdPartyApp.client_id, ThirdPartyApp.client_secret_hash)).all()


def test_apps_rotate_secret_prints_the_new_secret_once_and_the_old_one_stops(runner):
    app, old_secret = apps.register_app(name="Budgetly", homepage="https://budgetly.example",
                                        client_type="confidential", redirect_uris=["https://budgetly.example/cb"],
                                        scopes=["accounts:read"], actor=SYSTEM)
    db.session.commit()
    result = runner.invoke(args=["apps", "rotate-secret", app.client_id, "--reason", "Secret found in a public repo"])
    assert result.exit_code == 0, result.output
    (new_secret,) = result.output.splitlines()
    db.session.expire_all()
    app = apps.find_app(app.client_id)
    assert new_secret.startswith("cs_") and new_secret != old_secret and new_secret not in app.client_secret_hash
    assert apps.check_client_secret(app, new_secret) and not apps.check_client_secret(app, old_secret)
    event = last_event()
    assert (event.action, event.actor_type, event.outcome, event.object_id, event.reason) == (
        "app.secret_rotate", "system", "success", str(app.id), "Secret found in a public repo")
    assert new_secret not in str(event.changes) and old_secret not in str(event.changes)


def test_apps_rotate_secret_refuses_a_public_app_and_a_blank_reason_changing_nothing(runner):
    public = registered(name="Pocket", client_type="public")
    confidential = registered()
    before = secret_hashes()
    result = runner.invoke(args=["apps", "rotate-secret", public.client_id, "--reason", "Leak"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: CLIENT_ID: a public app has no client secret to rotate"), result.output
    assert (last_event().action, last_event().outcome) == ("app.secret_rotate", "failed")
    blank = runner.invoke(args=["apps", "rotate-secret", confidential.client_id, "--reason", "  "])
    assert blank.exit_code == 1 and blank.output.startswith("Error: --reason"), blank.output
    assert secret_hashes() == before


def test_apps_rotate_secret_needs_a_known_app_and_a_reason(runner):
    app = registered()
    before = secret_hashes()
    assert runner.invoke(args=["apps", "rotate-secret", app.client_id]).exit_code == 2
    unknown = runner.invoke(args=["apps", "rotate-secret", "app_nope", "--reason", "x"])
    assert unknown.exit_code == 1 and "no app app_nope" in unknown.output
    assert secret_hashes() == before
