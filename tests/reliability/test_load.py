"""A sustained mixed load through gunicorn: 50 clients for 60 s on six accounts, then the books must balance.

Clients transfer both ways between the same few accounts (pushing and pulling), withdraw close to the whole
balance, deposit, retry with Idempotency-Key, and read. Every client records what the server said it did.
Afterwards: no 5xx and no refusal but insufficient funds (a deadlock or serialisation failure surfaced to a
client would show up as one of those), a clean ledger check, and every balance equal to its opening balance
plus the effects of the successful responses — nothing lost, nothing doubled.

RELIABILITY_LOAD_SECONDS shortens or lengthens the run (60 by default, as issue 7 asks). Every client also makes
at least MIN_OPERATIONS calls, however long a busy machine takes over them, so what is asserted about the mix never
depends on how fast the machine is.
"""
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.ledger.check import run_checks
from tests.reliability.conftest import Http, balances

pytestmark = pytest.mark.postgres_only

CLIENTS = 50
ACCOUNTS = 6
OPENING = 500_00
SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "60"))
MIN_OPERATIONS = 12


def cents(text):
    return int(Decimal(text) * 100)


class Client:
    """One simulated third party: a seeded random mix of operations, and a record of what succeeded."""

    def __init__(self, number, http, account_ids, deadline):
        self.rng = random.Random(number)
        self.http, self.accounts, self.deadline = http, account_ids, deadline
        self.effects = defaultdict(int)  # account id -> minor units moved by this client's successful postings
        self.created = 0
        self.statuses = Counter()
        self.refusals = Counter()
        self.problems = []

    def run(self):
        operations = [self.transfer_out, self.pull, self.withdraw_nearly_all, self.deposit, self.retry, self.read]
        weights = [30, 15, 15, 10, 15, 15]
        done = 0
        while done < MIN_OPERATIONS or time.monotonic() < self.deadline:
            self.rng.choices(operations, weights)[0]()
            done += 1

    def post(self, account, body, key=None):
        headers = {"Idempotency-Key": key} if key else None
        response = self.http.post(f"/api/v1/accounts/{account}/transactions", body, headers=headers)
        self.statuses[response.status] += 1
        if response.status == 201 and response.headers.get("Idempotent-Replayed") != "true":
            self.created += 1
            amount = cents(response.body["amount"])
            self.effects[account] += amount
            if body.get("counterparty_account_id"):
                self.effects[body["counterparty_account_id"]] -= amount
        elif response.status == 409:
            self.refusals[response.body["code"]] += 1
        elif response.status != 201:
            self.problems.append((response.status, response.body))
        return response

    def two_accounts(self):
        return self.rng.sample(self.accounts, 2)

    def amount(self):
        return f"{self.rng.randint(1, 20_00) / 100:.2f}"

    def transfer_out(self):
        source, destination = self.two_accounts()
        self.post(source, {"amount": f"-{self.amount()}", "counterparty_account_id": destination})

    def pull(self):
        destination, source = self.two_accounts()
        self.post(destination, {"amount": self.amount(), "counterparty_account_id": source})

    def withdraw_nearly_all(self):
        account = self.rng.choice(self.accounts)
        read = self.http.get(f"/api/v1/accounts/{account}/balance")
        self.statuses[read.status] += 1
        if read.status != 200:
            self.problems.append((read.status, read.body))
            return
        # Others move money meanwhile: sometimes this is exactly everything, sometimes more than is left.
        wanted = cents(read.body["balance"]) + self.rng.choice([-100, -1, 0, 0, 1])
        if wanted > 0:
            self.post(account, {"amount": f"-{wanted / 100:.2f}", "description": "nearly all"})

    def deposit(self):
        self.post(self.rng.choice(self.accounts), {"amount": self.amount(), "description": "top-up"})

    def retry(self):
        source, destination = self.two_accounts()
        key, body = str(uuid.uuid4()), {"amount": f"-{self.amount()}", "counterparty_account_id": destination}
        first = self.post(source, body, key=key)
        again = self.post(source, body, key=key)
        if first.status == 201 and (again.status != 201 or again.body != first.body
                                    or again.headers.get("Idempotent-Replayed") != "true"):
            self.problems.append(("retry not replayed", first.body, again.status, again.body))

    def read(self):
        account = self.rng.choice(self.accounts)
        path = self.rng.choice(["/balance", "/transactions", ""])
        response = self.http.get(f"/api/v1/accounts/{account}{path}")
        self.statuses[response.status] += 1
        if response.status != 200:
            self.problems.append((response.status, response.body))


def test_sustained_mixed_load_loses_and_doubles_nothing(pg_app, serve, small_bank):
    bank = small_bank(accounts=ACCOUNTS, balance=OPENING)
    transactions_before = db.session.scalar(sa.text("SELECT count(*) FROM transactions"))
    # The statement timeout (5 s by default) turns a long lock wait into a 503 by design, and test_faults holds
    # it to that; here a starved machine could stretch a wait past it, which is not what this test is about.
    server = serve(workers=4, DATABASE_STATEMENT_TIMEOUT_MS=300_000)
    deadline = time.monotonic() + SECONDS
    clients = [Client(n, Http(server.url, bank.secret), bank.account_ids, deadline) for n in range(CLIENTS)]
    threads = [threading.Thread(target=client.run) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 600)
    assert not any(thread.is_alive() for thread in threads)

    statuses = sum((client.statuses for client in clients), Counter())
    refusals = sum((client.refusals for client in clients), Counter())
    problems = [problem for client in clients for problem in client.problems]
    assert problems == [], f"{len(problems)} unexpected answers, first: {problems[:3]}\n{server.logs()}"
    assert set(statuses) <= {200, 201, 409}, statuses
    assert set(refusals) <= {"insufficient_funds"}, refusals
    assert statuses[201] > 100 and refusals["insufficient_funds"] > 0, (statuses, refusals)  # it was a real mix

    expected = dict(bank.opening)
    for client in clients:
        for account, moved in client.effects.items():
            expected[account] += moved
    assert balances(pg_app, bank.account_ids) == expected
    created = sum(client.created for client in clients)
    assert db.session.scalar(sa.text("SELECT count(*) FROM transactions")) == transactions_before + created
    report = run_checks()
    assert report.ok, report.findings
