"""What the API takes in before it does any work: body size, media type, nesting, URL and header sizes.

A body is read only after the caller authenticated, and never past MAX_CONTENT_LENGTH; anything too big or of the
wrong kind is answered in the envelope (413, 415, 414, 431) and changes nothing.
"""
import io
import json

import pytest

from tests.api.test_errors import assert_envelope
from tests.factories import snapshot

OVER_THE_LIMIT = 70 * 1024  # the default MAX_CONTENT_LENGTH is 64 KiB


def posting_path(customer):
    return f"/api/v1/accounts/{customer.main.id}/transactions"


def test_a_body_over_the_limit_is_413_in_the_envelope_and_changes_nothing(client, customer):
    before = snapshot()
    body = json.dumps({"amount": "-1.00", "description": "x" * OVER_THE_LIMIT})
    response = client.post(posting_path(customer), data=body,
                           headers={**customer.headers, "Content-Type": "application/json"})
    assert_envelope(response, 413, "payload_too_large")
    assert snapshot() == before  # refused on its Content-Length, before anything else


def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit(client, customer):
    before = snapshot()
    body = io.BytesIO(json.dumps({"amount": "-1.00", "description": "x" * OVER_THE_LIMIT}).encode())
    # Chunked transfer encoding: no Content-Length, the server (gunicorn) marks the stream as terminated.
    response = client.post(posting_path(customer), input_stream=body,
                           headers={**customer.headers, "Content-Type": "application/json"},
                           environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    assert_envelope(response, 413, "payload_too_large")
    assert body.tell() <= OVER_THE_LIMIT  # read no further than the limit (and a buffer)
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer pt_invented-by-the-caller"}])
def test_an_unauthenticated_body_is_never_read(client, customer, headers):
    body = io.BytesIO(b"[" * 30_000 + b"]" * 30_000)  # would be a RecursionError if anything parsed it
    before = snapshot()
    response = client.post(posting_path(customer), input_stream=body,
                           headers={**headers, "Content-Type": "application/json"})
    assert_envelope(response, 401, "unauthorized")
    assert body.tell() == 0  # not a byte read
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1  # the 401, as ever
    assert after == before


def test_an_unauthenticated_body_declared_over_the_limit_is_413_unread(client, customer):
    body = io.BytesIO(b"{" * (OVER_THE_LIMIT + 1))
    before = snapshot()
    response = client.post(posting_path(customer), input_stream=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 413, "payload_too_large")
    assert body.tell() == 0  # not a byte read
    assert snapshot() == before


@pytest.mark.parametrize("depth", [990, 5_000, 30_000])
def test_deeply_nested_json_is_a_validation_error_not_a_500(client, customer, depth):
    before = snapshot()
    raw = "[" * depth + "]" * depth
    response = client.post(posting_path(customer), data=raw,
                           headers={**customer.headers, "Content-Type": "application/json"})
    body = assert_envelope(response, 400, "validation_error")
    assert "body" in body["errors"]
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


def test_deeply_nested_json_in_a_field_is_a_validation_error_not_a_500(client, customer):
    before = snapshot()
    raw = '{"amount": "-1.00", "description": ' + "[" * 900 + "]" * 900 + "}"
    response = client.post(posting_path(customer), data=raw,
                           headers={**customer.headers, "Content-Type": "application/json"})
    assert_envelope(response, 400, "validation_error")
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/merge-patch+json",
                                          "application/jsonx"])
def test_a_body_that_is_not_application_json_is_415(client, customer, content_type):
    before = snapshot()
    headers = {**customer.headers, **({"Content-Type": content_type} if content_type else {})}
    response = client.post(posting_path(customer), data=json.dumps({"amount": "-1.00"}), headers=headers)
    assert_envelope(response, 415, "unsupported_media_type")
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8"])
def test_application_json_with_or_without_parameters_is_accepted(client, customer, content_type):
    response = client.post(posting_path(customer), data=json.dumps({"amount": "-1.00"}),
                           headers={**customer.headers, "Content-Type": content_type})
    assert response.status_code == 201, response.get_json()


def test_a_nul_character_in_the_body_is_still_a_validation_error_naming_the_body(client, customer):
    before = snapshot()
    response = client.post(posting_path(customer), json={"amount": "-1.00", "description": "a\x00b"},
                           headers=customer.headers)
    body = assert_envelope(response, 400, "validation_error")
    assert "body" in body["errors"]
    after = snapshot()
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    assert after == before


def test_a_url_too_long_for_the_api_is_414_in_the_envelope(client, customer):
    response = client.get("/api/v1/accounts", query_string={"x": "a" * 3000}, headers=customer.headers)
    assert_envelope(response, 414, "uri_too_long")
    # Under the limit the URL is read: here, to be refused for a parameter the endpoint does not take.
    under = client.get("/api/v1/accounts", query_string={"x": "a" * 1500}, headers=customer.headers)
    assert_envelope(under, 400, "validation_error")


def test_a_header_too_big_for_the_api_is_431_in_the_envelope(client, customer):
    response = client.get("/api/v1/accounts", headers={**customer.headers, "X-Padding": "a" * 5000})
    assert_envelope(response, 431, "headers_too_large")
    assert client.get("/api/v1/accounts", headers={**customer.headers, "X-Padding": "a" * 3000}).status_code == 200


def test_too_many_headers_for_the_api_is_431_in_the_envelope(client, customer):
    many = {f"X-Header-{n}": "x" for n in range(60)}
    assert_envelope(client.get("/api/v1/accounts", headers={**customer.headers, **many}), 431, "headers_too_large")
    fewer = {f"X-Header-{n}": "x" for n in range(30)}
    assert client.get("/api/v1/accounts", headers={**customer.headers, **fewer}).status_code == 200


def test_a_web_form_over_the_limit_is_a_413_page(client):
    before = snapshot()
    response = client.post("/login", data={"email": "ann@example.com", "password": "x" * OVER_THE_LIMIT})
    assert response.status_code == 413
    assert response.mimetype == "text/html" and "too large" in response.text.lower()
    assert snapshot() == before
