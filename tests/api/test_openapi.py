"""The OpenAPI document: valid, complete, served with a local Swagger UI, and true to the API's behaviour.

Schemathesis generates requests from the document (valid and invalid) and checks each response: no 5xx,
a documented status code and content type, and a body that matches the documented schema.
"""
import calendar
import re
from decimal import Decimal

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.commands.demo import DEMO_APP, SWAGGER_REDIRECT
from portal.extensions import db
from portal.models import Entry

SPEC = "/api/v1/swagger.json"


def test_the_document_is_valid_and_declares_bearer_auth_and_every_error(client):
    spec = client.get(SPEC).get_json()
    validate(spec)
    bearer = spec["securityDefinitions"]["bearer"]
    assert {key: bearer[key] for key in ("type", "in", "name")} == {
        "type": "apiKey", "in": "header", "name": "Authorization"}
    assert "`Bearer pt_…`" in bearer["description"] and "alone" in bearer["description"]
    assert "docs/api.md" in spec["info"]["description"]
    assert spec["security"] == [{"bearer": []}, {"oauth2": []}]
    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
                  if method in {"get", "post"}]
    assert len(operations) == 8
    for path, method, operation in operations:
        codes = set(operation["responses"])
        assert {"401", "403", "429", "500"} <= codes, (path, method)
        if "{account_id}" in path:
            assert "404" in codes
        for code, response in operation["responses"].items():
            expected = "#/definitions/Error" if code >= "400" else None
            if expected:
                assert response["schema"]["$ref"] == expected
        assert operation["summary"]
    assert {"Account", "AccountList", "Balance", "Transaction", "TransactionPage", "NewTransaction",
            "Statement", "StatementList", "Error"} <= set(spec["definitions"])


def test_the_statement_is_documented_in_all_three_media_types(client):
    operation = client.get(SPEC).get_json()["paths"]["/accounts/{account_id}/statements/{period}"]["get"]
    assert operation["produces"] == ["application/json", "text/csv", "application/pdf"]
    assert operation["responses"]["200"]["schema"] == {"$ref": "#/definitions/Statement"}
    assert "Content-Disposition" in operation["responses"]["200"]["headers"]
    assert operation["responses"]["406"]["schema"] == {"$ref": "#/definitions/Error"}


# The code each status carries (docs/api.md and the design's error table; 409 has four, any of them will do).
CODES = {"400": {"validation_error"}, "401": {"unauthorized"}, "403": {"forbidden"}, "404": {"not_found"},
         "406": {"not_acceptable"},
         "409": {"insufficient_funds", "account_frozen", "account_closed", "idempotency_conflict"},
         "413": {"payload_too_large"}, "414": {"uri_too_long"}, "415": {"unsupported_media_type"},
         "429": {"rate_limited"}, "431": {"headers_too_large"}, "500": {"internal_error"}}


def test_each_documented_error_shows_an_example_with_the_code_its_status_carries(client):
    spec = client.get(SPEC).get_json()
    error_schema = spec["definitions"]["Error"]
    shown = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post"}:
                continue
            for status, response in operation["responses"].items():
                if status < "400":
                    assert "examples" not in response
                    continue
                example = response["examples"]["application/json"]
                assert example["code"] in CODES[status], (path, method, status, example)
                assert set(error_schema["required"]) <= set(example) <= set(error_schema["properties"])
                assert ("errors" in example) == (status == "400")
                shown.add(status)
    assert shown == set(CODES)


def test_the_statement_example_is_one_month_that_adds_up(client):
    definitions = client.get(SPEC).get_json()["definitions"]
    statement = definitions["Statement"]
    example = statement["example"]
    assert set(statement["required"]) <= set(example) <= set(statement["properties"])
    line_fields = set(definitions["Transaction"]["required"]) | set(
        statement["properties"]["transactions"]["items"]["allOf"][1]["required"])
    lines = example["transactions"]
    assert lines and all(set(line) == line_fields for line in lines)
    year, month = map(int, example["period"].split("-"))
    last_day = calendar.monthrange(year, month)[1]
    assert (example["from"], example["to"]) == (f"{example['period']}-01", f"{example['period']}-{last_day}")
    assert all(example["from"] <= line["value_date"] <= example["to"] for line in lines)
    assert [line["value_date"] for line in lines] == sorted(line["value_date"] for line in lines)

    amounts = [Decimal(line["amount"]) for line in lines]
    assert Decimal(example["total_in"]) == sum(amount for amount in amounts if amount > 0)
    assert Decimal(example["total_out"]) == -sum(amount for amount in amounts if amount < 0)
    balance = Decimal(example["opening_balance"])
    for line, amount in zip(lines, amounts, strict=True):
        balance += amount
        assert Decimal(line["balance_after"]) == balance, line
    assert balance == Decimal(example["closing_balance"]) == (
        Decimal(example["opening_balance"]) + Decimal(example["total_in"]) - Decimal(example["total_out"]))
    # A deposit brings money in and a withdrawal takes it out, as the API tells them.
    for line, amount in zip(lines, amounts, strict=True):
        assert {"deposit": amount > 0, "withdrawal": amount < 0}.get(line["kind"], True), line


def descriptions(node):
    """Every description and summary in the document, however deep."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"description", "summary"} and isinstance(value, str):
                yield value
            else:
                yield from descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from descriptions(value)


def test_no_description_holds_a_placeholder_that_markdown_would_swallow_as_a_tag(client):
    # Swagger UI renders descriptions as Markdown with HTML allowed: `<number>` outside a code span vanishes.
    spec = client.get(SPEC).get_json()
    for text in descriptions(spec):
        assert not re.search(r"<[A-Za-z][^>]*>", re.sub(r"`[^`]*`", "", text)), text
    operation = spec["paths"]["/accounts/{account_id}/statements/{period}"]["get"]
    disposition = operation["responses"]["200"]["headers"]["Content-Disposition"]["description"]
    assert "statement-{number}-{YYYY-MM}.csv" in disposition and ".pdf" in disposition
    assert "statement-{number}-{YYYY-MM}.csv` or `.pdf`" in operation["description"]


def test_the_document_declares_the_oauth_authorization_code_scheme(client):
    oauth = client.get(SPEC).get_json()["securityDefinitions"]["oauth2"]
    assert {key: oauth[key] for key in ("type", "flow", "authorizationUrl", "tokenUrl")} == {
        "type": "oauth2", "flow": "accessCode", "authorizationUrl": "http://localhost/oauth/authorize",
        "tokenUrl": "http://localhost/oauth/token"}
    assert set(oauth["scopes"]) == {"accounts:read", "transactions:read", "transactions:write"}


def test_the_oauth_help_names_where_the_demo_app_can_be_tried_and_asks_for_a_scope(client):
    help_text = client.get(SPEC).get_json()["securityDefinitions"]["oauth2"]["description"]
    origins = [uri.removesuffix(SWAGGER_REDIRECT) for uri in DEMO_APP["redirect_uris"]
               if uri.endswith(SWAGGER_REDIRECT)]
    assert origins and all(f"`{origin}`" in help_text for origin in origins)
    assert "port 5000" in help_text and "make run" not in help_text
    assert "at least one scope" in help_text


def test_swagger_ui_is_served_from_local_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert assets and all(asset.startswith("/") and not asset.startswith("//") for asset in assets)
    for asset in assets:
        with client.get(asset) as response:
            assert response.status_code == 200, asset


def test_generated_requests_get_documented_responses_and_never_a_5xx(app, customer):
    # Schemathesis' own pytest plugin does not run on pytest 9 yet, so each operation's strategy is drawn from
    # directly with hypothesis.
    schema = schemathesis.openapi.from_wsgi(SPEC, app)
    transaction_id = str(db.session.scalar(db.select(Entry.transaction_id)
                                           .where(Entry.account_id == customer.main.id)))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    seen = set()

    for operation in operations:
        @given(case=operation.as_strategy())
        # The same cases every run: since free text refuses control characters, a random 25 may hold no valid
        # posting at all, and the check below would fail by chance. tests/api/test_stateful.py explores at random.
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def conforms(case):
            # Aim at the customer's real account and transaction, so generated bodies and queries reach the
            # ledger instead of stopping at a 404.
            if "account_id" in (case.path_parameters or {}):
                case.path_parameters["account_id"] = str(customer.main.id)
            if "transaction_id" in (case.path_parameters or {}):
                case.path_parameters["transaction_id"] = transaction_id
            response = case.call(headers={**(case.headers or {}), **customer.headers})
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            seen.add((case.method, response.status_code))
            case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                                     response_schema_conformance])

        conforms()
    # The generated requests got past validation too, not only refusals.
    assert {("GET", 200), ("POST", 201), ("POST", 400)} <= seen, seen
