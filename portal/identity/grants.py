"""OAuth 2.0 codes and tokens under a consent: stored only as SHA-256 hashes, each code and refresh token claimed once.

Authlib (portal.oauth) runs the protocol and makes the random strings; the rules about storing and claiming them
are here, with the one clock. Claiming is a conditional UPDATE (`… WHERE used_at IS NULL`), so two requests
racing with one code or one refresh token cannot both win: the loser sees it used, which is reuse.
"""
import datetime as dt

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.identity import consents
from portal.identity.tokens import OAUTH_ACCESS_PREFIX, hash_secret
from portal.kernel import clock
from portal.models import AuthorizationCode, Consent, ConsentStatus, OAuthToken

CODE_SECONDS = 60
ACCESS_SECONDS = 600
REFRESH_PREFIX = "prt_"  # noqa: S105 -- the public marker of an OAuth refresh token
ACCESS_PREFIX = OAUTH_ACCESS_PREFIX
TOKEN_REVOKE_ACTION = "oauth_token.revoke"  # noqa: S105 -- an audit action, not a secret

# Why a code or refresh token was refused (the audit log's refusal message).
CODE_UNKNOWN, CODE_EXPIRED, CODE_REUSED = "unknown code", "code expired", "code reused: its tokens are revoked"
REFRESH_UNKNOWN, REFRESH_REUSED = "unknown refresh token", "refresh token reused: the consent is revoked"


def store_code(code, consent, *, redirect_uri, code_challenge, code_challenge_method):
    """Keep the hash of a new authorization code for `consent` (60 s, single use); return its row."""
    now = clock.now()
    row = AuthorizationCode(code_hash=hash_secret(code), consent_id=consent.id, app_id=consent.app_id,
                            user_id=consent.user_id, redirect_uri=redirect_uri, scope=consent.scopes,
                            code_challenge=code_challenge, code_challenge_method=code_challenge_method,
                            issued_at=now, expires_at=now + dt.timedelta(seconds=CODE_SECONDS))
    db.session.add(row)
    db.session.flush()
    return row


def claim_code(code, app):
    """Use the code `app` presents: return (row, None), or (None, why not).

    A code used before is reuse: every token issued from it is revoked (the caller keeps that write through the
    refusal's rollback, see `revoke_tokens_of_code`). An expired code, one of another app, or one whose consent
    ended, is refused as unknown or expired.
    """
    row = db.session.scalar(sa.select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_secret(code)))
    if row is None or row.app_id != app.id:
        return None, CODE_UNKNOWN
    now = clock.now()
    if row.used_at is not None:
        return row, CODE_REUSED
    if row.expires_at <= now:
        return None, CODE_EXPIRED
    if row.consent.status_at(now) != ConsentStatus.ACTIVE.value:
        return None, f"consent {row.consent.status_at(now)}"
    claimed = db.session.execute(sa.update(AuthorizationCode)
                                 .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
                                 .values(used_at=now))
    if claimed.rowcount != 1:
        return row, CODE_REUSED
    return row, None


def spend_code(code_id):
    """Keep the code `code_id` used after an exchange that claimed it was refused (a wrong PKCE verifier or
    redirect URI): its refusal rolled the claim back, and a code is single use whatever became of its exchange.

    Run after that rollback (`unit_of_work.always`). If another exchange claimed the code in between, the code
    was used twice: what that exchange issued is revoked, as for any reuse.
    """
    spent = db.session.execute(sa.update(AuthorizationCode)
                               .where(AuthorizationCode.id == code_id, AuthorizationCode.used_at.is_(None))
                               .values(used_at=clock.now()))
    if spent.rowcount != 1:
        revoke_tokens_of_code(code_id)


def revoke_tokens_of_code(code_id):
    """Revoke every token issued from the code `code_id` (it was presented again: someone else holds it)."""
    db.session.execute(sa.update(OAuthToken).where(OAuthToken.code_id == code_id, OAuthToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def store_tokens(*, access_token, refresh_token, consent, scopes, code_id=None):
    """Keep the hashes of a new access token (10 minutes) and refresh token (until the consent expires)."""
    now = clock.now()
    row = OAuthToken(consent_id=consent.id, app_id=consent.app_id, user_id=consent.user_id, code_id=code_id,
                     access_token_hash=hash_secret(access_token),
                     refresh_token_hash=hash_secret(refresh_token) if refresh_token else None,
                     scopes=scopes, issued_at=now, access_expires_at=now + dt.timedelta(seconds=ACCESS_SECONDS),
                     refresh_expires_at=consent.expires_at if refresh_token else None)
    db.session.add(row)
    db.session.flush()
    return row


def claim_refresh_token(refresh_token, app):
    """Use the refresh token `app` presents (rotation): return (row, None), or (row or None, why not).

    A refresh token already used is reuse: the caller revokes the whole consent (`revoke_for_reuse`).
    """
    row = db.session.scalar(sa.select(OAuthToken)
                            .where(OAuthToken.refresh_token_hash == hash_secret(refresh_token)))
    if row is None or row.app_id != app.id:
        return None, REFRESH_UNKNOWN
    now = clock.now()
    if row.refreshed_at is not None:
        return row, REFRESH_REUSED
    if row.revoked_at is not None:
        return None, "refresh token revoked"
    if row.refresh_expires_at is None or row.refresh_expires_at <= now:
        return None, "refresh token expired"
    status = row.consent.status_at(now)
    if status != ConsentStatus.ACTIVE.value:
        return None, f"consent {status}"
    if not row.user.active:
        return None, "customer inactive"
    claimed = db.session.execute(sa.update(OAuthToken)
                                 .where(OAuthToken.id == row.id, OAuthToken.refreshed_at.is_(None))
                                 .values(refreshed_at=now))
    if claimed.rowcount != 1:
        return row, REFRESH_REUSED
    return row, None


def record_refresh(token, *, actor):
    """Record that the app refreshed its tokens under the consent (the old refresh token is now used)."""
    audit.record(consents.replace_app(actor, token.app_id, token.consent_id), consents.REFRESH_ACTION,
                 object_type="consent", object_id=token.consent_id, subject_user_id=token.user_id)


def revoke_for_reuse(consent_id, *, actor):
    """End the consent whose used refresh token was presented again, with every token it issued."""
    # Locked and read afresh: racing reuses (a client that retried) end it once, with one audit row. FOR NO KEY
    # UPDATE: the refusal rows already written name the consent, and their foreign-key checks hold KEY SHARE on it.
    consent = db.session.scalar(sa.select(Consent).where(Consent.id == consent_id).with_for_update(key_share=True)
                                .execution_options(populate_existing=True))
    if consent is not None:
        consents.revoke_consent(consent, actor=actor, action=consents.REUSE_ACTION)


def find_token(secret):
    """The OAuth token row whose access or refresh token `secret` is, or None."""
    digest = hash_secret(secret)
    return db.session.scalar(sa.select(OAuthToken).where(
        sa.or_(OAuthToken.access_token_hash == digest, OAuthToken.refresh_token_hash == digest)))


def revoke_token(token, *, actor):
    """Revoke one OAuth token pair (RFC 7009: the access token and its refresh token end together)."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = clock.now()
    audit.record(consents.replace_app(actor, token.app_id, token.consent_id), TOKEN_REVOKE_ACTION,
                 object_type="oauth_token", object_id=token.id, subject_user_id=token.user_id)
    db.session.flush()
    return token
