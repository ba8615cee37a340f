"""`flask ledger …`"""
import click

from portal.database import without_statement_timeout
from portal.ledger.check import run_checks

group = click.Group("ledger", help="Inspect the ledger.")


@group.command("check")
def check():
    """Verify every ledger invariant over the whole database; exit 1 naming each one broken."""
    without_statement_timeout()  # a whole-ledger scan may take longer than any request should
    report = run_checks()
    counts = ", ".join(f"{n} {name}" for name, n in report.stats.items())
    if report.ok:
        click.echo(f"ledger check: OK ({counts})")
        return
    for finding in report.findings:
        click.echo(f"FAIL {finding}", err=True)
    raise click.ClickException(f"ledger check: {len(report.findings)} invariant(s) broken ({counts})")
