"""The insights pages put together: the public page's figures, the staff report, and the staff
tables as plain rows for CSV downloads. Each figure comes from its own function: the counts,
durations, targets, promises and weekly volume from the daily roll-ups (``rolled``), the rest
from its own query (``queries``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from portal.models.base import N_
from portal.services.errors import NotFound
from portal.services.insights import rolled, rollups
from portal.services.insights.figures import (
    ChannelCount,
    DigestActivity,
    Percentiles,
    PromiseFigures,
    PromiseMoves,
    PublishedResolution,
    RecordedCount,
    SegmentFigures,
    TargetFigures,
    Trend,
    VolumeSummary,
    VotedItem,
    WeeklyCount,
    Workload,
    previous_period,
    summarise_volume,
    weeks_back,
    weeks_between,
)
from portal.services.insights.queries import (
    digest_activity,
    latest_resolutions,
    most_voted_unresolved,
    promises_moved,
    recorded_per_channel,
    rising_terms,
)
from portal.services.insights.rolled import (
    ack_targets_met,
    ack_time_percentiles,
    items_per_channel,
    resolve_time_percentiles,
    rising_categories,
    staff_workload,
    weekly_received,
    weekly_volume,
)
from portal.services.wording import Text, t, tn

# The public page ------------------------------------------------------------------------------


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
    """The headline figures for the period from the roll-ups (acknowledgement targets as at
    ``now``): one statement for the counts, one for the waiting items, one per duration and
    one for the promise moves, plus one for the part-days at the ends when there are any."""
    period = rolled.Period(start, end)
    top = rolled.headline(period)
    return PeriodFigures(
        received=top.received,
        ack_targets=rolled.ack_targets_overall(period, top, now),
        resolved=top.resolved,
        declined=top.declined,
        ack_time=rolled.overall_time(period, rollups.ACK),
        resolve_time=rolled.overall_time(period, rollups.RESOLVE),
        promises=top.promises,
        moves=promises_moved(start, end),
    )


# What the public page calls its periods; any other length is "Last N days". Each name also
# reads inside a sentence ("Promises kept, last 30 days"), where it is written in lower case.
PERIOD_NAMES = {30: N_("Last 30 days"), 365: N_("Last 12 months")}
PERIOD_NAMES_IN_A_SENTENCE = {30: N_("last 30 days"), 365: N_("last 12 months")}


@dataclass(frozen=True)
class PublicFigures(PeriodFigures):
    """The public figures for the ``days`` up to ``end``."""

    days: int
    start: datetime
    end: datetime

    @property
    def name(self) -> Text:
        """What the page calls the period: "Last 30 days", "Last 12 months" (said when shown:
        the page's figures are kept for every reader's language)."""
        if self.days in PERIOD_NAMES:
            return t(PERIOD_NAMES[self.days])
        return tn("Last %(num)d day", "Last %(num)d days", self.days)

    @property
    def lowercase_name(self) -> Text:
        """The period's name inside a sentence: "last 30 days"."""
        if self.days in PERIOD_NAMES_IN_A_SENTENCE:
            return t(PERIOD_NAMES_IN_A_SENTENCE[self.days])
        return tn("last %(num)d day", "last %(num)d days", self.days)


def public_figures(end: datetime, days: int) -> PublicFigures:
    """Every public figure for the ``days`` up to ``end``."""
    start = end - timedelta(days=days)
    figures = period_figures(start, end, now=end)
    return PublicFigures(**vars(figures), days=days, start=start, end=end)


# The periods the public page reports on, in days, and the weeks of its weekly chart.
PUBLIC_PERIODS = (30, 365)
PUBLIC_WEEKS = 26


@dataclass(frozen=True)
class PublicPage:
    """Everything the public page shows, computed at one moment."""

    computed_at: datetime
    periods: list[PublicFigures]
    weekly: list[tuple[date, int]]
    resolutions: list[PublishedResolution]


def public_page(now: datetime) -> PublicPage:
    """The public page's figures as at ``now``: each period, the weekly counts and the newest
    published resolutions."""
    return PublicPage(
        computed_at=now,
        periods=[public_figures(now, days) for days in PUBLIC_PERIODS],
        weekly=weekly_received(weeks_back(now, PUBLIC_WEEKS), now),
        resolutions=latest_resolutions(5),
    )


# The staff page -------------------------------------------------------------------------------


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
    recorded: list[RecordedCount]
    # Items and votes per customer segment (customer value: staff only).
    segments: list[SegmentFigures] = field(default_factory=list)
    previous: tuple[datetime, datetime] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "previous", previous_period(self.start, self.end))


def staff_report(start: datetime, end: datetime, now: datetime) -> StaffReport:
    """Every staff figure for the period: the counts from the roll-ups of one period, the rest
    each from its own function."""
    period = rolled.Period(start, end)
    top = rolled.headline(period)
    volume = weekly_volume(start, end, period=period)
    return StaffReport(
        start=start,
        end=end,
        now=now,
        received=top.received,
        resolved=top.resolved,
        declined=top.declined,
        ack_targets=rolled.ack_targets_overall(period, top, now),
        ack_targets_by_category=ack_targets_met(start, end, now=now, by="category", period=period),
        ack_times=rolled.times(period, rollups.ACK),
        resolve_times=rolled.times(period, rollups.RESOLVE),
        promises=top.promises,
        moves=promises_moved(start, end),
        volume=volume,
        volume_summary=summarise_volume(volume, weeks_between(start, end)),
        rising_categories=rising_categories(start, end, period=period),
        rising_terms=rising_terms(start, end),
        most_voted=most_voted_unresolved(),
        workload=staff_workload(now),
        digest=digest_activity(start, end),
        channels=items_per_channel(start, end, period=period),
        segments=rolled.segment_split(start, end),
        recorded=recorded_per_channel(start, end),
    )


# The staff page opens with this week against last: the same headline figures as the public
# page, over the 7 days up to now and the 7 days before, whatever period the page reports on.
SUMMARY_DAYS = 7


@dataclass(frozen=True)
class WeekOnWeek:
    """The headline figures of the last ``SUMMARY_DAYS`` days beside the days before them."""

    this_week: PeriodFigures
    last_week: PeriodFigures
    start: datetime  # where this week starts, and last week ends
    end: datetime

    @property
    def changes(self) -> dict[str, float | None]:
        """This week less last week, figure by figure (percentages in points, durations in
        seconds); None where either week has no figure."""

        def less(now: float | None, before: float | None) -> float | None:
            return None if now is None or before is None else now - before

        this, last = self.this_week, self.last_week
        return {
            "received": this.received - last.received,
            "ack_in_time": less(this.ack_targets.percent, last.ack_targets.percent),
            "resolved": this.resolved - last.resolved,
            "ack_median": less(this.ack_time.median, last.ack_time.median),
            "resolve_median": less(this.resolve_time.median, last.resolve_time.median),
            "promises_kept": less(this.promises.percent, last.promises.percent),
        }


def week_on_week(now: datetime) -> WeekOnWeek:
    """This week (the last ``SUMMARY_DAYS`` days up to ``now``) against the week before."""
    start = now - timedelta(days=SUMMARY_DAYS)
    return WeekOnWeek(
        this_week=period_figures(start, now, now),
        last_week=period_figures(start - timedelta(days=SUMMARY_DAYS), start, now),
        start=start,
        end=now,
    )


# Tables and CSV -------------------------------------------------------------------------------


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
    "summary": (N_("Summary"), ["figure", "value"], _summary_table),
    "volume": (
        N_("Items per week, category and kind"),
        ["week_starting", "category", "kind", "items"],
        lambda s, e, n: [
            [_iso(r.week), r.category, r.kind.value, r.count] for r in weekly_volume(s, e)
        ],
    ),
    "channels": (
        N_("Items per channel"),
        ["channel", "items", "percent"],
        lambda s, e, n: [
            [c.channel.value, c.count, _pct(c.percent)] for c in items_per_channel(s, e)
        ],
    ),
    "segments": (
        N_("Items and votes per customer segment"),
        ["segment", "items", "votes", "customers"],
        lambda s, e, n: [
            [f.segment or "", f.items, f.votes, f.people] for f in rolled.segment_split(s, e)
        ],
    ),
    "recorded": (
        N_("Feedback staff recorded for customers, per channel"),
        ["channel", "items", "me_too"],
        lambda s, e, n: [[r.channel.value, r.items, r.me_too] for r in recorded_per_channel(s, e)],
    ),
    "rising_categories": (
        N_("Categories with rising volume"),
        ["category", "items_this_period", "items_previous_period", "change"],
        lambda s, e, n: [
            [r.label, r.current, r.previous, r.change] for r in rising_categories(s, e)
        ],
    ),
    "rising_terms": (
        N_("Title words with rising volume"),
        ["word", "titles_this_period", "titles_previous_period", "change"],
        lambda s, e, n: [[r.label, r.current, r.previous, r.change] for r in rising_terms(s, e)],
    ),
    "most_voted": (
        N_("Most-voted unresolved items"),
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
        N_("Time to acknowledge, per category"),
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(ack_time_percentiles(s, e, "category")),
    ),
    "ack_times_by_owner": (
        N_("Time to acknowledge, per owner"),
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(ack_time_percentiles(s, e, "owner")),
    ),
    "resolve_times_by_category": (
        N_("Time to resolve, per category"),
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(resolve_time_percentiles(s, e, "category")),
    ),
    "resolve_times_by_owner": (
        N_("Time to resolve, per owner"),
        _DURATION_HEADERS,
        lambda s, e, n: _duration_rows(resolve_time_percentiles(s, e, "owner")),
    ),
    "ack_targets": (
        N_("Acknowledgement targets met, per category"),
        ["category", "met", "missed", "not_yet_due", "met_percent"],
        _targets_rows,
    ),
    "workload": (
        N_("Open items per owner"),
        ["owner", "open", "unacknowledged", "overdue", "oldest_unacknowledged_received_at"],
        lambda s, e, n: [
            [w.name, w.open, w.unacknowledged, w.overdue, _iso(w.oldest_unacknowledged_at)]
            for w in staff_workload(n)
        ],
    ),
    "digest": (
        N_("Email digest per week"),
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
        raise NotFound(t("There is no table called \u201c%(name)s\u201d.", name=name))
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
