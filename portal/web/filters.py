"""Template filters: money and dates the way people read them."""
from portal.ledger import numbers
from portal.money import format_amount

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def money(minor, currency):
    """1234567, EUR -> "€12,345.67"; negative amounts get a real minus sign."""
    plain = format_amount(abs(minor), currency)
    whole, _, fraction = plain.partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    sign = "−" if minor < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{grouped}" if symbol else f"{sign}{grouped} {currency}"


def account_number(number):
    return numbers.display(number)


def init_app(app):
    app.add_template_filter(money)
    app.add_template_filter(account_number)
    app.add_template_filter(lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else "—", "timestamp")
