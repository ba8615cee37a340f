"""Money as integers in minor units, and its exact conversion from and to decimal strings."""
import re

# ISO 4217 currencies the bank keeps accounts in, with their number of decimals (minor unit exponent).
CURRENCIES = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "JPY": 0}
MAX_INTEGER_DIGITS = 13

# Matched whole (fullmatch: "$" would also match before a trailing newline), ASCII digits only.
_AMOUNT = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


class AmountError(ValueError):
    """The text is not an amount this currency can hold."""


def exponent(currency):
    """Return the number of decimals of `currency`; raise KeyError for one the bank does not keep."""
    return CURRENCIES[currency]


def parse_amount(text, currency):
    """Convert a decimal string such as "-12.30" to minor units, exactly, or raise AmountError.

    Refused: anything but plain digits with an optional sign and point (no exponent, no spaces, no thousands
    separators), more decimals than the currency has, more than 13 digits before the point.
    Zero is returned as 0; whether zero is acceptable is the caller's rule.
    """
    if not isinstance(text, str):
        raise AmountError("must be a decimal string such as \"12.30\"")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise AmountError("must be a decimal string such as \"12.30\"")
    digits = exponent(currency)
    integer, fraction = match["int"], match["frac"] or ""
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise AmountError(f"must have at most {MAX_INTEGER_DIGITS} digits before the decimal point")
    if match["frac"] is not None and digits == 0:
        raise AmountError(f"{currency} amounts have no decimals")
    if len(fraction) > digits:
        raise AmountError(f"{currency} amounts have at most {digits} decimals")
    minor = int(integer) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    return -minor if match["sign"] == "-" else minor


def format_amount(minor, currency):
    """Render minor units as a plain decimal string: 1230, EUR -> "12.30"; -5, EUR -> "-0.05"."""
    digits = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}" if digits else f"{sign}{whole}"
