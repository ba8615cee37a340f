"""API tokens a customer issues to a third party, and the accounts each may see."""
import datetime as dt
import enum
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class Scope(enum.StrEnum):
    """A permission a credential may carry: read accounts, read transactions, take money out, bring money in."""

    ACCOUNTS_READ = "accounts:read"
    TRANSACTIONS_READ = "transactions:read"
    TRANSACTIONS_WRITE = "transactions:write"
    DEPOSITS_WRITE = "deposits:write"  # the bank's to give: never offered on the customer pages


SCOPE_VALUES = tuple(scope.value for scope in Scope)
# What a customer may grant on their own pages (a token, a consent): everything but bringing money in.
CUSTOMER_SCOPES = tuple(scope.value for scope in Scope if scope is not Scope.DEPOSITS_WRITE)

api_token_accounts = sa.Table(
    "api_token_accounts",
    Base.metadata,
    sa.Column("token_id", sa.ForeignKey("api_tokens.id"), primary_key=True),
    sa.Column("account_id", sa.ForeignKey("accounts.id"), primary_key=True, index=True),
)


class ApiToken(Base):
    """A bearer token. Only the SHA-256 of the secret is stored, with a short prefix for people to recognise it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(200))  # space-separated, sorted
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[Optional[dt.datetime]]
    revoked_at: Mapped[Optional[dt.datetime]]
    last_used_at: Mapped[Optional[dt.datetime]]
    last_used_ip: Mapped[Optional[str]] = mapped_column(sa.String(45))
    app_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("third_party_apps.id"), index=True)  # None: own use

    user = relationship("User")
    app = relationship("ThirdPartyApp")
    accounts = relationship("Account", secondary=api_token_accounts, order_by="Account.number")

    @property
    def scope_set(self):
        """Return the token's scopes as a set."""
        return frozenset(self.scopes.split())

    def status(self, now):
        """Return `active`, `revoked` or `expired` at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def __repr__(self):
        """Show the token by id and prefix (never its secret)."""
        return f"<ApiToken {self.id} {self.prefix}>"
