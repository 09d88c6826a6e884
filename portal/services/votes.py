"""Voting: one "me too" per person and item, with a vote count that stays exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from portal.database import begin_write, insert_if_absent
from portal.extensions import db
from portal.models import Feedback, FeedbackState, Follow, User, Vote
from portal.services import events, notifications
from portal.services.errors import DomainError, NotFound
from portal.services.feedback import get_visible_item
from portal.services.site import cached_site_settings, site_zone
from portal.services.visibility import visible_to_customer_clause
from portal.services.wording import Text, t

# A "me too" belongs to an open question. On a Done item it would add to a published "N people
# raised this" after the fact; a Not planned or Merged item's voices went elsewhere. Both ways
# are closed, taking a vote back too: the count stays what it was when the item was closed.
CLOSED_FOR_VOTES = frozenset(
    {FeedbackState.RESOLVED, FeedbackState.DECLINED, FeedbackState.DUPLICATE}
)
FEEDBACK: sa.Table = Feedback.__table__  # type: ignore[assignment]
VOTES: sa.Table = Vote.__table__  # type: ignore[assignment]
FOLLOWS: sa.Table = Follow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class VoteResult:
    """What the voter now sees: the item (as the vote loaded it), whether they have voted, and
    its count; and whether taking the vote back also ended the follow that came with it."""

    item: Feedback
    voted: bool
    vote_count: int
    stopped_following: bool = False


class ClosedForVotes(DomainError):
    """The item is done, not planned or merged: its count of votes is closed."""

    status_code = 409


# Built once: a vote is the busiest write there is. On the tables, not the entities: nothing
# in the session needs synchronising. (A vote is added with insert_if_absent: ON CONFLICT DO
# NOTHING, so asking for a vote one has already changes nothing.)
_DELETE_VOTE = sa.delete(VOTES).where(
    VOTES.c.user_id == sa.bindparam("voter_id"), VOTES.c.feedback_id == sa.bindparam("item_id")
)
# Only the follow the vote brought: one chosen with the button, or the author's, stays.
_END_FOLLOW_OF_VOTE = sa.delete(FOLLOWS).where(
    FOLLOWS.c.user_id == sa.bindparam("voter_id"),
    FOLLOWS.c.feedback_id == sa.bindparam("item_id"),
    FOLLOWS.c.because_of_vote.is_(True),
)
# Counted in SQL (count = count + 1), never read-modify-write in Python, so racing requests
# each add their own step; the unique constraint decides which rows exist. RETURNING hands
# back the count this change produced.
_BUMP_COUNT = (
    sa.update(FEEDBACK)
    .where(FEEDBACK.c.id == sa.bindparam("item_id"))
    .values(vote_count=FEEDBACK.c.vote_count + sa.bindparam("delta"))
    .returning(FEEDBACK.c.vote_count)
)

CLOSED_MESSAGE = t("This item is closed for votes. Its page says where the conversation went.")
NOT_FOUND_MESSAGE = t("We could not find that feedback.")


class _Day(date):
    """A day among a sentence's values: the app's presenter writes it in the reader's
    language (as any date); without an app it reads as the site's English, 4 December 2026."""

    def __str__(self) -> str:
        return f"{self.day} {self:%B %Y}"


def voting_closed_reason(
    state: FeedbackState, resolved_at: datetime | None, zone: tzinfo | None = None
) -> Text:
    """Why an item in this state takes no "me too", in one sentence for its page and button;
    `zone` is the site's time zone (its settings' when not given)."""
    if state is FeedbackState.RESOLVED:
        if resolved_at is None:
            return t("Voting has closed: this was done.")
        local = resolved_at.astimezone(zone or site_zone(cached_site_settings())).date()
        day = _Day(local.year, local.month, local.day)
        return t("Voting has closed: this was done on %(day)s.", day=day)
    if state is FeedbackState.DECLINED:
        return t("Voting has closed: we decided not to do this.")
    return t("Voting has closed: this was merged into another item.")


def closed_for_votes_message(state: FeedbackState, resolved_at: datetime | None = None) -> Text:
    """What a refused vote says: why, and what the person can do instead."""
    reason = voting_closed_reason(state, resolved_at)
    if state is FeedbackState.RESOLVED:
        return t(
            "%(reason)s If it still happens to you, say so with \u201cThis still happens to "
            "me\u201d on its page.",
            reason=reason,
        )
    if state is FeedbackState.DECLINED:
        return t(
            "%(reason)s If you still want it, say so with \u201cI still want this\u201d on its "
            "page.",
            reason=reason,
        )
    return CLOSED_MESSAGE


def _take_item(visible: sa.ColumnElement[bool]) -> sa.Select[FeedbackState, bool, int]:
    """The item's row, taken first, with its state and whether the voter may still see it.

    The item was read before the write began, so staff may have declined, merged, hidden or
    made it private since: this says so under the lock, in the same statement, with the count
    (exact under the lock: every change of it takes the row first). First, because
    a merge takes the item's row and then its votes; taken the other way round, a vote and a
    merge on PostgreSQL would deadlock. (On SQLite the write lock already serialises writers,
    and FOR NO KEY UPDATE is not written.)"""
    return (
        sa.select(FEEDBACK.c.state, visible.label("visible"), FEEDBACK.c.vote_count)
        .where(FEEDBACK.c.id == sa.bindparam("item_id"))
        .with_for_update(key_share=True)
    )


# Built once for each kind of voter (building one per vote cost more than running it).
_TAKE_ITEM_FOR_STAFF = _take_item(sa.true())
_TAKE_ITEM_FOR_CUSTOMER = _take_item(visible_to_customer_clause(sa.bindparam("voter_id")))


def set_vote(user: User, item_id: int, want: bool | None) -> VoteResult:
    """Give the item this person's vote (True) or take it back (False); None, from a vote form
    sent before the button said which, switches. Asking again for what already is changes
    nothing and answers the same, so a retried request cannot undo the one that went through."""
    # Only the item itself: the vote button shows its count and title, nothing of its people.
    item = get_visible_item(item_id, user, with_people=False)
    if item.state in CLOSED_FOR_VOTES:
        raise ClosedForVotes(closed_for_votes_message(item.state, item.resolved_at))
    ids = {"voter_id": user.id, "item_id": item.id}
    # From here on this transaction writes; on SQLite the write lock is taken now, after the
    # person and the item were read (see portal.database.reads_first).
    connection = begin_write(db.session)
    take_item = _TAKE_ITEM_FOR_STAFF if user.is_staff else _TAKE_ITEM_FOR_CUSTOMER
    now = connection.execute(take_item, ids).first()
    if now is None or not now.visible:
        raise NotFound(NOT_FOUND_MESSAGE)  # deleted, hidden or made private since it was read
    if now.state in CLOSED_FOR_VOTES:
        # Closed since it was read (resolved, declined or merged meanwhile).
        raise ClosedForVotes(closed_for_votes_message(now.state))
    # Every vote on the item is added or taken under its row (a merge's too), so no other
    # request changes this person's vote meanwhile. Each way is one statement, which also says
    # whether anything changed.
    if want is None:
        want = not connection.execute(_DELETE_VOTE, ids).rowcount
        changed = not want or _add_vote(connection, user, item)
    elif want:
        changed = _add_vote(connection, user, item)
    else:
        changed = bool(connection.execute(_DELETE_VOTE, ids).rowcount)
    if not changed:
        # Already as asked (a retry, a second tab): nothing to write, nothing to tell.
        set_committed_value(item, "vote_count", now.vote_count)
        return VoteResult(item, voted=want, vote_count=now.vote_count)
    stopped_following = False
    if want:
        # Saying "me too" means wanting to hear how it ends. Written here, not by a consumer of
        # VoteChanged: the follow belongs to the vote (taking the vote back ends it, below, in
        # the same statements), and the vote is the busiest write there is, so it goes through
        # the vote's own connection and skips the session (tests count its statements).
        notifications.follow(user, item, via=connection, because_of_vote=True)
    else:
        # Taking back the "me too" takes back the wish to hear how it ends, when that is all
        # the follow came from.
        stopped_following = bool(connection.execute(_END_FOLLOW_OF_VOTE, ids).rowcount)
    count = connection.execute(_BUMP_COUNT, {**ids, "delta": 1 if want else -1}).scalar_one()
    # Recorded as loaded from the database: not a change of ours to flush.
    set_committed_value(item, "vote_count", count)
    # No consumer yet: a vote still runs only the statements above.
    events.emit(events.VoteChanged(item, user, want, count))
    return VoteResult(item, voted=want, vote_count=count, stopped_following=stopped_following)


def _add_vote(connection: sa.Connection, user: User, item: Feedback) -> bool:
    """Add this person's vote unless it is there; True when it was added."""
    return insert_if_absent(connection, Vote, user_id=user.id, feedback_id=item.id)


def voted_item_ids(user: User | None, item_ids: list[int]) -> set[int]:
    """Which of these items this person has voted on, in one query."""
    if user is None or not user.is_authenticated or not item_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Vote.feedback_id).where(
                Vote.user_id == user.id, Vote.feedback_id.in_(item_ids)
            )
        )
    )
