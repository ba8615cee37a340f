"""The back-office's lists and CSV exports as operations staff use them: plain exports (no markup, amounts as
decimals with their currency, people by email), one customer's transactions, and the audit log by person."""
import csv
import io

from portal import audit, identity, ledger
from portal.audit import Actor
from portal.extensions import db
from tests.factories import SYSTEM, make_account, make_user

EXPORTS = ["user", "account", "transaction", "entry", "apitoken", "consent", "auditevent"]


def export(client, endpoint, **query):
    response = client.get(f"/admin/{endpoint}/export/csv/", query_string=query)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_no_export_carries_markup(as_role, bank):
    viewer = as_role("viewer")
    for endpoint in EXPORTS:
        rows = export(viewer, endpoint)
        assert rows, endpoint
        cells = [cell for row in rows for cell in row.values() if cell]
        assert not [cell for cell in cells if "<a " in cell or "href=" in cell], endpoint


def test_the_transactions_export_has_account_customer_counterparty_amount_and_currency(as_role, bank):
    rows = export(as_role("viewer"), "transaction")
    withdrawal = next(row for row in rows if row["Id"] == str(bank.withdrawal.id))
    assert (withdrawal["Account"], withdrawal["Customer"], withdrawal["Amount (on the account)"],
            withdrawal["Currency"]) == (bank.main.number, "carla@example.com", "-50.00", "EUR")
    assert withdrawal["Counterparty"].endswith("(bank)")


def test_the_entries_export_writes_amounts_as_decimals_with_their_currency(as_role, bank):
    rows = export(as_role("viewer"), "entry")
    on_main = [row for row in rows if row["Account"] == bank.main.number]
    assert {(row["Amount"], row["Currency"]) for row in on_main} >= {("-50.00", "EUR")}
    assert not [row for row in rows if row["Amount"].lstrip("-").isdigit()]  # never minor units


def test_the_audit_export_names_people_by_email_and_tokens_by_name(as_role, bank):
    ledger.freeze(bank.main, actor=SYSTEM, reason="police request")
    db.session.commit()
    as_role("operator").get("/admin/")  # nothing audited by a visit; the bank fixture's token.create names Carla
    rows = export(as_role("viewer"), "auditevent")
    created = next(row for row in rows if row["Action"] == "token.create")
    assert created["About customer"] == "carla@example.com"
    assert not [row for row in rows if row["Who"] and "@" not in row["Who"]]


def test_a_transfer_lists_both_accounts_and_the_amount(as_role, bank):
    other = make_user(email="bob@example.com", name="Bob Example")
    bob = make_account(other, days_old=5)
    transfer = ledger.transfer(bank.main, bob, 12_50, actor=SYSTEM, description="Rent share")
    db.session.commit()
    page = as_role("viewer").get("/admin/transaction/", query_string={"search": str(transfer.id)}).text
    assert "List (1)" in page
    assert "carla@example.com" in page and "bob@example.com" in page and "€12.50" in page


def test_one_customers_transactions_by_search_and_by_filter(as_role, bank):
    other = make_user(email="dora@example.com")
    dora = make_account(other, days_old=5, balance=10_00)
    ledger.withdraw(dora, 1_00, actor=SYSTEM)
    db.session.commit()
    viewer = as_role("viewer")
    carla_count = 2  # the fixture's opening deposit and the double charge
    assert f"List ({carla_count})" in viewer.get("/admin/transaction/",
                                                 query_string={"search": "carla@example.com"}).text
    spaced = " ".join(bank.main.number[i:i + 4] for i in range(0, len(bank.main.number), 4)).lower()
    assert f"List ({carla_count})" in viewer.get("/admin/transaction/", query_string={"search": spaced}).text
    view = _view(viewer, "transaction")
    by_email = _filter_arg(view, "Customer email")
    by_number = _filter_arg(view, "Account number")
    assert "List (2)" in viewer.get(f"/admin/transaction/?flt0_{by_email}=DORA@example.com").text
    assert "List (2)" in viewer.get(f"/admin/transaction/?flt0_{by_number}={dora.number}").text
    assert "There are no items" in viewer.get(f"/admin/transaction/?flt0_{by_email}=nobody@example.com").text


def test_the_audit_log_names_people_and_finds_them_by_email_or_name(as_role, bank):
    identity.revoke_token(bank.token, actor=SYSTEM, reason="leaked")
    audit.record(Actor.for_token(bank.token), "api.unauthorized", outcome="denied", subject_user_id=bank.customer.id)
    db.session.commit()
    viewer = as_role("viewer")
    page = viewer.get("/admin/auditevent/").text
    assert "carla@example.com" in page and "Budget app" in page
    assert "user 5" not in page
    by_name = viewer.get("/admin/auditevent/", query_string={"search": "Carla"}).text
    by_email = viewer.get("/admin/auditevent/", query_string={"search": "carla@example.com"}).text
    nobody = viewer.get("/admin/auditevent/", query_string={"search": "nobody@example.com"}).text
    assert "token.revoke" in by_name and "token.revoke" in by_email
    assert "There are no items" in nobody
    person = _filter_arg(_view(viewer, "auditevent"), "Person (email or name)")
    filtered = viewer.get(f"/admin/auditevent/?flt0_{person}=carla").text
    assert "token.revoke" in filtered and "There are no items" not in filtered


def _view(client, endpoint):
    admin = client.application.extensions["admin"]
    return next(v for v in (admin[0] if isinstance(admin, list) else admin)._views if v.endpoint == endpoint)


def _filter_arg(view, name):
    return next(key for key, (_, flt) in view._filter_args.items() if flt.name == name)


def test_a_transaction_is_found_by_the_short_id_the_list_shows_and_by_its_customers_name(as_role, bank):
    viewer = as_role("viewer")
    short = str(bank.withdrawal.id)[:8]
    listing = viewer.get("/admin/transaction/").text
    assert f"{short}…" in listing
    for search in (short, f"{short}…"):
        found = viewer.get("/admin/transaction/", query_string={"search": search}).text
        assert "List (1)" in found and str(bank.withdrawal.id) in found
    by_name = viewer.get("/admin/transaction/", query_string={"search": "Carla Customer"}).text
    assert "List (2)" in by_name  # the opening deposit and the double charge
    assert "There are no items" in viewer.get("/admin/transaction/", query_string={"search": "Nobody Atall"}).text
