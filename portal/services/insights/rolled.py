"""The insights figures read from the daily roll-ups (``rollups``), one function per figure with
the signature and the answer of its recount in ``queries``; the reports call these."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackChannel, FeedbackKind, Role, User, Vote
from portal.models.insight import NO_OWNER, InsightSegmentDay, InsightUserDay
from portal.services.insights import rollups
from portal.services.insights.figures import (
    ChannelCount,
    Grouping,
    Percentiles,
    PromiseFigures,
    SegmentFigures,
    TargetFigures,
    Trend,
    WeeklyCount,
    Workload,
    channel_shares,
    previous_period,
    week_of,
    week_start,
    weeks_between,
)
from portal.services.insights.queries import (
    ALL_ITEMS,
    UNASSIGNED,
    _first_midnight_at_or_after,
)

Period = rollups.Period


def _broken_dates(start: datetime, end: datetime) -> tuple[date, date]:
    # The midnight after the promised date falls in the period exactly when the date lies in
    # [first midnight at or after start, first midnight at or after end) minus one day.
    return (
        _first_midnight_at_or_after(start) - timedelta(days=1),
        _first_midnight_at_or_after(end) - timedelta(days=1),
    )


@dataclass(frozen=True)
class Headline:
    """The headline counts of a period, from one statement over the roll-ups."""

    received: int
    resolved: int
    declined: int
    promises: PromiseFigures
    ack_met: int
    ack_late: int


def headline(period: Period) -> Headline:
    counts = rollups.day_counts(period, broken=_broken_dates(period.start, period.end))
    return Headline(
        received=rollups.total(counts, "received"),
        resolved=rollups.total(counts, "resolved"),
        declined=rollups.total(counts, "declined"),
        promises=PromiseFigures(
            rollups.total(counts, "promises_kept"), rollups.total(counts, "promises_broken")
        ),
        ack_met=rollups.total(counts, "ack_met"),
        ack_late=rollups.total(counts, "ack_late"),
    )


def ack_targets_overall(period: Period, top: Headline, now: datetime) -> TargetFigures:
    """Acknowledgement targets of the whole period from its headline and the items waiting."""
    waiting = rollups.unacknowledged(period, now).values()
    return TargetFigures(
        None,
        ALL_ITEMS,
        top.ack_met,
        top.ack_late + sum(m for m, _ in waiting),
        sum(p for _, p in waiting),
    )


def items_received(start: datetime, end: datetime) -> int:
    return headline(Period(start, end)).received


def items_resolved(start: datetime, end: datetime) -> int:
    return headline(Period(start, end)).resolved


def items_declined(start: datetime, end: datetime) -> int:
    return headline(Period(start, end)).declined


def items_per_channel(
    start: datetime, end: datetime, *, period: Period | None = None
) -> list[ChannelCount]:
    counts = rollups.day_counts(period or Period(start, end), ("channel",))
    return channel_shares(
        {FeedbackChannel(key[0]): c["received"] for key, c in counts.items() if c["received"]}
    )


def _summary(key: int | None, label: str, histogram: dict[int, int]) -> Percentiles:
    counted = {seconds: n for seconds, n in histogram.items() if n > 0}
    return Percentiles(
        key,
        label,
        sum(counted.values()),
        rollups.nearest_rank(counted, 50),
        rollups.nearest_rank(counted, 90),
    )


def _percentiles(histograms: rollups.Histograms, by: Grouping) -> list[Percentiles]:
    """The percentiles over all items, or per category or per owner, of ``durations``."""
    if by == "all":
        overall = histograms.get((rollups.ALL, rollups.ALL))
        if overall is None:  # read per group: all items are the categories together
            overall = defaultdict(int)
            for (category_id, owner_id), histogram in histograms.items():
                if category_id != rollups.ALL and owner_id == rollups.ALL:
                    for seconds, n in histogram.items():
                        overall[seconds] += n
        return [_summary(None, ALL_ITEMS, overall)]
    if by == "category":
        groups = {
            category_id: histogram
            for (category_id, owner_id), histogram in histograms.items()
            if category_id != rollups.ALL and owner_id == rollups.ALL
        }
        names = rollups.category_names(groups)
    else:
        groups = {
            owner_id: histogram
            for (category_id, owner_id), histogram in histograms.items()
            if category_id == rollups.ALL and owner_id != rollups.ALL
        }
        names = rollups.user_names(k for k in groups if k != NO_OWNER)
    result = [
        _summary(
            None if by == "owner" and key == NO_OWNER else key,
            names.get(key) or UNASSIGNED,
            histogram,
        )
        for key, histogram in groups.items()
    ]
    result = [r for r in result if r.count]
    return sorted(result, key=lambda r: (r.key is None, r.label.lower(), r.key or 0))


GROUPINGS: tuple[Grouping, ...] = ("all", "category", "owner")


def overall_time(period: Period, measure: str) -> Percentiles:
    """Percentiles of one measure over all items (months and weeks where they fit)."""
    return _percentiles(rollups.durations(period, measure, overall=True), "all")[0]


def times(period: Period, measure: str) -> dict[str, list[Percentiles]]:
    """Percentiles of one measure over all items, per category and per owner (one statement
    for the three: the day rows per category and owner add up to all items)."""
    histogram = rollups.durations(period, measure)
    return {by: _percentiles(histogram, by) for by in GROUPINGS}


def ack_time_percentiles(start: datetime, end: datetime, by: Grouping = "all") -> list[Percentiles]:
    if by == "all":
        return [overall_time(Period(start, end), rollups.ACK)]
    return _percentiles(rollups.durations(Period(start, end), rollups.ACK), by)


def resolve_time_percentiles(
    start: datetime, end: datetime, by: Grouping = "all"
) -> list[Percentiles]:
    if by == "all":
        return [overall_time(Period(start, end), rollups.RESOLVE)]
    return _percentiles(rollups.durations(Period(start, end), rollups.RESOLVE), by)


def ack_targets_met(
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    by: Literal["all", "category"] = "all",
    period: Period | None = None,
) -> list[TargetFigures]:
    now = now or end
    period = period or Period(start, end)
    counts = rollups.day_counts(period, ("category_id",))
    waiting = rollups.unacknowledged(period, now)
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (category_id,), c in counts.items():
        per[category_id][0] += c["ack_met"]
        per[category_id][1] += c["ack_late"]
    for category_id, (missed, pending) in waiting.items():
        per[category_id][1] += missed
        per[category_id][2] += pending
    if by == "all":
        met, missed, pending = (sum(v[i] for v in per.values()) for i in range(3))
        return [TargetFigures(None, ALL_ITEMS, met, missed, pending)]
    present = {k: v for k, v in per.items() if sum(v)}
    names = rollups.category_names(present)
    rows = [TargetFigures(k, names.get(k, ""), *v) for k, v in present.items()]
    return sorted(rows, key=lambda r: (r.label, r.key or 0))


def promises_kept(start: datetime, end: datetime) -> PromiseFigures:
    return headline(Period(start, end)).promises


def weekly_volume(
    start: datetime, end: datetime, *, period: Period | None = None
) -> list[WeeklyCount]:
    counts = rollups.day_counts(period or Period(start, end), ("week", "category_id", "kind"))
    names = rollups.category_names(key[1] for key in counts)
    result = [
        WeeklyCount(week_start(w), cid, names.get(cid, ""), FeedbackKind(kind), c["received"])
        for (w, cid, kind), c in counts.items()
        if c["received"]
    ]
    return sorted(result, key=lambda r: (r.week, r.category.lower(), r.category_id, r.kind))


def weekly_received(start: datetime, end: datetime) -> list[tuple[date, int]]:
    counts = {
        key[0]: c["received"]
        for key, c in rollups.day_counts(Period(start, end), ("week",)).items()
    }
    return [(monday, counts.get(week_of(monday), 0)) for monday in weeks_between(start, end)]


def rising_categories(
    start: datetime,
    end: datetime,
    *,
    limit: int = 10,
    min_count: int = 2,
    period: Period | None = None,
) -> list[Trend]:
    before, _ = previous_period(start, end)
    now_counts = rollups.day_counts(period or Period(start, end), ("category_id",))
    then_counts = rollups.day_counts(Period(before, start), ("category_id",), once=True)
    current = {k[0]: c["received"] for k, c in now_counts.items()}
    previous = {k[0]: c["received"] for k, c in then_counts.items()}
    names = rollups.category_names(set(current) | set(previous))
    rows = [
        Trend(names.get(cid, ""), n, previous.get(cid, 0), cid)
        for cid, n in current.items()
        if n >= min_count and n > previous.get(cid, 0)
    ]
    rows.sort(key=lambda r: (-r.change, -r.current, r.label, r.key or 0))
    return rows[:limit]


def staff_workload(now: datetime) -> list[Workload]:
    """Open items per owner from the backlog roll-up, every active member of staff listed,
    busiest first (as ``queries.staff_workload``)."""
    loads = rollups.backlog_now(now)
    owners = [o for o in loads if o != NO_OWNER]
    rows = db.session.execute(
        sa.select(User.id, User.display_name, User.role, User.active, User.deleted_at).where(
            sa.or_(
                User.id.in_(owners),
                sa.and_(
                    User.role.in_([Role.STAFF, Role.ADMIN]),
                    User.active.is_(True),
                    User.deleted_at.is_(None),
                ),
            )
        )
    ).all()
    names = {uid: name for uid, name, *_ in rows}
    result = {
        (None if who == NO_OWNER else who): Workload(
            None if who == NO_OWNER else who,
            (names.get(who) if who != NO_OWNER else None) or UNASSIGNED,
            open_,
            waiting,
            overdue,
            oldest,
        )
        for who, (open_, waiting, overdue, oldest) in loads.items()
    }
    for uid, name, role, active, deleted_at in rows:
        if role in (Role.STAFF, Role.ADMIN) and active and deleted_at is None:
            result.setdefault(uid, Workload(uid, name, 0, 0, 0, None))
    return sorted(
        result.values(), key=lambda w: (-w.open, w.owner_id is None, w.name.lower(), w.owner_id)
    )


def segment_split(start: datetime, end: datetime) -> list[SegmentFigures]:
    """Items received and votes given in the period, per segment the person behind them is in
    now (largest first, the customers with no segment last), in one statement that does not
    walk the period's votes: the whole UTC days come from ``insight_segment_days`` (sums) and
    ``insight_user_days`` (who was active: one index look-up per customer), only the part-days
    at the ends from the items and votes themselves."""
    part = rollups.split(start, end, ends_now=end >= datetime.now(UTC) - rollups.NOW_SLACK)
    segment = sa.func.coalesce(User.segment, "")
    parts: list[sa.Select[str, Any, Any, Any]] = []
    if part.has_days:
        in_days = (InsightSegmentDay.day >= part.first_day) & (InsightSegmentDay.day < part.end_day)
        parts.append(
            sa.select(
                InsightSegmentDay.segment,
                sa.func.sum(InsightSegmentDay.items),
                sa.func.sum(InsightSegmentDay.votes),
                sa.null().label("user_id"),
            )
            .where(in_days)
            .group_by(InsightSegmentDay.segment)
        )
        active = (
            sa.select(InsightUserDay.day)
            .where(
                InsightUserDay.user_id == User.id,
                InsightUserDay.day >= part.first_day,
                InsightUserDay.day < part.end_day,
                InsightUserDay.items + InsightUserDay.votes > 0,
            )
            .exists()
        )
        parts.append(sa.select(segment, sa.literal(0), sa.literal(0), User.id).where(active))
    if part.edges:
        acts = []
        for a, b in part.edges:
            acts.append(
                sa.select(
                    Feedback.author_id.label("user_id"),
                    sa.literal(1).label("item"),
                    sa.literal(0).label("vote"),
                ).where(Feedback.created_at >= a, Feedback.created_at < b)
            )
            acts.append(
                sa.select(
                    Vote.user_id.label("user_id"),
                    sa.literal(0).label("item"),
                    sa.literal(1).label("vote"),
                ).where(Vote.created_at >= a, Vote.created_at < b)
            )
        edge = sa.union_all(*acts).subquery("acts")
        parts.append(
            sa.select(segment, sa.func.sum(edge.c.item), sa.func.sum(edge.c.vote), User.id)
            .join(User, User.id == edge.c.user_id)
            .group_by(User.id, User.segment)
        )
    if not parts:
        return []
    query = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    items: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    people: dict[str, set[int]] = defaultdict(set)
    for name, n_items, n_votes, user_id in db.session.execute(query).all():
        items[name] += int(n_items or 0)
        votes[name] += int(n_votes or 0)
        if user_id is not None:
            people[name].add(user_id)
    figures = [
        SegmentFigures(name or None, items[name], votes[name], len(people[name]))
        for name in items.keys() | people.keys()
        if items[name] or votes[name]
    ]
    return sorted(
        figures,
        key=lambda f: (f.segment is None, -(f.items + f.votes), (f.segment or "").lower()),
    )
