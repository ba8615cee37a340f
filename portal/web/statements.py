"""`/accounts/<id>/statements`: the months of one of the customer's accounts, each as CSV and PDF."""
import calendar

from flask import abort, render_template

from portal import ledger, statements
from portal.ledger import statements as ledger_statements
from portal.web.routes import bp, customer_required, own_account_or_404

FORMATS = {"csv": statements.CSV, "pdf": statements.PDF}


def month_name(month):
    """Name a month as people do: "November 2026" (English, as every page; not the server's locale)."""
    return f"{calendar.month_name[month.month]} {month.year}"


@bp.get("/accounts/<uuid:account_id>/statements")
@customer_required
def statements_page(account_id):
    """The account's months, newest first (the current one "so far"), each downloadable as CSV and PDF."""
    account = own_account_or_404(account_id)
    months = [(str(month), month_name(month), partial) for month, partial in ledger_statements.periods(account)]
    return render_template("web/statements.html", account=account, months=months)


@bp.get("/accounts/<uuid:account_id>/statements/<period>.<any(csv, pdf):kind>")
@customer_required
def statement_download(account_id, period, kind):
    """One month's statement as a CSV or PDF attachment; 404 for a month without one (or not a month at all)."""
    account = own_account_or_404(account_id)
    try:
        statement = ledger_statements.statement(account, ledger_statements.parse_month(period))
    except (ledger.ValidationError, ledger_statements.UnknownPeriod):
        abort(404)
    return statements.download(statement, FORMATS[kind])
