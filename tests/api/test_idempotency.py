"""Idempotency-Key: replay, conflict, and exactly one transaction under concurrent repeats."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Transaction
from tests.factories import refresh, snapshot


def post(client, customer, body, key, account=None):
    account = account or customer.main
    return client.post(f"/api/v1/accounts/{account.id}/transactions", json=body,
                       headers={**customer.headers, "Idempotency-Key": key})


def count_transactions():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Transaction))


def test_a_repeat_replays_the_first_response(client, customer):
    first = post(client, customer, {"amount": "-10.00", "description": "once"}, "key-1")
    count = count_transactions()
    again = post(client, customer, {"description": "once", "amount": "-10.00"}, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Location"] == first.headers["Location"]
    assert count_transactions() == count
    assert refresh(customer.main).balance == 90_00


def test_the_same_key_with_a_different_request_is_a_conflict(client, customer):
    post(client, customer, {"amount": "-10.00"}, "key-2")
    before = snapshot()
    changed = post(client, customer, {"amount": "-11.00"}, "key-2")
    assert changed.status_code == 409 and changed.get_json()["code"] == "idempotency_conflict"
    other_account = post(client, customer, {"amount": "-10.00"}, "key-2", account=customer.savings)
    assert other_account.status_code == 409
    after = snapshot()
    after.pop("audit_events"), before.pop("audit_events")
    assert after == before


def test_keys_are_scoped_to_the_token_owner(client, customer, stranger):
    assert post(client, customer, {"amount": "-1.00"}, "shared").status_code == 201
    theirs = client.post(f"/api/v1/accounts/{stranger.main.id}/transactions", json={"amount": "-1.00"},
                         headers={**stranger.headers, "Idempotency-Key": "shared"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers


def test_refusals_are_not_remembered(client, customer):
    refused = post(client, customer, {"amount": "-500.00"}, "key-3")
    assert refused.status_code == 409 and refused.get_json()["code"] == "insufficient_funds"
    # The same key can be used again once the request can succeed.
    accepted = post(client, customer, {"amount": "-50.00"}, "key-3")
    assert accepted.status_code == 201 and "Idempotent-Replayed" not in accepted.headers


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "naïve", "tab\there"])
def test_malformed_keys_are_refused(client, customer, key):
    before = snapshot()
    response = post(client, customer, {"amount": "-1.00"}, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["errors"]
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1  # the refusal, and nothing else
    assert after == before


@pytest.mark.postgres_only
def test_twenty_simultaneous_repeats_create_exactly_one_transaction(app, customer):
    count = count_transactions()
    barrier = threading.Barrier(20)
    path = f"/api/v1/accounts/{customer.main.id}/transactions"
    headers = {**customer.headers, "Idempotency-Key": "concurrent"}

    def send(_):
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(path, json={"amount": "-7.00"}, headers=headers)
        return response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, range(20)))
    assert {status for status, _, _ in results} == {201}
    assert len({body["id"] for _, body, _ in results}) == 1
    assert sorted(replayed or "no" for _, _, replayed in results) == ["no"] + ["true"] * 19
    assert count_transactions() == count + 1
    assert refresh(customer.main).balance == 93_00
