"""The SQL behind the insights figures.

Every figure is one function taking explicit, timezone-aware ``start``/``end`` datetimes (a
half-open period, ``start <= t < end``) and computed by aggregate SQL, never by loading items;
each returns the typed figures of ``portal.services.insights.figures``.

How the figures are counted (the same on SQLite and PostgreSQL, so both give equal answers):

- Durations are whole seconds, computed in SQL by ``seconds_between()``: ``julianday()``
  differences on SQLite, ``EXTRACT(EPOCH ...)`` on PostgreSQL.
- Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value
  at rank ceil(p * n / 100). The rank comes from ``row_number()`` and ``count()`` window
  functions, which both databases run; no interpolation, so the median of 4 values is the 2nd.
- Weeks start on Monday, in UTC: ``week_index()`` counts whole weeks since Monday 5 January 1970
  from the UTC date of a timestamp, with the same integer arithmetic on both databases.
- Received: every item created in the period, public and private, hidden and merged included.
- Acknowledgement (time and target) is about the items received in the period. An item is
  acknowledged within target when ``acknowledged_at <= ack_due_at`` (the due time fixed at
  submission). An item never acknowledged has missed its target once ``ack_due_at`` has passed
  (at ``now``); before that it is pending and counts neither way. Items never acknowledged have
  no time to acknowledge and are left out of its percentiles.
- Resolved, time to resolve: items in state resolved whose ``resolved_at`` is in the period
  (created-to-resolved, so a reopened item counts from its creation to its latest resolution).
- Declined: items in state declined whose latest declining timeline event is in the period.
- Merged duplicates count as received and as acknowledged (merging is the acknowledgement, and
  the workflow stamps ``acknowledged_at``), but never as resolved, and their promises do not
  count: the item they were merged into carries the resolution and the promise.
- Promises: the promise is the item's current ``target_date`` (moving it needs a reason and the
  customer is told; moves are counted beside it so they cannot hide). A promise is kept when the
  item was resolved on or before that date (UTC dates), counted when it is resolved; it is broken
  when the date has passed without that, counted at the midnight after the date.
- Rising title words: there is no search log, so titles stand in for search terms. The titles of
  the newest ``sample`` items of the period and of the previous period of the same length are
  split into words (lower-cased, three letters or more, common words left out); each word counts
  once per title. A word is rising when it is in at least ``min_count`` titles now and in more
  titles than before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from portal.database import not_indexed
from portal.extensions import db
from portal.models import (
    OPEN_STATES,
    STAFF_CHANNELS,
    Category,
    DigestSubscription,
    Feedback,
    FeedbackChannel,
    FeedbackState,
    RecordedKind,
    Resolution,
    Role,
    StaffRecording,
    TimelineEvent,
    TimelineKind,
    Unsubscribe,
    User,
    Vote,
)
from portal.models.base import N_
from portal.services.insights.figures import (
    ChannelCount,
    DigestActivity,
    DigestEvent,
    Grouping,
    Percentiles,
    PromiseFigures,
    PromiseMoves,
    PublishedResolution,
    RecordedCount,
    SegmentFigures,
    TargetFigures,
    Trend,
    VotedItem,
    WeeklyCount,
    Workload,
    channel_shares,
    digest_by_week,
    previous_period,
    rising_words,
    week_of,
    week_start,
    weeks_between,
)

# The rows that are no category or person, in English for the CSV downloads; the pages say
# them in the reader's language by the row's key (None).
ALL_ITEMS = N_("All items")
UNASSIGNED = N_("Unassigned")

# SQL helpers, one method per database ---------------------------------------------------------


_OPEN = sorted(OPEN_STATES)


class seconds_between(FunctionElement[float]):
    """Whole seconds from the second timestamp to the first, computed by the database."""

    type = sa.Float()
    name = "seconds_between"
    inherit_cache = True


class week_index(FunctionElement[int]):
    """Whole weeks from Monday 5 January 1970 to the UTC date of a timestamp or date."""

    type = sa.Integer()
    name = "week_index"
    inherit_cache = True


class day_index(FunctionElement[int]):
    """Whole days from 1 January 1970 to the UTC date of a timestamp or date."""

    type = sa.Integer()
    name = "day_index"
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


# SQLite stores UTC timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" and dates as "YYYY-MM-DD", so the
# first ten characters are the UTC date and julianday() of that is an exact whole day.
_SQLITE_DAY = "CAST(julianday(substr({0}, 1, 10)) - 2440587.5 AS INTEGER)"


_PG_DAY = "floor(EXTRACT(EPOCH FROM {0}) / 86400)"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"ROUND(EXTRACT(EPOCH FROM ({later} - {earlier})))"


@compiles(day_index, "sqlite")
def _day_index_sqlite(element: day_index, compiler: SQLCompiler, **kw: Any) -> str:
    return _SQLITE_DAY.format(*_args(element, compiler, **kw))


@compiles(day_index, "postgresql")
def _day_index_pg(element: day_index, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_PG_DAY.format(*_args(element, compiler, **kw))} AS INTEGER)"


@compiles(week_index, "sqlite")
def _week_index_sqlite(element: week_index, compiler: SQLCompiler, **kw: Any) -> str:
    # Both operands are integers, so "/" divides whole numbers (dates after 1970: no negatives).
    return f"(({_SQLITE_DAY.format(*_args(element, compiler, **kw))} - 4) / 7)"


@compiles(week_index, "postgresql")
def _week_index_pg(element: week_index, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(({_PG_DAY.format(*_args(element, compiler, **kw))} - 4) / 7) AS INTEGER)"


def _in(column: Any, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


# Counts and durations -------------------------------------------------------------------------


def items_received(start: datetime, end: datetime) -> int:
    """How many items (public and private, merged duplicates included) arrived in the period."""
    return db.session.execute(
        sa.select(sa.func.count()).select_from(Feedback).where(_in(Feedback.created_at, start, end))
    ).scalar_one()


def items_resolved(start: datetime, end: datetime) -> int:
    """How many items were resolved in the period and are still resolved."""
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Feedback)
        .where(
            not_indexed(Feedback.state) == FeedbackState.RESOLVED,
            _in(Feedback.resolved_at, start, end),
        )
    ).scalar_one()


def latest_declining_step(item_id: Any = Feedback.id) -> sa.ScalarSelect[Any]:
    """When the item (``item_id``, the feedback's id by default) was last declined (its latest
    step to Not planned): the day a declined item counts on, here and in the roll-ups."""
    return (
        sa.select(sa.func.max(TimelineEvent.created_at))
        .where(
            TimelineEvent.feedback_id == item_id,
            TimelineEvent.kind == TimelineKind.STATE_CHANGED,
            TimelineEvent.to_state == FeedbackState.DECLINED,
        )
        .correlate(item_id.table)
        .scalar_subquery()
    )


def items_declined(start: datetime, end: datetime) -> int:
    """How many items were declined in the period and are still declined (by the date of the
    latest declining step, so an item declined twice counts once, when it was last declined)."""
    latest_decline = latest_declining_step()
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Feedback)
        .where(Feedback.state == FeedbackState.DECLINED, _in(latest_decline, start, end))
    ).scalar_one()


def items_per_channel(start: datetime, end: datetime) -> list[ChannelCount]:
    """Items received in the period by the way they came in, every channel listed (zeros
    too), in the channels' own order; the same items as items_received()."""
    counts = dict(
        db.session.execute(
            sa.select(Feedback.channel, sa.func.count())
            .where(_in(Feedback.created_at, start, end))
            .group_by(Feedback.channel)
        ).all()
    )
    return channel_shares(counts)


def recorded_per_channel(start: datetime, end: datetime) -> list[RecordedCount]:
    """Items and "me too"s staff recorded for customers in the period, by the way the customer
    told them (services/recording.py), every such channel listed (zeros too)."""
    counts = {
        (channel, kind): count
        for channel, kind, count in db.session.execute(
            sa.select(StaffRecording.channel, StaffRecording.kind, sa.func.count())
            .where(_in(StaffRecording.created_at, start, end))
            .group_by(StaffRecording.channel, StaffRecording.kind)
        )
    }
    return [
        RecordedCount(
            channel,
            counts.get((channel, RecordedKind.ITEM), 0),
            counts.get((channel, RecordedKind.ME_TOO), 0),
        )
        for channel in (*STAFF_CHANNELS, FeedbackChannel.STAFF)
    ]


def _seconds(value: Any) -> int | None:
    return None if value is None else round(float(value))


def _percentiles(
    duration: sa.ColumnElement[Any], where: Sequence[sa.ColumnElement[bool]], by: Grouping
) -> list[Percentiles]:
    key_column = {"all": None, "category": Feedback.category_id, "owner": Feedback.owner_id}[by]
    window: dict[str, Any] = {} if key_column is None else {"partition_by": key_column}
    keys = [] if key_column is None else [key_column.label("key")]
    ranked = (
        sa.select(
            *keys,
            duration.label("d"),
            sa.func.row_number().over(order_by=duration, **window).label("rn"),
            sa.func.count().over(**window).label("n"),
        )
        .where(*where)
        .subquery("ranked")
    )

    def at_rank(p: int) -> sa.ColumnElement[Any]:
        # Nearest rank: the rank r with (r - 1) * 100 < p * n <= r * 100, i.e. ceil(p * n / 100),
        # in whole numbers so both databases agree without a ceil() function.
        hit = sa.and_(ranked.c.rn * 100 >= p * ranked.c.n, (ranked.c.rn - 1) * 100 < p * ranked.c.n)
        return sa.func.max(sa.case((hit, ranked.c.d)))

    figures = [sa.func.count(), at_rank(50), at_rank(90)]
    if by == "all":
        count, median, p90 = db.session.execute(sa.select(*figures).select_from(ranked)).one()
        return [Percentiles(None, ALL_ITEMS, count, _seconds(median), _seconds(p90))]
    label_model = Category if by == "category" else User
    label = Category.name if by == "category" else User.display_name
    rows = db.session.execute(
        sa.select(ranked.c.key, label, *figures)
        .select_from(ranked)
        .outerjoin(label_model, label_model.id == ranked.c.key)
        .group_by(ranked.c.key, label)
    ).all()
    result = [
        Percentiles(key, name or UNASSIGNED, count, _seconds(median), _seconds(p90))
        for key, name, count, median, p90 in rows
    ]
    return sorted(result, key=lambda r: (r.key is None, r.label.lower(), r.key or 0))


def ack_time_percentiles(start: datetime, end: datetime, by: Grouping = "all") -> list[Percentiles]:
    """Median and 90th-percentile time from submission to acknowledgement of the items received
    in the period (items never acknowledged are left out), overall, per category or per owner."""
    return _percentiles(
        seconds_between(Feedback.acknowledged_at, Feedback.created_at),
        [_in(Feedback.created_at, start, end), Feedback.acknowledged_at.is_not(None)],
        by,
    )


def resolve_time_percentiles(
    start: datetime, end: datetime, by: Grouping = "all"
) -> list[Percentiles]:
    """Median and 90th-percentile time from submission to resolution of the items resolved in
    the period, overall, per category or per owner."""
    return _percentiles(
        seconds_between(Feedback.resolved_at, Feedback.created_at),
        # The date range narrows far more than the state: SQLite must take its index.
        [
            not_indexed(Feedback.state) == FeedbackState.RESOLVED,
            _in(Feedback.resolved_at, start, end),
        ],
        by,
    )


# Acknowledgement targets and promises ---------------------------------------------------------


def ack_targets_met(
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    by: Literal["all", "category"] = "all",
) -> list[TargetFigures]:
    """How many items received in the period were acknowledged within their category's target,
    how many missed it and how many are not yet due (as at ``now``, by default ``end``)."""
    now = now or end
    acknowledged = Feedback.acknowledged_at.is_not(None)
    met = sa.func.count().filter(acknowledged, Feedback.acknowledged_at <= Feedback.ack_due_at)
    missed = sa.func.count().filter(
        sa.or_(
            sa.and_(acknowledged, Feedback.acknowledged_at > Feedback.ack_due_at),
            sa.and_(~acknowledged, Feedback.ack_due_at <= now),
        )
    )
    pending = sa.func.count().filter(~acknowledged, Feedback.ack_due_at > now)
    where = [_in(Feedback.created_at, start, end), Feedback.ack_due_at.is_not(None)]
    if by == "all":
        total = db.session.execute(
            sa.select(met, missed, pending).select_from(Feedback).where(*where)
        ).one()
        return [TargetFigures(None, ALL_ITEMS, *total)]
    rows = db.session.execute(
        sa.select(Category.id, Category.name, met, missed, pending)
        .join(Feedback, Feedback.category_id == Category.id)
        .where(*where)
        .group_by(Category.id, Category.name)
        .order_by(Category.name, Category.id)
    ).all()
    return [TargetFigures(*row) for row in rows]


def _first_midnight_at_or_after(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    return moment.date() if moment.time() == time() else moment.date() + timedelta(days=1)


def promises_kept(start: datetime, end: datetime) -> PromiseFigures:
    """Promises kept (resolved on or before the promised date, counted when resolved in the
    period) and broken (the date passed without that, counted at the midnight after it)."""
    kept_in_time = sa.and_(
        Feedback.state == FeedbackState.RESOLVED,
        day_index(Feedback.resolved_at) <= day_index(Feedback.target_date),
    )
    # The midnight after the promised date falls in the period exactly when the date lies in
    # [first midnight at or after start, first midnight at or after end) minus one day.
    first = _first_midnight_at_or_after(start) - timedelta(days=1)
    last = _first_midnight_at_or_after(end) - timedelta(days=1)
    kept, broken = db.session.execute(
        sa.select(
            sa.func.count().filter(kept_in_time, _in(Feedback.resolved_at, start, end)),
            sa.func.count().filter(
                ~kept_in_time, Feedback.target_date >= first, Feedback.target_date < last
            ),
        )
        .select_from(Feedback)
        .where(Feedback.target_date.is_not(None), Feedback.state != FeedbackState.DUPLICATE)
    ).one()
    return PromiseFigures(kept, broken)


def promises_moved(start: datetime, end: datetime) -> PromiseMoves:
    """How many times promised dates were moved in the period, on how many items, and how many
    of those items were moved more than once."""
    per_item = (
        sa.select(TimelineEvent.feedback_id, sa.func.count().label("moves"))
        .where(
            TimelineEvent.kind == TimelineKind.PROMISE_MOVED,
            _in(TimelineEvent.created_at, start, end),
        )
        .group_by(TimelineEvent.feedback_id)
        .subquery("per_item")
    )
    moves, items, repeated = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(per_item.c.moves), 0),
            sa.func.count(),
            sa.func.count().filter(per_item.c.moves > 1),
        ).select_from(per_item)
    ).one()
    return PromiseMoves(int(moves), items, repeated)


# Volume and recurring problems ----------------------------------------------------------------


def weekly_volume(start: datetime, end: datetime) -> list[WeeklyCount]:
    """Items received per week, category and kind (weeks with none are not listed)."""
    week = week_index(Feedback.created_at)
    rows = db.session.execute(
        sa.select(week, Category.id, Category.name, Feedback.kind, sa.func.count())
        .join(Category, Category.id == Feedback.category_id)
        .where(_in(Feedback.created_at, start, end))
        .group_by(week, Category.id, Category.name, Feedback.kind)
    ).all()
    result = [WeeklyCount(week_start(w), cid, name, kind, n) for w, cid, name, kind, n in rows]
    return sorted(result, key=lambda r: (r.week, r.category.lower(), r.category_id, r.kind))


def weekly_received(start: datetime, end: datetime) -> list[tuple[date, int]]:
    """Items received per week, every week of the period listed (Monday, count)."""
    week = week_index(Feedback.created_at)
    counts = dict(
        db.session.execute(
            sa.select(week, sa.func.count())
            .where(_in(Feedback.created_at, start, end))
            .group_by(week)
        ).all()
    )
    return [(monday, counts.get(week_of(monday), 0)) for monday in weeks_between(start, end)]


def rising_categories(
    start: datetime, end: datetime, *, limit: int = 10, min_count: int = 2
) -> list[Trend]:
    """Categories with more items in the period than in the previous one of the same length
    (and at least ``min_count`` now), the biggest rise first."""
    before, _ = previous_period(start, end)
    current = sa.func.count().filter(Feedback.created_at >= start)
    previous = sa.func.count().filter(Feedback.created_at < start)
    rows = db.session.execute(
        sa.select(Category.id, Category.name, current, previous)
        .join(Feedback, Feedback.category_id == Category.id)
        .where(_in(Feedback.created_at, before, end))
        .group_by(Category.id, Category.name)
        .having(current >= min_count, current > previous)
        .order_by((current - previous).desc(), current.desc(), Category.name, Category.id)
        .limit(limit)
    ).all()
    return [Trend(name, now_, then, cid) for cid, name, now_, then in rows]


def _newest_titles(start: datetime, end: datetime, sample: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Feedback.title)
            .where(_in(Feedback.created_at, start, end))
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
            .limit(sample)
        )
    )


def rising_terms(
    start: datetime,
    end: datetime,
    *,
    limit: int = 10,
    min_count: int = 2,
    sample: int = 5000,
) -> list[Trend]:
    """Title words in more items in the period than in the previous one of the same length,
    over at most the ``sample`` newest titles of each period; the biggest rise first."""
    before, _ = previous_period(start, end)
    return rising_words(
        _newest_titles(start, end, sample),
        _newest_titles(before, start, sample),
        limit=limit,
        min_count=min_count,
    )


def most_voted_unresolved(limit: int = 10) -> list[VotedItem]:
    """Open items with the most votes (oldest first among equals)."""
    rows = db.session.execute(
        sa.select(
            Feedback.id,
            Feedback.title,
            Category.name,
            Feedback.state,
            Feedback.visibility,
            Feedback.vote_count,
            Feedback.created_at,
        )
        .join(Category, Category.id == Feedback.category_id)
        # Read in the order of ix_feedback_most_voted and stop at the tenth open item; the
        # state's own index would sort every open item first.
        .where(not_indexed(Feedback.state).in_(_OPEN))
        .order_by(Feedback.vote_count.desc(), Feedback.created_at, Feedback.id)
        .limit(limit)
    ).all()
    return [VotedItem(*row) for row in rows]


# Workload, the digest, the public page --------------------------------------------------------


def staff_workload(now: datetime) -> list[Workload]:
    """Open items per owner, with those not yet acknowledged, overdue ones and the oldest
    unacknowledged; every active member of staff is listed, and unowned items as "Unassigned".
    Busiest first."""
    received = Feedback.state == FeedbackState.RECEIVED
    rows = db.session.execute(
        sa.select(
            Feedback.owner_id,
            User.display_name,
            sa.func.count(),
            sa.func.count().filter(received),
            sa.func.count().filter(received, Feedback.ack_due_at < now),
            sa.func.min(Feedback.created_at).filter(received),
        )
        .outerjoin(User, User.id == Feedback.owner_id)
        .where(Feedback.state.in_(_OPEN))
        .group_by(Feedback.owner_id, User.display_name)
    ).all()
    loads = {
        owner_id: Workload(owner_id, name or UNASSIGNED, open_, unacknowledged, overdue, oldest)
        for owner_id, name, open_, unacknowledged, overdue, oldest in rows
    }
    for staff_id, name in db.session.execute(
        sa.select(User.id, User.display_name).where(
            User.role.in_([Role.STAFF, Role.ADMIN]),
            User.active.is_(True),
            User.deleted_at.is_(None),
        )
    ):
        loads.setdefault(staff_id, Workload(staff_id, name, 0, 0, 0, None))
    return sorted(
        loads.values(), key=lambda w: (-w.open, w.owner_id is None, w.name.lower(), w.owner_id)
    )


def digest_activity(start: datetime, end: datetime) -> DigestActivity:
    """Digest subscribers at the start of each week, sign-ups, confirmations (double opt-in) and
    opt-outs (the recorded unsubscribes) per week, with the churn rate; notification opt-outs
    beside them. Subscribers at the start of each week follow from those at the start of the
    period plus confirmations minus opt-outs."""
    sub = DigestSubscription
    base, signups_confirmed = db.session.execute(
        sa.select(
            sa.func.count().filter(
                sub.confirmed_at < start,
                sa.or_(sub.unsubscribed_at.is_(None), sub.unsubscribed_at >= start),
            ),
            sa.func.count().filter(_in(sub.created_at, start, end), sub.confirmed_at.is_not(None)),
        ).select_from(sub)
    ).one()
    events = sa.union_all(
        sa.select(week_index(sub.created_at).label("w"), sa.literal("signup").label("what")).where(
            _in(sub.created_at, start, end)
        ),
        sa.select(
            week_index(sub.confirmed_at).label("w"), sa.literal("confirm").label("what")
        ).where(_in(sub.confirmed_at, start, end)),
        sa.select(
            week_index(Unsubscribe.created_at).label("w"),
            sa.case((Unsubscribe.scope == "digest", "optout"), else_="notification").label("what"),
        ).where(_in(Unsubscribe.created_at, start, end)),
    ).subquery("events")
    counts: dict[tuple[int, DigestEvent], int] = {
        (w, what): n
        for w, what, n in db.session.execute(
            sa.select(events.c.w, events.c.what, sa.func.count()).group_by(
                events.c.w, events.c.what
            )
        )
    }
    return digest_by_week(weeks_between(start, end), base, signups_confirmed, counts)


def latest_resolutions(limit: int = 5) -> list[PublishedResolution]:
    """The newest published resolutions (their text is public by design)."""
    rows = db.session.execute(
        sa.select(
            Resolution.id,
            Resolution.you_said,
            Resolution.we_did_html,
            Resolution.published_at,
            Category.name,
        )
        .outerjoin(Category, Category.id == Resolution.category_id)
        .order_by(Resolution.published_at.desc(), Resolution.id.desc())
        .limit(limit)
    ).all()
    return [PublishedResolution(*row) for row in rows]


def segment_split(start: datetime, end: datetime) -> list[SegmentFigures]:
    """The recount of ``rolled.segment_split`` from the items and votes themselves:
    items received and votes given in the period per segment the person behind them is in now,
    and how many people (largest first, no segment last)."""
    items = sa.select(
        Feedback.author_id.label("user_id"),
        sa.literal(1).label("item"),
        sa.literal(0).label("vote"),
    ).where(Feedback.created_at >= start, Feedback.created_at < end)
    votes = sa.select(
        Vote.user_id.label("user_id"), sa.literal(0).label("item"), sa.literal(1).label("vote")
    ).where(Vote.created_at >= start, Vote.created_at < end)
    acts = sa.union_all(items, votes).subquery("acts")
    rows = db.session.execute(
        sa.select(
            User.segment,
            sa.func.sum(acts.c.item),
            sa.func.sum(acts.c.vote),
            sa.func.count(sa.distinct(acts.c.user_id)),
        )
        .join(User, User.id == acts.c.user_id)
        .group_by(User.segment)
    ).all()
    figures = [
        SegmentFigures(segment, int(n_items or 0), int(n_votes or 0), int(people))
        for segment, n_items, n_votes, people in rows
    ]
    return sorted(
        figures,
        key=lambda f: (f.segment is None, -(f.items + f.votes), (f.segment or "").lower()),
    )
