"""How costs grow with one account's history: 1 000, 100 000 and 1 000 000 entries over three years.

    .venv/bin/python bench/growth.py [--sizes 1000 100000 1000000] [--calls 300]

For each size it bulk-loads one account (bench/seed.py), then measures, on PostgreSQL:
- in the database: EXPLAIN (ANALYZE, BUFFERS) of the queries behind balance now, balance at a date, the first page
  of transactions, a page deep in the history, and the overdraft check of a backdated posting;
- through the app (in-process Flask test client, medians of --calls calls): GET balance, GET balance at a date,
  GET transactions (first page and a deep cursor).
It writes docs/growth.png and docs/growth.md (tables and the EXPLAIN plans of the largest account).
"""
import argparse
import datetime as dt
import os
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


def db_queries(account_id, today):
    mid = today - dt.timedelta(days=DAYS // 2)
    deep = today - dt.timedelta(days=DAYS - 10)
    return {
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


def http_medians(client, account_id, today, calls, token):
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
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    from bench.run import flask, fresh_database
    from bench.seed import seed

    url = fresh_database("portal_growth")
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
    today = dt.date.today()
    db_rows, http_rows, plans = {}, {}, {}
    for size in args.sizes:
        started = time.perf_counter()
        token = f"{TOKEN[:-1]}{args.sizes.index(size)}"  # one token per loaded customer
        (account_id,) = seed(url, accounts=1, history=size - 1, token=token, days=DAYS,
                             email=f"growth{size}@example.com")
        print(f"{size} entries loaded in {time.perf_counter() - started:.0f} s", flush=True)
        with engine.connect() as conn:
            db_rows[size] = {}
            for name, (sql, params) in db_queries(account_id, today).items():
                runs = [explain(conn, sql, params) for _ in range(5)]
                db_rows[size][name] = statistics.median(ms for ms, _ in runs)
                plans.setdefault(size, {})[name] = runs[-1][1]
        http_rows[size] = http_medians(client, account_id, today, args.calls, token)
        print(size, db_rows[size], http_rows[size], flush=True)
    engine.dispose()
    write_report(args.sizes, db_rows, http_rows, plans)


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
        lines += [f"### {name}", "", "```", plan, "```", ""]
    (ROOT / "docs" / "growth.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
