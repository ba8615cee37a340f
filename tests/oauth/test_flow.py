"""The whole authorization-code flow over HTTP, as a third-party app and a customer's browser run it."""

from portal.extensions import db
from portal.identity import consents, grants
from portal.models import Consent, ConsentStatus
from tests.api.conftest import bearer
from tests.oauth.conftest import (
    REDIRECT,
    _token_call,
    authorize_url,
    consent,
    counts,
    events,
    exchange,
    pkce,
    redirect_params,
    refresh,
    register,
    revoke,
)
from tests.web.conftest import login


def balance(client, account, access_token):
    return client.get(f"/api/v1/accounts/{account.id}/balance", headers=bearer(access_token))


def test_the_whole_flow_from_login_to_refresh_reuse(client, ann, budgetly):
    user, main, savings = ann
    verifier, challenge = pkce()
    url = authorize_url(budgetly.client_id, challenge, scope="accounts:read transactions:read")

    # Logged out: the login page first, then back to the consent page.
    first = client.get(url)
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]
    back = login(client, "ann@example.com", next_=url)  # the login form carries it back
    assert back.status_code == 302 and back.headers["Location"].endswith(url)

    page = client.get(url)
    assert "Budgetly" in page.text and "https://budgetly.example" in page.text
    assert "See the accounts you choose below and their balances." in page.text
    assert 'value="90" selected' in page.text or "selected value=\"90\"" in page.text

    location, params = redirect_params(consent(client, url, [main], page=page))
    assert location.startswith(REDIRECT + "?") and params["state"] == "xyz"
    (granted,) = events(consents.GRANT_ACTION)
    assert granted.actor_app_id == budgetly.app.id and granted.actor_user_id == user.id

    pair = exchange(client, budgetly, params["code"], verifier)
    assert pair.status_code == 200, pair.text
    body = pair.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == grants.ACCESS_SECONDS
    assert body["access_token"].startswith("pat_") and body["refresh_token"].startswith("prt_")
    assert body["scope"] == "accounts:read transactions:read"
    assert balance(client, main, body["access_token"]).status_code == 200
    assert balance(client, savings, body["access_token"]).status_code == 404  # not granted

    renewed = refresh(client, budgetly, body["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    new = renewed.get_json()
    assert new["refresh_token"] != body["refresh_token"] and new["access_token"] != body["access_token"]
    assert balance(client, main, new["access_token"]).status_code == 200
    assert [e.actor_consent_id for e in events(consents.REFRESH_ACTION)] == [int(granted.object_id)]

    # The old refresh token presented again: someone else has it. The whole consent ends.
    reused = refresh(client, budgetly, body["refresh_token"])
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    assert balance(client, main, new["access_token"]).status_code == 401
    assert refresh(client, budgetly, new["refresh_token"]).status_code == 400
    (reuse,) = events(consents.REUSE_ACTION)
    assert reuse.actor_app_id == budgetly.app.id
    refused = events("oauth.token")
    assert [e.refusal_message for e in refused] == [grants.REFRESH_REUSED, "refresh token revoked"]
    assert db.session.get(Consent, int(granted.object_id)).status == ConsentStatus.REVOKED.value


def test_deny_sends_the_customer_back_with_access_denied_and_grants_nothing(ann_client, ann, budgetly):
    before = counts()
    url = authorize_url(budgetly.client_id, pkce()[1])
    location, params = redirect_params(consent(ann_client, url, [], decision="deny"))
    assert location.startswith(REDIRECT) and (params["error"], params["state"]) == ("access_denied", "xyz")
    assert counts() == before
    (denied,) = events(consents.DENY_ACTION)
    assert denied.actor_app_id == budgetly.app.id


def test_a_public_app_needs_no_secret_but_its_verifier(ann_client, ann):
    public = register(client_type="public")
    verifier, challenge = pkce()
    _, params = redirect_params(consent(ann_client, authorize_url(public.client_id, challenge), [ann[1]]))
    pair = exchange(ann_client, public, params["code"], verifier)
    assert pair.status_code == 200, pair.text
    assert balance(ann_client, ann[1], pair.get_json()["access_token"]).status_code == 200


def test_client_secret_in_the_form_works_like_basic(ann_client, ann, budgetly):
    verifier, challenge = pkce()
    _, params = redirect_params(consent(ann_client, authorize_url(budgetly.client_id, challenge), [ann[1]]))
    assert exchange(ann_client, budgetly, params["code"], verifier, basic=False).status_code == 200


def test_revoking_an_access_token_or_refresh_token_ends_the_pair(ann_client, ann, budgetly):
    verifier, challenge = pkce()
    _, params = redirect_params(consent(ann_client, authorize_url(budgetly.client_id, challenge), [ann[1]]))
    body = exchange(ann_client, budgetly, params["code"], verifier).get_json()
    assert revoke(ann_client, budgetly, body["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert balance(ann_client, ann[1], body["access_token"]).status_code == 401
    assert refresh(ann_client, budgetly, body["refresh_token"]).status_code == 400
    assert events(grants.TOKEN_REVOKE_ACTION)[0].actor_app_id == budgetly.app.id
    # An unknown token is "revoked" too (RFC 7009: the answer does not tell).
    assert revoke(ann_client, budgetly, "pat_nothing").status_code == 200


def test_revocation_ignores_a_hint_it_does_not_know_and_still_ends_the_pair(ann_client, ann, budgetly):
    # RFC 7009 §2.1: the server may ignore the hint and search every kind of token; RFC 6749 §5.2: only
    # invalid_client is a 401.
    verifier, challenge = pkce()
    _, params = redirect_params(consent(ann_client, authorize_url(budgetly.client_id, challenge), [ann[1]]))
    body = exchange(ann_client, budgetly, params["code"], verifier).get_json()
    response = revoke(ann_client, budgetly, body["access_token"], token_type_hint="bogus")
    assert response.status_code == 200, response.text
    assert balance(ann_client, ann[1], body["access_token"]).status_code == 401
    assert refresh(ann_client, budgetly, body["refresh_token"]).status_code == 400
    assert len(events(grants.TOKEN_REVOKE_ACTION)) == 1
    assert revoke(ann_client, budgetly, "pat_nothing", token_type_hint="bogus").status_code == 200
    # A hint of the wrong kind is ignored too; a request without a token is still malformed.
    assert revoke(ann_client, budgetly, body["refresh_token"], token_type_hint="access_token").status_code == 200
    missing = _token_call(ann_client, budgetly, {"token_type_hint": "bogus"}, basic=True, secret=None,
                          path="/oauth/revoke")
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"


def test_metadata_names_the_endpoints_and_only_what_is_supported(client):
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    body = client.get("/.well-known/oauth-authorization-server").get_json()
    assert body["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert body["token_endpoint"] == "http://localhost/oauth/token"
    assert "deposits:write" not in body["scopes_supported"]
    AuthorizationServerMetadata(body).validate()


def test_the_consent_page_lets_its_form_lead_back_to_the_app_and_nowhere_else(ann_client, budgetly):
    page = ann_client.get(authorize_url(budgetly.client_id, pkce()[1]))
    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https://budgetly.example;" in policy
    assert "script-src 'self';" in policy and "<script>" not in page.text and "style=" not in page.text
    assert "form-action 'self';" in ann_client.get("/").headers["Content-Security-Policy"]
