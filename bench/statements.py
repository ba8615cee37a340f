"""Count SQL statements and round trips per API request, on a database `bench/run.py` has seeded.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/statements.py

Runs each hot endpoint through the app in-process (Flask's test client, the bench's token) and counts, for one
request after a warm-up:
- statements: what SQLAlchemy sends (`before_cursor_execute`; an executemany counts once);
- round trips: the messages libpq waits for an answer to (a simple Query or an extended-protocol Sync, read
  from libpq's own trace of the connection), so BEGIN, COMMIT/ROLLBACK, the pool's pre-ping and psycopg's
  pipelined executemany are counted as the database sees them.
Also the median time per request in-process over `--requests` requests.
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import TOKEN  # noqa: E402


class Counter:
    """Counts SQLAlchemy statements and libpq round trips on every pooled connection of an engine."""

    def __init__(self, engine):
        self.statements = []
        self.trace = tempfile.TemporaryFile("w+")  # noqa: SIM115 -- lives as long as the counter
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine.pool, "connect", self._trace)
        engine.dispose()  # connections opened from now on are traced

    def _statement(self, _conn, _cursor, statement, _params, _context, _many):
        self.statements.append(" ".join(statement.split())[:90])

    def _trace(self, dbapi_connection, _record):
        dbapi_connection.pgconn.trace(self.trace.fileno())

    def start(self):
        self.statements.clear()
        self.trace.seek(0)
        self.trace.truncate()

    def round_trips(self):
        self.trace.flush()
        self.trace.seek(0)
        sent = [line.split("\t") for line in self.trace.read().splitlines()]
        # libpq's trace: timestamp, direction (F front end, B back end), length, message type, contents.
        return sum(1 for fields in sent if len(fields) > 3 and fields[1] == "F" and fields[3].split(" ")[0]
                   in ("Query", "Sync"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("PORTAL_ENV", "production")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 32)
    os.environ.setdefault("AUDIT_CHECKPOINT_KEY", "bench-only-" + "k" * 32)
    os.environ.setdefault("API_RATE_LIMIT", "100000000/minute")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        engine = db.engine
        rows = db.session.execute(sa.text(
            "SELECT a.id FROM accounts a JOIN users u ON u.id = a.owner_id WHERE u.email = 'bench@example.com' "
            "ORDER BY a.number LIMIT 2")).scalars().all()
        db.session.rollback()
        counter = Counter(engine)
    account, other = (str(a) for a in rows)
    month_ago = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    base = f"/api/v1/accounts/{account}"
    endpoints = [
        ("GET balance", "GET", f"{base}/balance", None),
        ("GET balance at a date", "GET", f"{base}/balance?date={month_ago}", None),
        ("GET transactions (first page)", "GET", f"{base}/transactions", None),
        ("POST withdrawal", "POST", f"{base}/transactions", {"amount": "-0.01", "description": "bench"}),
        ("POST transfer", "POST", f"{base}/transactions", {"amount": "-0.01", "counterparty_account_id": other}),
    ]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    print(f"| endpoint | statements | round trips | in-process ms (median of {args.requests}) |")
    print("| --- | ---: | ---: | ---: |")
    listing = {}
    for name, method, path, body in endpoints:
        for _ in range(20):
            client.open(path, method=method, headers=headers, json=body)
        counter.start()
        response = client.open(path, method=method, headers=headers, json=body)
        if response.status_code not in (200, 201):
            raise SystemExit(f"{name}: {response.status_code} {response.get_data(as_text=True)}")
        statements, trips = list(counter.statements), counter.round_trips()
        listing[name] = statements
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            client.open(path, method=method, headers=headers, json=body)
            times.append((time.perf_counter() - started) * 1000)
        print(f"| {name} | {len(statements)} | {trips} | {statistics.median(times):.2f} |", flush=True)
    print()
    for name, statements in listing.items():
        print(f"{name}:")
        for statement in statements:
            print(f"    {statement}")


if __name__ == "__main__":
    main()
