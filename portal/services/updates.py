"""What's new for me: the changes on the items a person follows, newest first, and how many
came since they last looked (the header's unread count).

Nothing new is stored per change. The changes are read from what the portal already keeps:
the item's public timeline (a move to another state, a promise set or moved, a new owner, a
matching report joining it, a "not fixed yet") and staff's public replies. A new table filled
by the events' consumers would copy each change once per follower at write time (thousands of
rows for a popular item's move) and would still have to ask, when read, whether the reader may
see the item now; reading the timeline asks that once, in the same statement. The person's
row keeps one moment, `updates_seen_at`; what came after it is unread.

What a reader is shown: only changes on items they follow and may see now (visibility's rule),
made after they began following, by someone other than themselves. Internal notes, hidden
comments, customers' comments and the "received" step are never changes here. A withheld
item's title reaches only staff and its author (item_data.title_for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Comment,
    Feedback,
    FeedbackState,
    Follow,
    MergedVoice,
    TimelineEvent,
    TimelineKind,
    User,
)
from portal.services.item_data import excerpt, title_for
from portal.services.visibility import visible_items_clause, visible_to_customer_clause

# The timeline steps that are news to a follower. "Submitted" is not: they followed after it,
# or wrote it.
NEWS_STEPS = (
    TimelineKind.STATE_CHANGED,
    TimelineKind.OWNER_CHANGED,
    TimelineKind.PROMISE_SET,
    TimelineKind.PROMISE_MOVED,
    TimelineKind.MERGED,
    TimelineKind.REOPEN_REQUESTED,
)
PER_PAGE = 20
# The header's count stops here ("99+"): counting further would cost more for nobody's benefit.
COUNT_CAP = 100
# How much of a message or reply a line quotes.
QUOTE_CHARS = 160


class UpdateKind(StrEnum):
    """What happened, as the page words it."""

    REPLY = "reply"  # staff answered publicly
    STATE = "state"  # moved to another state (Planned, Done, Not planned ...)
    OWNER = "owner"  # someone else looks after it now
    PROMISE_SET = "promise_set"
    PROMISE_MOVED = "promise_moved"
    MERGED = "merged"  # a matching report joined it
    NOT_FIXED = "not_fixed"  # someone said it is not fixed yet


_KIND_OF_STEP = {
    TimelineKind.STATE_CHANGED: UpdateKind.STATE,
    TimelineKind.OWNER_CHANGED: UpdateKind.OWNER,
    TimelineKind.PROMISE_SET: UpdateKind.PROMISE_SET,
    TimelineKind.PROMISE_MOVED: UpdateKind.PROMISE_MOVED,
    TimelineKind.MERGED: UpdateKind.MERGED,
    TimelineKind.REOPEN_REQUESTED: UpdateKind.NOT_FIXED,
}


@dataclass(frozen=True)
class Update:
    """One change on a followed item, with what the page needs to say it in words."""

    kind: UpdateKind
    at: datetime
    item_id: int
    title: str  # as this reader may read it
    yours: bool  # the reader wrote the item ("your feedback")
    actor_name: str  # who did it ("" when nobody is recorded)
    quote: str  # the message, reason or reply, cut to one short paragraph
    to_state: FeedbackState | None
    target_date: date | None  # a promise's date; a move to Planned carries its promise's
    new_owner_name: str
    may_answer_fix: bool  # a Done item this reader is asked "Did this fix it?" about
    new: bool  # came after the reader last opened the page


@dataclass(frozen=True)
class UpdatesPage:
    """One page of updates, newest first."""

    updates: Sequence[Update]
    page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


# Who reads: their id (a value, or a bind parameter in a statement built once) and the SQL of
# the items they may see now (visibility's rule).
Reader = tuple[int | sa.BindParameter[int], sa.ColumnElement[bool]]
Since = datetime | sa.BindParameter[datetime] | None


def _reader(user: User) -> Reader:
    return user.id, visible_items_clause(user)


def _followed(reader: Reader) -> list[sa.ColumnElement[bool]]:
    """The join conditions shared by both kinds of change: an item this person follows and may
    see now."""
    user_id, visible = reader
    return [Follow.user_id == user_id, visible]


def _steps(reader: Reader, since: Since) -> sa.Select[str, int, datetime]:
    """Timeline steps that are news to this person (since a moment, if given)."""
    step = TimelineEvent
    # A promise made by planning is told with the move to Planned (one line: "now Planned, for
    # 12 March"): the step recorded right after a move to Planned on the same item is folded.
    before = sa.orm.aliased(TimelineEvent)
    previous_id = (
        sa.select(sa.func.max(before.id))
        .where(before.feedback_id == step.feedback_id, before.id < step.id)
        .correlate(step)  # two levels down: said, as automatic correlation stops at one
        .scalar_subquery()
    )
    planning = sa.orm.aliased(TimelineEvent)
    by_planning = (
        sa.select(planning.id)
        .where(
            planning.id == previous_id,
            planning.kind == TimelineKind.STATE_CHANGED,
            planning.to_state == FeedbackState.PLANNED,
        )
        .exists()
    )
    # Staff who took an item on themselves without a word did so by acting on it (the first
    # answer, a move): that act is the news ("Sam has read it and is looking after it"). A
    # handover to someone else, or taking it from another, says who and why, and is news.
    taken_by_acting = sa.and_(
        step.kind == TimelineKind.OWNER_CHANGED,
        # Both said, so a step from before new owners were recorded is never NULL here.
        step.new_owner_id.is_not(None),
        step.actor_id.is_not(None),
        step.new_owner_id == step.actor_id,
        step.message == "",
    )
    conditions = [
        *_followed(reader),
        # Each kind compared on its own: an IN list of constants is written into the SQL
        # again on every run (SQLAlchemy's expanding parameters), dearer than the query.
        sa.or_(*(step.kind == kind for kind in NEWS_STEPS)),
        sa.not_(taken_by_acting),
        step.created_at > Follow.created_at,
        sa.or_(step.actor_id.is_(None), step.actor_id != reader[0]),
        sa.not_(sa.and_(step.kind == TimelineKind.PROMISE_SET, by_planning)),
    ]
    if since is not None:
        conditions.append(step.created_at > since)
    return (
        sa.select(
            sa.literal("step").label("source"),
            step.id.label("id"),
            step.created_at.label("at"),
        )
        .select_from(Follow)
        .join(step, step.feedback_id == Follow.feedback_id)
        .join(Feedback, Feedback.id == Follow.feedback_id)
        .where(*conditions)
    )


def _replies(reader: Reader, since: Since) -> sa.Select[str, int, datetime]:
    """Staff's public replies on followed items (never internal notes, never hidden ones)."""
    conditions = [
        *_followed(reader),
        Comment.official.is_(True),
        Comment.internal.is_(False),
        Comment.hidden.is_(False),
        Comment.created_at > Follow.created_at,
        Comment.author_id != reader[0],
    ]
    if since is not None:
        conditions.append(Comment.created_at > since)
    return (
        sa.select(
            sa.literal("reply").label("source"),
            Comment.id.label("id"),
            Comment.created_at.label("at"),
        )
        .select_from(Follow)
        .join(Comment, Comment.feedback_id == Follow.feedback_id)
        .join(Feedback, Feedback.id == Follow.feedback_id)
        .where(*conditions)
    )


def unread_count(user: User) -> int:
    """How many changes on what this person follows came after they last opened the page, up
    to COUNT_CAP: one statement, walking the person's follows (their unique index) into each
    item's timeline and comments by their (item, time) indexes."""
    since = user.updates_seen_at
    staff = user.is_staff
    count = _UNREAD_COUNTS.get((staff, since is None))
    if count is None:
        count = _UNREAD_COUNTS[staff, since is None] = _unread_count(staff, since is None)
    # Through the connection: a count needs none of the ORM's handling of what comes back.
    # What this request changed is flushed first, as the session would before a query.
    db.session.flush()
    params = {"user_id": user.id, "since": since, "cap": COUNT_CAP}
    return db.session.connection().scalar(count, params) or 0


# The header's count is asked on every signed-in page: built once for each kind of reader
# (staff, or a customer) and whether they ever opened the page (building it cost more than
# running it).
_UNREAD_COUNTS: dict[tuple[bool, bool], sa.Select[int]] = {}


def _unread_count(staff: bool, never_looked: bool) -> sa.Select[int]:
    user_id = sa.bindparam("user_id", type_=sa.Integer)
    reader = (user_id, sa.true() if staff else visible_to_customer_clause(user_id))
    since: Since = None if never_looked else sa.bindparam("since")
    news = sa.union_all(_steps(reader, since), _replies(reader, since)).subquery()
    capped = sa.select(news.c.id).limit(sa.bindparam("cap", type_=sa.Integer)).subquery()
    return sa.select(sa.func.count()).select_from(capped)


def updates_page(user: User, page: int = 1, per_page: int = PER_PAGE) -> UpdatesPage:
    """One page of the changes on what this person follows, newest first (a fixed number of
    statements whatever the page holds)."""
    page = max(page, 1)
    news = sa.union_all(_steps(_reader(user), None), _replies(_reader(user), None)).subquery()
    rows = db.session.execute(
        sa.select(news.c.source, news.c.id)
        .order_by(news.c.at.desc(), news.c.id.desc())
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    step_ids = [row.id for row in rows if row.source == "step"]
    reply_ids = [row.id for row in rows if row.source == "reply"]
    steps = (
        {
            s.id: s
            for s in db.session.scalars(
                sa.select(TimelineEvent)
                .where(TimelineEvent.id.in_(step_ids))
                .options(
                    sa.orm.selectinload(TimelineEvent.actor),
                    sa.orm.selectinload(TimelineEvent.new_owner),
                )
            )
        }
        if step_ids
        else {}
    )
    replies = (
        {
            c.id: c
            for c in db.session.scalars(
                sa.select(Comment)
                .where(Comment.id.in_(reply_ids))
                .options(sa.orm.selectinload(Comment.author))
            )
        }
        if reply_ids
        else {}
    )
    item_ids = {s.feedback_id for s in steps.values()} | {c.feedback_id for c in replies.values()}
    items = (
        {i.id: i for i in db.session.scalars(sa.select(Feedback).where(Feedback.id.in_(item_ids)))}
        if item_ids
        else {}
    )
    planned_dates = _promises_made_by_planning(
        [s for s in steps.values() if s.to_state is FeedbackState.PLANNED]
    )
    voices = _merged_voice_items(
        user,
        [s.feedback_id for s in steps.values() if s.to_state is FeedbackState.RESOLVED],
    )
    seen = user.updates_seen_at
    updates: list[Update] = []
    for row in rows:
        if row.source == "step":
            step = steps[row.id]
            item = items[step.feedback_id]
            updates.append(
                Update(
                    kind=_KIND_OF_STEP[step.kind],
                    at=step.created_at,
                    item_id=item.id,
                    title=title_for(item, user),
                    yours=item.author_id == user.id,
                    actor_name=str(step.actor.public_name) if step.actor else "",
                    quote=excerpt(step.message, QUOTE_CHARS),
                    to_state=step.to_state,
                    target_date=planned_dates.get(step.id, step.target_date),
                    new_owner_name=str(step.new_owner.public_name) if step.new_owner else "",
                    may_answer_fix=step.to_state is FeedbackState.RESOLVED
                    and item.state is FeedbackState.RESOLVED
                    and (item.author_id == user.id or item.id in voices),
                    new=seen is None or step.created_at > seen,
                )
            )
        else:
            reply = replies[row.id]
            item = items[reply.feedback_id]
            updates.append(
                Update(
                    kind=UpdateKind.REPLY,
                    at=reply.created_at,
                    item_id=item.id,
                    title=title_for(item, user),
                    yours=item.author_id == user.id,
                    actor_name=str(reply.author.public_name),
                    quote=excerpt(reply.body_source, QUOTE_CHARS),
                    to_state=None,
                    target_date=None,
                    new_owner_name="",
                    may_answer_fix=False,
                    new=seen is None or reply.created_at > seen,
                )
            )
    return UpdatesPage(updates, page, has_next)


def _promises_made_by_planning(moves: Sequence[TimelineEvent]) -> dict[int, date | None]:
    """For each move to Planned, the date promised with it: the first promise step recorded
    after it on the same item (planning records it right after; one statement for the page)."""
    if not moves:
        return {}
    promises = db.session.execute(
        sa.select(TimelineEvent.id, TimelineEvent.feedback_id, TimelineEvent.target_date)
        .where(
            TimelineEvent.feedback_id.in_({m.feedback_id for m in moves}),
            TimelineEvent.kind == TimelineKind.PROMISE_SET,
            TimelineEvent.id > min(m.id for m in moves),
        )
        .order_by(TimelineEvent.id)
    ).all()
    found: dict[int, date | None] = {}
    for move in moves:
        after = next(
            (p for p in promises if p.feedback_id == move.feedback_id and p.id > move.id), None
        )
        if after is not None:
            found[move.id] = after.target_date
    return found


def _merged_voice_items(user: User, item_ids: Sequence[int]) -> set[int]:
    """Among these items, those where this person's voice was merged in (they are asked "Did
    this fix it?" too)."""
    if not item_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(MergedVoice.feedback_id).where(
                MergedVoice.user_id == user.id, MergedVoice.feedback_id.in_(item_ids)
            )
        )
    )


def mark_updates_seen(user: User, at: datetime | None = None) -> None:
    """The person has seen their updates up to this moment: the unread count starts again."""
    user.updates_seen_at = at or datetime.now(UTC)
    db.session.flush()
