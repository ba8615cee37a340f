"""OAuth fixtures: a registered app, a customer with two accounts, and the steps of the flow over HTTP."""
import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import apps
from portal.models import AuditEvent, Consent, OAuthToken
from tests.factories import SYSTEM, make_account, make_user
from tests.web.conftest import csrf_token, login

REDIRECT = "https://budgetly.example/callback"


def pkce():
    """A verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Registered:
    app: object
    secret: object

    @property
    def client_id(self):
        return self.app.client_id


def register(client_type="confidential", scopes=("accounts:read", "transactions:read"), **kwargs):
    app, secret = apps.register_app(name="Budgetly", homepage="https://budgetly.example",
                                    redirect_uris=[REDIRECT, "http://127.0.0.1:8400/cb"], client_type=client_type,
                                    scopes=scopes, actor=SYSTEM, **kwargs)
    db.session.commit()
    return Registered(app, secret)


@pytest.fixture
def budgetly(app):
    return register()


@pytest.fixture
def ann(app):
    user = make_user(email="ann@example.com", name="Ann Example")
    main = make_account(user, days_old=30, balance=100_00, name="Main")
    savings = make_account(user, days_old=30, name="Savings")
    return user, main, savings


@pytest.fixture
def ann_client(client, ann):
    assert login(client, "ann@example.com").status_code == 302
    return client


def authorize_url(client_id, challenge=None, *, scope="accounts:read", redirect_uri=REDIRECT, state="xyz",
                  method="S256", **extra):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state}
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    params.update(extra)
    return "/oauth/authorize?" + urlencode(params)


def consent(client, url, accounts, *, decision="allow", days="90", page=None):
    """Answer the consent page at `url` (Allow or Deny) with the CSRF token it carries."""
    page = page or client.get(url)
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_token(page.text), "accounts": [str(a.id) for a in accounts], "days": days,
            decision: decision.capitalize()}
    return client.post(url, data=data)


def redirect_params(response):
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(client, registered, code, verifier, *, redirect_uri=REDIRECT, basic=True, secret=None, address=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    return _token_call(client, registered, data, basic=basic, secret=secret, address=address)


def refresh(client, registered, refresh_token, *, basic=True, secret=None, address=None):
    return _token_call(client, registered, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                       basic=basic, secret=secret, address=address)


def _token_call(client, registered, data, *, basic, secret, path="/oauth/token", address=None):
    """Call the token (or revocation) endpoint as the app, from `address` if given (else the test client's)."""
    secret = secret or registered.secret
    headers = {}
    if secret is None:  # a public app: its id alone
        data = {**data, "client_id": registered.client_id}
    elif basic:
        pair = base64.b64encode(f"{registered.client_id}:{secret}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        data = {**data, "client_id": registered.client_id, "client_secret": secret}
    environ = {"environ_base": {"REMOTE_ADDR": address}} if address else {}
    return client.post(path, data=data, headers=headers, **environ)


def revoke(client, registered, token, *, address=None, **kwargs):
    return _token_call(client, registered, {"token": token, **kwargs}, basic=True, secret=None,
                       path="/oauth/revoke", address=address)


def code_for(client, registered, accounts, *, scope="accounts:read"):
    """Run the browser half of the flow as the logged-in customer; return (code, verifier)."""
    verifier, challenge = pkce()
    _, params = redirect_params(consent(client, authorize_url(registered.client_id, challenge, scope=scope),
                                        accounts))
    return params["code"], verifier


def counts():
    db.session.expire_all()
    return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Consent, OAuthToken)}


def last_event():
    db.session.expire_all()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def events(action):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()
