"""Voting: one "me too" per person and item, with a vote count that stays exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from portal.database import begin_write
from portal.extensions import db
from portal.models import Feedback, FeedbackState, Follow, User, Vote
from portal.models.base import utcnow
from portal.services import events, notifications, trending
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
# in the session needs synchronising. (A vote is added with ON CONFLICT DO NOTHING, so asking
# for a vote one has already changes nothing.)
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
# back the count this change produced, and where the trending window starts (the vote
# command sweeps it when it falls behind: services/trending.py).
_BUMP_COUNT = (
    sa.update(FEEDBACK)
    .where(FEEDBACK.c.id == sa.bindparam("item_id"))
    .values(vote_count=FEEDBACK.c.vote_count + sa.bindparam("delta"))
    .returning(FEEDBACK.c.vote_count, trending.window_start().label("window_start"))
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


def _open_to(visible: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """The item still takes this voter's vote: there, open and visible to them."""
    return (
        sa.select(FEEDBACK.c.id)
        .where(
            FEEDBACK.c.id == sa.bindparam("item_id"),
            FEEDBACK.c.state.not_in(_CLOSED_STATES),
            visible,
        )
        .exists()
    )


_NOW = sa.bindparam("now", type_=VOTES.c.created_at.type)
# Written into the statement (our own enum's values): an IN of bound values is expanded again
# on every execution.
_CLOSED_STATES: list[sa.ColumnElement[str]] = [
    sa.literal_column(f"'{state.value}'") for state in sorted(CLOSED_FOR_VOTES)
]


def _sqlite_writes(visible: sa.ColumnElement[bool]) -> tuple[sa.Insert, sa.Delete]:
    """SQLite: the vote added or taken back in one statement each, which also checks that the
    item still takes it (the write lock serialises writers, so nothing changes in between)."""
    add = (
        sqlite.insert(VOTES)
        .from_select(
            ["user_id", "feedback_id", "created_at"],
            sa.select(sa.bindparam("voter_id"), sa.bindparam("item_id"), _NOW).where(
                _open_to(visible)
            ),
        )
        .on_conflict_do_nothing()
        .returning(VOTES.c.id)
    )
    return add, _DELETE_VOTE.where(_open_to(visible))


def _postgresql_vote(visible: sa.ColumnElement[bool], want: bool | None) -> sa.Select[Any]:
    """PostgreSQL: the whole vote in one statement, so the item's row is held for one round
    trip and the commit rather than five. It takes the row first (the order a merge takes it
    in), then adds or takes back the vote (None: takes it back if there, else adds it), the
    follow that comes and goes with it, and the count; it answers the row as taken (state,
    visibility, count) and, when something changed, the new count and the change (+1 or -1).

    All of it runs on the snapshot of one statement (taken before the lock was waited for):
    the count is still exact, as it is changed by the rows actually added or taken back, and
    count + delta is evaluated on the row's newest version. A vote by the same person that
    committed while this one waited is not seen by its DELETE: it then changes nothing, as if
    it had come first."""
    item = _take_item(visible).add_columns(FEEDBACK.c.id).cte("item")
    open_item = (
        sa.select(item.c.id)
        .where(item.c.visible, item.c.state.not_in(_CLOSED_STATES))
        .cte("open_item")
    )
    changes: list[sa.Select[Any]] = []
    removed = None
    if want is not True:
        removed = (
            sa.delete(VOTES)
            .where(
                VOTES.c.user_id == sa.bindparam("voter_id"),
                VOTES.c.feedback_id == open_item.c.id,
            )
            .returning(VOTES.c.feedback_id)
            .cte("removed")
        )
        # Only the follow the vote brought (see _END_FOLLOW_OF_VOTE).
        unfollowed = (
            sa.delete(FOLLOWS)
            .where(
                FOLLOWS.c.user_id == sa.bindparam("voter_id"),
                FOLLOWS.c.feedback_id == removed.c.feedback_id,
                FOLLOWS.c.because_of_vote.is_(True),
            )
            .returning(FOLLOWS.c.id)
            .cte("unfollowed")
        )
        changes.append(sa.select(removed.c.feedback_id, sa.literal(-1).label("delta")))
    if want is not False:
        wanted = sa.select(sa.bindparam("voter_id"), open_item.c.id, _NOW)
        if removed is not None:
            wanted = wanted.where(~sa.exists(sa.select(removed.c.feedback_id)))
        added = (
            postgresql.insert(VOTES)
            .from_select(["user_id", "feedback_id", "created_at"], wanted)
            .on_conflict_do_nothing()
            .returning(VOTES.c.feedback_id)
            .cte("added")
        )
        followed = (
            postgresql.insert(FOLLOWS)
            .from_select(
                ["user_id", "feedback_id", "created_at", "because_of_vote"],
                sa.select(sa.bindparam("voter_id"), added.c.feedback_id, _NOW, sa.true()),
            )
            .on_conflict_do_nothing()
            .returning(FOLLOWS.c.id)
            .cte("followed")
        )
        changes.append(sa.select(added.c.feedback_id, sa.literal(1).label("delta")))
    change = (changes[0] if len(changes) == 1 else sa.union_all(*changes)).cte("change")
    counted = (
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == change.c.feedback_id)
        .values(vote_count=FEEDBACK.c.vote_count + change.c.delta)
        .returning(FEEDBACK.c.vote_count, change.c.delta)
        .cte("counted")
    )
    stopped = sa.exists(sa.select(unfollowed.c.id)) if want is not True else sa.false()
    query = sa.select(
        item.c.state,
        item.c.visible,
        item.c.vote_count,
        counted.c.vote_count.label("new_count"),
        counted.c.delta,
        stopped.label("stopped_following"),
        trending.window_start().label("window_start"),
    ).select_from(item.outerjoin(counted, sa.true()))
    if want is not False:
        # Data-modifying CTEs run whether or not the query reads them; named, so they are
        # written into the statement.
        query = query.add_cte(followed)
    return query


# Built once for each kind of voter (building one per vote cost more than running it).
_CUSTOMER_SEES = visible_to_customer_clause(sa.bindparam("voter_id"))
_TAKE_ITEM = {True: _take_item(sa.true()), False: _take_item(_CUSTOMER_SEES)}
_SQLITE_WRITES = {True: _sqlite_writes(sa.true()), False: _sqlite_writes(_CUSTOMER_SEES)}
_POSTGRESQL_VOTES = {
    (staff, want): _postgresql_vote(sa.true() if staff else _CUSTOMER_SEES, want)
    for staff in (True, False)
    for want in (True, False, None)
}


def set_vote(user: User, item_id: int, want: bool | None) -> VoteResult:
    """Give the item this person's vote (True) or take it back (False); None, from a vote form
    sent before the button said which, switches. Asking again for what already is changes
    nothing and answers the same, so a retried request cannot undo the one that went through."""
    # Only the item itself: the vote button shows its count and title, nothing of its people.
    item = get_visible_item(item_id, user, with_people=False)
    if item.state in CLOSED_FOR_VOTES:
        raise ClosedForVotes(closed_for_votes_message(item.state, item.resolved_at))
    staff = user.is_staff
    cast_at = utcnow()
    ids = {"voter_id": user.id, "item_id": item.id, "now": cast_at}
    # From here on this transaction writes; on SQLite the write lock is taken now, after the
    # person and the item were read (see portal.database.reads_first).
    connection = begin_write(db.session)
    if connection.dialect.name == "postgresql":
        row = connection.execute(_POSTGRESQL_VOTES[staff, want], ids).first()
        _refuse_unless_open(row)
        assert row is not None
        if row.delta is None:  # already as asked (or, switching, a racing tab got there first)
            voted = want if want is not None else True
            return _unchanged(item, voted, row.vote_count)
        want, count, stopped_following = row.delta > 0, row.new_count, row.stopped_following
        window_start = row.window_start
    else:
        add, delete = _SQLITE_WRITES[staff]
        # Every vote on the item is added or taken under SQLite's write lock, so no other
        # request changes this person's vote meanwhile. Each way is one statement, which also
        # says whether anything changed and checks the item still takes the vote.
        if want is None:
            want = not connection.execute(delete, ids).rowcount
            changed = not want or connection.execute(add, ids).first() is not None
        elif want:
            changed = connection.execute(add, ids).first() is not None
        else:
            changed = bool(connection.execute(delete, ids).rowcount)
        if not changed:
            # Either already as asked (a retry, a second tab), or the item was closed, hidden
            # or removed since it was read: its row says which.
            now = connection.execute(_TAKE_ITEM[staff], ids).first()
            _refuse_unless_open(now)
            assert now is not None
            return _unchanged(item, want, now.vote_count)
        stopped_following = False
        if want:
            # Saying "me too" means wanting to hear how it ends. Written here, not by a
            # consumer of VoteChanged: the follow belongs to the vote (taking the vote back
            # ends it, below, in the same statements), and the vote is the busiest write there
            # is, so it goes through the vote's own connection and skips the session (tests
            # count its statements).
            notifications.follow(user, item, via=connection, because_of_vote=True)
        else:
            # Taking back the "me too" takes back the wish to hear how it ends, when that is
            # all the follow came from.
            stopped_following = bool(connection.execute(_END_FOLLOW_OF_VOTE, ids).rowcount)
        bumped = connection.execute(_BUMP_COUNT, {**ids, "delta": 1 if want else -1}).one()
        count, window_start = bumped.vote_count, bumped.window_start
    if trending.sweep_due(window_start, cast_at):
        # Every ten minutes or so on a busy site, in this vote's transaction: no cron.
        trending.sweep(connection, cast_at)
    # Recorded as loaded from the database: not a change of ours to flush.
    set_committed_value(item, "vote_count", count)
    # No consumer yet: a vote still runs only the statements above.
    events.emit(events.VoteChanged(item, user, want, count))
    return VoteResult(item, voted=want, vote_count=count, stopped_following=stopped_following)


def _refuse_unless_open(row: Any) -> None:
    """Refuse the vote if the item, as taken under its lock (a row with its state and
    whether the voter sees it, or None: gone), no longer takes it."""
    if row is None or not row.visible:
        raise NotFound(NOT_FOUND_MESSAGE)  # deleted, hidden or made private since it was read
    if row.state in CLOSED_FOR_VOTES:
        # Closed since it was read (resolved, declined or merged meanwhile).
        raise ClosedForVotes(closed_for_votes_message(row.state))


def _unchanged(item: Feedback, voted: bool, count: int) -> VoteResult:
    """Already as asked (a retry, a second tab): nothing to write, nothing to tell."""
    set_committed_value(item, "vote_count", count)
    return VoteResult(item, voted=voted, vote_count=count)


# Built once, on the table: every signed-in board page asks it, and building the statement
# (and the ORM's handling of an entity's column) cost more than running it.
_VOTED_ITEM_IDS = sa.select(VOTES.c.feedback_id).where(
    VOTES.c.user_id == sa.bindparam("user_id"),
    VOTES.c.feedback_id.in_(sa.bindparam("item_ids", expanding=True)),
)


def voted_item_ids(user: User | None, item_ids: list[int]) -> set[int]:
    """Which of these items this person has voted on, in one query."""
    if user is None or not user.is_authenticated or not item_ids:
        return set()
    return set(db.session.scalars(_VOTED_ITEM_IDS, {"user_id": user.id, "item_ids": item_ids}))
