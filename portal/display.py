"""How values read on every page, the customer's and the back-office's alike: money, account numbers, times.

Registered on the app (not on a blueprint), so both page sets' templates use the same filters, and Python code
that renders for a page (the back-office's list formatters) imports them from here.
"""
from portal.ledger import numbers
from portal.money import format_amount

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def money(minor, currency):
    """Render minor units for people: 1234567, EUR -> "€12,345.67"; negative amounts get a real minus sign."""
    plain = format_amount(abs(minor), currency)
    whole, _, fraction = plain.partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    sign = "−" if minor < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{grouped}" if symbol else f"{sign}{grouped} {currency}"


def account_number(number):
    """Render an account number in groups of four, as people read and type it."""
    return numbers.display(number)


def account_label(account):
    """Name an account as people tell their accounts apart: "Main (FI21 4242 …)"."""
    return f"{account.name} ({numbers.display(account.number)})"


def timestamp(value):
    """Render a UTC timestamp to the minute, or a dash for none."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def init_app(app):
    """Register the filters for every template of the app."""
    app.add_template_filter(money)
    app.add_template_filter(account_number)
    app.add_template_filter(timestamp)
