"""The access-control matrix, generated from the app's own routes: every route × every kind of caller.

Each endpoint must have a policy below, or `test_every_route_has_a_policy` fails: a new route cannot ship
without someone deciding who may call it. Then every (route, method) is called by every caller, with CSRF
switched off so that the access check itself is what answers (CSRF has its own tests). A caller the policy
does not allow must be refused (302 to the login page, 401, 403 or 404) and change nothing; an allowed caller
must get past the check. Refusals are audited; that the audit rows exist is tested where each refusal is.
"""
import pytest
import sqlalchemy as sa

from portal import identity
from portal.extensions import db
from portal.kernel import clock
from portal.models import Consent, ThirdPartyApp
from tests.admin.conftest import as_role, bank  # noqa: F401 (fixtures used below)
from tests.factories import SYSTEM, make_account, make_user, snapshot

STAFF = {"viewer", "operator", "admin"}
OPERATORS = {"operator", "admin"}
SESSIONS = {"customer", "other customer"} | STAFF
TOKENS = {"token accounts:read", "token transactions:read", "token transactions:write"}
CALLERS = ["anonymous", *sorted(SESSIONS), *sorted(TOKENS)]
EVERYONE = set(CALLERS)
NOBODY = set()

# Who gets past the access check, per endpoint (and per method where they differ).
POLICY = {
    "static": EVERYONE, "admin.static": EVERYONE, "restx_doc.static": EVERYONE,
    "health.healthz": EVERYONE, "health.readyz": EVERYONE,
    "auth.login": EVERYONE, "auth.logout": SESSIONS, "auth.password": SESSIONS,
    "auth.reset_password": EVERYONE,  # the link is the credential: a wrong one is 404
    "api.root": EVERYONE, "api.doc": EVERYONE, "api.specs": EVERYONE,
    # Customer pages: the owner; another customer reaches their own pages but not this account (404).
    "web.index": SESSIONS,  # staff are sent on to the back-office
    "web.activity": {"customer", "other customer"},
    "web.tokens": {"customer", "other customer"},
    "web.account": {"customer"},
    "web.transaction": {"customer"},  # a transaction of the account, on its owner's page
    "web.revoke_token": {"customer"},
    "web.connected_apps": {"customer", "other customer"},
    "web.revoke_consent": {"customer"},
    "web.revoke_app_token": {"customer"},
    "web.statements_page": {"customer"}, "web.statement_download": {"customer"},
    # The API: bearer tokens only, by scope; a session cookie is not a credential there.
    "api.accounts_account_list": {"token accounts:read"},
    "api.accounts_account_detail": {"token accounts:read"},
    "api.accounts_account_balance": {"token accounts:read"},
    "api.transactions_transaction_detail": {"token transactions:read"},
    ("api.transactions_transaction_list", "GET"): {"token transactions:read"},
    ("api.transactions_transaction_list", "POST"): {"token transactions:write"},
    "api.statements_statement_list": {"token transactions:read"},
    "api.statements_statement_detail": {"token transactions:read"},
    "api.swagger_oauth2_redirect": EVERYONE,  # Swagger UI's landing page for the authorization code: static
    # OAuth 2.0: the consent page is a customer's (staff get 403); the token and revocation endpoints take an
    # app's client credentials, which no caller here holds, so every caller reaches them and is refused there
    # by Authlib (their refusals are tested in tests/oauth); the metadata is public.
    "oauth.authorize": {"customer", "other customer"},
    "oauth.token": EVERYONE, "oauth.revoke": EVERYONE, "oauth.metadata": EVERYONE,
    # The back-office: staff read; operators correct; admins manage staff.
    "admin.index": STAFF, "admin.refresh_health": STAFF,
    "account.statement": STAFF,  # every staff role may download a customer's statement (audited)
    "user.change_role": {"admin"}, "user.create_staff": {"admin"},
    "user.edit_user": OPERATORS, "user.open_account": OPERATORS, "account.rename": OPERATORS,
    "account.change_status": OPERATORS, "account.adjust": OPERATORS, "transaction.reverse": OPERATORS,
    "apitoken.revoke": OPERATORS, "user.password_reset_link": OPERATORS,
    "app.register": {"admin"}, "app.edit_app": {"admin"}, "app.rotate_secret": {"admin"},
    "app.change_status": OPERATORS,
    "app.revoke_consent": OPERATORS,
    # Four eyes: any staff reads the approvals inbox; operators and admins decide (the kind's rule is checked too).
    "correctionrequest.approve": OPERATORS, "correctionrequest.reject": OPERATORS,
    "correctionrequest.withdraw": OPERATORS,
}
for view in ("user", "account", "transaction", "entry", "apitoken", "app", "consent", "auditevent",
             "correctionrequest"):
    POLICY.update({f"{view}.index_view": STAFF, f"{view}.details_view": STAFF, f"{view}.export": STAFF,
                   f"{view}.ajax_lookup": STAFF})
    # Flask-Admin's generic writes are switched off: nobody, whatever their role.
    POLICY.update({f"{view}.{name}": NOBODY for name in ("create_view", "edit_view", "delete_view", "action_view",
                                                          "ajax_update")})

FILENAMES = {"static": "css/portal.css", "admin.static": "admin/js/helpers.js",
             "restx_doc.static": "droid-sans.css"}
FORM = {"confirmed": "yes", "reason": "matrix", "amount": "1000.00", "name": "Changed", "email": "x@example.com",
        "role": "admin", "currency": "EUR", "password": "wrong password", "scopes": "accounts:read",
        "homepage": "https://changed.example", "redirect_uris": "https://changed.example/cb",
        "client_type": "public", "ip_allowlist": ""}
REFUSED = {401, 403, 404}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def policy(endpoint, method):
    return POLICY.get((endpoint, method), POLICY.get(endpoint))


def test_every_route_has_a_policy(app):
    missing = sorted({rule.endpoint for rule, method in routes(app) if policy(rule.endpoint, method) is None})
    assert missing == [], f"routes without an access policy in {__name__}: {missing}"


@pytest.fixture
def matrix(app, bank, as_role):  # noqa: F811 (fixtures)
    other = make_user(email="other@example.com")
    make_account(other, days_old=10)
    tokens = {}
    for scope in ("accounts:read", "transactions:read", "transactions:write"):
        _, secret = identity.issue_token(bank.customer, name=scope, scopes=[scope], accounts=[bank.main],
                                         actor=SYSTEM)
        tokens[f"token {scope}"] = secret
    db.session.commit()
    clients = {"anonymous": as_role("anonymous"), "customer": as_role("customer"), "viewer": as_role("viewer"),
               "operator": as_role("operator"), "admin": as_role("admin")}
    clients["other customer"] = app.test_client()
    login_other(clients["other customer"])
    app.config["WTF_CSRF_ENABLED"] = False  # from here on, the access check is what answers
    return bank, clients, tokens


def login_other(client):
    from tests.web.conftest import login

    assert login(client, "other@example.com").status_code == 302


def url_for_rule(rule, world):
    values = {"account_id": world.main.id, "transaction_id": world.withdrawal.id, "token_id": world.token.id,
              "user_id": world.customer.id, "change": "suspend" if rule.endpoint.startswith("app.") else "freeze",
              "app_id": world.third_party.id, "consent_id": world.consent.id, "request_id": 1, "export_type": "csv",
              "secret": "not-a-real-link", "period": this_month(), "kind": "csv",
              "filename": FILENAMES.get(rule.endpoint, "")}
    path = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
    if rule.endpoint.endswith(".details_view") or rule.endpoint.endswith(".edit_view"):
        record = {"user": world.customer.id, "account": world.main.id, "transaction": world.withdrawal.id,
                  "apitoken": world.token.id, "app": world.third_party.id,
                  "consent": world.consent.id}.get(rule.endpoint.split(".")[0], 1)
        path += f"?id={record}"
    if rule.endpoint == "account.statement":
        path += f"?period={this_month()}&format=csv"
    return path


def this_month():
    """The month every account of the matrix has a statement for (its current one, so far)."""
    return clock.today().strftime("%Y-%m")


def call(clients, tokens, caller, method, path):
    if caller in tokens:
        client, headers = clients["anonymous"], {"Authorization": f"Bearer {tokens[caller]}"}
    else:
        client, headers = clients[caller], {}
    if method == "GET":
        return client.get(path, headers=headers)
    if path.startswith("/api/"):
        return client.post(path, json={"amount": "-1.00"}, headers=headers)
    return client.post(path, data=FORM, headers=headers)


def state():
    """What a refusal must leave as it was (it adds its own audit event, which is the point of it)."""
    return {**{name: value for name, value in snapshot().items() if name != "audit_events"},
            "apps": db.session.execute(sa.select(ThirdPartyApp.id, ThirdPartyApp.status,
                                                 ThirdPartyApp.client_secret_hash)).all(),
            "consents": db.session.execute(sa.select(Consent.id, Consent.status)).all()}


def refused(response, rule):
    """401/403/404, or a redirect to the login page; Flask-Admin answers a switched-off generic view by
    sending staff back to that view's list."""
    if response.status_code == 302:
        location = response.headers["Location"]
        view = rule.endpoint.split(".")[0]
        return location.startswith("/login") or (policy(rule.endpoint, "GET") is NOBODY
                                                 and location == f"/admin/{view}/")
    return response.status_code in REFUSED


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_refuses_whom_its_policy_does_not_allow(app, matrix, caller):
    world, clients, tokens = matrix
    let_through = []
    for rule, method in routes(app):
        if caller in policy(rule.endpoint, method):
            continue
        path = url_for_rule(rule, world)
        before = state()
        response = call(clients, tokens, caller, method, path)
        if not refused(response, rule) or state() != before:
            let_through.append(f"{method} {path} -> {response.status_code} {response.headers.get('Location', '')}")
    assert let_through == [], "\n".join(let_through)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_lets_in_whom_its_policy_allows(app, matrix, caller):
    world, clients, tokens = matrix
    kept_out = []
    for rule, method in routes(app):
        if caller not in policy(rule.endpoint, method) or method != "GET":
            continue  # allowed POSTs change data; each has its own behaviour tests
        path = url_for_rule(rule, world)
        response = call(clients, tokens, caller, method, path)
        if response.status_code in (401, 403) or (
                response.status_code == 302 and response.headers["Location"].startswith("/login")):
            kept_out.append(f"{method} {path} -> {response.status_code}")
    assert kept_out == []
