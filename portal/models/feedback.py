"""Feedback items and what hangs off them: votes, comments and the public timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import N_, Base, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.category import Category
    from portal.models.resolution import Resolution
    from portal.models.user import User


class FeedbackKind(StrEnum):
    """What the customer is telling us."""

    COMPLAINT = "complaint"
    IDEA = "idea"
    QUESTION = "question"
    PRAISE = "praise"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


class Visibility(StrEnum):
    """Public items are on the board; private ones are seen only by their author and staff."""

    PUBLIC = "public"
    PRIVATE = "private"


class FeedbackChannel(StrEnum):
    """How an item reached us: the site, email, the API, or staff entering it for a customer
    (staff, or the way the customer told them: phone, chat, in person, social media)."""

    WEB = "web"
    EMAIL = "email"
    API = "api"
    STAFF = "staff"
    PHONE = "phone"
    CHAT = "chat"
    IN_PERSON = "in_person"
    SOCIAL = "social"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS: dict[FeedbackChannel, str] = {
    FeedbackChannel.WEB: N_("Website"),
    FeedbackChannel.EMAIL: N_("Email"),
    FeedbackChannel.API: N_("API"),
    FeedbackChannel.STAFF: N_("Staff"),
    FeedbackChannel.PHONE: N_("Phone"),
    FeedbackChannel.CHAT: N_("Chat"),
    FeedbackChannel.IN_PERSON: N_("In person"),
    FeedbackChannel.SOCIAL: N_("Social media"),
}
# The ways a customer tells staff, who record it for them (services/recording.py).
STAFF_CHANNELS = (
    FeedbackChannel.PHONE,
    FeedbackChannel.CHAT,
    FeedbackChannel.IN_PERSON,
    FeedbackChannel.SOCIAL,
    FeedbackChannel.EMAIL,
)


class FeedbackState(StrEnum):
    """Where an item is on its way to an answer. Labels are what customers read."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DECLINED = "declined"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


STATE_LABELS: dict[FeedbackState, str] = {
    FeedbackState.RECEIVED: N_("Received"),
    FeedbackState.ACKNOWLEDGED: N_("Acknowledged"),
    FeedbackState.INVESTIGATING: N_("Looking into it"),
    FeedbackState.PLANNED: N_("Planned"),
    FeedbackState.IN_PROGRESS: N_("In progress"),
    FeedbackState.RESOLVED: N_("Done"),
    FeedbackState.DECLINED: N_("Not planned"),
    FeedbackState.DUPLICATE: N_("Merged"),
}
KIND_LABELS: dict[FeedbackKind, str] = {
    FeedbackKind.COMPLAINT: N_("Complaint"),
    FeedbackKind.IDEA: N_("Idea"),
    FeedbackKind.QUESTION: N_("Question"),
    FeedbackKind.PRAISE: N_("Praise"),
}

OPEN_STATES = frozenset(
    {
        FeedbackState.RECEIVED,
        FeedbackState.ACKNOWLEDGED,
        FeedbackState.INVESTIGATING,
        FeedbackState.PLANNED,
        FeedbackState.IN_PROGRESS,
    }
)


# The trending index: its order, then what the board filters by (see Feedback.__table_args__).
TRENDING_INDEX_COLUMNS = (
    "recent_votes",
    "vote_count",
    "id",
    "visibility",
    "hidden",
    "awaiting_review",
    "category_id",
    "state",
    "kind",
)


class Feedback(Base):
    """One piece of feedback: a complaint, an idea, a question or praise."""

    __tablename__ = "feedback"
    __table_args__ = (
        # The board lists public, shown items by votes or by age: equality on the visibility
        # columns, then exactly its ORDER BY, so a page (and the count) reads only the index.
        sa.Index(
            "ix_feedback_public_top", "visibility", "hidden", "awaiting_review", "vote_count", "id"
        ),
        sa.Index(
            "ix_feedback_public_new", "visibility", "hidden", "awaiting_review", "created_at", "id"
        ),
        # The board filtered by category (and state), newest first; also the category's FK.
        sa.Index("ix_feedback_category_state_created", "category_id", "state", "created_at", "id"),
        # The board filtered by category alone, by votes or by age: the board's own indexes
        # with the category first, so a page and the count read only the category's entries.
        sa.Index(
            "ix_feedback_category_public_top",
            "category_id",
            "visibility",
            "hidden",
            "awaiting_review",
            "vote_count",
            "id",
        ),
        sa.Index(
            "ix_feedback_category_public_new",
            "category_id",
            "visibility",
            "hidden",
            "awaiting_review",
            "created_at",
            "id",
        ),
        sa.Index("ix_feedback_state", "state"),
        # The roadmap's Planned column, soonest promise first, read in order and cut at 50.
        sa.Index("ix_feedback_state_target_date", "state", "target_date", "id"),
        sa.Index("ix_feedback_author_id", "author_id"),
        sa.Index("ix_feedback_owner_id", "owner_id"),
        # An item's resolution, and when the items of one resolution last changed (feeds).
        sa.Index("ix_feedback_resolution_updated", "resolution_id", "updated_at"),
        # The feeds' validator: the latest change to any resolved item, read off one index end.
        sa.Index(
            "ix_feedback_resolved_items_updated_at",
            "updated_at",
            sqlite_where=sa.text("resolution_id IS NOT NULL"),
            postgresql_where=sa.text("resolution_id IS NOT NULL"),
        ),
        sa.Index("ix_feedback_state_ack_due_at", "state", "ack_due_at"),
        sa.Index("ix_feedback_merged_into_id", "merged_into_id"),
        # Insights measure by when items arrived, were acknowledged and were resolved.
        sa.Index("ix_feedback_created_at", "created_at"),
        sa.Index("ix_feedback_target_date", "target_date"),
        sa.Index("ix_feedback_acknowledged_at", "acknowledged_at"),
        # Answers newest first, then by id: a resolution resolves its items at one moment.
        sa.Index("ix_feedback_resolved_at_id", "resolved_at", "id"),
        # The board's trending sort: only the items with votes in the trending window, in
        # the sort's order (read backwards), so a page reads a page's worth of entries; with
        # the board's visibility columns and filters, so a page and the count read no row.
        sa.Index(
            "ix_feedback_trending",
            *TRENDING_INDEX_COLUMNS,
            sqlite_where=sa.text("recent_votes > 0"),
            postgresql_where=sa.text("recent_votes > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FeedbackKind] = mapped_column(str_enum(FeedbackKind))
    title: Mapped[str] = mapped_column(sa.String(160))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.PUBLIC)
    state: Mapped[FeedbackState] = mapped_column(
        str_enum(FeedbackState), default=FeedbackState.RECEIVED
    )
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    vote_count: Mapped[int] = mapped_column(default=0)
    # Votes given since the trending window's start (TrendingWindow): kept by triggers on
    # votes, never written by the portal's own code but for the sweep (services/trending.py).
    recent_votes: Mapped[int] = mapped_column(default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(default=0)
    target_date: Mapped[date | None]
    # What we promise by that date, in one line ("a replacement with you"). NULL on promises
    # made before the outcome was asked for: their pages and emails keep the date alone.
    promise_outcome: Mapped[str | None] = mapped_column(sa.String(120))
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    hidden: Mapped[bool] = mapped_column(default=False)
    awaiting_review: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[FeedbackChannel] = mapped_column(
        str_enum(FeedbackChannel, length=10),
        default=FeedbackChannel.WEB,
        server_default=FeedbackChannel.WEB.value,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None]
    # When a person must have acknowledged it: submission time plus the category's target,
    # fixed at submission (it is what the customer was told to expect).
    ack_due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resolutions.id"))
    # "Did this fix it?": the author's answer after resolution.
    reopen_requested_at: Mapped[datetime | None]
    fix_confirmed_at: Mapped[datetime | None]
    # Redacted text stays stored (and in the audit log) for staff, but is never shown publicly.
    redacted_at: Mapped[datetime | None]
    # The language the customer wrote in (the page's, or the email's): their words are shown
    # as written, never machine-translated. None for items from before languages.
    language: Mapped[str | None] = mapped_column(sa.String(16))
    # When its author last changed the title or text (the words before are TextVersion rows).
    edited_at: Mapped[datetime | None]
    # The page of the organisation's own site the feedback widget was opened on (context for
    # staff, never shown publicly); None for items from anywhere else.
    page_url: Mapped[str | None] = mapped_column(sa.String(2000))

    category: Mapped[Category] = relationship(lazy="raise_on_sql")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="raise_on_sql")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="raise_on_sql")
    merged_into: Mapped[Feedback | None] = relationship(remote_side=[id], lazy="raise_on_sql")
    resolution: Mapped[Resolution | None] = relationship(lazy="raise_on_sql")

    @property
    def overdue(self) -> bool:
        """Still unacknowledged past the category's acknowledgement target."""
        return (
            self.state is FeedbackState.RECEIVED
            and self.ack_due_at is not None
            and self.ack_due_at < datetime.now(UTC)
        )

    @property
    def promise_broken(self) -> bool:
        """A promised date in the past on an item that is still open."""
        return (
            self.target_date is not None
            and self.state.is_open
            and self.target_date < datetime.now(UTC).date()
        )

    def __repr__(self) -> str:
        return f"<Feedback {self.id} {self.state}>"


class Vote(Base):
    """A customer's "me too". One per user and item, guarded by a unique constraint."""

    __tablename__ = "votes"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "feedback_id", name="uq_votes_user_id_feedback_id"),
        # An item's votes, with who cast them and when: the people who raised a resolution
        # are counted off this index alone (resolutions.voice_counts), not a row per vote.
        sa.Index("ix_votes_feedback_id_created_at_user_id", "feedback_id", "created_at", "user_id"),
        # The board's trending sort counts the last 14 days' votes per item off this index alone.
        sa.Index("ix_votes_created_at_feedback_id", "created_at", "feedback_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrendingWindow(Base):
    """Where the trending window starts (one row, id 1): each item's ``recent_votes`` counts
    its votes given since then. The sweep moves it up to 14 days ago (services/trending.py);
    triggers on ``votes`` compare each vote added, moved or taken back with it."""

    __tablename__ = "trending_window"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    starts_at: Mapped[datetime]


class SignalKind(StrEnum):
    """What a customer says of a closed item, each counted on its own (never as a vote)."""

    STILL_HAPPENS = "still_happens"  # on a Done item: a reopen request to its owner
    STILL_WANTED = "still_wanted"  # on a Not planned item: staff see it rising in triage

    @property
    def label(self) -> str:
        return {
            "still_happens": "This still happens to me",
            "still_wanted": "I still want this",
        }[self.value]


class ItemSignal(Base):
    """One person saying "this still happens to me" or "I still want this" of one item: once
    each (a unique constraint). Saying it again after the item was done again moves its time
    on, so it counts for the new answer."""

    __tablename__ = "item_signals"
    __table_args__ = (
        sa.UniqueConstraint(
            "feedback_id", "user_id", "kind", name="uq_item_signals_feedback_id_user_id_kind"
        ),
        # Counting an item's signals of one kind since a time; triage's last 30 days.
        sa.Index("ix_item_signals_kind_created_at", "kind", "created_at"),
        sa.Index("ix_item_signals_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[SignalKind] = mapped_column(str_enum(SignalKind))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="raise_on_sql")


class MergedVoice(Base):
    """Someone who spoke up on a duplicate (its author, a voter, a commenter), now heard on the
    item it was merged into: they are asked "Did this fix it?" there, as its author is, and
    this row keeps their answer."""

    __tablename__ = "merged_voices"
    __table_args__ = (
        sa.UniqueConstraint("feedback_id", "user_id", name="uq_merged_voices_feedback_id_user_id"),
        sa.Index("ix_merged_voices_merged_from_id", "merged_from_id"),
        sa.Index("ix_merged_voices_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The item their voice counts on now (a merge of that one moves the row along).
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # The duplicate where they spoke up.
    merged_from_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Their answer to "Did this fix it?" after the item is resolved.
    fix_confirmed_at: Mapped[datetime | None]
    reopen_requested_at: Mapped[datetime | None]


class Comment(Base):
    """A comment on an item. Official ones are staff replies; internal ones only staff see."""

    __tablename__ = "comments"
    __table_args__ = (
        sa.Index("ix_comments_feedback_id_created_at", "feedback_id", "created_at"),
        # The tone check reads a writer's latest replies (workflow.tone_context).
        sa.Index("ix_comments_author_id_created_at", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    official: Mapped[bool] = mapped_column(default=False)
    internal: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its author last changed it (the words before are TextVersion rows).
    edited_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(lazy="raise_on_sql")


class TextVersion(Base):
    """Words an author replaced by editing their item (title and text) or their comment, kept
    for staff ("Earlier versions"). Each row holds the words as they were from `written_at`
    until `replaced_at`; the current words stay on the item or comment."""

    __tablename__ = "text_versions"
    __table_args__ = (
        # An item's versions and its comments' versions, read together for its page.
        sa.Index("ix_text_versions_feedback_id_comment_id", "feedback_id", "comment_id"),
        sa.Index("ix_text_versions_comment_id", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    # None: the item's own title and text; otherwise that comment's text.
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    title: Mapped[str | None] = mapped_column(sa.String(160))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    written_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineKind(StrEnum):
    """The kinds of public change an item's tracking history records."""

    SUBMITTED = "submitted"
    STATE_CHANGED = "state_changed"
    OWNER_CHANGED = "owner_changed"
    PROMISE_SET = "promise_set"
    PROMISE_MOVED = "promise_moved"
    MERGED = "merged"
    REOPEN_REQUESTED = "reopen_requested"


class TimelineEvent(Base):
    """One step in an item's public history: who did what, when, and what they said."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        sa.Index("ix_timeline_events_feedback_id_created_at", "feedback_id", "created_at"),
        # Insights count events of one kind (promises moved, declines) in a date range.
        sa.Index("ix_timeline_events_kind_created_at", "kind", "created_at"),
        # The tone check reads a writer's latest state messages (workflow.tone_context).
        sa.Index("ix_timeline_events_actor_id_created_at", "actor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[TimelineKind] = mapped_column(str_enum(TimelineKind))
    from_state: Mapped[FeedbackState | None] = mapped_column(str_enum(FeedbackState))
    to_state: Mapped[FeedbackState | None] = mapped_column(str_enum(FeedbackState))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    message_html: Mapped[str] = mapped_column(sa.Text, default="")
    target_date: Mapped[date | None]
    # On an owner_changed step, who looks after the item now: the page names them in the
    # reader's language ("Sam is looking after this now"); `message` holds only the reason given.
    new_owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="raise_on_sql")
    new_owner: Mapped[User | None] = relationship(foreign_keys=[new_owner_id], lazy="raise_on_sql")
