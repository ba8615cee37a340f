"""Transactions as a customer reads them: who the other side is, what a reversal undoes, the bank's note (never its
reason), one page per transaction, and an activity page without the bank's reasons or refused attempts."""
import re

import pytest
import sqlalchemy as sa

from portal import identity, ledger
from portal.display import short_date
from portal.extensions import db
from portal.models import AuditEvent, Role, Transaction
from tests.admin.conftest import confirm, submit
from tests.api.conftest import bearer
from tests.factories import SYSTEM, days_ago, make_account, make_user, snapshot
from tests.web.conftest import csrf_token, login


@pytest.fixture
def bob(app):
    user = make_user(email="bob@example.com", name="Bob Example")
    return make_account(user, days_old=30, balance=300_00, name="Bob's private name")


@pytest.fixture
def operator(app):
    make_user(role=Role.OPERATOR, email="operator@bank.example", name="Olga Operator")
    client = app.test_client()
    assert login(client, "operator@bank.example").status_code == 302
    return client


def rows(client, account):
    """The account page's transaction rows as (text, amount) pairs, newest first."""
    page = client.get(f"/accounts/{account.id}").text
    return [(re.sub(r"\s+", " ", text).strip(), amount) for text, amount in re.findall(
        r'class="tx-text"><a href="[^"]+">([^<]*)</a>.*?class="num tx-amount"><span[^>]*>([^<]*)</span>', page, re.S)]


def detail(client, account, transaction):
    return client.get(f"/accounts/{account.id}/transactions/{transaction.id}")


class TestHowATransactionReads:
    def test_a_transfer_between_my_accounts_names_the_other_account(self, ann_client, ann):
        _, main, savings = ann
        ledger.transfer(main, savings, 20_00, actor=SYSTEM)
        db.session.commit()
        assert rows(ann_client, main)[0] == ("Transfer to Savings", "−€20.00")
        assert rows(ann_client, savings)[0] == ("Transfer from Main", "€20.00")

    def test_a_transfer_with_someone_else_names_its_owner_not_their_account(self, ann_client, ann, bob):
        _, main, _ = ann
        ledger.transfer(bob, main, 15_00, actor=SYSTEM, description="Concert tickets")
        ledger.transfer(main, bob, 5_00, actor=SYSTEM)
        db.session.commit()
        assert rows(ann_client, main)[:2] == [("Transfer to Bob Example", "−€5.00"),
                                              ("Transfer from Bob Example: Concert tickets", "€15.00")]
        assert "Bob&#39;s private name" not in ann_client.get(f"/accounts/{main.id}").text

    def test_a_reversal_names_what_it_reverses_and_its_date(self, ann_client, ann):
        _, main, _ = ann
        groceries = ledger.withdraw(main, 12_40, actor=SYSTEM, value_date=days_ago(3), description="Groceries")
        ledger.reverse(groceries, actor=SYSTEM, reason="internal: terminal fault #4711")
        db.session.commit()
        text, amount = rows(ann_client, main)[0]
        assert (text, amount) == (f"Reversal of Groceries ({short_date(days_ago(3))})", "€12.40")
        assert re.fullmatch(r"Reversal of Groceries \([0-9]{1,2} [A-Z][a-z]{2}( [0-9]{4})?\)", text)
        assert "terminal fault" not in ann_client.get(f"/accounts/{main.id}").text

    def test_an_adjustment_reads_as_the_bank_s_note_or_a_neutral_line(self, ann_client, ann):
        _, main, _ = ann
        ledger.adjust(main, 3_00, actor=SYSTEM, reason="fee refund, ticket 88")
        ledger.adjust(main, 2_00, actor=SYSTEM, reason="goodwill, ticket 89",
                      customer_note="We refunded the card fee.")
        db.session.commit()
        assert rows(ann_client, main)[:2] == [("Correction by the bank: We refunded the card fee.", "€2.00"),
                                              ("Correction by the bank", "€3.00")]
        assert "ticket 8" not in ann_client.get(f"/accounts/{main.id}").text

    def test_the_api_keeps_the_stored_description(self, ann, client):
        _, main, savings = ann
        withdrawal = ledger.withdraw(main, 1_00, actor=SYSTEM, description="Coffee")
        reversal = ledger.reverse(withdrawal, actor=SYSTEM, reason="x", customer_note="Sorry")
        ledger.transfer(main, savings, 1_00, actor=SYSTEM)
        _, secret = identity.issue_token(ann[0], name="t", scopes=["transactions:read"], accounts=[main],
                                         actor=SYSTEM)
        db.session.commit()
        data = client.get(f"/api/v1/accounts/{main.id}/transactions", headers=bearer(secret)).get_json()["data"]
        assert [d["description"] for d in data] == ["", f"Reversal of {withdrawal.id}", "Coffee", "Opening deposit"]
        assert set(data[1]) == {"id", "account_id", "amount", "currency", "description", "value_date", "booked_at",
                                "kind", "counterparty_account_id", "reverses", "reversed_by"}
        assert data[1]["id"] == str(reversal.id)


class TestTransactionPage:
    def test_a_reversed_transaction_and_its_reversal_link_to_each_other(self, ann_client, ann):
        _, main, _ = ann
        groceries = ledger.withdraw(main, 12_40, actor=SYSTEM, value_date=days_ago(3), description="Groceries")
        reversal = ledger.reverse(groceries, actor=SYSTEM, reason="internal: terminal fault",
                                  customer_note="The shop charged you by mistake.")
        db.session.commit()
        account_page = ann_client.get(f"/accounts/{main.id}").text
        assert f'href="/accounts/{main.id}/transactions/{groceries.id}"' in account_page

        page = detail(ann_client, main, groceries).text
        assert "Groceries" in page and "−€12.40" in page and days_ago(3).isoformat() in page
        assert f'data-testid="reversed-by" href="/accounts/{main.id}/transactions/{reversal.id}"' in page

        page = detail(ann_client, main, reversal).text
        assert f"Reversal of Groceries ({short_date(days_ago(3))})" in page and "€12.40" in page
        assert f'data-testid="reverses" href="/accounts/{main.id}/transactions/{groceries.id}"' in page
        assert re.search(r'data-testid="note">Correction by the bank: The shop charged you by mistake\.<', page)
        assert "terminal fault" not in page and reversal.booked_at.strftime("%Y-%m-%d %H:%M") in page

    def test_a_transfer_page_names_and_links_my_other_account(self, ann_client, ann, bob):
        _, main, savings = ann
        own = ledger.transfer(main, savings, 20_00, actor=SYSTEM, description="Rainy day")
        theirs = ledger.transfer(bob, main, 7_00, actor=SYSTEM)
        db.session.commit()
        page = detail(ann_client, main, own).text
        assert re.search(rf'data-testid="counterparty"><a href="/accounts/{savings.id}">Savings</a>', page)
        assert "Rainy day" in page and "Transfer to Savings: Rainy day" in page
        page = detail(ann_client, main, theirs).text
        assert 'data-testid="counterparty">Bob Example<' in page and f"/accounts/{bob.id}" not in page

    def test_an_adjustment_without_a_note_shows_the_neutral_line(self, ann_client, ann):
        adjustment = ledger.adjust(ann[1], -1_00, actor=SYSTEM, reason="internal only")
        db.session.commit()
        page = detail(ann_client, ann[1], adjustment).text
        assert 'data-testid="note">Correction by the bank<' in page and "internal only" not in page

    def test_nothing_but_my_own_account_s_transactions_is_found(self, ann_client, ann, bob):
        _, main, savings = ann
        bobs = ledger.withdraw(bob, 1_00, actor=SYSTEM, description="Bob's secret purchase")
        mine = ledger.withdraw(main, 1_00, actor=SYSTEM, description="Mine")
        db.session.commit()
        for path in [f"/accounts/{bob.id}/transactions/{bobs.id}",  # someone else's, on their account
                     f"/accounts/{main.id}/transactions/{bobs.id}",  # someone else's, under my account
                     f"/accounts/{savings.id}/transactions/{mine.id}",  # mine, under an account it is not on
                     f"/accounts/{main.id}/transactions/00000000-0000-0000-0000-000000000000",
                     f"/accounts/{main.id}/transactions/not-a-uuid"]:
            response = ann_client.get(path)
            assert response.status_code == 404, path
            assert "secret purchase" not in response.text
        assert detail(ann_client, main, mine).status_code == 200


class TestTheBankSNoteNeverItsReason:
    def test_an_operator_s_note_reaches_the_customer_and_the_reason_does_not(self, ann_client, ann, operator):
        _, main, _ = ann
        charge = ledger.withdraw(main, 30_00, actor=SYSTEM, description="Double charge")
        db.session.commit()
        path = f"/admin/transaction/{charge.id}/reverse"
        asked = {"reason": "INTERNAL terminal 7 fault", "customer_note": "Refund of a double charge"}
        review = operator.post(path, data={**asked, "csrf_token": csrf_token(operator.get(path).text)})
        assert "The customer is told: Refund of a double charge" in review.text
        assert submit(operator, path, asked).status_code == 302
        reversal = db.session.scalar(sa.select(Transaction).where(Transaction.reverses_id == charge.id))
        assert (reversal.reason, reversal.customer_note) == ("INTERNAL terminal 7 fault", "Refund of a double charge")
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "transaction.reverse"))
        assert event.changes["customer_note"] == [None, "Refund of a double charge"]

        for page in (ann_client.get("/activity").text, ann_client.get(f"/accounts/{main.id}").text,
                     detail(ann_client, main, reversal).text):
            assert "INTERNAL" not in page
        assert "Correction by the bank: Refund of a double charge" in ann_client.get("/activity").text

    def test_a_blank_note_is_none_and_the_customer_reads_the_neutral_line(self, ann_client, ann, operator):
        _, main, _ = ann
        assert submit(operator, f"/admin/account/{main.id}/freeze",
                      {"reason": "INTERNAL fraud check", "customer_note": "   "}).status_code == 302
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.freeze"))
        assert "customer_note" not in event.changes and event.reason == "INTERNAL fraud check"
        page = ann_client.get("/activity").text
        assert "Account frozen: Main" in page and "Correction by the bank" in page and "INTERNAL" not in page

    def test_a_refused_staff_attempt_is_never_shown_to_the_customer(self, ann_client, ann, operator):
        _, main, _ = ann
        charge = ledger.withdraw(main, 30_00, actor=SYSTEM, description="Coffee")
        ledger.reverse(charge, actor=SYSTEM, reason="first")
        db.session.commit()
        before = snapshot()
        # Confirmed straight away (as a form reviewed before the first reversal would be): refused and audited.
        response = confirm(operator, f"/admin/transaction/{charge.id}/reverse",
                           {"reason": "test", "customer_note": "You got it back twice"})
        assert "Refused" in response.text
        after = snapshot()
        assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before  # the refusal's row
        refusal = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.outcome == "denied"))
        assert (refusal.subject_user_id, refusal.reason, refusal.refusal_code) == (ann[0].id, "test",
                                                                                   "already_reversed")
        page = ann_client.get("/activity").text
        assert "asked because" not in page and "refused" not in page.lower() and "denied" not in page
        assert "You got it back twice" not in page

    def test_my_own_refused_attempts_are_still_shown_with_why(self, ann_client, ann, client, app):
        _, main, _ = ann
        assert login(app.test_client(), "ann@example.com", password="not my password").status_code == 200
        _, secret = identity.issue_token(ann[0], name="Payments app", scopes=["transactions:write"],
                                         accounts=[main], actor=SYSTEM)
        db.session.commit()
        response = client.post(f"/api/v1/accounts/{main.id}/transactions", json={"amount": "-1000.00"},
                               headers=bearer(secret))
        assert response.status_code == 409
        page = ann_client.get("/activity").text
        assert "A transaction was refused on Main" in page and "balance would go below zero" in page
        assert "Failed login attempt" in page and "reason: wrong password" in page

    def test_a_note_on_a_correction_that_tells_no_customer_is_refused(self, app, ann):
        from portal import corrections
        from portal.audit import Actor

        admin = make_user(role=Role.ADMIN, email="admin@bank.example")
        asked = corrections.CorrectionRequest(kind="account.rename", target_type="account", target_id=str(ann[1].id),
                                              parameters={"name": "Household"}, reason="asked",
                                              customer_note="We renamed it", maker_id=admin.id)
        before = snapshot()
        with pytest.raises(ledger.ValidationError) as refused:
            corrections.apply(asked, Actor.for_user(admin))
        db.session.rollback()
        assert refused.value.field == "customer_note" and snapshot() == before


def test_the_customer_never_sees_the_address_staff_acted_from(app, ann, ann_client):
    """The bank's office or VPN addresses are the bank's business; the customer's own are shown to them."""
    _, main, _ = ann
    make_user(role=Role.OPERATOR, email="office@bank.example")
    staff = app.test_client()
    staff.environ_base["REMOTE_ADDR"] = "10.77.66.55"
    assert login(staff, "office@bank.example").status_code == 302
    assert submit(staff, f"/admin/account/{main.id}/freeze", {"reason": "check"}).status_code == 302
    page = ann_client.get("/activity").text
    assert "Account frozen: Main" in page and "10.77.66.55" not in page
    assert "127.0.0.1" in page  # the customer's own login, from their own address
