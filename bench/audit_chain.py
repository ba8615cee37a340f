"""The audit chain's costs: posting with the sealer beside the app, and `flask audit verify` over a million events.

    .venv/bin/python bench/audit_chain.py sealer [--runs 4] [--duration 10] [--workers 2] [--connections 16]
    .venv/bin/python bench/audit_chain.py verify [--events 1000000]

`sealer`: a fresh PostgreSQL database (bulk-loaded with bench/seed.py), the app under gunicorn, and wrk posting
withdrawals (bench/load.lua), alternately without and with `flask audit seal --follow` running beside it (the
order swapped every run, the backlog sealed between phases); prints POST/s for each phase, the median of each,
their ratio, and the sealing lag the follower reported (now − the oldest event of each batch it sealed).

`verify`: a fresh database with `--events` audit events written with COPY (their canonical bytes computed as
the app computes them), sealed by `flask audit seal`, then `flask audit verify` timed under /usr/bin/time -v
(wall time and peak resident memory), and again on a tenth of the events to show the memory does not grow.

Both drop their database at the end. PostgreSQL at 127.0.0.1:5432, user postgres.
"""
import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
DATABASE = "portal_audit_bench"
APP_PORT = 8097
LAG = re.compile(r"sealed (\d+) up to (\d+) lag ([\d.]+)s")


def environment(url):
    return {**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "production", "SECRET_KEY": "bench-only-" + "x" * 32,
            "AUDIT_CHECKPOINT_KEY": "bench-only-" + "k" * 32, "API_RATE_LIMIT": "100000000/minute",
            "LOG_LEVEL": "WARNING", "DATABASE_STATEMENT_TIMEOUT_MS": "0"}


def flask(env, *args, timed=False):
    command = [str(BIN / "flask"), "--app", "wsgi", *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode and not timed:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def drop_database(name):
    engine = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# --- sealer beside the app -------------------------------------------------------------------------------------

def waiting(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM audit_events WHERE position IS NULL")).scalar()
    engine.dispose()
    return count


def bench_sealer(args):
    from bench.run import TOKEN, start, stop, write_lines, wrk
    from bench.run import fresh_database as fresh
    from bench.seed import seed

    url = fresh(args.database)
    env = environment(url)
    flask(env, "db", "upgrade")
    accounts = seed(url, accounts=args.accounts, history=5, token=TOKEN)
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    requests = write_lines(work, "post.txt", [f"/api/v1/accounts/{a}/transactions" for a in accounts])
    body = '{"amount": "-0.01", "description": "bench"}'
    app_log = open(work / "app.log", "w")  # noqa: SIM115 (closed at the end)
    app = start([str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{APP_PORT}", "wsgi:app"], ROOT,
                env, APP_PORT, app_log)
    rates = {"without": [], "with": []}
    lags, backlog_after = [], []
    try:
        wrk(APP_PORT, requests, method="POST", body=body, duration=3, connections=args.connections)  # warm up
        for run in range(args.runs):
            order = ("without", "with") if run % 2 == 0 else ("with", "without")
            for phase in order:
                flask(env, "audit", "seal", "--batch", "5000")  # start every phase with nothing waiting
                sealer = None
                if phase == "with":
                    sealer_log = open(work / f"sealer-{run}.log", "w")  # noqa: SIM115
                    sealer = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "audit", "seal", "--follow",
                                               "--interval", "0.2"], cwd=ROOT, env=env, stdout=sealer_log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
                    time.sleep(1.5)
                result = wrk(APP_PORT, requests, method="POST", body=body, duration=args.duration,
                             connections=args.connections)
                rates[phase].append(result["rps"])
                if sealer is not None:
                    backlog_after.append(waiting(url))
                    stop(sealer)
                    sealer_log.close()
                    seen = [float(m.group(3)) for m in LAG.finditer((work / f"sealer-{run}.log").read_text())]
                    lags.extend(seen)
                bad = sum(n for status, n in result["statuses"].items() if status >= 500)
                print(f"run {run + 1} {phase:>7} sealer: {result['rps']:.0f} POST/s, p50 {result['p50']:.1f} ms"
                      f"{f', {bad} 5xx' if bad else ''}", flush=True)
    finally:
        stop(app)
        app_log.close()
    check = flask(env, "audit", "seal", "--batch", "5000")
    print(check.stdout.strip())
    report = flask(env, "audit", "verify")
    print(report.stdout.strip())
    drop_database(args.database)
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    print(f"\nPOST withdrawal, medians of {args.runs} alternating runs of {args.duration} s, {args.connections} "
          f"connections, {args.workers} workers:")
    print(f"  without the sealer: {without:.0f} POST/s   with `audit seal --follow`: {with_:.0f} POST/s   "
          f"ratio {with_ / without:.3f} (runs: {rates})")
    if lags:
        print(f"  sealing lag per batch: median {statistics.median(lags):.2f} s, max {max(lags):.2f} s over "
              f"{len(lags)} batches; events waiting when the load stopped: {backlog_after}")


# --- verify over many events -----------------------------------------------------------------------------------

ACTIONS = ("transaction.create", "auth.login", "token.use", "account.freeze", "transaction.reverse")


def load_events(url, count):
    """Write `count` unsealed events with COPY, their canonical bytes made by the app's own function."""
    import psycopg

    from portal.audit.canonical import FIELDS, canonical_bytes

    columns = [*FIELDS, "canonical"]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(count):
                event = {
                    "occurred_at": start + dt.timedelta(microseconds=i * 37_000), "actor_type": "token",
                    "ip": f"10.0.{i % 250}.{i % 200}", "user_agent": "bench/1.0", "request_id": f"req-{i:016x}",
                    "action": ACTIONS[i % len(ACTIONS)], "object_type": "transaction",
                    "object_id": f"{i:032x}", "outcome": "success",
                    "changes": {"amount": [None, -(i % 5000)], "description": [None, f"Bench {i} é"]},
                    "reason": None,
                }
                event["canonical"] = canonical_bytes(event)
                copy.write_row([psycopg.types.json.Jsonb(event[c]) if c == "changes" else event.get(c)
                                for c in columns])
        conn.commit()


def timed_verify(env):
    result = flask(env, "audit", "verify", "--max-waiting-seconds", str(10**9), timed=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", result.stderr).group(1)
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(wall.split(":"))))
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return result.returncode, result.stdout.strip(), seconds, peak


def bench_verify(args):
    from bench.run import fresh_database as fresh

    results = []
    for count in (args.events // 10, args.events):
        url = fresh(args.database)
        env = environment(url)
        flask(env, "db", "upgrade")
        started = time.perf_counter()
        load_events(url, count)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        sealed = flask(env, "audit", "seal", "--batch", "5000")
        seal_seconds = time.perf_counter() - started
        code, output, seconds, peak = timed_verify(env)
        print(f"{count} events: loaded in {loaded:.1f} s; {sealed.stdout.strip()} in {seal_seconds:.1f} s "
              f"({count / seal_seconds:,.0f} events/s)", flush=True)
        print(f"  {output}\n  verify: exit {code}, {seconds:.1f} s wall, peak RSS {peak / 1024:.0f} MiB", flush=True)
        results.append((count, seconds, peak, seal_seconds))
        drop_database(args.database)
    print("\n| events | seal | verify (wall) | verify events/s | verify peak RSS |")
    for count, seconds, peak, seal_seconds in results:
        print(f"| {count:,} | {seal_seconds:.0f} s | {seconds:.1f} s | {count / seconds:,.0f} | "
              f"{peak / 1024:.0f} MiB |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    sealer = sub.add_parser("sealer", help="POST withdrawal throughput with and without the sealer, alternating")
    sealer.add_argument("--runs", type=int, default=4)
    sealer.add_argument("--duration", type=int, default=10)
    sealer.add_argument("--workers", type=int, default=2)
    sealer.add_argument("--connections", type=int, default=16)
    sealer.add_argument("--accounts", type=int, default=200)
    verify = sub.add_parser("verify", help="time and peak memory of `flask audit verify` over many events")
    verify.add_argument("--events", type=int, default=1_000_000)
    for mode in (sealer, verify):
        mode.add_argument("--database", default=DATABASE, help="a scratch database, created and dropped")
    args = parser.parse_args()
    try:
        (bench_sealer if args.mode == "sealer" else bench_verify)(args)
    finally:
        drop_database(args.database)


if __name__ == "__main__":
    main()
