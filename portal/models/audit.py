"""The append-only audit log."""
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

OUTCOMES = ("success", "denied", "failed")
ACTOR_TYPES = ("user", "token", "system", "anonymous")


class AuditEvent(Base):
    """Who did what, when, from where, why, and how it ended. Never updated, never deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.CheckConstraint(f"outcome IN {OUTCOMES!r}", name="outcome_known"),
        sa.CheckConstraint(f"actor_type IN {ACTOR_TYPES!r}", name="actor_type_known"),
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        sa.Index("ix_audit_events_subject", "subject_user_id", "id"),
        # The sealer's queue: the events not yet in the chain, in id order (a small partial index).
        sa.Index("ix_audit_events_unsealed", "id", postgresql_where=sa.text("position IS NULL"),
                 sqlite_where=sa.text("position IS NULL")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(sa.String(16))
    actor_user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_token_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    # The registered app a credential acts for (a personal token for an app, or an OAuth token), and the consent
    # an OAuth token was issued under: what the customer and the bank read to see what each app did.
    actor_app_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("third_party_apps.id"), index=True)
    actor_consent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("consents.id"))
    # A correction applied on a second member of staff's approval (four eyes): the actor is the checker, this is
    # the maker who asked for it, and the request it was asked in.
    maker_user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    correction_request_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("correction_requests.id"),
                                                                 index=True)
    ip: Mapped[Optional[str]] = mapped_column(sa.String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(sa.String(255))
    request_id: Mapped[Optional[str]] = mapped_column(sa.String(64))  # the server's own, unique per request
    client_request_id: Mapped[Optional[str]] = mapped_column(sa.String(64))  # the client's X-Request-ID, if sane
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[Optional[str]] = mapped_column(sa.String(32))
    object_id: Mapped[Optional[str]] = mapped_column(sa.String(64))
    # The customer the event concerns (owner of the account or token, or the user acted on), for /activity.
    subject_user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    changes: Mapped[Optional[dict]]
    reason: Mapped[Optional[str]] = mapped_column(sa.Text)  # a member of staff's own reason (corrections)
    # A refused attempt (outcome denied or failed): why it was refused, as a stable code and a message.
    refusal_code: Mapped[Optional[str]] = mapped_column(sa.String(64))
    refusal_message: Mapped[Optional[str]] = mapped_column(sa.Text)

    # For reading only (the back-office names people and tokens); events are written as rows by portal.audit.
    actor_user = relationship("User", foreign_keys=[actor_user_id], viewonly=True)
    actor_token = relationship("ApiToken", foreign_keys=[actor_token_id], viewonly=True)
    maker_user = relationship("User", foreign_keys=[maker_user_id], viewonly=True)
    subject_user = relationship("User", foreign_keys=[subject_user_id], viewonly=True)
    outcome: Mapped[str] = mapped_column(sa.String(16), default="success")

    # The hash chain (portal/audit/chain.py). `canonical` is the event's fixed serialisation, written with the
    # row; `position` and `link` are set once, later, by the sealer (the only UPDATE the trigger lets through).
    canonical: Mapped[Optional[bytes]] = mapped_column(sa.LargeBinary)
    position: Mapped[Optional[int]] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                                    index=True, unique=True)
    link: Mapped[Optional[bytes]] = mapped_column(sa.LargeBinary)

    def __repr__(self):
        """Show the event by id, action and outcome."""
        return f"<AuditEvent {self.id} {self.action} {self.outcome}>"


class AuditChainHead(Base):
    """The last sealed position and link, as the sealer recorded it: one row, touched by sealers only.

    Sealers lock it (so two never fork the chain); `audit verify` compares the chain's end with it (a shorter
    chain is a truncated tail). No posting reads or writes it.
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    link: Mapped[bytes] = mapped_column(sa.LargeBinary)
    event_at: Mapped[Optional[dt.datetime]]  # when the last sealed event occurred
    sealed_at: Mapped[Optional[dt.datetime]]  # when the sealer last moved the head
