"""Staff download a customer's statement from the account's back-office page; each download is audited as an
access to the customer's data."""
import csv
import io

import pytest
import sqlalchemy as sa

from portal import ledger
from portal.extensions import db
from portal.ledger.statements import Month
from portal.models import AuditEvent
from tests.factories import snapshot


def statement_url(account, **args):
    query = "&".join(f"{key}={value}" for key, value in args.items())
    return f"/admin/account/{account.id}/statement?{query}"


def downloads():
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "statement.download")).all()


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_staff_role_downloads_a_statement_and_it_is_audited(as_role, bank, role):
    client = as_role(role)
    details = client.get(f"/admin/account/details/?id={bank.main.id}").text
    assert 'data-testid="statement-form"' in details
    period = str(Month.of(ledger.today()))
    response = client.get(statement_url(bank.main, period=period, format="csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header = dict(row for row in table[:table.index([])])
    assert header["account"] == bank.main.number and header["holder"] == "Carla Customer"
    assert header["closing_balance"] == "150.00"
    [event] = downloads()
    assert (event.object_type, event.object_id, event.outcome) == ("account", str(bank.main.id), "success")
    assert event.actor_user_id == bank.staff[role].id and event.subject_user_id == bank.customer.id
    assert event.changes == {"period": [None, period], "format": [None, "csv"]}
    pdf = client.get(statement_url(bank.main, period=period, format="pdf"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(downloads()) == 2


@pytest.mark.parametrize("args", [{"period": "2026-13", "format": "csv"}, {"period": "2999-01", "format": "pdf"},
                                  {"format": "csv"}, {"period": "2026-11", "format": "xls"}])
def test_a_bad_request_is_404_and_audits_nothing(as_role, bank, args):
    client = as_role("viewer")
    before = snapshot()
    assert client.get(statement_url(bank.main, **args)).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("role", ["anonymous", "customer"])
def test_customers_and_strangers_never_reach_it(as_role, bank, role):
    period = str(Month.of(ledger.today()))
    response = as_role(role).get(statement_url(bank.main, period=period, format="csv"))
    assert response.status_code in (302, 403)
    assert downloads() == []
