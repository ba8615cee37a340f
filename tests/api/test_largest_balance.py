"""The largest balance: past a BIGINT of minor units the database refused (PostgreSQL: a 500, unaudited) or, on
SQLite, silently turned the balance into a float. The ledger refuses first, naming the amount."""
import pytest

from portal import ledger
from portal.database import MAX_BIGINT
from portal.extensions import db
from tests.api.test_posting import post, refused
from tests.factories import SYSTEM, days_ago, refresh, snapshot


class TestLargestBalance:
    def test_a_deposit_past_the_largest_balance_is_refused_naming_the_amount(self, client, customer):
        ledger.deposit(customer.main, MAX_BIGINT - 200_00, actor=SYSTEM)  # balance: the largest less 100.00
        db.session.commit()
        payload = refused(client, customer, {"amount": "100.01"}, 400, "validation_error", "amount")
        assert "largest" in payload["errors"]["amount"]
        assert post(client, customer, {"amount": "100.00"}).status_code == 201  # to exactly the largest: fine
        assert refresh(customer.main).balance == MAX_BIGINT
        refused(client, customer, {"amount": "0.01"}, 400, "validation_error", "amount")
        assert post(client, customer, {"amount": "-0.01"}).status_code == 201

    def test_a_backdated_deposit_that_would_push_a_past_day_end_past_the_largest_is_refused(self, client, customer):
        ledger.deposit(customer.main, MAX_BIGINT - 200_00, actor=SYSTEM, value_date=days_ago(10))
        ledger.withdraw(customer.main, 1_000_00, actor=SYSTEM)  # today's balance has room; the past has not
        db.session.commit()
        refused(client, customer, {"amount": "100.01", "value_date": days_ago(5).isoformat()}, 400,
                "validation_error", "amount")
        assert post(client, customer, {"amount": "100.01"}).status_code == 201  # dated today, it fits

    def test_a_transfer_into_a_full_account_is_refused_and_changes_nothing(self, client, customer):
        ledger.deposit(customer.savings, MAX_BIGINT, actor=SYSTEM)
        db.session.commit()
        refused(client, customer, {"amount": "-0.01", "counterparty_account_id": str(customer.savings.id)}, 400,
                "validation_error", "counterparty_account_id")
        before = snapshot()
        with pytest.raises(ledger.InvalidAmount):
            ledger.deposit(customer.savings, 1, actor=SYSTEM, value_date=days_ago(1))
        db.session.rollback()
        assert snapshot() == before
