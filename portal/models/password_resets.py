"""Single-use password reset links an operator hands to a customer."""
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class PasswordReset(Base):
    """One reset link: only the SHA-256 of its secret is stored; it works once, until `expires_at`.

    A link stops working when it is used, when a newer one is made for the same user, or when the user's
    password changes some other way (`revoked_at`).
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[Optional[dt.datetime]]
    revoked_at: Mapped[Optional[dt.datetime]]

    user = relationship("User", foreign_keys=[user_id])

    def usable(self, now):
        """Whether the link still sets a password at `now`: not used, not superseded, not expired."""
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

    def __repr__(self):
        """Show the link by id and user (never its secret)."""
        return f"<PasswordReset {self.id} user {self.user_id}>"
