"""The trending window: each item's votes of the last TRENDING_DAYS, kept as a counter.

``feedback.recent_votes`` counts an item's votes given since the window's start
(``trending_window.starts_at``). Triggers on ``votes`` (migration e4a7c9b2d6f8) keep it as
votes are given, taken back, moved by a merge or imported, whoever writes them; the sweep here
moves the start up as time passes and takes out the votes that fell out of the window. The vote
command sweeps when the start is more than SWEEP_AFTER behind, so a busy site needs no cron,
and the web app's outbox thread sweeps as often for a quiet one; the board trusts the counters
while the start is at most TRUST_FOR behind (the window is then TRENDING_DAYS and at most that
much more) and otherwise counts the votes themselves, which a site that quiet has few of.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, TrendingWindow, Vote
from portal.models.base import utcnow

# Trending: the items with the most votes given in this many days.
TRENDING_DAYS = 14
# The vote command sweeps when the window's start is further behind than this.
SWEEP_AFTER = timedelta(minutes=10)
# The board reads the counters while the window's start is at most this far behind.
TRUST_FOR = timedelta(hours=1)
WINDOW_ID = 1
# PostgreSQL's lock_not_available: a NOWAIT lock that another transaction holds.
LOCK_NOT_AVAILABLE = "55P03"

FEEDBACK: sa.Table = Feedback.__table__  # type: ignore[assignment]
VOTES: sa.Table = Vote.__table__  # type: ignore[assignment]
WINDOW: sa.Table = TrendingWindow.__table__  # type: ignore[assignment]
_TAKE_WINDOW = sa.select(WINDOW.c.starts_at).where(WINDOW.c.id == WINDOW_ID)


def trending_since(now: datetime | None = None) -> datetime:
    """Where the trending window starts, exactly."""
    return (now or utcnow()) - timedelta(days=TRENDING_DAYS)


def window_start() -> sa.ScalarSelect[datetime]:
    """The counted window's start, as a column of another statement (the vote's, which
    answers it so that the vote command knows whether to sweep)."""
    return _TAKE_WINDOW.scalar_subquery()


def read_window_start() -> datetime | None:
    """The counted window's start, in the session's transaction (None: no window row,
    nothing counted)."""
    return db.session.scalar(_TAKE_WINDOW)


def sweep_due(starts_at: datetime | None, now: datetime) -> bool:
    """Whether the window's start is far enough behind for the vote command to sweep."""
    return starts_at is None or starts_at < trending_since(now) - SWEEP_AFTER


def counters_current(starts_at: datetime | None, now: datetime) -> bool:
    """Whether the board may read the counters: the window starts at most TRUST_FOR early."""
    return starts_at is not None and starts_at >= trending_since(now) - TRUST_FOR


def sweep(connection: sa.Connection, now: datetime | None = None) -> bool:
    """Move the window's start up to TRENDING_DAYS ago and take the votes given before it out
    of their items' counters, in the caller's transaction; returns whether it swept. On
    PostgreSQL it gives way (False) rather than wait while it holds the window: to a sweep
    already under way, to a vote of more than a day ago being counted (its trigger holds the
    window's row FOR SHARE), or to a change of one of the items whose counters it would
    change, whose trigger may be about to ask for the window. A later vote sweeps."""
    now = now or utcnow()
    if connection.dialect.name != "postgresql":
        return _sweep(connection, now)
    try:
        with connection.begin_nested():
            return _sweep(connection, now)
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False


def _sweep(connection: sa.Connection, now: datetime) -> bool:
    postgresql = connection.dialect.name == "postgresql"
    since = trending_since(now)
    take = _TAKE_WINDOW.with_for_update(nowait=True) if postgresql else _TAKE_WINDOW
    start = connection.scalar(take)
    if start is None:
        recount(connection, now)
        return True
    if start >= since:
        return False
    fallen_out = sa.and_(VOTES.c.created_at >= start, VOTES.c.created_at < since)
    if postgresql:
        # The items whose counters change, taken before they are counted (a statement of
        # its own: a later one counts on a snapshot taken after every lock was had).
        connection.execute(
            sa.select(FEEDBACK.c.id)
            .where(FEEDBACK.c.id.in_(sa.select(VOTES.c.feedback_id).where(fallen_out)))
            .with_for_update(nowait=True)
        )
    gone = (
        sa.select(VOTES.c.feedback_id, sa.func.count().label("n"))
        .where(fallen_out)
        .group_by(VOTES.c.feedback_id)
        .subquery("gone")
    )
    connection.execute(
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == gone.c.feedback_id)
        # updated_at as it was: a vote growing old is no change to the item.
        .values(recent_votes=FEEDBACK.c.recent_votes - gone.c.n, updated_at=FEEDBACK.c.updated_at)
    )
    connection.execute(sa.update(WINDOW).where(WINDOW.c.id == WINDOW_ID).values(starts_at=since))
    return True


def recount(connection: sa.Connection, now: datetime | None = None) -> None:
    """Count every item's votes of the window again from the votes, the window starting
    TRENDING_DAYS ago (after a bulk load with the triggers off, an import, or to repair)."""
    since = trending_since(now)
    if connection.dialect.name == "postgresql":
        connection.execute(_TAKE_WINDOW.with_for_update())
    connection.execute(
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.recent_votes != 0)
        .values(recent_votes=0, updated_at=FEEDBACK.c.updated_at)
    )
    recent = (
        sa.select(VOTES.c.feedback_id, sa.func.count().label("n"))
        .where(VOTES.c.created_at >= since)
        .group_by(VOTES.c.feedback_id)
        .subquery("recent")
    )
    connection.execute(
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == recent.c.feedback_id)
        .values(recent_votes=recent.c.n, updated_at=FEEDBACK.c.updated_at)
    )
    connection.execute(sa.delete(WINDOW))
    connection.execute(sa.insert(WINDOW).values(id=WINDOW_ID, starts_at=since))
