"""`flask demo load`: a small bank to click around in."""
import datetime as dt
import random
from urllib.parse import urlencode

import click

from portal import identity, ledger
from portal.commands.support import command_transaction, system_actor
from portal.extensions import db
from portal.identity import apps
from portal.models import CUSTOMER_SCOPES, ClientType, Role, Scope

DEMO_PASSWORD = "demo-password"  # noqa: S105 -- demo users only, printed on purpose
HISTORY_DAYS = 180

CUSTOMERS = [
    ("alice@example.com", "Alice Andersen", [("Everyday", 250_000), ("Savings", 1_000_000)]),
    ("bob@example.com", "Bob Bergström", [("Current account", 150_000)]),
    ("carol@example.com", "Carol Castro", [("Main", 300_000), ("Holiday fund", 80_000)]),
]
STAFF = [
    ("viewer@example.com", "Vera Viewer", Role.VIEWER),
    ("operator@example.com", "Otto Operator", Role.OPERATOR),
    ("admin@example.com", "Ada Admin", Role.ADMIN),
]
# The demo third-party app examples/third_party_app/ runs as, and the bank's own payment rail.
# The Swagger page's own redirect URIs let its Authorize button run the flow as the demo app, too.
BASE_URL = "http://127.0.0.1:5000"
SWAGGER_REDIRECT = "/api/v1/oauth2-redirect.html"
DEMO_APP = {"name": "Budget Buddy (demo)", "homepage": "http://127.0.0.1:8765/",
            "redirect_uris": ["http://127.0.0.1:8765/callback", BASE_URL + SWAGGER_REDIRECT,
                              "http://localhost:5000" + SWAGGER_REDIRECT],
            "client_type": ClientType.CONFIDENTIAL.value,
            "scopes": [Scope.ACCOUNTS_READ.value, Scope.TRANSACTIONS_READ.value]}
PAYMENT_RAIL = {"name": "Payment rail (bank-internal)", "homepage": "https://ledger-bank.example/payment-rail",
                "redirect_uris": ["https://ledger-bank.example/payment-rail/unused"],
                "client_type": ClientType.CONFIDENTIAL.value,
                "scopes": [Scope.DEPOSITS_WRITE.value]}  # nothing a customer can give: not on their list
SHOPS = ["Grocery store", "Coffee", "Train ticket", "Pharmacy", "Bookshop", "Restaurant", "Cinema", "Hardware"]


@click.group("demo", help="Demo data.")
def group():
    """Group the commands that load demo data."""


@group.command("load")
def load():
    """Load demo customers with months of history, one staff user per role, and print logins and a token."""
    if identity.find_user_by_email(CUSTOMERS[0][0]) is not None:
        click.echo("Demo data is already loaded; nothing changed.")
        return
    actor = system_actor()
    rng = random.Random(2026)  # the same history every time
    start = ledger.today() - dt.timedelta(days=HISTORY_DAYS)
    with command_transaction("demo.load", actor):
        accounts = {}
        for email, name, account_specs in CUSTOMERS:
            user = identity.create_user(email, name, role=Role.CUSTOMER, password=DEMO_PASSWORD, actor=actor)
            for account_name, salary in account_specs:
                account = ledger.open_account(user, account_name, actor=actor, opened_on=start)
                accounts[account.id] = (account, salary)
        for email, name, role in STAFF:
            identity.create_user(email, name, role=role, password=DEMO_PASSWORD, actor=actor)
        _post_history(list(accounts.values()), start, rng, actor)
        alice = identity.find_user_by_email(CUSTOMERS[0][0])
        alice_accounts = [account for account, _ in accounts.values() if account.owner_id == alice.id]
        _, secret = identity.issue_token(alice, name="Demo budgeting app", scopes=list(CUSTOMER_SCOPES),
                                         accounts=alice_accounts, actor=actor)
        demo_app, client_secret = apps.register_app(**DEMO_APP, actor=actor)
        # The rail's client secret is never printed: it takes no part in OAuth, only in the bank-issued token.
        rail, _ = apps.register_app(**PAYMENT_RAIL, actor=actor)
        _, rail_secret = identity.issue_token(alice, name="Payment rail: incoming payments",
                                              scopes=[Scope.DEPOSITS_WRITE.value], accounts=alice_accounts,
                                              actor=actor, app=rail, by_bank=True)
    click.echo("Demo data loaded. Log in at http://127.0.0.1:5000/login with:")
    for email, _, _ in CUSTOMERS:
        click.echo(f"  customer  {email:<22} {DEMO_PASSWORD}")
    for email, _, role in STAFF:
        click.echo(f"  {role.value:<9} {email:<22} {DEMO_PASSWORD}")
    click.echo(f"Demo API token (Alice, every scope a customer can give, both her accounts):\n  {secret}")
    click.echo(f"  curl -H 'Authorization: Bearer {secret}' {BASE_URL}/api/v1/accounts")
    _print_apps(demo_app, client_secret, rail_secret, alice_accounts[0])


def _print_apps(demo_app, client_secret, rail_secret, account):
    """Print the demo third-party app's credentials and authorization URL, and the payment rail's token."""
    redirect_uri, scope = demo_app.redirect_uri_list[0], " ".join(sorted(demo_app.scope_set))
    query = urlencode({"response_type": "code", "client_id": demo_app.client_id, "redirect_uri": redirect_uri,
                       "scope": scope, "state": "STATE", "code_challenge": "CHALLENGE",
                       "code_challenge_method": "S256"})
    click.echo(f"Demo third-party app “{demo_app.name}” (confidential; redirect {redirect_uri}; {scope}):")
    click.echo(f"  client id      {demo_app.client_id}")
    click.echo(f"  client secret  {client_secret}")
    click.echo("  authorization URL (examples/third_party_app/ makes a fresh STATE and PKCE CHALLENGE each run):")
    click.echo(f"  {BASE_URL}/oauth/authorize?{query}")
    click.echo(f"  or on {BASE_URL}/api/v1/docs: Authorize → oauth2 with this client id and secret")
    click.echo("Payment rail token (bank-internal app; deposits:write: brings money into Alice's accounts):")
    click.echo(f"  {rail_secret}")
    click.echo(f"  curl -H 'Authorization: Bearer {rail_secret}' -H 'Content-Type: application/json' "
               f"-d '{{\"amount\": \"100.00\", \"description\": \"Incoming payment\"}}' "
               f"{BASE_URL}/api/v1/accounts/{account.id}/transactions")


def _post_history(accounts, start, rng, actor):
    """Salaries, card spending and transfers, day by day, through the same domain calls the doors use."""
    day = start
    today = ledger.today()
    while day <= today:
        for account, salary in accounts:
            if day == start or day.day == 25:
                ledger.deposit(account, salary, actor=actor, value_date=day, description="Salary")
            if rng.random() < 0.35:
                amount = rng.randint(150, 9_000)
                try:
                    ledger.withdraw(account, amount, actor=actor, value_date=day, description=rng.choice(SHOPS))
                except ledger.InsufficientFunds:
                    pass  # a declined card payment: the ledger refused it, as it should
        if rng.random() < 0.15:
            (source, _), (destination, _) = rng.sample(accounts, 2)
            try:
                ledger.transfer(source, destination, rng.randint(1_000, 20_000), actor=actor, value_date=day,
                                description="Transfer")
            except ledger.InsufficientFunds:
                pass
        day += dt.timedelta(days=1)
    db.session.flush()
