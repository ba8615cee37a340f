"""How costs grow with one account's history: 1 000, 100 000 and 1 000 000 entries over three years.

    .venv/bin/python bench/growth.py [--sizes 1000 100000 1000000] [--calls 300] [--statement-calls 10]
                                     [--database-url postgresql+psycopg://…/an_existing_database]

For each size it bulk-loads one account (bench/seed.py), then measures, on PostgreSQL:
- in the database: EXPLAIN (ANALYZE, BUFFERS) of the queries behind balance now, balance at a date, the first page
  of transactions, a page deep in the history, and the overdraft check of a backdated posting;
- through the app (in-process Flask test client, medians of --calls calls): GET balance, GET balance at a date,
  GET transactions (first page and a deep cursor);
- a monthly statement of 1 000 transactions: each account also gets a month of its own before the three years
  (the account opened a month earlier, 1 000 deposits in that month, every later day-end moved by their sum), so
  the same 1 000-line month sits on a short and on a long history; its query in the database, and GET statement
  as JSON, CSV and PDF through the app (medians of --statement-calls calls).
Without --database-url it creates (and drops first) the database portal_growth; with it, it empties that database
(TRUNCATE of every table) and loads it.
It writes docs/growth.png and docs/growth.md (tables and the EXPLAIN plans of the largest account).
"""
import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "pt_" + "growth" * 7 + "a"
DAYS = 3 * 365


def explain(conn, sql, params):
    rows = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars().all()
    ms = float(next(r for r in rows if r.startswith("Execution Time")).split()[2])
    return ms, "\n".join(rows)


STATEMENT_LINES = 1_000


def statement_month(engine, account_id):
    """Give the account a month of STATEMENT_LINES deposits of 1.00 before its seeded history: it opens on the
    first day of the month before, and every later balance and day-end rises by their sum, as postings would have
    left them (the ledger check still holds). Return the month's first and last day."""
    from portal.ledger.statements import Month

    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        opened = conn.execute(sa.text("SELECT opened_on FROM accounts WHERE id = :a"), {"a": account_id}).scalar()
        month = Month.of(opened).previous()
        settlement = conn.execute(sa.text(
            "SELECT id FROM accounts WHERE system_code = 'settlement' AND currency = 'EUR'")).scalar()
        conn.execute(sa.text("CREATE TEMP TABLE month (tx uuid, day date) ON COMMIT DROP"))
        conn.execute(sa.text(
            "INSERT INTO month SELECT gen_random_uuid(), CAST(:first AS date) + (g % :days) "
            "FROM generate_series(0, :n - 1) AS g"),
            {"first": month.first_day, "days": month.last_day.day, "n": STATEMENT_LINES})
        conn.execute(sa.text(
            "INSERT INTO transactions (id, kind, value_date, booked_at, description) "
            "SELECT tx, 'deposit', day, now(), 'Statement month deposit' FROM month"))
        conn.execute(sa.text(
            "INSERT INTO entries (transaction_id, account_id, amount, value_date) "
            "SELECT tx, :a, 100, day FROM month UNION ALL SELECT tx, :s, -100, day FROM month ORDER BY 4, 1"),
            {"a": account_id, "s": settlement})
        conn.execute(sa.text("UPDATE daily_balances SET closing = closing + :sum WHERE account_id = :a"),
                     {"a": account_id, "sum": 100 * STATEMENT_LINES})
        conn.execute(sa.text(
            "INSERT INTO daily_balances (account_id, day, closing) "
            "SELECT :a, day, 100 * sum(count(*)) OVER (ORDER BY day) FROM month GROUP BY day"), {"a": account_id})
        conn.execute(sa.text("UPDATE accounts SET balance = balance + :sum, opened_on = :first WHERE id = :a"),
                     {"a": account_id, "sum": 100 * STATEMENT_LINES, "first": month.first_day})
        conn.execute(sa.text("ANALYZE"))
    return month


def db_queries(account_id, today, month=None, month_ids=()):
    mid = today - dt.timedelta(days=DAYS // 2)
    deep = today - dt.timedelta(days=DAYS - 10)
    queries = {
        "balance now": ("SELECT balance FROM accounts WHERE id = :a", {"a": account_id}),
        "balance at a date": ("SELECT closing FROM daily_balances WHERE account_id = :a AND day <= :d "
                              "ORDER BY day DESC LIMIT 1", {"a": account_id, "d": mid}),
        "transactions, first page": (
            "SELECT e.id, e.amount, t.description FROM entries e JOIN transactions t ON t.id = e.transaction_id "
            "WHERE e.account_id = :a ORDER BY e.value_date DESC, e.id DESC LIMIT 26", {"a": account_id}),
        "transactions, deep page": (
            "SELECT e.id, e.amount, t.description FROM entries e JOIN transactions t ON t.id = e.transaction_id "
            "WHERE e.account_id = :a AND (e.value_date, e.id) < (:d, :i) "
            "ORDER BY e.value_date DESC, e.id DESC LIMIT 26", {"a": account_id, "d": deep, "i": 2**62}),
        "overdraft check (backdated)": (
            "SELECT (SELECT min(closing) FROM daily_balances WHERE account_id = :a AND day >= :d), "
            "(SELECT closing FROM daily_balances WHERE account_id = :a AND day < :d ORDER BY day DESC LIMIT 1)",
            {"a": account_id, "d": mid}),
    }
    if month is not None:  # the statement's two reads: the month's entries with both balances, then by key
        queries["statement: month's entries and balances"] = (
            "SELECT e.transaction_id, b.opening, b.closing FROM (SELECT "
            "(SELECT closing FROM daily_balances WHERE account_id = :a AND day <= :before "
            " ORDER BY day DESC LIMIT 1) AS opening, "
            "(SELECT closing FROM daily_balances WHERE account_id = :a AND day <= :last ORDER BY day DESC LIMIT 1) "
            "AS closing) AS b LEFT JOIN entries e ON e.account_id = :a AND e.value_date >= :first "
            "AND e.value_date <= :last ORDER BY e.value_date, e.id",
            {"a": account_id, "first": month.first_day, "last": month.last_day,
             "before": month.first_day - dt.timedelta(days=1)})
        queries["statement: their 1 000 transactions by key"] = (
            "SELECT e.id, e.amount, e.value_date, t.description, t.kind, t.booked_at, r.id "
            "FROM entries e JOIN transactions t ON t.id = e.transaction_id "
            "LEFT JOIN transactions r ON r.reverses_id = t.id "
            "WHERE e.account_id = :a AND e.transaction_id = ANY(CAST(:ids AS uuid[]))",
            {"a": account_id, "ids": [str(i) for i in month_ids]})
    return queries


def http_medians(client, account_id, today, calls, token, month=None, statement_calls=10):
    from portal.ledger.history import Position, encode_position

    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/accounts/{account_id}"
    deep = encode_position(Position(today - dt.timedelta(days=DAYS - 10), 2**62))
    paths = {"GET balance": f"{base}/balance",
             "GET balance at a date": f"{base}/balance?date={today - dt.timedelta(days=DAYS // 2)}",
             "GET transactions": f"{base}/transactions",
             "GET transactions, deep cursor": f"{base}/transactions?cursor={deep}"}
    result = {}
    for name, path in paths.items():
        timings = []
        for _ in range(calls):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
        result[name] = statistics.median(timings)
    if month is not None:
        for name, accept in (("GET statement, JSON (1 000 lines)", "application/json"),
                             ("GET statement, CSV (1 000 lines)", "text/csv"),
                             ("GET statement, PDF (1 000 lines)", "application/pdf")):
            timings = []
            for _ in range(statement_calls):
                started = time.perf_counter()
                response = client.get(f"{base}/statements/{month}", headers={**headers, "Accept": accept})
                body = response.get_data()  # a streamed CSV is made while it is read
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or not body:
                    raise SystemExit(f"statement {accept}: {response.status_code}")
            result[name] = statistics.median(timings)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--statement-calls", type=int, default=10)
    parser.add_argument("--database-url", help="an existing PostgreSQL database to empty and use")
    args = parser.parse_args()
    from bench.run import flask, fresh_database
    from bench.seed import seed

    url = args.database_url or fresh_database("portal_growth")
    env = {**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "production", "SECRET_KEY": "growth-" + "x" * 32,
           "AUDIT_CHECKPOINT_KEY": "growth-" + "k" * 32,
           "API_RATE_LIMIT": "100000000/minute", "LOG_LEVEL": "WARNING"}
    if flask(env, "db", "upgrade").returncode:
        raise SystemExit("migration failed")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "PORTAL_ENV", "SECRET_KEY", "AUDIT_CHECKPOINT_KEY",
                                           "API_RATE_LIMIT", "LOG_LEVEL")})
    from portal import create_app

    app = create_app()
    client = app.test_client()
    engine = sa.create_engine(url)
    if args.database_url:
        empty(engine)
    today = dt.date.today()
    db_rows, http_rows, plans = {}, {}, {}
    for size in args.sizes:
        started = time.perf_counter()
        token = f"{TOKEN[:-1]}{args.sizes.index(size)}"  # one token per loaded customer
        (account_id,) = seed(url, accounts=1, history=size - 1, token=token, days=DAYS,
                             email=f"growth{size}@example.com")
        month = statement_month(engine, account_id)
        print(f"{size} entries loaded in {time.perf_counter() - started:.0f} s", flush=True)
        with engine.connect() as conn:
            db_rows[size] = {}
            month_ids = conn.execute(sa.text(
                "SELECT transaction_id FROM entries WHERE account_id = :a AND value_date BETWEEN :f AND :l"),
                {"a": account_id, "f": month.first_day, "l": month.last_day}).scalars().all()
            for name, (sql, params) in db_queries(account_id, today, month, month_ids).items():
                runs = [explain(conn, sql, params) for _ in range(5)]
                db_rows[size][name] = statistics.median(ms for ms, _ in runs)
                plans.setdefault(size, {})[name] = runs[-1][1]
        http_rows[size] = http_medians(client, account_id, today, args.calls, token, month, args.statement_calls)
        print(size, db_rows[size], http_rows[size], flush=True)
    engine.dispose()
    write_report(args.sizes, db_rows, http_rows, plans)


def empty(engine):
    """Empty every table of the database (its schema stays, migrated)."""
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        # The journal and audit log refuse TRUNCATE (migration 0011): off for this transaction (superuser only).
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def write_report(sizes, db_rows, http_rows, plans):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in db_rows[sizes[0]]:
        left.plot(sizes, [db_rows[s][name] for s in sizes], marker="o", label=name)
    for name in http_rows[sizes[0]]:
        right.plot(sizes, [http_rows[s][name] for s in sizes], marker="o", label=name)
    for axis, title in ((left, "in the database (EXPLAIN ANALYZE, ms)"), (right, "through the app (median ms)")):
        axis.set_xscale("log")
        axis.set_xlabel("entries on the account")
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "growth.png", dpi=110)

    lines = ["# Growth study: cost against one account's history length", "",
             "Produced by `bench/growth.py` on PostgreSQL; entries spread over three years. Milliseconds.", "",
             "The statement rows read the same month of 1 000 transactions on each account (a month before its "
             "three years): its cost stays with the month, whatever the history holds. Its second read is 1 000 "
             "index lookups by key (nested loops in every plan); their spread between sizes is the page cache, "
             "not the plan. The PDF is laid out in Python (fpdf2): most of its time is the layout.", "",
             "| in the database | " + " | ".join(f"{s:,}" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(f"{db_rows[s][name]:.3f}" for s in sizes) + " |"
              for name in db_rows[sizes[0]]]
    lines += ["", "| through the app (in-process) | " + " | ".join(f"{s:,}" for s in sizes) + " |",
              "|---|" + "---|" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(f"{http_rows[s][name]:.2f}" for s in sizes) + " |"
              for name in http_rows[sizes[0]]]
    lines += ["", "![growth](growth.png)", "", f"## Plans on the {sizes[-1]:,}-entry account", ""]
    for name, plan in plans[sizes[-1]].items():
        plan = re.sub(r"ANY \('\{[^}]*\}'", "ANY ('{…the month's transaction ids…}'", plan)  # not 1 000 uuids
        lines += [f"### {name}", "", "```", plan, "```", ""]
    (ROOT / "docs" / "growth.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
