"""A/B two commits of this app through gunicorn, alternating, on one seeded database.

    .venv/bin/python bench/ab.py BASE CHANGE [--rounds 3] [--duration 5] [--workers 2] [--accounts 1000]

Checks out each commit into a temporary worktree, migrates and seeds one database (with CHANGE's migrations: the
two must share a schema), then for each round starts BASE's server, drives it with wrk, stops it, and does the
same for CHANGE (BASE first in odd rounds, CHANGE first in even ones), so that the machine's drift hits both
sides alike. Prints, per endpoint, each side's median requests/s and the ratio CHANGE / BASE with each round's
ratio: a change is worth keeping when the rounds agree, not when one median is higher. Ports and databases follow
bench/run.py's BENCH_APP_PORT and BENCH_DB_PREFIX (+ "_ab").
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import APP_PORT, DB_PREFIX, TOKEN, fresh_database, refuse_ports_in_use, start, stop, wrk  # noqa: E402


def worktree(ref, into):
    """Check `ref` out (detached) into the directory `into`; return its commit id."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "worktree", "add", "--detach", str(into), commit], cwd=ROOT, check=True,
                   capture_output=True)
    return commit


def scenarios(accounts):
    base = "/api/v1/accounts"
    return [
        ("GET balance", "GET", [f"{base}/{a}/balance" for a in accounts], None),
        ("GET transactions", "GET", [f"{base}/{a}/transactions" for a in accounts], None),
        ("POST withdrawal", "POST", [f"{base}/{a}/transactions" for a in accounts],
         '{"amount": "-0.01", "description": "bench"}'),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("change")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    from bench.seed import seed

    refuse_ports_in_use(APP_PORT)
    work = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    sides = {"base": work / "base", "change": work / "change"}
    commits = {name: worktree(ref, sides[name]) for name, ref in (("base", args.base), ("change", args.change))}
    try:
        url = fresh_database(f"{DB_PREFIX}_ab")
        env = {**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "production", "SECRET_KEY": "bench-only-" + "x" * 32,
               "AUDIT_CHECKPOINT_KEY": "bench-only-" + "k" * 32, "API_RATE_LIMIT": "100000000/minute",
               "LOG_LEVEL": "WARNING"}
        subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=sides["change"],
                       env=env, check=True, capture_output=True)
        accounts = seed(url, accounts=args.accounts, history=50, token=TOKEN)
        measured = {}
        for round_ in range(args.rounds):
            order = ("base", "change") if round_ % 2 == 0 else ("change", "base")
            for side in order:
                with open(work / f"{side}.log", "a") as log:
                    server = start([str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b",
                                    f"127.0.0.1:{APP_PORT}", "wsgi:app"], sides[side], env, APP_PORT, log)
                    try:
                        for name, method, lines, body in scenarios(accounts):
                            requests = work / f"{name.replace(' ', '-')}.txt"
                            requests.write_text("\n".join(lines) + "\n")
                            result = wrk(APP_PORT, requests, method=method, body=body, duration=args.duration,
                                         connections=args.connections)
                            measured.setdefault((name, side), []).append(result["rps"])
                            print(f"round {round_ + 1} {side:<6} {name}: {result['rps']:.0f} req/s "
                                  f"{result['statuses']}", flush=True)
                    finally:
                        stop(server)
        print(f"\nbase {commits['base'][:10]}, change {commits['change'][:10]}: medians of {args.rounds} rounds")
        for name, _method, _lines, _body in scenarios(accounts):
            base, change = measured[(name, "base")], measured[(name, "change")]
            ratios = ", ".join(f"{c / b:.2f}" for b, c in zip(base, change, strict=True))
            print(f"  {name:<18} base {statistics.median(base):7.0f}  change {statistics.median(change):7.0f} req/s"
                  f"  change/base {statistics.median(change) / statistics.median(base):.2f} (rounds {ratios})")
    finally:
        for path in sides.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)


if __name__ == "__main__":
    main()
