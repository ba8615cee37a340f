"""Corrections waiting for a second member of staff (four eyes): what was asked, by whom, and how it ended."""
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

REQUEST_STATUSES = ("pending", "approved", "rejected", "withdrawn", "expired", "failed")


class RequestedCorrection(Base):
    """One stored correction request: the CorrectionRequest's fields, then the decision on it.

    A request changes nothing until a checker approves it; then the correction is applied in the same database
    transaction as the decision. Maker and checker are never the same person (the domain refuses it; the CHECK
    backs it).
    """

    __tablename__ = "correction_requests"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {REQUEST_STATUSES!r}", name="status_known"),
        sa.CheckConstraint("checker_id IS NULL OR checker_id <> maker_id", name="maker_is_not_checker"),
        sa.Index("ix_correction_requests_target", "target_type", "target_id"),
        sa.Index("ix_correction_requests_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[Optional[str]] = mapped_column(sa.String(64))  # an int or a UUID, as text
    parameters: Mapped[dict]
    reason: Mapped[str] = mapped_column(sa.Text)
    customer_note: Mapped[Optional[str]] = mapped_column(sa.Text)
    maker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    checker_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[Optional[dt.datetime]]
    comment: Mapped[Optional[str]] = mapped_column(sa.Text)  # the checker's, on a rejection
    refusal_code: Mapped[Optional[str]] = mapped_column(sa.String(64))  # why it failed when approved
    refusal_message: Mapped[Optional[str]] = mapped_column(sa.Text)

    maker = relationship("User", foreign_keys=[maker_id], viewonly=True)
    checker = relationship("User", foreign_keys=[checker_id], viewonly=True)

    def shown_status(self, now):
        """The status as people should read it: a pending request past its expiry is expired."""
        return "expired" if self.status == "pending" and now >= self.expires_at else self.status

    def __repr__(self):
        """Show the request by id, kind and status."""
        return f"<RequestedCorrection {self.id} {self.kind} {self.status}>"
