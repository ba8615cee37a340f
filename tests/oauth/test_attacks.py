"""Bad input and attacks on the OAuth path (issue 15's list): each refused, audited, and nothing changed."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import apps, consents, grants
from portal.identity.tokens import hash_secret
from portal.kernel import clock
from portal.models import AuthorizationCode, Role
from tests.api.conftest import bearer
from tests.factories import SYSTEM, make_account, make_user, snapshot
from tests.oauth.conftest import (
    REDIRECT,
    authorize_url,
    code_for,
    consent,
    counts,
    events,
    exchange,
    last_event,
    pkce,
    redirect_params,
    refresh,
    register,
    revoke,
)
from tests.web.conftest import csrf_token, login


def unchanged():
    """What a refusal must leave as it was (its own audit row aside)."""
    state = snapshot()
    state.pop("audit_events")
    return state, counts()


def assert_error_page(response):
    assert response.status_code == 400 and "Location" not in response.headers
    assert "cannot be accepted" in response.text and "not been sent back" in response.text


def test_an_unknown_client_gets_an_error_page_never_a_redirect(ann_client):
    before = unchanged()
    assert_error_page(ann_client.get(authorize_url("app_nobody", pkce()[1])))
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.outcome, event.refusal_message) == ("oauth.authorize", "denied", "unknown client")


def test_a_suspended_app_gets_an_error_page(ann_client, budgetly):
    apps.suspend_app(budgetly.app, actor=SYSTEM, reason="investigation")
    db.session.commit()
    before = unchanged()
    assert_error_page(ann_client.get(authorize_url(budgetly.client_id, pkce()[1])))
    assert unchanged() == before
    event = last_event()
    assert (event.refusal_message, event.actor_app_id) == ("app suspended", budgetly.app.id)


@pytest.mark.parametrize("redirect_uri", [
    "https://budgetly.example:8443/callback",  # port
    "https://budgetly.example/callback/evil",  # path
    "https://budgetly.example/callback?next=evil",  # query
    "https://budgetly.example/Callback",  # case
    "https://evil.example/callback",  # host
    "http://127.0.0.1:8401/cb",  # a registered loopback URI with another port
    "",  # none at all
])
def test_a_redirect_uri_not_registered_exactly_gets_an_error_page(ann_client, budgetly, redirect_uri):
    before = unchanged()
    response = ann_client.get(authorize_url(budgetly.client_id, pkce()[1], redirect_uri=redirect_uri))
    assert_error_page(response)
    assert unchanged() == before
    assert last_event().action == "oauth.authorize" and last_event().actor_app_id == budgetly.app.id


def test_a_bad_redirect_uri_is_refused_on_the_consent_post_too(ann_client, ann, budgetly):
    good = authorize_url(budgetly.client_id, pkce()[1])
    page = ann_client.get(good)
    before = unchanged()
    bad = authorize_url(budgetly.client_id, pkce()[1], redirect_uri="https://evil.example/cb")
    response = consent(ann_client, bad, [ann[1]], page=page)
    assert_error_page(response)
    assert unchanged() == before


@pytest.mark.parametrize("challenge, method", [(None, None), (None, "S256"), ("c" * 43, None), ("c" * 43, "plain")])
def test_pkce_s256_is_required(ann_client, ann, budgetly, challenge, method):
    url = authorize_url(budgetly.client_id, challenge, method=method)
    before = unchanged()
    location, params = redirect_params(ann_client.get(url))
    assert location.startswith(REDIRECT) and params["error"] == "invalid_request" and "code" not in params
    # Posting the consent form to such a URL issues nothing either.
    page = ann_client.get(authorize_url(budgetly.client_id, pkce()[1]))
    _, params = redirect_params(consent(ann_client, url, [ann[1]], page=page))
    assert params["error"] == "invalid_request" and "code" not in params
    assert unchanged() == before
    assert last_event().action == "oauth.authorize" and last_event().refusal_code == "invalid_request"


def test_a_reused_code_is_refused_and_the_tokens_it_gave_are_revoked(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    first = exchange(ann_client, budgetly, code, verifier)
    assert first.status_code == 200
    body = first.get_json()
    before = counts()
    again = exchange(ann_client, budgetly, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert counts() == before
    url = f"/api/v1/accounts/{ann[1].id}/balance"
    assert ann_client.get(url, headers=bearer(body["access_token"])).status_code == 401
    assert refresh(ann_client, budgetly, body["refresh_token"]).status_code == 400
    refusal = events("oauth.token")[0]
    assert (refusal.refusal_code, refusal.refusal_message, refusal.actor_app_id) == (
        "invalid_grant", grants.CODE_REUSED, budgetly.app.id)


def test_a_wrong_verifier_gets_nothing(ann_client, ann, budgetly):
    code, _ = code_for(ann_client, budgetly, [ann[1]])
    before = unchanged()
    response = exchange(ann_client, budgetly, code, pkce()[0])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert counts() == before[1]  # no token issued; the code is spent (see below)
    assert last_event().action == "oauth.token" and last_event().outcome == "denied"
    code, _ = code_for(ann_client, budgetly, [ann[1]])
    assert exchange(ann_client, budgetly, code, "").get_json()["error"] == "invalid_request"


def code_used_at(code):
    db.session.expire_all()
    return db.session.scalar(sa.select(AuthorizationCode.used_at)
                             .where(AuthorizationCode.code_hash == hash_secret(code)))


@pytest.mark.parametrize("mistake", ["wrong verifier", "no verifier", "wrong redirect_uri"])
def test_a_refused_exchange_spends_the_code_so_the_right_verifier_comes_too_late(ann_client, ann, budgetly, mistake):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    assert code_used_at(code) is None
    before = counts()
    if mistake == "wrong redirect_uri":
        first = exchange(ann_client, budgetly, code, verifier, redirect_uri="http://127.0.0.1:8400/cb")
    else:
        first = exchange(ann_client, budgetly, code, pkce()[0] if mistake == "wrong verifier" else "")
    assert first.status_code == 400 and first.get_json()["error"] in ("invalid_grant", "invalid_request")
    assert code_used_at(code) is not None  # single use, whatever became of the attempt
    second = exchange(ann_client, budgetly, code, verifier)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    assert counts() == before  # no token, either time
    assert [e.refusal_message for e in events("oauth.token")][-1] == grants.CODE_REUSED


def test_another_apps_attempt_does_not_spend_a_code(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    assert exchange(ann_client, register(), code, verifier).get_json()["error"] == "invalid_grant"
    assert code_used_at(code) is None  # not its code: nothing of it is touched
    assert exchange(ann_client, budgetly, code, verifier).status_code == 200


@pytest.mark.parametrize("basic", [True, False])
def test_a_wrong_client_secret_is_401_invalid_client(ann_client, ann, budgetly, basic):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    before = unchanged()
    response = exchange(ann_client, budgetly, code, verifier, basic=basic, secret="cs_wrong")
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.refusal_code) == ("oauth.token", "invalid_client")


def test_a_confidential_app_cannot_pass_as_public(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    response = ann_client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": REDIRECT, "code_verifier": verifier,
                                                     "client_id": budgetly.client_id})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_an_expired_code_is_refused(ann_client, ann, budgetly, monkeypatch):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    later = clock.now() + dt.timedelta(seconds=grants.CODE_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    before = unchanged()
    response = exchange(ann_client, budgetly, code, verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert unchanged() == before
    assert last_event().refusal_message == grants.CODE_EXPIRED


def test_a_code_is_bound_to_its_app_and_redirect_uri(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    other = register()
    assert exchange(ann_client, other, code, verifier).get_json()["error"] == "invalid_grant"
    wrong_uri = exchange(ann_client, budgetly, code, verifier, redirect_uri="http://127.0.0.1:8400/cb")
    assert wrong_uri.get_json()["error"] == "invalid_grant"


def test_an_expired_access_token_and_refresh_after_the_consent_expired(ann_client, ann, budgetly, monkeypatch):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    body = exchange(ann_client, budgetly, code, verifier).get_json()
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=grants.ACCESS_SECONDS + 1))
    url = f"/api/v1/accounts/{ann[1].id}/balance"
    assert ann_client.get(url, headers=bearer(body["access_token"])).status_code == 401
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(days=consents.DEFAULT_DAYS, seconds=1))
    assert refresh(ann_client, budgetly, body["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_staff_cannot_consent(client, budgetly):
    make_user(role=Role.OPERATOR, email="op@example.com")
    assert login(client, "op@example.com").status_code == 302
    before = unchanged()
    response = client.get(authorize_url(budgetly.client_id, pkce()[1]))
    assert response.status_code == 403 and "Location" not in response.headers
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.refusal_code, event.actor_app_id) == ("oauth.authorize", "forbidden",
                                                                      budgetly.app.id)


def test_the_consent_form_needs_its_csrf_token(ann_client, ann, budgetly):
    url = authorize_url(budgetly.client_id, pkce()[1])
    before = unchanged()
    response = ann_client.post(url, data={"accounts": [str(ann[1].id)], "days": "90", "allow": "Allow"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert unchanged() == before


def test_a_consent_for_someone_elses_account_is_refused(ann_client, ann, budgetly):
    theirs = make_account(make_user(email="bob@example.com"), name="Bob's")
    url = authorize_url(budgetly.client_id, pkce()[1])
    before = unchanged()
    response = consent(ann_client, url, [ann[1], theirs])
    assert response.status_code == 400 and "Location" not in response.headers
    assert "Nothing was granted" in response.text
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.outcome, event.refusal_message) == (
        consents.GRANT_ACTION, "denied", "accounts: must be accounts of this customer")


@pytest.mark.parametrize("accounts, days", [("none", "90"), ("garbage", "90"), ("own", "181"), ("own", "x")])
def test_a_consent_form_out_of_bounds_is_refused(ann_client, ann, budgetly, accounts, days):
    url = authorize_url(budgetly.client_id, pkce()[1])
    page = ann_client.get(url)
    before = unchanged()
    chosen = {"none": [], "garbage": ["not-a-uuid"], "own": [str(ann[1].id)]}[accounts]
    response = ann_client.post(url, data={"csrf_token": csrf_token(page.text), "accounts": chosen, "days": days,
                                          "allow": "Allow"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert unchanged() == before
    assert last_event().action == consents.GRANT_ACTION


def test_a_scope_the_app_may_not_hold_is_never_granted(ann_client, ann):
    limited = register(scopes=["accounts:read", "deposits:write"])
    verifier, challenge = pkce()
    url = authorize_url(limited.client_id, challenge, scope="accounts:read transactions:write deposits:write")
    page = ann_client.get(url)
    assert "not granted" in page.text and 'data-scope="transactions:write"' in page.text
    _, params = redirect_params(consent(ann_client, url, [ann[1]], page=page))
    body = exchange(ann_client, limited, params["code"], verifier).get_json()
    assert body["scope"] == "accounts:read"
    posted = ann_client.post(f"/api/v1/accounts/{ann[1].id}/transactions", json={"amount": "10.00"},
                             headers=bearer(body["access_token"]))
    assert posted.status_code == 403


def test_asking_for_nothing_grantable_is_invalid_scope(ann_client, budgetly):
    location, params = redirect_params(ann_client.get(authorize_url(budgetly.client_id, pkce()[1],
                                                                     scope="deposits:write")))
    assert params["error"] == "invalid_scope" and "code" not in params


def test_access_from_outside_the_allowlist_is_401(ann_client, ann):
    fenced = register(ip_allowlist=["10.0.0.0/8"])
    code, verifier = code_for(ann_client, fenced, [ann[1]])
    body = exchange(ann_client, fenced, code, verifier, address="10.2.3.4").get_json()
    url = f"/api/v1/accounts/{ann[1].id}/balance"
    assert ann_client.get(url, headers=bearer(body["access_token"]),
                          environ_base={"REMOTE_ADDR": "10.2.3.4"}).status_code == 200
    assert ann_client.get(url, headers=bearer(body["access_token"]),
                          environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 401


def test_the_token_endpoint_refuses_an_app_calling_from_outside_its_allowlist(ann_client, ann):
    fenced = register(ip_allowlist=["10.0.0.0/8"])
    code, verifier = code_for(ann_client, fenced, [ann[1]])
    before = unchanged()
    refused = exchange(ann_client, fenced, code, verifier, address="192.0.2.1")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.outcome, event.actor_app_id) == ("oauth.token", "denied", fenced.app.id)
    assert event.refusal_message == "outside the app's allowlist" and event.ip == "192.0.2.1"
    # The code was not spent by the refused call: from inside the allowlist it still works, once.
    tokens = exchange(ann_client, fenced, code, verifier, address="10.2.3.4").get_json()
    assert tokens["access_token"].startswith("pat_")

    before = unchanged()
    assert refresh(ann_client, fenced, tokens["refresh_token"], address="192.0.2.1").status_code == 401
    assert revoke(ann_client, fenced, tokens["access_token"], address="192.0.2.1").status_code == 401
    assert unchanged() == before  # neither rotated nor revoked
    assert [e.refusal_message for e in events("oauth.token")[-1:] + events("oauth.revoke")[-1:]] == [
        "outside the app's allowlist", "outside the app's allowlist"]
    assert refresh(ann_client, fenced, tokens["refresh_token"], address="10.2.3.4").status_code == 200


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit"])
def test_only_the_code_and_refresh_grants_exist(client, budgetly, grant_type):
    from tests.oauth.conftest import _token_call

    response = _token_call(client, budgetly, {"grant_type": grant_type, "username": "a", "password": "b"},
                           basic=True, secret=None)
    assert response.status_code == 400 and response.get_json()["error"] == "unsupported_grant_type"
    assert last_event().action == "oauth.token"


@pytest.mark.parametrize("grant_type", [None, ""])  # RFC 6749 3.2: a parameter without a value is omitted
def test_a_token_request_without_grant_type_is_invalid_request(ann_client, ann, budgetly, grant_type):
    from tests.oauth.conftest import _token_call

    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    data = {"code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    if grant_type is not None:
        data["grant_type"] = grant_type
    unsupported = _token_call(ann_client, budgetly, {**data, "grant_type": "password"}, basic=True, secret=None)
    before = unchanged()
    response = _token_call(ann_client, budgetly, data, basic=True, secret=None)
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "invalid_request" and "grant_type" in body["error_description"]
    # RFC 6749 5.2's shape, as every other refusal of the endpoint (error_description is optional there)
    assert set(body) == {"error", "error_description"} and set(unsupported.get_json()) <= set(body)
    assert unchanged() == before
    event = last_event()
    assert (event.action, event.outcome, event.refusal_code) == ("oauth.token", "denied", "invalid_request")


def test_the_implicit_response_type_is_refused(ann_client, budgetly):
    _, params = redirect_params(ann_client.get(authorize_url(budgetly.client_id, pkce()[1], response_type="token")))
    assert params["error"] == "unsupported_response_type" and "access_token" not in params


def test_plain_http_outside_loopback_is_refused_not_a_crash(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    before = unchanged()
    response = ann_client.post("/oauth/token", base_url="http://bank.example",
                               data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                     "code_verifier": verifier, "client_id": budgetly.client_id,
                                     "client_secret": budgetly.secret})
    assert response.status_code == 400 and response.get_json()["error"] == "insecure_transport"
    assert unchanged() == before
    assert last_event().action == "oauth.token"


def test_token_responses_are_never_cached(ann_client, ann, budgetly):
    code, verifier = code_for(ann_client, budgetly, [ann[1]])
    response = exchange(ann_client, budgetly, code, verifier)
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
