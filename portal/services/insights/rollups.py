"""Daily roll-ups of the insights figures: kept by every change to an item, read by the reports.

What each item adds is worked out in one place, ``facts_of`` and ``contributions``, from the
item's row and its latest declining step, with the definitions ``queries`` documents (the
queries stay as the recount the tests compare with):

- ``insight_days`` (per UTC day, category, kind, channel): received and acknowledged within or
  after target on the day received; resolved, and promises kept, on the day resolved; declined
  on the day of the latest declining step; promises broken on the promised date.
- ``insight_durations`` (per UTC day, measure, category, owner, bucket): times to acknowledge
  on the day received and times to resolve on the day resolved, each as its bucket (below).
- ``insight_items``: each item's share as last counted. A change takes the old share away and
  adds the new one; the items not yet acknowledged are read from here (missed or not yet due
  depends on the moment asked, and they are the open backlog, not history).

Kept by SQLAlchemy's session events: whatever changes an item's counted columns or adds a
declining step through the session (every workflow command, imports, edits by staff) is noted
at each flush and the items are recounted once just before the commit, in the same
transaction, so the roll-ups commit or roll back with the change (a read later in the same
transaction sees them as they were). Bulk
SQL that bypasses the session (the bench seed) calls ``rebuild()`` afterwards, as ``flask
insights rebuild`` does.

Reading a period: the whole UTC days inside it come from the roll-ups; the part-days at either
end (a period from ``now - 30 days`` to ``now``) are counted from the ledger rows of the items
with a moment in those hours (``edge_items``), so a figure never depends on where the day
boundaries fall.

Durations are whole seconds rounded half away from zero, kept as ``duration_bucket``: the
exact value under a minute, whole minutes up to 90 minutes, tenths of an hour up to 48 hours,
tenths of a day up to 9.9 days (exactly the steps ``format_duration`` shows: the words are
those of the exact figure, the CSV's seconds at most half a step off: 30 s, 3 min, 72 min),
then whole days below the value up to 100 days and ten days below beyond (at most a day, or
ten days, under: 10% at most; "12 days" for 12.3). A bucket is monotone in the duration, so a
nearest-rank percentile of the buckets is the bucket of the exact percentile.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from portal.database import not_indexed
from portal.extensions import db
from portal.models import (
    OPEN_STATES,
    Category,
    Feedback,
    FeedbackState,
    InsightBacklog,
    InsightDay,
    InsightDuration,
    InsightItem,
    InsightWaiting,
    TimelineEvent,
    TimelineKind,
    User,
)
from portal.models.insight import NO_OWNER, InsightSegmentDay, InsightUserDay
from portal.services import trending
from portal.services.insights.queries import day_index as day_index_of
from portal.services.insights.queries import latest_declining_step

EPOCH = date(1970, 1, 1)
COUNTERS = (
    "received",
    "ack_met",
    "ack_late",
    "resolved",
    "declined",
    "promises_kept",
    "promises_broken",
)
ACK, RESOLVE = "ack", "resolve"
# Durations over all items are also kept per month and per week (``measure`` "ack/m",
# "ack/w", "ack/d", ``day`` the span's first day, category and owner ``ALL``), so a long period
# reads about a dozen months instead of hundreds of days of buckets.
# Per category (owner ``ALL``) and per owner (category ``ALL``), months and weeks are kept too
# (same measures), and the days are the plain measure's rows. The figures are per category or
# per owner, never per pair: rows per pair were 1.7 times as many to read.
ALL = -1
SPANS = ("m", "w", "d")
GROUPED_SPANS = ("m", "w")
MET, LATE = 1, 2
# The columns of an item that the roll-ups count.
COUNTED = (
    "created_at",
    "category_id",
    "kind",
    "channel",
    "owner_id",
    "state",
    "acknowledged_at",
    "ack_due_at",
    "resolved_at",
    "target_date",
)
BATCH = 500
DAYS: sa.Table = InsightDay.__table__  # type: ignore[assignment]
DURATIONS: sa.Table = InsightDuration.__table__  # type: ignore[assignment]
LEDGER: sa.Table = InsightItem.__table__  # type: ignore[assignment]
BACKLOG: sa.Table = InsightBacklog.__table__  # type: ignore[assignment]
WAITING: sa.Table = InsightWaiting.__table__  # type: ignore[assignment]
OPEN, DUE, ARRIVED = "open", "due", "arrived"
NO_DUE_DAY = -1
# Every roll-up table: counted from the items and votes, never the only copy of anything (an
# install moved to another database counts them again rather than copying them).
ROLLUP_TABLES = frozenset(
    {
        "insight_days",
        "insight_durations",
        "insight_items",
        "insight_backlog",
        "insight_waiting",
        "insight_user_days",
        "insight_segment_days",
        # The trending window's start: its counters (feedback.recent_votes) are counted
        # again with it (services/trending.py).
        "trending_window",
    }
)


# Days and durations ---------------------------------------------------------------------------


def day_number(moment: datetime | date) -> int:
    """Whole days from 1 January 1970 to the UTC date of a moment, or to a date."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return (day - EPOCH).days


def day_start(number: int) -> datetime:
    return datetime.combine(EPOCH + timedelta(days=number), time(), UTC)


def _month_start(day: int) -> int:
    return day_number((EPOCH + timedelta(days=day)).replace(day=1))


def _next_month_start(day: int) -> int:
    first = (EPOCH + timedelta(days=day)).replace(day=1)
    return day_number((first + timedelta(days=32)).replace(day=1))


def span_start(span: str, day: int) -> int:
    """The first day of the month ("m"), the Monday of the week ("w") or the day ("d")."""
    if span == "m":
        return _month_start(day)
    if span == "w":
        return day - (day - 4) % 7
    return day


def cover(first: int, end: int) -> list[tuple[str, int]]:
    """Whole months, then whole weeks inside a month, then days, that make up the days from
    ``first`` up to, not including, ``end``, each once."""
    spans: list[tuple[str, int]] = []
    day = first
    while day < end:
        month_end = _next_month_start(day)
        if day == _month_start(day) and month_end <= end:
            spans.append(("m", day))
            day = month_end
        elif (day - 4) % 7 == 0 and day + 7 <= min(end, month_end):
            spans.append(("w", day))
            day += 7
        else:
            spans.append(("d", day))
            day += 1
    return spans


def whole_seconds(later: datetime, earlier: datetime) -> int:
    """Seconds between two moments, rounded half away from zero (as the queries' SQL does)."""
    seconds = (later - earlier).total_seconds()
    return int(math.copysign(math.floor(abs(seconds) + 0.5), seconds))


def duration_bucket(seconds: int) -> int:
    """The duration kept for ``seconds``: the value of its step as ``format_duration`` shows
    it (exact under a minute, then minutes, tenths of an hour, tenths of a day)."""
    if seconds < 60:
        return seconds
    if seconds < 90 * 60:
        return min(round(seconds / 60) * 60, 90 * 60 - 1)
    if seconds < 48 * 3600:
        return min(round(float(f"{seconds / 3600:.1f}") * 3600), 48 * 3600 - 1)
    days = float(f"{seconds / 86400:.1f}")
    if days < 10:  # shown as "9.9 days" or less
        return round(days * 86400)
    # Longer times to the whole day below (to ten days below from 100 days): the words then
    # say "12 days" for 12.3 days, under 10% less, and a year of them is a few hundred buckets.
    step = 86400 if seconds < 100 * 86400 else 10 * 86400
    return max(seconds // step * step, 10 * 86400)


# One item's share -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the figures need of one item, with the moments the part-days are counted by."""

    feedback_id: int
    created_at: datetime
    category_id: int
    kind: str
    channel: str
    owner_id: int
    ack_outcome: int
    ack_seconds: int | None
    unacknowledged_due_at: datetime | None
    resolved_at: datetime | None  # only while resolved
    resolve_seconds: int | None
    declined_at: datetime | None  # the latest declining step, only while declined
    kept: bool
    broken_day: int | None
    open: bool = False
    waiting: bool = False  # still received: not yet acknowledged in person
    ack_due_at: datetime | None = None

    @property
    def created_day(self) -> int:
        return day_number(self.created_at)

    @property
    def resolved_day(self) -> int | None:
        return None if self.resolved_at is None else day_number(self.resolved_at)

    @property
    def declined_day(self) -> int | None:
        return None if self.declined_at is None else day_number(self.declined_at)

    def ledger_row(self) -> dict[str, Any]:
        return {
            "feedback_id": self.feedback_id,
            "created_day": self.created_day,
            "category_id": self.category_id,
            "kind": self.kind,
            "channel": self.channel,
            "owner_id": self.owner_id,
            "ack_outcome": self.ack_outcome,
            "ack_seconds": self.ack_seconds,
            "unacknowledged_due_at": self.unacknowledged_due_at,
            "resolved_day": self.resolved_day,
            "resolve_seconds": self.resolve_seconds,
            "declined_day": self.declined_day,
            "kept_day": self.resolved_day if self.kept else None,
            "broken_day": self.broken_day,
            "open": self.open,
            "waiting": self.waiting,
            "ack_due_day": None if self.ack_due_at is None else day_number(self.ack_due_at),
        }


def _facts_select() -> sa.Select[Any]:
    return sa.select(  # type: ignore[return-value]
        Feedback.id,
        Feedback.created_at,
        Feedback.category_id,
        Feedback.kind,
        Feedback.channel,
        Feedback.owner_id,
        Feedback.state,
        Feedback.acknowledged_at,
        Feedback.ack_due_at,
        Feedback.resolved_at,
        Feedback.target_date,
        latest_declining_step(),
    )


def facts_of(row: Sequence[Any]) -> Facts:
    """One item's facts from a row of ``_facts_select``."""
    (
        item_id,
        created_at,
        category_id,
        kind,
        channel,
        owner_id,
        state,
        acknowledged_at,
        ack_due_at,
        resolved_at,
        target_date,
        declined_at,
    ) = row
    outcome = 0
    if ack_due_at is not None and acknowledged_at is not None:
        outcome = MET if acknowledged_at <= ack_due_at else LATE
    resolved = state == FeedbackState.RESOLVED and resolved_at is not None
    kept = broken = False
    if target_date is not None and state != FeedbackState.DUPLICATE:
        if state != FeedbackState.RESOLVED:
            broken = True
        elif resolved_at is not None:  # resolved without a time: neither, as in the SQL
            kept = day_number(resolved_at) <= day_number(target_date)
            broken = not kept
    return Facts(
        feedback_id=item_id,
        created_at=created_at,
        category_id=category_id,
        kind=str(getattr(kind, "value", kind)),
        channel=str(getattr(channel, "value", channel)),
        owner_id=owner_id or NO_OWNER,
        ack_outcome=outcome,
        ack_seconds=None
        if acknowledged_at is None
        else duration_bucket(whole_seconds(acknowledged_at, created_at)),
        unacknowledged_due_at=ack_due_at if acknowledged_at is None else None,
        resolved_at=resolved_at if resolved else None,
        resolve_seconds=duration_bucket(whole_seconds(resolved_at, created_at))
        if resolved
        else None,
        declined_at=declined_at if state == FeedbackState.DECLINED else None,
        kept=kept,
        broken_day=day_number(target_date) if broken else None,
        open=state in OPEN_STATES,
        waiting=state == FeedbackState.RECEIVED,
        ack_due_at=ack_due_at,
    )


DayKey = tuple[int, int, str, str]  # day, category, kind, channel
DurationKey = tuple[int, str, int, int, int]  # day, measure, category, owner, seconds


@dataclass
class Delta:
    """Changes to the roll-up rows: +1 for a share added, -1 for one taken away."""

    days: Counter[tuple[DayKey, str]]
    durations: Counter[DurationKey]
    backlog: Counter[tuple[int, str, int]]
    waiting: Counter[tuple[int, int, int]]

    @classmethod
    def empty(cls) -> Delta:
        return cls(Counter(), Counter(), Counter(), Counter())

    def _duration(
        self, day: int, measure: str, cat: int, owner: int, seconds: int, sign: int
    ) -> None:
        for group in ((cat, ALL), (ALL, owner)):
            self.durations[(day, measure, *group, seconds)] += sign
            for span in GROUPED_SPANS:
                key = (span_start(span, day), f"{measure}/{span}", *group, seconds)
                self.durations[key] += sign
        for span in SPANS:
            self.durations[(span_start(span, day), f"{measure}/{span}", ALL, ALL, seconds)] += sign

    def add(self, row: dict[str, Any], sign: int) -> None:
        """Add (sign 1) or take away (-1) the share of an item's ledger row."""
        cat, kind, channel = row["category_id"], row["kind"], row["channel"]

        def day(number: int | None, counter: str) -> None:
            if number is not None:
                self.days[((number, cat, kind, channel), counter)] += sign

        day(row["created_day"], "received")
        if row["ack_outcome"]:
            day(row["created_day"], "ack_met" if row["ack_outcome"] == MET else "ack_late")
        day(row["resolved_day"], "resolved")
        day(row["declined_day"], "declined")
        day(row["kept_day"], "promises_kept")
        day(row["broken_day"], "promises_broken")
        owner = row["owner_id"]
        if row["ack_seconds"] is not None:
            self._duration(row["created_day"], ACK, cat, owner, row["ack_seconds"], sign)
        if row["resolved_day"] is not None and row["resolve_seconds"] is not None:
            self._duration(row["resolved_day"], RESOLVE, cat, owner, row["resolve_seconds"], sign)
        if row["unacknowledged_due_at"] is not None:
            due_day = day_number(row["unacknowledged_due_at"])
            self.waiting[(row["created_day"], cat, due_day)] += sign
        if row["open"]:
            self.backlog[(owner, OPEN, 0)] += sign
        if row["waiting"]:
            due = row["ack_due_day"]
            self.backlog[(owner, DUE, NO_DUE_DAY if due is None else due)] += sign
            self.backlog[(owner, ARRIVED, row["created_day"])] += sign


# Keeping them ---------------------------------------------------------------------------------


def _batches(ids: Iterable[int], size: int = BATCH) -> Iterator[list[int]]:
    ids = sorted(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _upsert(conn: Connection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Add the rows' counts to the rows with the same keys (inserting the ones not there), in
    one statement per table."""
    if not rows:
        return
    counts = [name for name in rows[0] if name not in keys]
    stmt = _insert(conn, table).values(rows)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={name: table.c[name] + stmt.excluded[name] for name in counts},
        )
    )


def _apply(conn: Connection, delta: Delta) -> None:
    day_rows: dict[DayKey, dict[str, int]] = defaultdict(dict)
    for (key, counter), n in delta.days.items():
        if n:
            day_rows[key][counter] = n
    _upsert(
        conn,
        DAYS,
        ["day", "category_id", "kind", "channel"],
        [
            {
                "day": day,
                "category_id": cat,
                "kind": kind,
                "channel": channel,
                **{name: counts.get(name, 0) for name in COUNTERS},
            }
            for (day, cat, kind, channel), counts in sorted(day_rows.items())
        ],
    )
    _upsert_counts(
        conn, DURATIONS, ["day", "measure", "category_id", "owner_id", "seconds"], delta.durations
    )
    _upsert_counts(conn, WAITING, ["created_day", "category_id", "due_day"], delta.waiting)
    _upsert_counts(conn, BACKLOG, ["owner_id", "what", "day"], delta.backlog)


def _upsert_counts(
    conn: Connection, table: sa.Table, key: list[str], counts: Mapping[tuple[Any, ...], int]
) -> None:
    """Add each non-zero count to its row of a table keyed by `key` (and a `count` column)."""
    _upsert(
        conn,
        table,
        key,
        [{**dict(zip(key, k, strict=True)), "count": n} for k, n in sorted(counts.items()) if n],
    )


def recount_items(conn: Connection, ids: Iterable[int]) -> None:
    """Take the counted share of these items away and add their share as they are now."""
    ledger = LEDGER
    for batch in _batches(ids):
        delta = Delta.empty()
        old = conn.execute(sa.select(ledger).where(ledger.c.feedback_id.in_(batch))).mappings()
        for old_row in old:
            delta.add(dict(old_row), -1)
        new = [
            facts_of(row).ledger_row()
            for row in conn.execute(_facts_select().where(Feedback.id.in_(batch)))
        ]
        for row in new:
            delta.add(row, 1)
        _apply(conn, delta)
        conn.execute(sa.delete(ledger).where(ledger.c.feedback_id.in_(batch)))
        if new:
            conn.execute(sa.insert(ledger), new)


def _changed_items(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Feedback) and obj.id is not None:
            ids.add(obj.id)
        elif isinstance(obj, TimelineEvent) and obj.kind == TimelineKind.STATE_CHANGED:
            ids.add(obj.feedback_id)
    for obj in session.dirty:
        if isinstance(obj, Feedback):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in COUNTED):
                ids.add(obj.id)
        elif isinstance(obj, TimelineEvent) and obj.kind == TimelineKind.STATE_CHANGED:
            state = sa.inspect(obj)
            if any(
                state.attrs[name].history.has_changes()
                for name in ("created_at", "to_state", "feedback_id")
            ):
                ids.add(obj.feedback_id)
    for obj in session.deleted:
        if isinstance(obj, Feedback):
            ids.add(obj.id)
        elif isinstance(obj, TimelineEvent):
            ids.add(obj.feedback_id)
    return ids


PENDING = "insights.rollups_pending"


def _after_flush(session: Session, _context: Any) -> None:
    # Noted at each flush, counted once just before the commit (a command flushes several
    # times); what the transaction reads before then is the roll-ups as they were.
    if session.info.get("insights.rollups_off"):
        return
    ids = _changed_items(session)
    if ids:
        session.info.setdefault(PENDING, set()).update(ids)


def _before_commit(session: Session) -> None:
    if session.info.get("insights.rollups_off"):
        return
    session.flush()  # the changes not flushed yet (the commit's own flush comes after this)
    ids = session.info.pop(PENDING, set())
    if ids:
        recount_items(session.connection(), ids)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Keep the roll-ups in every session's transactions (once per process)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_rollback", _forget),
    ):
        if not sa_event.contains(Session, name, listener):
            sa_event.listen(Session, name, listener)


install()


def rebuild(session: Session | None = None) -> int:
    """Count every item again from scratch (the tables are emptied first), and the trending
    counters with them; returns how many items were counted. Runs in the caller's
    transaction; the caller commits."""
    session = session or db.session()
    conn = session.connection()
    for table in (DAYS, DURATIONS, LEDGER, BACKLOG, WAITING):
        conn.execute(sa.delete(table))
    rebuild_acts(conn)
    # Kept by triggers on votes like the acts, and as stale after a load without them.
    trending.recount(conn)
    delta = Delta.empty()
    counted = 0
    last_id = 0
    while True:
        rows = conn.execute(
            _facts_select().where(Feedback.id > last_id).order_by(Feedback.id).limit(5000)
        ).all()
        if not rows:
            break
        ledger = [facts_of(row).ledger_row() for row in rows]
        for row in ledger:
            delta.add(row, 1)
        conn.execute(sa.insert(LEDGER), ledger)
        counted += len(rows)
        last_id = rows[-1][0]
    day_rows: dict[DayKey, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for (key, counter), n in delta.days.items():
        day_rows[key][counter] += n
    days = [
        {"day": d, "category_id": c, "kind": k, "channel": ch, **counts}
        for (d, c, k, ch), counts in day_rows.items()
    ]
    durations = [
        {"day": d, "measure": m, "category_id": c, "owner_id": o, "seconds": s, "count": n}
        for (d, m, c, o, s), n in delta.durations.items()
        if n
    ]
    backlog = [
        {"owner_id": o, "what": w, "day": d, "count": n}
        for (o, w, d), n in delta.backlog.items()
        if n
    ]
    if backlog:
        conn.execute(sa.insert(BACKLOG), backlog)
    waiting = [
        {"created_day": c, "category_id": k, "due_day": d, "count": n}
        for (c, k, d), n in delta.waiting.items()
        if n
    ]
    for i in range(0, len(waiting), 5000):
        conn.execute(sa.insert(WAITING), waiting[i : i + 5000])
    for i in range(0, len(days), 5000):
        conn.execute(sa.insert(DAYS), days[i : i + 5000])
    for i in range(0, len(durations), 5000):
        conn.execute(sa.insert(DURATIONS), durations[i : i + 5000])
    return counted


def _day_sql(dialect: str, column: str) -> str:
    """SQL for the UTC day number of a timestamp column (as the migration's triggers count)."""
    if dialect == "postgresql":
        return f"(({column} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"
    return f"(CAST(strftime('%s', date({column})) AS INTEGER) / 86400)"


def rebuild_acts(conn: Connection) -> None:
    """Count again each customer's items and votes per day, and per day and segment now
    (``insight_user_days``, ``insight_segment_days``; triggers keep them from then on)."""
    dialect = conn.dialect.name
    conn.execute(sa.delete(InsightUserDay))
    conn.execute(sa.delete(InsightSegmentDay))
    conn.exec_driver_sql(
        "INSERT INTO insight_user_days (user_id, day, items, votes) "
        "SELECT user_id, day, SUM(i), SUM(v) FROM ("
        f"SELECT author_id AS user_id, {_day_sql(dialect, 'created_at')} AS day, 1 AS i, 0 AS v "
        "FROM feedback WHERE author_id IS NOT NULL UNION ALL "
        f"SELECT user_id, {_day_sql(dialect, 'created_at')}, 0, 1 FROM votes"
        ") AS acts GROUP BY user_id, day"
    )
    conn.exec_driver_sql(
        "INSERT INTO insight_segment_days (day, segment, items, votes) "
        "SELECT d.day, COALESCE(u.segment, ''), SUM(d.items), SUM(d.votes) "
        "FROM insight_user_days d JOIN users u ON u.id = d.user_id "
        "GROUP BY d.day, COALESCE(u.segment, '')"
    )


# Reading a period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A period as whole UTC days (``first_day`` up to, not including, ``end_day``) and the
    part-days at its ends."""

    first_day: int
    end_day: int
    edges: tuple[tuple[datetime, datetime], ...]

    @property
    def has_days(self) -> bool:
        return self.end_day > self.first_day


# A period that ends this close to the moment it is read ends "now": nothing has happened
# since, so its last day is read whole from the roll-ups instead of counted item by item.
NOW_SLACK = timedelta(seconds=60)


def split(start: datetime, end: datetime, *, ends_now: bool = False) -> Split:
    """The whole days and part-days of a period; with ``ends_now`` its last day counts whole
    (nothing in the roll-ups is later than the moment of reading)."""
    if end <= start:
        return Split(0, 0, ())
    first = day_number(start) + (0 if start == day_start(day_number(start)) else 1)
    last = day_number(end)
    if ends_now and day_start(last) < end:
        last += 1
    if first >= last:
        return Split(0, 0, ((start, end),))
    edges = []
    if start < day_start(first):
        edges.append((start, day_start(first)))
    if day_start(last) < end:
        edges.append((day_start(last), end))
    return Split(first, last, tuple(edges))


class EdgeItem(NamedTuple):
    """One item's share as last counted (its ``insight_items`` row), with what of it falls
    in the period's part-days: its arrival, its resolution, its latest declining step."""

    category_id: int
    kind: str
    channel: str
    owner_id: int
    created_day: int
    ack_outcome: int
    ack_seconds: int | None
    unacknowledged_due_at: datetime | None
    resolved_day: int | None
    resolve_seconds: int | None
    declined_day: int | None
    kept: bool
    received_in_edges: bool
    resolved_in_edges: bool
    declined_in_edges: bool


def _edge_bounds(count: int) -> list[tuple[sa.BindParameter[Any], sa.BindParameter[Any]]]:
    moment = Feedback.created_at.type
    return [
        (sa.bindparam(f"edge_start_{i}", type_=moment), sa.bindparam(f"edge_end_{i}", type_=moment))
        for i in range(count)
    ]


def _in_edges(count: int, column: Any) -> sa.ColumnElement[bool]:
    # A moment that is NULL is in no part-day (false, not NULL).
    within = sa.or_(*[sa.and_(column >= a, column < b) for a, b in _edge_bounds(count)])
    return sa.func.coalesce(within, sa.false(), type_=sa.Boolean())


def _moments(item_id: Any, received: int, resolved: int, declined: int) -> sa.Select[Any]:
    """Items (``id``) and which of their moments this is (1 in its column)."""
    return sa.select(
        item_id.label("id"),
        sa.literal(received).label("received"),
        sa.literal(resolved).label("resolved"),
        sa.literal(declined).label("declined"),
    )


@functools.cache
def _edge_statement(count: int) -> sa.Select[Any]:
    """The statement of ``edge_items`` for ``count`` part-days (bound as ``edge_start_<i>``
    and ``edge_end_<i>``): built once, as building it cost more than running it at a
    thousand items."""
    # Which of its moments fall in the part-days, from the indexes alone (no item is read):
    # arrival, resolution, a declining step (the latest one is checked below).
    found: list[sa.Select[Any]] = []
    for a, b in _edge_bounds(count):
        found.append(
            _moments(Feedback.id, 1, 0, 0).where(Feedback.created_at >= a, Feedback.created_at < b)
        )
        found.append(
            _moments(Feedback.id, 0, 1, 0).where(
                Feedback.resolved_at >= a, Feedback.resolved_at < b
            )
        )
        found.append(
            _moments(TimelineEvent.feedback_id, 0, 0, 1).where(
                TimelineEvent.kind == TimelineKind.STATE_CHANGED,
                TimelineEvent.to_state == FeedbackState.DECLINED,
                TimelineEvent.created_at >= a,
                TimelineEvent.created_at < b,
            )
        )
    moments = sa.union_all(*found).subquery("moments")
    per_item = (
        sa.select(
            moments.c.id,
            sa.func.max(moments.c.received).label("received"),
            sa.func.max(moments.c.resolved).label("resolved"),
            sa.func.max(moments.c.declined).label("declined"),
        )
        .group_by(moments.c.id)
        .subquery("edge_items")
    )
    ledger = LEDGER.c
    return sa.select(
        ledger.category_id,
        ledger.kind,
        ledger.channel,
        ledger.owner_id,
        ledger.created_day,
        ledger.ack_outcome,
        ledger.ack_seconds,
        ledger.unacknowledged_due_at,
        ledger.resolved_day,
        ledger.resolve_seconds,
        ledger.declined_day,
        ledger.kept_day.is_not(None),
        per_item.c.received == 1,
        (per_item.c.resolved == 1) & ledger.resolved_day.is_not(None),
        # A declining step in the part-days counts if it is the item's latest and the item
        # is still declined: looked up for those items only.
        sa.case(
            (
                (per_item.c.declined == 1) & ledger.declined_day.is_not(None),
                _in_edges(count, latest_declining_step(ledger.feedback_id)),
            ),
            else_=sa.false(),
        ),
    ).join(per_item, per_item.c.id == ledger.feedback_id)


def edge_items(part: Split) -> list[EdgeItem]:
    """The share of every item with something counted in the period's part-days (one
    statement: items received or resolved in them, or last declined in them). Read from the
    ledger, which holds each item's share worked out (``facts_of``) when it last changed, so
    only the moments are compared here, in SQL, and no item is worked out again."""
    if not part.edges:
        return []
    bounds: dict[str, datetime] = {}
    for i, (a, b) in enumerate(part.edges):
        bounds[f"edge_start_{i}"], bounds[f"edge_end_{i}"] = a, b
    rows = db.session.execute(_edge_statement(len(part.edges)), bounds)
    return [EdgeItem._make(row) for row in rows]


class Period:
    """A period being read: its whole days and, fetched once, the items of its part-days."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.part = split(start, end, ends_now=end >= datetime.now(UTC) - NOW_SLACK)
        self._items: list[EdgeItem] | None = None
        # The day counts read so far, by the promised dates they count broken promises over.
        self.counts: dict[tuple[date, date] | None, DayCounts] = {}

    @property
    def items(self) -> list[EdgeItem]:
        if self._items is None:
            self._items = edge_items(self.part)
        return self._items


def _week(day: int) -> int:
    return (day - 4) // 7


DayCounts = dict[tuple[Any, ...], Counter[str]]


# Every grouping ``day_counts`` offers: a period's counts are read grouped by all of them once
# and summed up here for each grouped figure that asks (the staff report asks for four).
GROUPINGS = ("week", "category_id", "kind", "channel")


def day_counts(
    period: Period,
    by: Sequence[str] = (),
    broken: tuple[date, date] | None = None,
    *,
    once: bool = False,
) -> DayCounts:
    """The day counters over the period, grouped by any of week, category_id, kind, channel.
    Promises broken are counted by promised date over ``broken`` (first date up to, not
    including, the last), when given. With ``once`` (the period's only figure) they are read
    grouped by ``by`` alone, not shared."""
    if not by or once:  # the headline is one row, not worth the grouped read
        return _read_day_counts(period, by, broken)
    finest = period.counts.get(broken)
    if finest is None:
        finest = period.counts[broken] = _read_day_counts(period, GROUPINGS, broken)
    positions = [GROUPINGS.index(name) for name in by]
    result: DayCounts = defaultdict(Counter)
    for key, counts in finest.items():
        result[tuple(key[i] for i in positions)].update(counts)
    return result


def _read_day_counts(
    period: Period, by: Sequence[str], broken: tuple[date, date] | None
) -> DayCounts:
    part = period.part
    result: DayCounts = defaultdict(Counter)
    counters = [c for c in COUNTERS if c != "promises_broken"]
    t = DAYS
    in_days = sa.and_(t.c.day >= part.first_day, t.c.day < part.end_day)
    sums = [sa.func.sum(sa.case((in_days, t.c[c]))) for c in counters]
    where = [in_days] if part.has_days else []
    if broken is not None and broken[0] < broken[1]:
        in_broken = sa.and_(t.c.day >= day_number(broken[0]), t.c.day < day_number(broken[1]))
        sums.append(sa.func.sum(sa.case((in_broken, t.c.promises_broken))))
        counters = [*counters, "promises_broken"]
        where.append(in_broken)
    if where:
        columns = {
            "week": ((t.c.day - 4) // 7).label("week"),
            "category_id": t.c.category_id,
            "kind": t.c.kind,
            "channel": t.c.channel,
        }
        keys = [columns[name] for name in by]
        rows = db.session.execute(sa.select(*keys, *sums).where(sa.or_(*where)).group_by(*keys))
        for row in rows:  # one row per group
            result[tuple(row[: len(keys)])] = Counter(
                {c: int(v or 0) for c, v in zip(counters, row[len(keys) :], strict=True)}
            )

    def key(day: int, f: EdgeItem) -> tuple[Any, ...]:
        values = {
            "week": _week(day),
            "category_id": f.category_id,
            "kind": f.kind,
            "channel": f.channel,
        }
        return tuple(values[name] for name in by)

    for f in period.items:
        if f.received_in_edges:
            counts = result[key(f.created_day, f)]
            counts["received"] += 1
            if f.ack_outcome:
                counts["ack_met" if f.ack_outcome == MET else "ack_late"] += 1
        if f.resolved_in_edges and f.resolved_day is not None:
            counts = result[key(f.resolved_day, f)]
            counts["resolved"] += 1
            if f.kept:
                counts["promises_kept"] += 1
        if f.declined_in_edges and f.declined_day is not None:
            result[key(f.declined_day, f)]["declined"] += 1
    return result


def total(counts: DayCounts, counter: str) -> int:
    return sum(c[counter] for c in counts.values())


def unacknowledged(period: Period, now: datetime) -> dict[int, tuple[int, int]]:
    """Items received in the period with a target and no acknowledgement, per category:
    (missed, not yet due) as at ``now``."""
    part = period.part
    result: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if part.has_days:
        today = day_number(now)
        t = WAITING
        by_day = (
            sa.select(
                t.c.category_id.label("category_id"),
                sa.func.sum(t.c["count"]).filter(t.c.due_day < today).label("missed"),
                sa.func.sum(t.c["count"]).filter(t.c.due_day > today).label("pending"),
            )
            .where(t.c.created_day >= part.first_day, t.c.created_day < part.end_day)
            .group_by(t.c.category_id)
        )
        # Due on the day asked: before or after the moment, item by item.
        ledger, due = LEDGER, LEDGER.c.unacknowledged_due_at
        today_due = (
            sa.select(
                ledger.c.category_id,
                sa.func.count().filter(due <= now),
                sa.func.count().filter(due > now),
            )
            .where(
                due >= day_start(today),
                due < day_start(today + 1),
                ledger.c.created_day >= part.first_day,
                ledger.c.created_day < part.end_day,
            )
            .group_by(ledger.c.category_id)
        )
        for cat, missed, pending in db.session.execute(sa.union_all(by_day, today_due)):
            result[cat][0] += int(missed or 0)
            result[cat][1] += int(pending or 0)
    for f in period.items:
        if f.unacknowledged_due_at is not None and f.received_in_edges:
            result[f.category_id][0 if f.unacknowledged_due_at <= now else 1] += 1
    return {cat: (m, p) for cat, (m, p) in result.items()}


@functools.cache
def _durations_statement(measure: str, overall: bool, spans: tuple[str, ...]) -> sa.Executable:
    """The statement of ``durations`` for the kinds of span a period covers, their days bound
    as ``days_<span>``: built once (building it cost more than running it at 1,000 items)."""
    t = DURATIONS
    overall_rows = (t.c.category_id == ALL) & (t.c.owner_id == ALL)

    def rows_of(span: str) -> sa.ColumnElement[bool]:
        if overall:
            return overall_rows
        # The plain measure's days hold only rows per category and per owner.
        return sa.true() if span == "d" else ~overall_rows

    # One arm per kind of span, each read along the primary key (day, measure, category): an
    # OR of the three made SQLite gather and sort the rows' keys first.
    arms = [
        sa.select(t.c.category_id, t.c.owner_id, t.c.seconds, t.c["count"]).where(
            t.c.day.in_(sa.bindparam(f"days_{span}", expanding=True)),
            t.c.measure == (f"{measure}/{span}" if overall or span != "d" else measure),
            rows_of(span),
        )
        for span in spans
    ]
    read = (arms[0] if len(arms) == 1 else sa.union_all(*arms)).subquery("spans")
    return sa.select(
        read.c.category_id, read.c.owner_id, read.c.seconds, sa.func.sum(read.c["count"])
    ).group_by(read.c.category_id, read.c.owner_id, read.c.seconds)


# A measure's counts per bucket (seconds), per (category, owner): (category, ``ALL``) for a
# category, (``ALL``, owner) for an owner, (``ALL``, ``ALL``) over all items.
Histograms = dict[tuple[int, int], dict[int, int]]


def durations(period: Period, measure: str, *, overall: bool = False) -> Histograms:
    """How many times to acknowledge (by the day received) or to resolve (by the day resolved)
    fell in each bucket, per category and per owner; with ``overall`` only over all items.
    Read from months and weeks where they fit."""
    part = period.part
    result: defaultdict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    if part.has_days:
        spans: dict[str, list[int]] = {span: [] for span in SPANS}
        for span, day in cover(part.first_day, part.end_day):
            spans[span].append(day)
        present = tuple(span for span in SPANS if spans[span])
        query = _durations_statement(measure, overall, present)
        days = {f"days_{span}": spans[span] for span in present}
        # One row per group and bucket (the statement sums them), so each is set once.
        for cat, owner, seconds, n in db.session.execute(query, days).all():
            result[cat, owner][seconds] = n
    for f in period.items:
        if measure == ACK and f.received_in_edges:
            seconds = f.ack_seconds
        elif measure == RESOLVE and f.resolved_in_edges:
            seconds = f.resolve_seconds
        else:
            continue
        if seconds is None:
            continue
        for group in [(ALL, ALL)] if overall else [(f.category_id, ALL), (ALL, f.owner_id)]:
            histogram = result[group]
            histogram[seconds] = histogram.get(seconds, 0) + 1
    return dict(result)


def nearest_rank(histogram: dict[int, int], p: int) -> int | None:
    """The p-th percentile (nearest rank) of the values counted in ``histogram``."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = -(-p * n // 100)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - the ranks add up to n


def category_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(Category.id, Category.name).where(Category.id.in_(wanted))
    ).all()
    return {cid: name for cid, name in rows}


def user_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i != NO_OWNER}
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(User.id, User.display_name).where(User.id.in_(wanted))
    ).all()
    return {uid: name for uid, name in rows}


def backlog_now(now: datetime) -> dict[int, tuple[int, int, int, datetime | None]]:
    """Per owner (``NO_OWNER`` for nobody) with open items: (open, still received, overdue
    as at ``now``, when the oldest still received one arrived)."""
    t = BACKLOG
    today = day_number(now)
    rows = db.session.execute(
        sa.select(
            t.c.owner_id,
            sa.func.sum(t.c["count"]).filter(t.c.what == OPEN),
            sa.func.sum(t.c["count"]).filter(t.c.what == DUE),
            sa.func.sum(t.c["count"]).filter(t.c.what == DUE, t.c.day >= 0, t.c.day < today),
            sa.func.min(t.c.day).filter(t.c.what == ARRIVED, t.c["count"] > 0),
        )
        .where(t.c["count"] != 0)
        .group_by(t.c.owner_id)
    ).all()
    loads = {
        owner: [int(open_ or 0), int(waiting or 0), int(overdue or 0), first_day]
        for owner, open_, waiting, overdue, first_day in rows
        if open_
    }
    if not loads:
        return {}
    owner = sa.func.coalesce(Feedback.owner_id, NO_OWNER)
    received = Feedback.state == FeedbackState.RECEIVED
    # Due earlier today: the one part-day, read from the items.
    for who, n in db.session.execute(
        sa.select(owner, sa.func.count())
        .where(received, Feedback.ack_due_at >= day_start(today), Feedback.ack_due_at < now)
        .group_by(owner)
    ):
        if who in loads:
            loads[who][2] += n
    days = {load[3] for load in loads.values() if load[3] is not None}
    oldest: dict[tuple[int, int], datetime] = {}
    if days:
        in_days = sa.or_(
            *[
                sa.and_(Feedback.created_at >= day_start(d), Feedback.created_at < day_start(d + 1))
                for d in sorted(days)
            ]
        )
        for who, day, first in db.session.execute(
            sa.select(owner, day_index_of(Feedback.created_at), sa.func.min(Feedback.created_at))
            # The arrival days' index, not the state's (every item still received).
            .where(not_indexed(Feedback.state) == FeedbackState.RECEIVED, in_days)
            .group_by(owner, day_index_of(Feedback.created_at))
        ):
            oldest[(who, day)] = first
    return {
        who: (o, w, d, None if day is None else oldest.get((who, day)))
        for who, (o, w, d, day) in loads.items()
    }
