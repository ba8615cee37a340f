"""docs/api.md, the API reference a clone of the project carries, keeps up with the API it describes."""
import re
from pathlib import Path

from portal.api.errors import HTTP_CODES
from portal.ledger import errors as ledger_errors

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "api.md").read_text()

# The domain refusals a POST can meet (the others are the back-office's: reversals, closing, status changes).
POSTING_REFUSALS = [ledger_errors.InsufficientFunds, ledger_errors.AccountFrozen, ledger_errors.AccountClosed]


def test_every_operation_of_the_openapi_document_is_described(client):
    spec = client.get("/api/v1/swagger.json").get_json()
    for path, operations in spec["paths"].items():
        for method in operations.keys() & {"get", "post", "put", "patch", "delete"}:
            assert f"### `{method.upper()} {path}`" in REFERENCE, (method, path)
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] != "body":  # the body's fields are the NewTransaction model's, below
                    assert f"`{parameter['name']}`" in REFERENCE, (path, parameter["name"])
    for name, schema in spec["definitions"].items():
        for field in schema.get("properties", {}):
            assert f"`{field}`" in REFERENCE or f'"{field}"' in REFERENCE, (name, field)


def test_every_error_code_is_listed_with_its_status():
    rows = re.findall(r"^\| ([0-9]{3}) \| `([a-z_]+)` \|", REFERENCE, re.MULTILINE)
    listed = {(int(status), code) for status, code in rows}
    expected = {(status, code) for status, code in HTTP_CODES.items()}
    expected |= {(409, refusal.code) for refusal in POSTING_REFUSALS}
    expected |= {(409, "idempotency_conflict"), (500, "internal_error"), (503, "service_unavailable")}
    assert expected <= listed


def test_the_docs_link_nothing_outside_the_repository():
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)]+)\)", doc.read_text()):
            if not target.startswith(("http://", "https://", "#", "mailto:")):
                path = target.split("#")[0]
                assert (doc.parent / path).resolve().is_relative_to(ROOT), (doc.name, target)
                assert (doc.parent / path).exists(), (doc.name, target)


def test_the_demo_token_is_described_as_demo_load_issues_it(runner):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import ApiToken

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "Demo budgeting app"))
    scopes = token.scopes.split()
    assert "deposits:write" not in scopes  # a customer cannot give it; the payment rail's token holds it
    for doc in (REFERENCE, (ROOT / "README.md").read_text()):
        (said,) = re.findall(r"^`make run` prints a demo token.*?With the server running", doc, re.S | re.M)
        said = " ".join(said.split())
        assert "every scope," not in said and "no `deposits:write`" in said, said
        assert all(f"`{scope}`" in said for scope in scopes), said
