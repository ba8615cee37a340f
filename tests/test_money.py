"""Amounts as exact integers in minor units, and IBAN-style account numbers."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.ledger import numbers
from portal.money import AmountError, format_amount, parse_amount


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("12.30", "EUR", 1230), ("-0.05", "EUR", -5), ("+7", "EUR", 700), ("0.1", "EUR", 10),
    ("9999999999999.99", "EUR", 999999999999999), ("1500", "JPY", 1500), ("0", "EUR", 0), ("-0", "EUR", 0),
])
def test_valid_amounts_convert_exactly(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(("text", "currency"), [
    ("12.345", "EUR"), ("1.5", "JPY"), ("10000000000000", "EUR"), ("1e3", "EUR"), ("12,30", "EUR"),
    (" 12", "EUR"), ("abc", "EUR"), ("", "EUR"), ("NaN", "EUR"), ("Infinity", "EUR"), (".5", "EUR"),
    ("5.", "EUR"), ("--5", "EUR"), ("١٢", "EUR"), (12.3, "EUR"), (None, "EUR"), ("1.00\n", "EUR"), ("7\n", "JPY"),
])
def test_invalid_amounts_are_refused(text, currency):
    with pytest.raises(AmountError):
        parse_amount(text, currency)


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_format_and_parse_round_trip(minor):
    assert parse_amount(format_amount(minor, "EUR"), "EUR") == minor


def test_format_amount_pads_and_signs():
    assert format_amount(5, "EUR") == "0.05"
    assert format_amount(-1230, "EUR") == "-12.30"
    assert format_amount(1500, "JPY") == "1500"


def test_generated_account_numbers_have_valid_check_digits():
    for _ in range(200):
        assert numbers.is_valid(numbers.generate())


def test_account_number_validation_knows_a_real_iban_and_spots_a_typo():
    assert numbers.is_valid("GB82 WEST 1234 5698 7654 32")
    assert not numbers.is_valid("GB82 WEST 1234 5698 7654 33")
    assert numbers.normalize(" fi21 4242\t0000 01 ") == "FI214242000001"
    assert numbers.display("FI2142420000000001") == "FI21 4242 0000 0000 01"
