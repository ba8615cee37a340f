"""Users: customers and operations staff."""
import datetime as dt
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class Role(enum.StrEnum):
    """A user's single role; every role but `customer` is staff."""

    CUSTOMER = "customer"
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def is_staff(self):
        """Tell whether this role is a staff role (any but customer)."""
        return self is not Role.CUSTOMER


ROLE_VALUES = tuple(role.value for role in Role)


class User(UserMixin, Base):
    """A person who logs in: a customer owning accounts, or a member of staff."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role_known"),
        # Emails are stored lower-cased by the domain; this keeps raw SQL honest too.
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.CUSTOMER.value)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Every login session carries the version it started under; bumping it (logout, a password change,
    # deactivation, a role change) ends them all on their next request (portal.auth.sessions).
    session_version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    # Set when someone else chose the password (an admin's generated one): every page but /password waits.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    accounts = relationship("Account", back_populates="owner", viewonly=True)

    @property
    def role_enum(self):
        """Return the user's role as a Role."""
        return Role(self.role)

    @property
    def is_staff(self):
        """Tell whether the user is a member of staff."""
        return self.role_enum.is_staff

    @property
    def is_active(self):
        """Flask-Login: a deactivated user's session stops working on their next request."""
        return self.active

    def has_role(self, *roles):
        """Tell whether the user's role is one of `roles`."""
        return self.role in {str(role) for role in roles}

    def __repr__(self):
        """Show the user by id, email and role."""
        return f"<User {self.id} {self.email} {self.role}>"
