"""Strict parsing: a bank API takes its numbers, dates and ids in one plain form, nothing "close enough"."""
import base64

import pytest

from tests.api.test_posting import post, refused


@pytest.mark.parametrize("amount", ["1.00\n", "-1.00\n", "1\n", "１.00", "1.０0", "٣"])
def test_amounts_are_plain_ascii_decimals_with_nothing_after_them(client, customer, amount):
    refused(client, customer, {"amount": amount}, 400, "validation_error", "amount")


@pytest.mark.parametrize("form", ["{%s}", "urn:uuid:%s", "uuid:%s", "nohyphens", " %s", "%s\n"])
def test_counterparty_ids_are_accepted_in_the_canonical_form_only(client, customer, form):
    target = str(customer.savings.id)
    text = target.replace("-", "") if form == "nohyphens" else form % target
    refused(client, customer, {"amount": "-1.00", "counterparty_account_id": text}, 400, "validation_error",
            "counterparty_account_id")
    canonical = post(client, customer, {"amount": "-1.00", "counterparty_account_id": target.upper()})
    assert canonical.status_code == 201  # RFC 4122: hex digits in either case


@pytest.mark.parametrize("limit", ["２５", "٢٥", "25\n", "+25", " 25"])
def test_limit_takes_ascii_digits_only(client, customer, limit):
    response = client.get(f"/api/v1/accounts/{customer.main.id}/transactions", query_string={"limit": limit},
                          headers=customer.headers)
    assert response.status_code == 400 and "limit" in response.get_json()["errors"]


def test_a_cursor_with_non_ascii_digits_is_not_a_cursor(client, customer):
    forged = base64.urlsafe_b64encode("２０２６-０１-０１.１".encode()).decode().rstrip("=")
    response = client.get(f"/api/v1/accounts/{customer.main.id}/transactions", query_string={"cursor": forged},
                          headers=customer.headers)
    assert response.status_code == 400 and "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("value_date", ["２０２６-01-01", "2026-01-01\n"])
def test_value_dates_take_ascii_digits_only(client, customer, value_date):
    payload = refused(client, customer, {"amount": "1.00", "value_date": value_date}, 400, "validation_error",
                      "value_date")
    assert payload["errors"]["value_date"] == "must be a date in YYYY-MM-DD format"
