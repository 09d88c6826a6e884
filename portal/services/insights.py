"""Service figures: the staff insights page and the public "How we are doing" page.

Every figure is one function taking explicit, timezone-aware ``start``/``end`` datetimes (a
half-open period, ``start <= t < end``) and computed by aggregate SQL, never by loading items.

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
- Declined: items in state declined whose declining timeline event is in the period.
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

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    Category,
    DigestSubscription,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Resolution,
    Role,
    TimelineEvent,
    TimelineKind,
    Unsubscribe,
    User,
    Visibility,
)
from portal.services.errors import NotFound

Grouping = Literal["all", "category", "owner"]

# Monday 5 January 1970: weeks are numbered from here (day 4 after the Unix epoch).
WEEK_EPOCH = date(1970, 1, 5)
_OPEN = sorted(OPEN_STATES)

# SQL helpers, one method per database --------------------------------------------------------


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


def week_start(index: int) -> date:
    """The Monday that begins week number ``index`` (as counted by ``week_index``)."""
    return WEEK_EPOCH + timedelta(weeks=index)


def week_of(moment: datetime | date) -> int:
    """The week number of a moment (its UTC date) or a date, as the database counts it."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return (day - WEEK_EPOCH).days // 7


def weeks_between(start: datetime, end: datetime) -> list[date]:
    """The Mondays of every week that overlaps the period, oldest first."""
    if end <= start:
        return []
    first, last = week_of(start), week_of(end - timedelta(microseconds=1))
    return [week_start(i) for i in range(first, last + 1)]


def weeks_back(now: datetime, count: int) -> datetime:
    """The start (Monday, midnight UTC) of a run of ``count`` weeks ending with this one."""
    monday = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    return datetime.combine(monday - timedelta(weeks=count - 1), time(), UTC)


def _in(column: Any, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


# Date ranges ------------------------------------------------------------------------------


DEFAULT_WEEKS = 12
MAX_RANGE_DAYS = 731
# Nothing can be older than the portal; this also keeps date arithmetic far from year 1.
EARLIEST_DAY = date(2000, 1, 3)


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, first and last included, as the staff page's date picker shows them."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """Start and end of the period, the end no later than now (figures are as at now)."""
        return self.start, max(self.start, min(self.end, now))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def default_range(today: date) -> DateRange:
    """The last twelve weeks: eleven whole weeks and this one so far."""
    monday = today - timedelta(days=today.weekday())
    return DateRange(monday - timedelta(weeks=DEFAULT_WEEKS - 1), today)


def parse_date_range(
    raw_from: str | None, raw_to: str | None, *, today: date
) -> tuple[DateRange, list[str]]:
    """Read the picker's two dates (YYYY-MM-DD), mending what cannot be used, and say what
    was changed."""
    notes: list[str] = []
    default = default_range(today)

    def parse(raw: str | None, fallback: date, which: str) -> date:
        if not raw:
            return fallback
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            notes.append(f"The {which} date was not a date; showing the default instead.")
            return fallback

    first = parse(raw_from, default.first_day, "start")
    last = parse(raw_to, default.last_day, "end")
    if max(first, last) > today:
        first, last = min(first, today), min(last, today)
        notes.append("The range cannot reach into the future; it ends today.")
    if first > last:
        first, last = last, first
        notes.append("The dates were the wrong way round; they have been swapped.")
    if first < EARLIEST_DAY:
        first, last = EARLIEST_DAY, max(last, EARLIEST_DAY)
        notes.append(f"The range starts no earlier than {EARLIEST_DAY:%-d %B %Y}.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        first = last - timedelta(days=MAX_RANGE_DAYS - 1)
        notes.append(f"A range is at most {MAX_RANGE_DAYS} days; it starts later.")
    return DateRange(first, last), notes


# Figures: counts ----------------------------------------------------------------------------


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


def items_declined(start: datetime, end: datetime) -> int:
    """How many items were declined in the period (by the date of the declining step)."""
    declined_then = (
        sa.exists()
        .where(
            TimelineEvent.feedback_id == Feedback.id,
            TimelineEvent.kind == TimelineKind.STATE_CHANGED,
            TimelineEvent.to_state == FeedbackState.DECLINED,
            _in(TimelineEvent.created_at, start, end),
        )
        .correlate(Feedback)
    )
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Feedback)
        .where(Feedback.state == FeedbackState.DECLINED, declined_then)
    ).scalar_one()


# Figures: durations -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelCount:
    """Items that reached us one way (web, email, API, staff) in the period."""

    channel: FeedbackChannel
    count: int
    percent: float | None


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
    total = sum(counts.values())
    return [
        ChannelCount(channel, counts.get(channel, 0), _percent(counts.get(channel, 0), total))
        for channel in FeedbackChannel
    ]


@dataclass(frozen=True)
class Percentiles:
    """Median and 90th percentile of a duration, in whole seconds, for one group of items."""

    key: int | None
    label: str
    count: int
    median: int | None
    p90: int | None


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
        return [Percentiles(None, "All items", count, _seconds(median), _seconds(p90))]
    label_model = Category if by == "category" else User
    label = Category.name if by == "category" else User.display_name
    rows = db.session.execute(
        sa.select(ranked.c.key, label, *figures)
        .select_from(ranked)
        .outerjoin(label_model, label_model.id == ranked.c.key)
        .group_by(ranked.c.key, label)
    ).all()
    result = [
        Percentiles(key, name or "Unassigned", count, _seconds(median), _seconds(p90))
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


# Figures: acknowledgement targets and promises ---------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


@dataclass(frozen=True)
class TargetFigures:
    """Acknowledgement targets of the items received in the period."""

    key: int | None
    label: str
    met: int
    missed: int
    pending: int  # unacknowledged and not yet due: counted neither way

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return _percent(self.met, self.decided)


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
        totals = db.session.execute(
            sa.select(met, missed, pending).select_from(Feedback).where(*where)
        ).one()
        return [TargetFigures(None, "All items", *totals)]
    rows = db.session.execute(
        sa.select(Category.id, Category.name, met, missed, pending)
        .join(Feedback, Feedback.category_id == Category.id)
        .where(*where)
        .group_by(Category.id, Category.name)
        .order_by(Category.name, Category.id)
    ).all()
    return [TargetFigures(*row) for row in rows]


@dataclass(frozen=True)
class PromiseFigures:
    """Promised dates that came to a head in the period: kept or broken."""

    kept: int
    broken: int

    @property
    def total(self) -> int:
        return self.kept + self.broken

    @property
    def percent(self) -> float | None:
        return _percent(self.kept, self.total)


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


@dataclass(frozen=True)
class PromiseMoves:
    """Promised dates moved in the period."""

    moves: int
    items: int
    items_moved_more_than_once: int


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


# Figures: volume and recurring problems -----------------------------------------------------


@dataclass(frozen=True)
class WeeklyCount:
    """Items of one kind in one category received in one week."""

    week: date
    category_id: int
    category: str
    kind: FeedbackKind
    count: int


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


@dataclass(frozen=True)
class VolumeSummary:
    """Weekly volume arranged for charts: per kind and per category, one number per week."""

    weeks: list[date]
    by_kind: dict[FeedbackKind, list[int]]
    by_category: list[tuple[str, list[int]]]
    totals: list[int]


def summarise_volume(rows: Iterable[WeeklyCount], weeks: list[date]) -> VolumeSummary:
    """Arrange ``weekly_volume`` rows into one series per kind and per category."""
    position = {week: i for i, week in enumerate(weeks)}
    by_kind = {kind: [0] * len(weeks) for kind in FeedbackKind}
    by_category: dict[tuple[str, int], list[int]] = {}
    totals = [0] * len(weeks)
    for row in rows:
        i = position[row.week]
        by_kind[row.kind][i] += row.count
        by_category.setdefault((row.category, row.category_id), [0] * len(weeks))[i] += row.count
        totals[i] += row.count
    categories = [(name, series) for (name, _), series in sorted(by_category.items())]
    return VolumeSummary(weeks, by_kind, categories, totals)


@dataclass(frozen=True)
class Trend:
    """A category or a word: how often it came up in the period and in the one before."""

    label: str
    current: int
    previous: int
    key: int | None = None

    @property
    def change(self) -> int:
        return self.current - self.previous


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before this one."""
    return start - (end - start), start


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


_COMMON_WORDS = """
    about after again all also and any are because been before being but can cannot could did
    does doing dont don't for from get gets getting got had has have having her here his how
    into its just like more most much not now off once only other our out over own please same
    she should some still such than that the their them then there these they this those too
    under until very was way were what when where which while who why will with would yet you
    your yours isn't can't won't didn't doesn't wasn't
    """
STOP_WORDS = frozenset(_COMMON_WORDS.split())
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def title_words(title: str) -> set[str]:
    """The words of a title that can say what it is about (each once)."""
    return {
        word
        for word in _WORD.findall(title.casefold())
        if len(word) >= 3 and not word.isdigit() and word not in STOP_WORDS
    }


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
    current: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    for title in _newest_titles(start, end, sample):
        current.update(title_words(title))
    for title in _newest_titles(before, start, sample):
        previous.update(title_words(title))
    trends = [
        Trend(word, count, previous[word])
        for word, count in current.items()
        if count >= min_count and count > previous[word]
    ]
    trends.sort(key=lambda t: (-t.change, -t.current, t.label))
    return trends[:limit]


@dataclass(frozen=True)
class VotedItem:
    """An unresolved item and how many people said "me too"."""

    id: int
    title: str
    category: str
    state: FeedbackState
    visibility: Visibility
    votes: int
    created_at: datetime


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
        .where(Feedback.state.in_(_OPEN))
        .order_by(Feedback.vote_count.desc(), Feedback.created_at, Feedback.id)
        .limit(limit)
    ).all()
    return [VotedItem(*row) for row in rows]


# Figures: workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """What one member of staff (or nobody, ``owner_id`` None) has open right now."""

    owner_id: int | None
    name: str
    open: int
    unacknowledged: int
    overdue: int
    oldest_unacknowledged_at: datetime | None


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
        owner_id: Workload(
            owner_id, name or "Unassigned", open_count, unacknowledged, overdue, oldest
        )
        for owner_id, name, open_count, unacknowledged, overdue, oldest in rows
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


# Figures: the digest -------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestWeek:
    """One week of the email digest: subscribers, new sign-ups, confirmations, opt-outs."""

    week: date
    subscribers_at_start: int
    signups: int
    confirmations: int
    optouts: int
    notification_optouts: int

    @property
    def churn(self) -> float | None:
        """Opt-outs as a share of everyone who could opt out: subscribers at the start plus
        those who confirmed during the week."""
        return _percent(self.optouts, self.subscribers_at_start + self.confirmations)


@dataclass(frozen=True)
class DigestActivity:
    """The digest over the whole period and week by week."""

    weeks: list[DigestWeek]
    subscribers_at_start: int
    signups: int
    confirmed_signups: int  # sign-ups of the period that are confirmed now
    confirmations: int
    optouts: int
    notification_optouts: int

    @property
    def subscribers_at_end(self) -> int:
        return self.subscribers_at_start + self.confirmations - self.optouts

    @property
    def churn(self) -> float | None:
        return _percent(self.optouts, self.subscribers_at_start + self.confirmations)

    @property
    def confirmation_rate(self) -> float | None:
        return _percent(self.confirmed_signups, self.signups)


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
    counts: dict[tuple[int, str], int] = {
        (w, what): n
        for w, what, n in db.session.execute(
            sa.select(events.c.w, events.c.what, sa.func.count()).group_by(
                events.c.w, events.c.what
            )
        )
    }
    weeks: list[DigestWeek] = []
    subscribers = base
    for monday in weeks_between(start, end):
        w = week_of(monday)
        week = DigestWeek(
            monday,
            subscribers,
            counts.get((w, "signup"), 0),
            counts.get((w, "confirm"), 0),
            counts.get((w, "optout"), 0),
            counts.get((w, "notification"), 0),
        )
        weeks.append(week)
        subscribers += week.confirmations - week.optouts
    return DigestActivity(
        weeks=weeks,
        subscribers_at_start=base,
        signups=sum(w.signups for w in weeks),
        confirmed_signups=signups_confirmed,
        confirmations=sum(w.confirmations for w in weeks),
        optouts=sum(w.optouts for w in weeks),
        notification_optouts=sum(w.notification_optouts for w in weeks),
    )


# Public page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedResolution:
    """A published "we did", as the public page shows it."""

    id: int
    you_said: str
    we_did_html: str
    published_at: datetime
    category: str | None


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


@dataclass(frozen=True)
class PeriodFigures:
    """The headline figures of one period, over all items: what both pages and the summary
    table show. Aggregates only, never an item's content."""

    received: int
    ack_targets: TargetFigures
    resolved: int
    declined: int
    ack_time: Percentiles
    resolve_time: Percentiles
    promises: PromiseFigures
    moves: PromiseMoves


def period_figures(start: datetime, end: datetime, now: datetime) -> PeriodFigures:
    """The headline figures for the period, one function call per figure (acknowledgement
    targets as at ``now``)."""
    return PeriodFigures(
        received=items_received(start, end),
        ack_targets=ack_targets_met(start, end, now=now)[0],
        resolved=items_resolved(start, end),
        declined=items_declined(start, end),
        ack_time=ack_time_percentiles(start, end)[0],
        resolve_time=resolve_time_percentiles(start, end)[0],
        promises=promises_kept(start, end),
        moves=promises_moved(start, end),
    )


@dataclass(frozen=True)
class PublicFigures(PeriodFigures):
    """The public figures for the ``days`` up to ``end``."""

    days: int
    start: datetime
    end: datetime


def public_figures(end: datetime, days: int) -> PublicFigures:
    """Every public figure for the ``days`` up to ``end``."""
    start = end - timedelta(days=days)
    figures = period_figures(start, end, now=end)
    return PublicFigures(**vars(figures), days=days, start=start, end=end)


# Staff page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffReport:
    """Everything on the staff insights page for one period."""

    start: datetime
    end: datetime
    now: datetime
    received: int
    resolved: int
    declined: int
    ack_targets: TargetFigures
    ack_targets_by_category: list[TargetFigures]
    ack_times: dict[str, list[Percentiles]]
    resolve_times: dict[str, list[Percentiles]]
    promises: PromiseFigures
    moves: PromiseMoves
    volume: list[WeeklyCount]
    volume_summary: VolumeSummary
    rising_categories: list[Trend]
    rising_terms: list[Trend]
    most_voted: list[VotedItem]
    workload: list[Workload]
    digest: DigestActivity
    channels: list[ChannelCount]
    previous: tuple[datetime, datetime] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "previous", previous_period(self.start, self.end))


def staff_report(start: datetime, end: datetime, now: datetime) -> StaffReport:
    """Every staff figure for the period, each from its own function."""
    volume = weekly_volume(start, end)
    return StaffReport(
        start=start,
        end=end,
        now=now,
        received=items_received(start, end),
        resolved=items_resolved(start, end),
        declined=items_declined(start, end),
        ack_targets=ack_targets_met(start, end, now=now)[0],
        ack_targets_by_category=ack_targets_met(start, end, now=now, by="category"),
        ack_times={by: ack_time_percentiles(start, end, by) for by in ("all", "category", "owner")},
        resolve_times={
            by: resolve_time_percentiles(start, end, by) for by in ("all", "category", "owner")
        },
        promises=promises_kept(start, end),
        moves=promises_moved(start, end),
        volume=volume,
        volume_summary=summarise_volume(volume, weeks_between(start, end)),
        rising_categories=rising_categories(start, end),
        rising_terms=rising_terms(start, end),
        most_voted=most_voted_unresolved(),
        workload=staff_workload(now),
        digest=digest_activity(start, end),
        channels=items_per_channel(start, end),
    )


# Tables and CSV ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One of the staff page's tables, as plain values for a CSV download."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


def _pct(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _iso(value: datetime | date | None) -> str:
    return "" if value is None else value.isoformat()


def _duration_rows(rows: list[Percentiles]) -> list[list[Any]]:
    return [
        [r.label, r.count, _blank(r.median), _blank(r.p90), _hours(r.median), _hours(r.p90)]
        for r in rows
    ]


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _hours(seconds: int | None) -> float | str:
    return "" if seconds is None else round(seconds / 3600, 2)


_DURATION_HEADERS = [
    "group",
    "items",
    "median_seconds",
    "p90_seconds",
    "median_hours",
    "p90_hours",
]


def _summary_table(start: datetime, end: datetime, now: datetime) -> list[list[Any]]:
    figures = period_figures(start, end, now)
    targets, ack, resolve = figures.ack_targets, figures.ack_time, figures.resolve_time
    promises, moves = figures.promises, figures.moves
    return [
        ["received", figures.received],
        ["acknowledged_within_target", targets.met],
        ["acknowledgement_target_missed", targets.missed],
        ["acknowledgement_not_yet_due", targets.pending],
        ["acknowledged_within_target_percent", _pct(targets.percent)],
        ["resolved", figures.resolved],
        ["declined", figures.declined],
        ["median_seconds_to_acknowledge", _blank(ack.median)],
        ["p90_seconds_to_acknowledge", _blank(ack.p90)],
        ["median_seconds_to_resolve", _blank(resolve.median)],
        ["p90_seconds_to_resolve", _blank(resolve.p90)],
        ["promises_kept", promises.kept],
        ["promises_broken", promises.broken],
        ["promises_kept_percent", _pct(promises.percent)],
        ["promise_moves", moves.moves],
        ["items_with_promise_moved", moves.items],
        ["items_with_promise_moved_more_than_once", moves.items_moved_more_than_once],
    ]


def _targets_rows(start: datetime, end: datetime, now: datetime) -> list[list[Any]]:
    rows = ack_targets_met(start, end, now=now, by="category") + ack_targets_met(
        start, end, now=now
    )
    return [[r.label, r.met, r.missed, r.pending, _pct(r.percent)] for r in rows]


def _digest_rows(start: datetime, end: datetime, now: datetime) -> list[list[Any]]:
    activity = digest_activity(start, end)
    rows: list[list[Any]] = [
        [
            _iso(w.week),
            w.subscribers_at_start,
            w.signups,
            w.confirmations,
            w.optouts,
            _pct(w.churn),
            w.notification_optouts,
        ]
        for w in activity.weeks
    ]
    rows.append(
        [
            "whole period",
            activity.subscribers_at_start,
            activity.signups,
            activity.confirmations,
            activity.optouts,
            _pct(activity.churn),
            activity.notification_optouts,
        ]
    )
    return rows


TableBuilder = Callable[[datetime, datetime, datetime], list[list[Any]]]

TABLES: dict[str, tuple[str, list[str], TableBuilder]] = {
    "summary": ("Summary", ["figure", "value"], _summary_table),
    "volume": (
        "Items per week, category and kind",
        ["week_starting", "category", "kind", "items"],
        lambda s, e, n: [
            [_iso(r.week), r.category, r.kind.value, r.count] for r in weekly_volume(s, e)
        ],
    ),
    "channels": (
        "Items per channel",
        ["channel", "items", "percent"],
        lambda s, e, n: [
            [c.channel.value, c.count, _pct(c.percent)] for c in items_per_channel(s, e)
        ],
    ),
    "rising_categories": (
        "Categories with rising volume",
        ["category", "items_this_period", "items_previous_period", "change"],
        lambda s, e, n: [
            [t.label, t.current, t.previous, t.change] for t in rising_categories(s, e)
        ],
    ),
    "rising_terms": (
        "Title words with rising volume",
        ["word", "titles_this_period", "titles_previous_period", "change"],
        lambda s, e, n: [[t.label, t.current, t.previous, t.change] for t in rising_terms(s, e)],
    ),
    "most_voted": (
        "Most-voted unresolved items",
        ["id", "title", "category", "state", "visibility", "votes", "received_at"],
        lambda s, e, n: [
            [
                i.id,
                i.title,
                i.category,
                i.state.value,
                i.visibility.value,
                i.votes,
                _iso(i.created_at),
            ]
            for i in most_voted_unresolved()
        ],
    ),
    "ack_times_by_category": (
        "Time to acknowledge, per category",
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(ack_time_percentiles(s, e, "category")),
    ),
    "ack_times_by_owner": (
        "Time to acknowledge, per owner",
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(ack_time_percentiles(s, e, "owner")),
    ),
    "resolve_times_by_category": (
        "Time to resolve, per category",
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(resolve_time_percentiles(s, e, "category")),
    ),
    "resolve_times_by_owner": (
        "Time to resolve, per owner",
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(resolve_time_percentiles(s, e, "owner")),
    ),
    "ack_targets": (
        "Acknowledgement targets met, per category",
        ["category", "met", "missed", "not_yet_due", "met_percent"],
        _targets_rows,
    ),
    "workload": (
        "Open items per owner",
        ["owner", "open", "unacknowledged", "overdue", "oldest_unacknowledged_received_at"],
        lambda s, e, n: [
            [w.name, w.open, w.unacknowledged, w.overdue, _iso(w.oldest_unacknowledged_at)]
            for w in staff_workload(n)
        ],
    ),
    "digest": (
        "Email digest per week",
        [
            "week_starting",
            "subscribers_at_start",
            "signups",
            "confirmations",
            "optouts",
            "churn_percent",
            "notification_optouts",
        ],
        _digest_rows,
    ),
}


def insight_table(name: str, start: datetime, end: datetime, now: datetime) -> Table:
    """One staff table by name, for the period; NotFound for a name we do not have."""
    if name not in TABLES:
        raise NotFound(f"There is no table called \u201c{name}\u201d.")
    title, headers, build = TABLES[name]
    return Table(name, title, headers, build(start, end, now))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    # Text a spreadsheet would run as a formula (titles are customers' words) is quoted.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_csv(table: Table) -> str:
    """The table as CSV text, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue()


# Words for numbers ---------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """A duration as people say it: "40 min", "5.5 hours", "3 days"."""
    if seconds is None:
        return "no data"
    if seconds < 60:
        return "under a minute"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        hours = f"{seconds / 3600:.1f}".removesuffix(".0")
        return f"{hours} hour" if hours == "1" else f"{hours} hours"
    return f"{seconds / 86400:.1f}".removesuffix(".0") + " days"


def format_percent(value: float | None) -> str:
    """A share as a whole percentage, or "no data"."""
    return "no data" if value is None else f"{value:.0f}%"
