"""Daily roll-ups of the insights figures, so the staff report and the public figures read a
few rows per day instead of every item of the period (services/insights/rollups.py keeps them).

- ``InsightDay``: per UTC day, category, kind and channel, the items received, acknowledged
  within or after their target, resolved, declined, and promises kept or broken that day.
- ``InsightDuration``: per UTC day, measure (acknowledge or resolve), and category or owner
  (the other -1, ``rollups.ALL``), how many durations fell in each shown duration
  (``rollups.duration_bucket``).
- ``InsightBacklog``: the open items per owner now, for staff workload.
- ``InsightWaiting``: items not yet acknowledged, by day received, category and day due.
- ``InsightItem``: what one item adds to those rows now, so a change to the item takes its old
  share away before adding the new one. Read only when the item changes (and for the items
  not yet acknowledged, the only acknowledgement figure that depends on the moment asked).

Days are whole days since 1 January 1970 (UTC), as ``queries.day_index`` counts them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base
from portal.models.feedback import Feedback

# Insights' most-voted open items read in the order of this index and stop at the tenth open
# one, instead of sorting every open item (declared here, with the insights, on their table).
sa.Index(
    "ix_feedback_most_voted",
    Feedback.vote_count.desc(),
    Feedback.created_at,
    Feedback.id,
)

# On SQLite the roll-ups are clustered on their primary key (no rowid): a period's rows are
# read from the key alone, without a look-up in the table for each one.
WITHOUT_ROWID = {"sqlite_with_rowid": False}

# No owner: the owner dimension is part of a primary key, so it cannot be NULL.
NO_OWNER = 0


class InsightDay(Base):
    """Counts of one UTC day for one category, kind and channel."""

    __tablename__ = "insight_days"
    __table_args__ = WITHOUT_ROWID

    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    received: Mapped[int] = mapped_column(default=0, server_default="0")
    ack_met: Mapped[int] = mapped_column(default=0, server_default="0")
    ack_late: Mapped[int] = mapped_column(default=0, server_default="0")
    resolved: Mapped[int] = mapped_column(default=0, server_default="0")
    declined: Mapped[int] = mapped_column(default=0, server_default="0")
    promises_kept: Mapped[int] = mapped_column(default=0, server_default="0")
    promises_broken: Mapped[int] = mapped_column(default=0, server_default="0")


class InsightDuration(Base):
    """How many acknowledgement or resolution times of one UTC day and category (owner -1),
    or owner (category -1), or all items (both -1) were shown as ``seconds`` (the bucket's
    value)."""

    __tablename__ = "insight_durations"
    __table_args__ = WITHOUT_ROWID

    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seconds: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0, server_default="0")


class InsightBacklog(Base):
    """The open items per owner, as staff workload shows them: ``what`` is "open" (every open
    item, ``day`` 0), "due" (items still received, by the day their acknowledgement is due,
    -1 for none) or "arrived" (items still received, by the day they arrived)."""

    __tablename__ = "insight_backlog"
    __table_args__ = WITHOUT_ROWID

    owner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    what: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0, server_default="0")


class InsightWaiting(Base):
    """Items with an acknowledgement target not yet acknowledged, per day received, category
    and day due: missed or not yet due depends on the moment asked, decided by the due day
    (only the items due on the day asked are looked at one by one)."""

    __tablename__ = "insight_waiting"
    __table_args__ = WITHOUT_ROWID

    created_day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    category_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    due_day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0, server_default="0")


class InsightItem(Base):
    """One item's share of the roll-ups as last counted (days as day numbers)."""

    __tablename__ = "insight_items"
    __table_args__ = (
        sa.Index(
            "ix_insight_items_unacknowledged",
            "unacknowledged_due_at",
            sqlite_where=sa.text("unacknowledged_due_at IS NOT NULL"),
            postgresql_where=sa.text("unacknowledged_due_at IS NOT NULL"),
        ),
    )

    feedback_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_day: Mapped[int]
    category_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    owner_id: Mapped[int]
    # 1 acknowledged within target, 2 after it, 0 neither (not yet, or no target).
    ack_outcome: Mapped[int]
    ack_seconds: Mapped[int | None]
    # Set while the item has a target and is not acknowledged: met or missed depends on now.
    unacknowledged_due_at: Mapped[datetime | None]
    resolved_day: Mapped[int | None]
    resolve_seconds: Mapped[int | None]
    declined_day: Mapped[int | None]
    kept_day: Mapped[int | None]
    broken_day: Mapped[int | None]
    # Staff workload: open, and still received (with the day its acknowledgement is due).
    open: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    waiting: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    ack_due_day: Mapped[int | None]


class InsightUserDay(Base):
    """Items written and votes given by one customer on one UTC day. Kept by triggers on
    ``feedback`` and ``votes`` (migration b7d2e5f8a3c1): votes are cast by plain SQL."""

    __tablename__ = "insight_user_days"
    __table_args__ = WITHOUT_ROWID

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    items: Mapped[int] = mapped_column(default=0, server_default="0")
    votes: Mapped[int] = mapped_column(default=0, server_default="0")


class InsightSegmentDay(Base):
    """Items written and votes given on one UTC day by the customers whose segment is now
    ``segment`` ("" for none): a change of a customer's segment moves their whole history
    (trigger on ``users.segment``), so the sums agree with a recount by the segment now."""

    __tablename__ = "insight_segment_days"
    __table_args__ = WITHOUT_ROWID

    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    segment: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    items: Mapped[int] = mapped_column(default=0, server_default="0")
    votes: Mapped[int] = mapped_column(default=0, server_default="0")
