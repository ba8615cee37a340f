"""A month's statement as the bank hands it out, as CSV or PDF: the same files for the API, the pages and staff.

The ledger builds the statement (`portal.ledger.statements`); this package only lays it out (the API's JSON
`Statement` is `portal.api.statements.statement_json`, from the same lines and words). A transaction
reads here as it reads on the account page (`display.transaction_text`), from the account holder's side.
"""
import csv
import io

from flask import Response

from portal.display import counterparty, transaction_text
from portal.money import format_amount
from portal.text import neutralise_formula

JSON, CSV, PDF = "application/json", "text/csv", "application/pdf"
MEDIA_TYPES = (JSON, CSV, PDF)  # the first is the default
EXTENSIONS = {CSV: "csv", PDF: "pdf"}
CSV_COLUMNS = ("date", "description", "kind", "counterparty", "amount", "balance_after")


def told(statement):
    """Return [(StatementLine, what the holder reads of it, the other side's name or None)], oldest first."""
    viewer = statement.account.owner_id
    return [(item, transaction_text(item.line, item.particulars, viewer),
             counterparty(item.particulars, viewer) if item.line.counterparty_account_id else None)
            for item in statement.lines]


def amount(statement, minor):
    """A decimal string in the statement's currency: "-25.00"."""
    return format_amount(minor, statement.account.currency)


def header_rows(statement):
    """The rows above the CSV's table: who, which account, which month, and the balances."""
    account = statement.account
    return [
        ("account", account.number),
        ("holder", statement.holder or ""),
        ("currency", account.currency),
        ("period", str(statement.period) + (" (so far)" if statement.partial else "")),
        ("from", statement.date_from.isoformat()),
        ("to", statement.date_to.isoformat()),
        ("opening_balance", amount(statement, statement.opening)),
        ("total_in", amount(statement, statement.total_in)),
        ("total_out", amount(statement, statement.total_out)),
        ("closing_balance", amount(statement, statement.closing)),
    ]


def csv_rows(statement):
    """Yield the CSV's rows: the header block, an empty row, the column names, one row per transaction."""
    yield from header_rows(statement)
    yield ()
    yield CSV_COLUMNS
    for item, text, other in told(statement):
        line = item.line
        yield (line.value_date.isoformat(), text, line.kind, other or "", amount(statement, line.amount),
               amount(statement, item.balance_after))


def csv_chunks(statement, rows_per_chunk=200):
    """Return a generator of the CSV as UTF-8 text, a chunk of rows at a time, every cell neutralised against
    formulas.

    The rows are told now, in the request (the words need the app's clock, the account its session); the
    generator only writes them out while the response is sent.
    """
    rows = list(csv_rows(statement))

    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for count, row in enumerate(rows, start=1):
            writer.writerow([neutralise_formula(cell) for cell in row])
            if count % rows_per_chunk == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    return chunks()


def filename(statement, media_type):
    """A file name that says whose and which: statement-FI2142420000000001-2026-11.csv."""
    return f"statement-{statement.account.number}-{statement.period}.{EXTENSIONS[media_type]}"


def download(statement, media_type):
    """Return the CSV (streamed) or PDF response for the statement, as an attachment with a sensible name."""
    if media_type == CSV:
        body, mimetype = csv_chunks(statement), "text/csv; charset=utf-8"
    else:
        from portal.statements.pdf import render  # fpdf2 and the fonts load only when a PDF is asked for

        body, mimetype = render(statement), PDF
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(statement, media_type)}"'
    response.headers["Cache-Control"] = "private, no-store"  # a customer's money: no shared cache keeps it
    return response

