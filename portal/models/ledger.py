"""The journal: transactions, their entries, and per-account day-end balances."""
import datetime as dt
import enum
import uuid
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class TransactionKind(enum.StrEnum):
    """What a transaction is: a deposit, withdrawal, transfer, reversal or staff adjustment."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"


KIND_VALUES = tuple(kind.value for kind in TransactionKind)


class Transaction(Base):
    """One immutable journal entry; its entries sum to zero.

    A reversal points at the transaction it reverses; the unique constraint on `reverses_id` is what makes
    "reversed at most once" hold even against two staff members pressing the button at the same moment.
    """

    __tablename__ = "transactions"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {KIND_VALUES!r}", name="kind_known"),
        sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_has_original"),
        sa.CheckConstraint("kind NOT IN ('reversal', 'adjustment') OR reason IS NOT NULL", name="correction_reason"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(sa.String(16))
    value_date: Mapped[dt.date] = mapped_column(sa.Date)
    booked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(sa.String(140), default="")
    created_by_user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_by_token_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("api_tokens.id"))
    reverses_id: Mapped[Optional[uuid.UUID]] = mapped_column(sa.ForeignKey("transactions.id"), unique=True)
    reason: Mapped[Optional[str]] = mapped_column(sa.Text)  # internal: staff and auditors only
    customer_note: Mapped[Optional[str]] = mapped_column(sa.Text)  # what the customer is told of a correction

    entries = relationship("Entry", back_populates="transaction", order_by="Entry.id")
    reverses = relationship("Transaction", remote_side=[id], foreign_keys=[reverses_id], back_populates="reversed_by")
    reversed_by = relationship("Transaction", foreign_keys=[reverses_id], back_populates="reverses", uselist=False)

    def __repr__(self):
        """Show the transaction by id, kind and value date."""
        return f"<Transaction {self.id} {self.kind} {self.value_date}>"


class Entry(Base):
    """One leg of a transaction: a signed, non-zero amount on one account.

    `value_date` repeats the transaction's so that an account's history and its balance at a date are served
    from one index on (account_id, value_date, id) without a join.
    """

    __tablename__ = "entries"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.UniqueConstraint("transaction_id", "account_id", name="uq_entries_transaction_account"),
        sa.Index("ix_entries_account_history", "account_id", "value_date", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("transactions.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    value_date: Mapped[dt.date] = mapped_column(sa.Date)

    transaction = relationship("Transaction", back_populates="entries")
    account = relationship("Account")

    def __repr__(self):
        """Show the entry by account id and signed amount."""
        return f"<Entry {self.account_id} {self.amount}>"


class DailyBalance(Base):
    """A customer account's balance at the end of a day on which it had entries.

    The balance at the end of any date D is the row with the greatest day <= D (0 if none): one index lookup,
    whatever the length of the history. The CHECK makes "no day-end below zero" a database rule too.
    """

    __tablename__ = "daily_balances"
    __table_args__ = (sa.CheckConstraint("closing >= 0", name="closing_nonnegative"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    closing: Mapped[int] = mapped_column(sa.BigInteger)
