"""What staff recorded for a customer who told them by phone, chat, in person, social media
or email: a new item, or a "me too" on an existing one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, str_enum, utcnow
from portal.models.feedback import FeedbackChannel

if TYPE_CHECKING:
    from portal.models.user import User


class RecordedKind(StrEnum):
    """What staff recorded for the customer."""

    ITEM = "item"  # the customer's new item
    ME_TOO = "me_too"  # the customer's "me too" on an item


class StaffRecording(Base):
    """Staff recorded an item or a "me too" for a customer, heard through a channel: who for,
    who by, how and when. The item's vote and follow are the customer's own rows; this says
    how they came to be (the staff view of the timeline, and insights by channel). Once per
    customer, item and kind (a unique constraint)."""

    __tablename__ = "staff_recordings"
    __table_args__ = (
        sa.UniqueConstraint(
            "feedback_id",
            "customer_id",
            "kind",
            name="uq_staff_recordings_feedback_id_customer_id_kind",
        ),
        # Insights count what was recorded in a period, by channel.
        sa.Index("ix_staff_recordings_created_at", "created_at"),
        sa.Index("ix_staff_recordings_customer_id", "customer_id"),
        sa.Index("ix_staff_recordings_recorded_by_id", "recorded_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[RecordedKind] = mapped_column(str_enum(RecordedKind, length=10))
    channel: Mapped[FeedbackChannel] = mapped_column(str_enum(FeedbackChannel, length=10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id], lazy="raise_on_sql")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id], lazy="raise_on_sql")
