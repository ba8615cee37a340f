"""How values read on every page, the customer's and the back-office's alike: money, account numbers, times.

Registered on the app (not on a blueprint), so both page sets' templates use the same filters, and Python code
that renders for a page (the back-office's list formatters) imports them from here.
"""
from portal.kernel import clock
from portal.ledger import numbers
from portal.money import format_amount

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # not the locale's
KIND_LABELS = {"deposit": "Deposit", "withdrawal": "Withdrawal", "transfer": "Transfer", "reversal": "Reversal",
               "adjustment": "Correction"}
BY_THE_BANK = "Correction by the bank"  # what a customer reads of a correction that carries no note for them


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


def short_date(day):
    """Render a date the way people say it: "12 Nov", with the year only when it is not this year's."""
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == clock.today().year else f"{text} {day.year}"


def correction_text(note):
    """What a customer reads of a correction by the bank: its note for them, or a neutral line (never the reason)."""
    return f"{BY_THE_BANK}: {note}" if note else BY_THE_BANK


def counterparty(particulars, viewer_id):
    """Name the other side of a transfer as the customer knows it: their own account by its name, anyone else's
    by its owner's name (an account number means nothing to a person; the other customer's account names are
    theirs)."""
    if particulars.counterparty_owner_id == viewer_id:
        return particulars.counterparty_name
    return particulars.counterparty_owner_name or particulars.counterparty_name


def transaction_text(line, particulars, viewer_id):
    """Tell one history line as a person would say it, for the customer `viewer_id` whose account it is on.

    "Transfer to Savings", "Transfer from Bob Example: rent", "Reversal of Groceries (12 Nov)", "Correction by
    the bank: <note>"; a deposit or withdrawal by its description. The API keeps the stored description.
    """
    if line.kind == "adjustment":
        return correction_text(particulars.customer_note)
    if line.kind == "transfer":
        return _transfer_text(line.amount, line.description, particulars, viewer_id)
    if line.kind == "reversal":
        original = _plain_text(particulars.original_kind, particulars.original_description, -line.amount,
                               particulars, viewer_id)
        return f"Reversal of {original} ({short_date(particulars.original_value_date)})"
    return line.description or KIND_LABELS.get(line.kind, line.kind)


def _plain_text(kind, description, amount, particulars, viewer_id):
    """Tell a transaction that is not a reversal from its kind, description and amount on the viewer's account."""
    if kind == "adjustment":
        return BY_THE_BANK
    if kind == "transfer":
        return _transfer_text(amount, description, particulars, viewer_id)
    return description or KIND_LABELS.get(kind, kind)


def _transfer_text(amount, description, particulars, viewer_id):
    other = counterparty(particulars, viewer_id)
    text = f"Transfer {'to' if amount < 0 else 'from'} {other}" if other else "Transfer"
    return f"{text}: {description}" if description else text


def timestamp(value):
    """Render a UTC timestamp to the minute, or a dash for none."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def init_app(app):
    """Register the filters for every template of the app."""
    app.add_template_filter(money)
    app.add_template_filter(account_number)
    app.add_template_filter(timestamp)
