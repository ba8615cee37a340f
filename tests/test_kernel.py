"""The shared kernel: one clock every package reads, and the import direction identity → kernel ← ledger."""
import ast
import datetime as dt
import pathlib

import sqlalchemy as sa

from portal import audit, kernel, ledger
from portal.extensions import db
from portal.kernel import clock
from portal.models import AuditEvent
from tests.factories import SYSTEM, make_user

PORTAL = pathlib.Path(kernel.__file__).resolve().parent.parent


def imported_portal_modules(package):
    """Every portal module the files of `package` import, by name."""
    names = set()
    for path in (PORTAL / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("portal"):
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names if alias.name.startswith("portal"))
    return names


def test_the_kernel_imports_none_of_the_packages_that_import_it():
    imported = imported_portal_modules("kernel")
    assert not [name for name in imported if name.split(".")[1] in {"identity", "ledger", "audit", "models"}]


def test_identity_takes_errors_and_clock_from_the_kernel_not_the_ledger():
    assert not [name for name in imported_portal_modules("identity") if name.startswith("portal.ledger")]


def test_the_ledgers_clock_is_the_kernels_clock_module_itself():
    assert ledger.clock is clock
    assert ledger.LedgerError is kernel.errors.DomainError
    assert issubclass(ledger.InvalidValueDate, kernel.errors.ValidationError)


def test_one_patch_of_the_clock_moves_the_ledger_the_audit_log_and_the_column_defaults(app, monkeypatch):
    moment = dt.datetime(2031, 5, 6, 22, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    user = make_user()  # created_at is a column default; creating the user is audited
    audit.record(SYSTEM, "test.event")
    db.session.commit()
    assert ledger.today() == dt.date(2031, 5, 6)
    assert user.created_at == moment
    occurred = db.session.scalars(sa.select(AuditEvent.occurred_at)).all()
    assert occurred and set(occurred) == {moment}


def test_the_error_pages_and_page_security_import_nothing_of_the_api():
    """The API registers its own error answer and request limits: the app-wide modules do not reach into it."""
    for module in ("errors.py", "security.py"):
        tree = ast.parse((PORTAL / module).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not [name for name in imported if name and name.startswith("portal.api")], module
