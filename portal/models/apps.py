"""Third-party apps the bank registered, the consents customers gave them, and the OAuth 2.0 credentials.

Secrets (client secrets, authorization codes, access and refresh tokens) are stored only as SHA-256 hashes.
"""
import datetime as dt
import enum
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class AppStatus(enum.StrEnum):
    """Whether an app's tokens and consents work: `active`, or `suspended` by an operator."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class ClientType(enum.StrEnum):
    """An app that can keep a secret (a server) or one that cannot (a phone or browser app: PKCE only)."""

    CONFIDENTIAL = "confidential"
    PUBLIC = "public"


class ConsentStatus(enum.StrEnum):
    """A consent's state as stored; `expired` is told by its expiry (see Consent.status_at)."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ThirdPartyApp(Base):
    """An app the bank registered: who it is (name, homepage), where it may be sent back, what it may ever do."""

    __tablename__ = "third_party_apps"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'suspended')", name="status_known"),
        sa.CheckConstraint("client_type IN ('confidential', 'public')", name="client_type_known"),
        sa.CheckConstraint("(client_type = 'confidential') = (client_secret_hash IS NOT NULL)",
                           name="secret_iff_confidential"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    homepage: Mapped[str] = mapped_column(sa.String(255))
    redirect_uris: Mapped[str] = mapped_column(sa.Text)  # one per line, compared exactly
    client_type: Mapped[str] = mapped_column(sa.String(16))
    client_secret_hash: Mapped[Optional[str]] = mapped_column(sa.String(64))
    scopes: Mapped[str] = mapped_column(sa.String(200))  # the scopes it may ever hold: space-separated, sorted
    ip_allowlist: Mapped[str] = mapped_column(sa.Text, default="")  # CIDRs, one per line; empty: anywhere
    status: Mapped[str] = mapped_column(sa.String(16), default=AppStatus.ACTIVE.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def scope_set(self):
        """The scopes the app may ever hold."""
        return frozenset(self.scopes.split())

    @property
    def redirect_uri_list(self):
        """The registered redirect URIs, in order."""
        return [uri for uri in self.redirect_uris.splitlines() if uri]

    @property
    def allowlist(self):
        """The CIDRs API calls with its tokens must come from (empty: anywhere)."""
        return [cidr for cidr in self.ip_allowlist.split() if cidr]

    def __repr__(self):
        """Show the app by client id and status."""
        return f"<ThirdPartyApp {self.client_id} {self.status}>"


consent_accounts = sa.Table(
    "consent_accounts",
    Base.metadata,
    sa.Column("consent_id", sa.ForeignKey("consents.id"), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True, index=True),
)


class Consent(Base):
    """What one customer granted one app through OAuth: accounts, scopes, until when."""

    __tablename__ = "consents"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'revoked', 'expired')", name="status_known"),
        sa.Index("ix_consents_user_app", "user_id", "app_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("third_party_apps.id"), index=True)
    scopes: Mapped[str] = mapped_column(sa.String(200))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default=ConsentStatus.ACTIVE.value)
    revoked_at: Mapped[Optional[dt.datetime]]
    last_used_at: Mapped[Optional[dt.datetime]]
    last_used_ip: Mapped[Optional[str]] = mapped_column(sa.String(45))

    user = relationship("User")
    app = relationship("ThirdPartyApp")
    accounts = relationship("Account", secondary=consent_accounts, order_by="Account.number")

    @property
    def scope_set(self):
        """The scopes the customer granted."""
        return frozenset(self.scopes.split())

    def status_at(self, now):
        """`active`, `revoked` or `expired` at `now` (an expired consent is kept and shown as expired)."""
        if self.status != ConsentStatus.ACTIVE.value:
            return self.status
        return ConsentStatus.EXPIRED.value if self.expires_at <= now else ConsentStatus.ACTIVE.value

    @classmethod
    def status_is(cls, status, now):
        """A SQL condition for consents whose `status_at(now)` is `status` (false for an unknown status)."""
        unswept = sa.and_(cls.status == ConsentStatus.ACTIVE.value, cls.expires_at <= now)
        return {ConsentStatus.ACTIVE.value: sa.and_(cls.status == ConsentStatus.ACTIVE.value, cls.expires_at > now),
                ConsentStatus.EXPIRED.value: sa.or_(cls.status == ConsentStatus.EXPIRED.value, unswept),
                ConsentStatus.REVOKED.value: cls.status == ConsentStatus.REVOKED.value}.get(status, sa.false())

    def __repr__(self):
        """Show the consent by id, app and status."""
        return f"<Consent {self.id} app={self.app_id} {self.status}>"


class AuthorizationCode(Base):
    """A single-use code (60 s) that a consent issued, bound to its redirect URI and PKCE challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    consent_id: Mapped[int] = mapped_column(sa.ForeignKey("consents.id"), index=True)
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("third_party_apps.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.String(200))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str] = mapped_column(sa.String(8))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[Optional[dt.datetime]]

    consent = relationship("Consent")
    app = relationship("ThirdPartyApp")


class OAuthToken(Base):
    """An access token (10 minutes) and its refresh token, issued under a consent; rotated on every refresh."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(sa.ForeignKey("consents.id"), index=True)
    app_id: Mapped[int] = mapped_column(sa.ForeignKey("third_party_apps.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    code_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("oauth_codes.id"), index=True)
    access_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refresh_token_hash: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[dt.datetime]
    refresh_expires_at: Mapped[Optional[dt.datetime]]
    refreshed_at: Mapped[Optional[dt.datetime]]  # its refresh token was used (rotated): presenting it again is reuse
    revoked_at: Mapped[Optional[dt.datetime]]

    consent = relationship("Consent")
    app = relationship("ThirdPartyApp")
    user = relationship("User")

    @property
    def scope_set(self):
        """The scopes this access token carries."""
        return frozenset(self.scopes.split())
