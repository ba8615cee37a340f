"""Bulk-load a migrated PostgreSQL database with accounts and history, in a few set-based statements.

The rows are what the domain layer would have written (balanced transactions, stored balances, day-end rows),
so `flask ledger check` must pass afterwards; triggers are off during the load (session_replication_role =
replica, a superuser setting) only to avoid one trigger call per row, and the check proves nothing was skipped.
"""
import datetime as dt
import hashlib
import uuid

import sqlalchemy as sa

from portal.identity.tokens import hash_secret
from portal.ledger import numbers

BENCH_EMAIL = "bench@example.com"


def _system_accounts(conn, currency="EUR"):
    ids = {}
    for code in ("settlement", "corrections"):
        account_id = uuid.uuid4()
        conn.execute(sa.text(
            "INSERT INTO accounts (id, number, name, currency, kind, system_code, status, balance, opened_on, "
            "created_at) VALUES (:id, :number, :name, :cur, 'system', :code, 'active', NULL, '2000-01-01', now())"),
            {"id": account_id, "number": numbers.generate(), "name": f"{code.title()} {currency}", "cur": currency,
             "code": code})
        ids[code] = account_id
    return ids


def seed(url, *, accounts, history, token, oauth_token=None, days=365, starting_balance=10_000_000,
         email=BENCH_EMAIL):
    """Create one customer owning `accounts` accounts, each with `history` deposits spread over `days` days
    plus an opening deposit of `starting_balance`, and a token (secret `token`) with every scope on all of them;
    with `oauth_token`, also a registered app, the customer's consent to it on every account, and that OAuth
    access token under the consent. Return the account ids in creation order."""
    engine = sa.create_engine(url)
    today = dt.date.today()
    opened = today - dt.timedelta(days=days + 1)
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        settlement = conn.execute(sa.text(
            "SELECT id FROM accounts WHERE system_code = 'settlement' AND currency = 'EUR'")).scalar()
        if settlement is None:
            settlement = _system_accounts(conn)["settlement"]
        user_id = conn.execute(sa.text(
            "INSERT INTO users (email, name, password_hash, role, active, created_at) "
            "VALUES (:email, 'Bench Customer', 'not-a-login', 'customer', true, now()) RETURNING id"),
            {"email": email}).scalar_one()
        rows = [{"id": uuid.uuid4(), "number": numbers.generate(), "name": f"Bench {i}", "owner": user_id,
                 "opened": opened} for i in range(accounts)]
        conn.execute(sa.text(
            "INSERT INTO accounts (id, number, name, owner_id, currency, kind, status, balance, opened_on, "
            "created_at) VALUES (:id, :number, :name, :owner, 'EUR', 'customer', 'active', 0, :opened, now())"),
            rows)
        _history(conn, settlement, [r["id"] for r in rows], history, days, opened, starting_balance)
        token_id = conn.execute(sa.text(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at) VALUES "
            "(:user, 'Bench', :prefix, :hash, "
            "'accounts:read deposits:write transactions:read transactions:write', now()) "
            "RETURNING id"),
            {"user": user_id, "prefix": token[:10], "hash": hashlib.sha256(token.encode()).hexdigest()}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO api_token_accounts (token_id, account_id) "
            "SELECT :token, id FROM accounts WHERE owner_id = :user"), {"token": token_id, "user": user_id})
        if oauth_token:
            _oauth(conn, user_id, oauth_token)
    engine.dispose()
    return [r["id"] for r in rows]


def _oauth(conn, user_id, access_token):
    """A confidential app, a consent to it on all the customer's accounts, and an OAuth access token under it.

    The app issues access tokens for 10 minutes; this one lives a day (rows only a bench writes), so it cannot end
    in the middle of a run. It is stored hashed as the app stores it (hash_secret: the hex SHA-256 of the secret).
    """
    app_id = conn.execute(sa.text(
        "INSERT INTO third_party_apps (client_id, name, homepage, redirect_uris, client_type, client_secret_hash, "
        "scopes, ip_allowlist, status, created_at) VALUES ('app_bench', 'Bench app', 'https://bench.example', "
        "'https://bench.example/callback', 'confidential', :secret, 'accounts:read transactions:read', '', "
        "'active', now()) RETURNING id"), {"secret": hash_secret("cs_bench-not-a-secret")}).scalar_one()
    consent_id = conn.execute(sa.text(
        "INSERT INTO consents (user_id, app_id, scopes, granted_at, expires_at, status) VALUES (:user, :app, "
        "'accounts:read transactions:read', now(), now() + interval '90 days', 'active') RETURNING id"),
        {"user": user_id, "app": app_id}).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO consent_accounts (consent_id, account_id) "
        "SELECT :consent, id FROM accounts WHERE owner_id = :user"), {"consent": consent_id, "user": user_id})
    conn.execute(sa.text(
        "INSERT INTO oauth_tokens (consent_id, app_id, user_id, access_token_hash, scopes, issued_at, "
        "access_expires_at) VALUES (:consent, :app, :user, :hash, 'accounts:read transactions:read', now(), "
        "now() + interval '1 day')"),
        {"consent": consent_id, "app": app_id, "user": user_id, "hash": hash_secret(access_token)})


def _history(conn, settlement, account_ids, history, days, opened, starting_balance):
    """An opening deposit on the opening day, then `history` deposits of 1.00 spread evenly over `days`."""
    conn.execute(sa.text("CREATE TEMP TABLE seed (tx uuid, account_id uuid, day date, amount bigint) ON COMMIT DROP"))
    conn.execute(sa.text(
        "INSERT INTO seed SELECT gen_random_uuid(), a, CAST(:opened AS date), :start "
        "FROM unnest(CAST(:accounts AS uuid[])) AS a"),
        {"opened": opened, "start": starting_balance, "accounts": [str(a) for a in account_ids]})
    if history:
        conn.execute(sa.text(
            "INSERT INTO seed SELECT gen_random_uuid(), a, "
            "CAST(:opened AS date) + 1 + CAST(floor((g - 1) * CAST(:days AS numeric) / :history) AS int), 100 "
            "FROM unnest(CAST(:accounts AS uuid[])) AS a CROSS JOIN generate_series(1, :history) AS g"),
            {"opened": opened, "days": days - 1, "history": history, "accounts": [str(a) for a in account_ids]})
    conn.execute(sa.text(
        "INSERT INTO transactions (id, kind, value_date, booked_at, description) "
        "SELECT tx, 'deposit', day, now(), 'Seeded deposit' FROM seed"))
    conn.execute(sa.text(
        "INSERT INTO entries (transaction_id, account_id, amount, value_date) "
        "SELECT tx, account_id, amount, day FROM seed UNION ALL SELECT tx, :settlement, -amount, day FROM seed "
        "ORDER BY 4, 1"), {"settlement": settlement})
    conn.execute(sa.text(
        "UPDATE accounts SET balance = s.total, last_value_date = s.latest FROM (SELECT account_id, "
        "sum(amount) AS total, max(day) AS latest FROM seed GROUP BY account_id) AS s "
        "WHERE accounts.id = s.account_id"))
    conn.execute(sa.text(
        "INSERT INTO daily_balances (account_id, day, closing) "
        "SELECT account_id, day, sum(sum(amount)) OVER (PARTITION BY account_id ORDER BY day) "
        "FROM seed GROUP BY account_id, day"))
    conn.execute(sa.text("ANALYZE"))
