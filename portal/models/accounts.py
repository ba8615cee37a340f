"""Accounts: customer accounts with a stored balance, and per-currency system accounts without one."""
import datetime as dt
import enum
import uuid
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class AccountKind(enum.StrEnum):
    """Whose an account is: a customer's, or the bank's own (system)."""

    CUSTOMER = "customer"
    SYSTEM = "system"


class AccountStatus(enum.StrEnum):
    """Where an account is in its life: active, frozen or closed."""

    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class SystemCode(enum.StrEnum):
    """The bank's own accounts, one of each per currency."""

    SETTLEMENT = "settlement"  # the outside world: the other leg of deposits and withdrawals
    CORRECTIONS = "corrections"  # the other leg of staff adjustments


class Account(Base):
    """A ledger account.

    A customer account keeps `balance` equal to the sum of its entries, and never below zero. A system account
    keeps no stored balance (NULL): it is on a great many postings, and a stored balance would make it a row that
    every posting has to lock and update. Its balance is the sum of its entries.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('customer', 'system')", name="kind_known"),
        sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name="status_known"),
        sa.CheckConstraint(
            "(kind = 'customer' AND balance IS NOT NULL AND balance >= 0 AND owner_id IS NOT NULL"
            " AND system_code IS NULL)"
            " OR (kind = 'system' AND balance IS NULL AND owner_id IS NULL AND system_code IS NOT NULL)",
            name="kind_shape",
        ),
        sa.CheckConstraint("status <> 'closed' OR kind <> 'customer' OR balance = 0", name="closed_at_zero"),
        sa.UniqueConstraint("system_code", "currency", name="uq_accounts_system_code_currency"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(sa.String(34), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    owner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    kind: Mapped[str] = mapped_column(sa.String(16), default=AccountKind.CUSTOMER.value)
    system_code: Mapped[Optional[str]] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=AccountStatus.ACTIVE.value)
    balance: Mapped[Optional[int]] = mapped_column(sa.BigInteger, default=0)
    # The latest value date posted to a customer account (NULL before its first posting): its stored balance is
    # its balance at the end of that date. Read under the row lock, it tells a posting which "today" the rows
    # already hold, whatever the clock said while the posting waited (portal.ledger.posting).
    last_value_date: Mapped[Optional[dt.date]] = mapped_column(sa.Date)
    opened_on: Mapped[dt.date] = mapped_column(sa.Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner = relationship("User", back_populates="accounts")

    @property
    def is_customer(self):
        """Tell whether this is a customer account rather than one of the bank's system accounts."""
        return self.kind == AccountKind.CUSTOMER.value

    def __repr__(self):
        """Show the account by number, kind, currency and status."""
        return f"<Account {self.number} {self.kind} {self.currency} {self.status}>"
