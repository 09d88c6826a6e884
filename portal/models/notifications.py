"""Who hears about what: follows, the outbox of emails, unsubscribes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, str_enum, utcnow


class Follow(Base):
    """Someone who is told about an item's changes. Authors and voters follow automatically."""

    __tablename__ = "follows"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "feedback_id", name="uq_follows_user_id_feedback_id"),
        sa.Index("ix_follows_feedback_id", "feedback_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Came with a "me too" and nothing else: taking the vote back ends it. Following by choice
    # (the button) or as the author clears it.
    because_of_vote: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class CategoryFollow(Base):
    """A member of staff who hears of every new item in a category."""

    __tablename__ = "category_follows"
    __table_args__ = (
        sa.UniqueConstraint(
            "user_id", "category_id", name="uq_category_follows_user_id_category_id"
        ),
        sa.Index("ix_category_follows_category_id", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxStatus(StrEnum):
    """Where an email is on its way out."""

    PENDING = "pending"  # waiting to be sent (or to be retried)
    SENDING = "sending"  # claimed by a deliverer
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry
    FOLDED = "folded"  # over the daily cap: goes out inside a summary instead
    WITHDRAWN = "withdrawn"  # not sent: the person stopped these emails while it waited


class OutboxMessage(Base):
    """An email, written in the same transaction as the change that causes it, then delivered
    with retries. A rolled-back change sends nothing; an SMTP outage loses nothing."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_outbox_messages_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_outbox_messages_summary_id", "summary_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across retries, so a message sent twice after a crash is recognisably one message.
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    to_email: Mapped[str] = mapped_column(sa.String(254))
    to_name: Mapped[str] = mapped_column(sa.String(120), default="")
    from_name: Mapped[str] = mapped_column(sa.String(120), default="")
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    # Folded notifications point at the summary message that carries them.
    summary_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id"))
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Unsubscribe(Base):
    """A recorded opt-out, so staff can see the opt-out rate per period."""

    __tablename__ = "unsubscribes"
    __table_args__ = (sa.Index("ix_unsubscribes_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "digest", "notifications" (all of them) or "item" (one item's notifications).
    scope: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    subscription_id: Mapped[int | None] = mapped_column(sa.ForeignKey("digest_subscriptions.id"))
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
