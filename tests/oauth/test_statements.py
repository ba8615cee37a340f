"""Statements through an OAuth access token: the consent's scopes and accounts, as for every other read."""
from portal import ledger
from portal.ledger.statements import Month
from tests.oauth.conftest import code_for, exchange


def access_token(client, budgetly, accounts, scope):
    code, verifier = code_for(client, budgetly, accounts, scope=scope)
    return exchange(client, budgetly, code, verifier).get_json()["access_token"]


def test_an_app_reads_the_statements_of_the_accounts_it_was_granted(ann_client, budgetly, ann):
    _, main, savings = ann
    token = access_token(ann_client, budgetly, [main], "accounts:read transactions:read")
    headers = {"Authorization": f"Bearer {token}"}
    period = str(Month.of(ledger.today()))
    listed = ann_client.get(f"/api/v1/accounts/{main.id}/statements", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["data"][0] == {"period": period, "partial": True}
    pdf = ann_client.get(f"/api/v1/accounts/{main.id}/statements/{period}",
                         headers={**headers, "Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = ann_client.get(f"/api/v1/accounts/{savings.id}/statements/{period}", headers=headers)
    assert other.status_code == 404  # the customer's, but not consented to


def test_a_consent_without_transactions_read_is_403(ann_client, budgetly, ann):
    _, main, _ = ann
    token = access_token(ann_client, budgetly, [main], "accounts:read")
    response = ann_client.get(f"/api/v1/accounts/{main.id}/statements", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
