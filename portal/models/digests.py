"""Digest subscriptions, runs and deliveries: consent first, never twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, str_enum, utcnow


class DigestFrequency(StrEnum):
    """How often a subscriber hears from us."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"


digest_subscription_categories = sa.Table(
    "digest_subscription_categories",
    Base.metadata,
    sa.Column(
        "subscription_id",
        sa.ForeignKey("digest_subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("category_id", sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class DigestSubscription(Base):
    """An email address that asked for the digest. Mailed only once confirmed (double opt-in)."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (
        sa.Index(
            "uq_digest_subscriptions_email_lower", sa.func.lower(sa.text("email")), unique=True
        ),
        sa.Index("ix_digest_subscriptions_frequency_id", "frequency", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    frequency: Mapped[DigestFrequency] = mapped_column(str_enum(DigestFrequency))
    confirm_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unsubscribe_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language the digest is written in, chosen when subscribing (the page's by default);
    # None for subscriptions from before languages: the site's default.
    language: Mapped[str | None] = mapped_column(sa.String(16))


class DigestRun(Base):
    """One run per period key (such as "weekly:2026-W47"): a period is never mailed twice."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    frequency: Mapped[DigestFrequency] = mapped_column(str_enum(DigestFrequency))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    delivered: Mapped[int] = mapped_column(default=0)


class DigestDelivery(Base):
    """One subscriber's copy of one run. The unique pair is what makes "never twice" hold,
    even with two machines sending the same period at once."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        sa.UniqueConstraint(
            "run_id", "subscription_id", name="uq_digest_deliveries_run_id_subscription_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("digest_runs.id"))
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("digest_subscriptions.id"))
    outbox_message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
