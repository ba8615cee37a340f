"""Remembered results of POSTs sent with an Idempotency-Key."""
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class IdempotencyKey(Base):
    """One key of one user: the fingerprint of the request that used it first, and the response it got.

    The row is inserted in the same database transaction as the posting and rolls back with it, so only
    successful results are remembered, and a concurrent repeat waits on the primary key until the first
    request commits (then replays it) or rolls back (then runs itself).
    """

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[Optional[int]]
    response_body: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
