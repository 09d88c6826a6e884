"""Chat notifications for staff: channels (a Slack, Microsoft Teams or Discord incoming
webhook), the messages queued for them, and the timed notices already sent.

A message row is written in the same transaction as its cause (like the email outbox), then
sent with retries and backoff. The timed notices (an acknowledgement about to be missed, a
promise due or missed) come from a sweep run every few minutes: a notice row per item, event
and day, unique, is what makes each go out once that day however often the sweep runs.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import N_, Base, str_enum, utcnow
from portal.models.category import Category
from portal.models.webhooks import PostedJson

if TYPE_CHECKING:
    from portal.models.user import User


class ChatKind(StrEnum):
    """Which service's incoming-webhook format a channel speaks."""

    SLACK = "slack"
    TEAMS = "teams"
    DISCORD = "discord"

    @property
    def label(self) -> str:
        return {
            "slack": N_("Slack"),
            "teams": N_("Microsoft Teams"),
            "discord": N_("Discord"),
        }[self.value]


class ChatEvent(StrEnum):
    """What a channel can hear about."""

    NEW_ITEM = "new_item"
    ACK_DUE_SOON = "ack_due_soon"
    REOPEN_REQUESTED = "reopen_requested"
    PROMISE_DUE_SOON = "promise_due_soon"
    PROMISE_MISSED = "promise_missed"
    # Sent only when an admin asks for a test; no channel subscribes to it.
    TEST = "test"

    @property
    def label(self) -> str:
        return {
            "new_item": N_("A new item"),
            "ack_due_soon": N_("An item is about to miss its acknowledgement target"),
            "reopen_requested": N_(
                "A customer asks to reopen (\u201cThis still happens to me\u201d, "
                "\u201cI still want this\u201d)"
            ),
            "promise_due_soon": N_("A promised date is two days away"),
            "promise_missed": N_("A promised date was missed"),
            "test": N_("Test message"),
        }[self.value]


CHAT_EVENTS = (
    ChatEvent.NEW_ITEM,
    ChatEvent.ACK_DUE_SOON,
    ChatEvent.REOPEN_REQUESTED,
    ChatEvent.PROMISE_DUE_SOON,
    ChatEvent.PROMISE_MISSED,
)


class ChatMessageStatus(StrEnum):
    """Where a message is on its way out (the same life as a webhook delivery)."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            "pending": N_("Waiting to be sent"),
            "sending": N_("Being sent"),
            "delivered": N_("Delivered"),
            "failed": N_("Not delivered"),
        }[self.value]


chat_channel_categories = sa.Table(
    "chat_channel_categories",
    Base.metadata,
    sa.Column(
        "channel_id", sa.ForeignKey("chat_channels.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("category_id", sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class ChatChannel(Base):
    """A chat room's incoming webhook, with the events and categories it gets."""

    __tablename__ = "chat_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[ChatKind] = mapped_column(str_enum(ChatKind, length=10))
    # The URL is the credential (anyone holding it can post to the room): shown masked.
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Every category, or only those in chat_channel_categories.
    all_categories: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Removed channels keep their rows, so the messages sent to them stay readable.
    deleted_at: Mapped[datetime | None]

    categories: Mapped[list[Category]] = relationship(
        secondary=chat_channel_categories, lazy="selectin", order_by=Category.position
    )
    created_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    def wants(self, event: str, category_id: int) -> bool:
        """Whether this channel should be told of the event on an item in this category."""
        if not self.active or self.deleted_at is not None or event not in (self.events or []):
            return False
        return self.all_categories or any(c.id == category_id for c in self.categories)

    def __repr__(self) -> str:
        return f"<ChatChannel {self.id} {self.kind}>"


class ChatMessage(PostedJson, Base):
    """One event for one channel: the exact JSON body, sent with retries and backoff."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        sa.Index("ix_chat_messages_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_chat_messages_channel_id_created_at", "channel_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_channels.id"))
    event: Mapped[str] = mapped_column(sa.String(40))
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    status: Mapped[ChatMessageStatus] = mapped_column(
        str_enum(ChatMessageStatus), default=ChatMessageStatus.PENDING
    )

    channel: Mapped[ChatChannel] = relationship(lazy="raise_on_sql")

    @property
    def event_label(self) -> str:
        """The event in words (for the channel's page), its code if it is not one we know."""
        try:
            return ChatEvent(self.event).label
        except ValueError:
            return self.event


class ChatNotice(Base):
    """A timed notice (or a reopen request) already sent for an item today: at most one per
    item, event and day, whichever sweep or request got there first."""

    __tablename__ = "chat_notices"
    __table_args__ = (
        sa.UniqueConstraint(
            "feedback_id", "event", "day", name="uq_chat_notices_feedback_id_event_day"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    event: Mapped[str] = mapped_column(sa.String(40))
    day: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
