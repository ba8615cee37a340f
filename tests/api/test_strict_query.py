"""Query parameters are strict like bodies: one the endpoint does not take, or one given twice, is 400 naming it
(reported: `?date=` on the transactions list was ignored and the whole list answered); a JSON key given twice
is 400 too, never resolved by taking the last one."""
import pytest

from tests.api.conftest import bearer, issue
from tests.api.test_errors import assert_envelope
from tests.factories import make_account, make_user, snapshot


@pytest.fixture
def reader(app):
    user = make_user()
    account = make_account(user, days_old=30, balance=50_00)
    secret = issue(user, [account], scopes=["accounts:read", "transactions:read", "transactions:write"])
    return account, secret


@pytest.mark.parametrize(("path", "query", "errors"), [
    ("/transactions", "date=2026-01-01", {"date": "is not a parameter of this endpoint"}),
    ("/balance", "foo=1", {"foo": "is not a parameter of this endpoint"}),
    ("", "verbose=1", {"verbose": "is not a parameter of this endpoint"}),
    ("/transactions", "limit=5&limit=10", {"limit": "must be given once"}),
    ("/balance", "date=2026-01-01&date=2026-01-02", {"date": "must be given once"}),
    ("/transactions", "From=2026-01-01&limit=2&limit=3", {"From": "is not a parameter of this endpoint",
                                                          "limit": "must be given once"}),
])
def test_an_unknown_or_repeated_query_parameter_is_400_naming_it(client, reader, path, query, errors):
    account, secret = reader
    response = client.get(f"/api/v1/accounts/{account.id}{path}?{query}", headers=bearer(secret))
    assert_envelope(response, 400, "validation_error")
    assert response.get_json()["errors"] == errors


def test_the_list_of_accounts_takes_no_parameters_and_known_ones_still_work(client, reader):
    account, secret = reader
    assert client.get("/api/v1/accounts?page=2", headers=bearer(secret)).status_code == 400
    assert client.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200
    listed = client.get(f"/api/v1/accounts/{account.id}/transactions?limit=1&from=2020-01-01", headers=bearer(secret))
    assert listed.status_code == 200 and len(listed.get_json()["data"]) == 1


def test_a_key_given_twice_in_a_body_is_400_and_nothing_is_posted(client, reader):
    account, secret = reader
    before = snapshot()
    response = client.post(f"/api/v1/accounts/{account.id}/transactions", headers={
        **bearer(secret), "Content-Type": "application/json"}, data='{"amount": "-0.01", "amount": "-0.02"}')
    assert_envelope(response, 400, "validation_error")
    assert response.get_json()["errors"] == {"body": "has the key 'amount' more than once"}
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1 and after == before
