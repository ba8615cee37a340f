"""One machine's ceilings: PostgreSQL's (pgbench tpcb-like) beside this app's and the floor's POST at 2, 4, 8 workers.

    FLOOR_DIR=../shared/bench .venv/bin/python bench/scaling.py [--workers 2 4 8] [--duration 10] [--runs 1]

Creates a scratch pgbench database (BENCH_DB_PREFIX + "_pgbench", dropped at the end), initialises it at scale 10
and runs the built-in tpcb-like script (five statements per transaction: three UPDATEs, a SELECT and an INSERT,
like a posting) at 16 and 64 clients. Then seeds the app's bench database as bench/run.py does and, for each
worker count, starts this app and the floor under gunicorn and drives POST withdrawals (to 1000 accounts, 16 and
64 connections) and GET balance, printing requests/s. Same ports and BENCH_* settings as bench/run.py.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    APP_PORT,
    DB_PREFIX,
    FLOOR_DIR,
    FLOOR_PORT,
    PG,
    TOKEN,
    flask,
    fresh_database,
    refuse_ports_in_use,
    start,
    stop,
    write_lines,
    wrk,
)

PGBENCH_DB = f"{DB_PREFIX}_pgbench"


def pgbench(clients, duration):
    out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-b", "tpcb-like", "-c", str(clients),
                          "-j", "2", "-T", str(duration), "-n", PGBENCH_DB], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def postgres_ceiling(duration):
    fresh_database(PGBENCH_DB)
    try:
        subprocess.run(["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-i", "-s", "10", "-q", PGBENCH_DB],
                       capture_output=True, check=True)
        return {clients: pgbench(clients, duration) for clients in (16, 64)}
    finally:
        engine = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)'))
        engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()

    ceiling = postgres_ceiling(args.duration)
    for clients, tps in ceiling.items():
        print(f"pgbench tpcb-like, {clients} clients: {tps:.0f} transactions/s", flush=True)

    from bench.seed import seed

    app_url = fresh_database(DB_PREFIX)
    floor_url = fresh_database(f"{DB_PREFIX}_floor")
    env = {**os.environ, "DATABASE_URL": app_url, "PORTAL_ENV": "production", "SECRET_KEY": "bench-only-" + "x" * 32,
           "API_RATE_LIMIT": "100000000/minute", "LOG_LEVEL": "WARNING"}
    result = flask(env, "db", "upgrade")
    if result.returncode:
        raise SystemExit(result.stderr)
    accounts = seed(app_url, accounts=args.accounts, history=10, token=TOKEN)
    work = tempfile.mkdtemp(prefix="scaling-")
    base = "/api/v1/accounts"
    files = {
        "app POST": write_lines(work, "post.txt", [f"{base}/{a}/transactions" for a in accounts]),
        "app GET": write_lines(work, "get.txt", [f"{base}/{a}/balance" for a in accounts]),
        "floor POST": write_lines(work, "fpost.txt", [f"/transactions/{n}" for n in range(2, args.accounts + 2)]),
        "floor GET": write_lines(work, "fget.txt", [f"/balance/{n}" for n in range(2, args.accounts + 2)]),
    }
    gunicorn = str(ROOT / ".venv/bin/gunicorn")
    rows = []
    for workers in args.workers:
        refuse_ports_in_use(APP_PORT, FLOOR_PORT)
        with open(Path(work) / f"app-{workers}.log", "w") as app_log, \
                open(Path(work) / f"floor-{workers}.log", "w") as floor_log:
            app = floor = None
            try:
                app = start([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{APP_PORT}", "wsgi:app"], ROOT, env,
                            APP_PORT, app_log)
                floor = start([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{FLOOR_PORT}",
                               "floor_app:create_app()"], FLOOR_DIR, {**os.environ, "DATABASE_URL": floor_url},
                              FLOOR_PORT, floor_log)
                urllib.request.urlopen(urllib.request.Request(  # noqa: S310 (loopback)
                    f"http://127.0.0.1:{FLOOR_PORT}/setup?accounts={args.accounts}", method="POST"), timeout=120)
                for name, port, method, body, token in [
                        ("floor GET", FLOOR_PORT, "GET", None, "floor-token"),
                        ("app GET", APP_PORT, "GET", None, TOKEN),
                        ("floor POST", FLOOR_PORT, "POST", '{"amount": "-0.01"}', "floor-token"),
                        ("app POST", APP_PORT, "POST", '{"amount": "-0.01", "description": "bench"}', TOKEN)]:
                    for connections in (16, 64):
                        measured = wrk(port, files[name], method=method, body=body, token=token,
                                       duration=args.duration, connections=connections)
                        bad = sum(n for status, n in measured["statuses"].items() if status >= 500)
                        rows.append((workers, name, connections, measured["rps"], measured["p99"], bad))
                        print(f"{workers} workers, {name}, {connections} connections: {measured['rps']:.0f} req/s, "
                              f"p99 {measured['p99']:.0f} ms, 5xx {bad}", flush=True)
                        time.sleep(1)
            finally:
                for process in (app, floor):
                    if process is not None:
                        stop(process)
    print("\n| workers | endpoint | connections | req/s | p99 ms | 5xx |\n| ---: | --- | ---: | ---: | ---: | ---: |")
    for workers, name, connections, rps, p99, bad in rows:
        print(f"| {workers} | {name} | {connections} | {rps:.0f} | {p99:.0f} | {bad} |")
    print("\npgbench tpcb-like (scale 10): " + ", ".join(f"{tps:.0f} tps at {c} clients" for c, tps in ceiling.items()))


if __name__ == "__main__":
    main()
