"""The insights charts, worked out here so templates only draw them.

Every chart is drawn on the server as SVG (``templates/insights/_chart_macros.html``): this module
decides its size, where each bar, column and tick goes, what the labels say and the words of its
description (its text equivalent); the macros put those numbers into markup. Sizes are SVG user
units. Weeks run oldest first, left to right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from portal.models import FeedbackKind
from portal.services.insights.figures import (
    Percentiles,
    format_duration,
    format_percent,
)
from portal.services.insights.queries import UNASSIGNED
from portal.services.insights.report import PublicFigures, StaffReport
from portal.services.wording import say, t, tn

# Charts are worked out for one request, so their words are said at once, in its language.
WeekLabel = Callable[[date], str]

# Horizontal bars and pairs of bars: labels on the left, bars from the axis to the right.
CHART_WIDTH = 720
LABEL_WIDTH = 260
LABEL_CHARACTERS = 36
ELLIPSIS = "\u2026"


def shorten(label: str, length: int = LABEL_CHARACTERS) -> str:
    """The label cut to ``length`` characters, the last one an ellipsis, when it is longer."""
    return label if len(label) <= length else label[: length - len(ELLIPSIS)] + ELLIPSIS


def week_label(week: date) -> str:
    """A week as its axis names it: the day and month of its Monday, "2 Mar"."""
    return week.strftime("%-d %b")


def tone_for_percent(percent: float | None) -> str:
    """The colour of a share of targets met: good from 90%, a warning from 70%, bad below and
    when nothing was decided yet."""
    if percent is not None and percent >= 90:
        return "good"
    if percent is not None and percent >= 70:
        return "warn"
    return "bad"


# Horizontal bars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarInput:
    """One bar to draw: its label, its length (None draws nothing), the words at its end and its
    colour (a class suffix; None is the default colour)."""

    label: str
    value: float | None
    text: str
    tone: str | None = None


@dataclass(frozen=True)
class Bar:
    """A bar placed on its chart."""

    label: str
    text: str
    tone: str | None
    y: int
    text_y: int
    width: float
    value_x: float


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per row, from the axis at ``axis_x``."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    axis_x: int
    axis_bottom: int
    label_x: int
    bar_height: int
    bars: list[Bar]


BAR_PLOT_WIDTH = 340
BAR_ROW_HEIGHT = 30


def bar_chart(
    id: str, title: str, desc: str, bars: Sequence[BarInput], max_value: float | None = None
) -> BarChart:
    """Bars scaled so ``max_value`` (by default the longest bar's value) fills the plot."""
    values = [bar.value for bar in bars if bar.value is not None]
    top = max_value or (max(values) if values else 0)
    height = len(bars) * BAR_ROW_HEIGHT + 10
    placed = []
    for i, bar in enumerate(bars):
        y = i * BAR_ROW_HEIGHT + 5
        width = (bar.value or 0) / top * BAR_PLOT_WIDTH if top else 0.0
        placed.append(
            Bar(
                label=shorten(bar.label),
                text=bar.text,
                tone=bar.tone,
                y=y + 3,
                text_y=y + 16,
                width=width,
                value_x=LABEL_WIDTH + width + 6,
            )
        )
    return BarChart(
        id=id,
        title=title,
        desc=desc,
        width=CHART_WIDTH,
        height=height,
        axis_x=LABEL_WIDTH,
        axis_bottom=height - 4,
        label_x=LABEL_WIDTH - 8,
        bar_height=BAR_ROW_HEIGHT - 10,
        bars=placed,
    )


# Pairs of bars: this period against the one before -------------------------------------------


@dataclass(frozen=True)
class PairRow:
    """A label with two bars: the period before above, this period below."""

    label: str
    label_y: int
    previous: int
    previous_y: int
    previous_text_y: int
    previous_width: float
    previous_value_x: float
    current: int
    current_y: int
    current_text_y: int
    current_width: float
    current_value_x: float


@dataclass(frozen=True)
class PairChart:
    """Pairs of bars, one pair per row, all on one scale."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    axis_x: int
    axis_bottom: int
    label_x: int
    bar_height: int
    rows: list[PairRow]
    current_name: str
    previous_name: str


PAIR_PLOT_WIDTH = 380
PAIR_ROW_HEIGHT = 36


def pair_chart(
    id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, int, int]],
    current_name: str = "",
    previous_name: str = "",
) -> PairChart:
    """Rows of (label, this period, period before), scaled so the biggest number fills the plot."""
    top = max([0, *(n for _, current, previous in rows for n in (current, previous))])

    def width(value: int) -> float:
        return value / top * PAIR_PLOT_WIDTH if top else 0.0

    height = len(rows) * PAIR_ROW_HEIGHT + 10
    placed = []
    for i, (label, current, previous) in enumerate(rows):
        y = i * PAIR_ROW_HEIGHT + 5
        placed.append(
            PairRow(
                label=shorten(label),
                label_y=y + 19,
                previous=previous,
                previous_y=y + 2,
                previous_text_y=y + 12,
                previous_width=width(previous),
                previous_value_x=LABEL_WIDTH + width(previous) + 6,
                current=current,
                current_y=y + 16,
                current_text_y=y + 26,
                current_width=width(current),
                current_value_x=LABEL_WIDTH + width(current) + 6,
            )
        )
    return PairChart(
        id=id,
        title=title,
        desc=desc,
        width=CHART_WIDTH,
        height=height,
        axis_x=LABEL_WIDTH,
        axis_bottom=height - 4,
        label_x=LABEL_WIDTH - 8,
        bar_height=12,
        rows=placed,
        current_name=current_name or say(t("This period")),
        previous_name=previous_name or say(t("Period before")),
    )


# Stacked columns over time --------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One stacked layer of a column chart: its name, colour and one number per column."""

    name: str
    tone: str
    points: list[int]


@dataclass(frozen=True)
class Segment:
    """One series' part of a column."""

    tone: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Column:
    """One column (a week): its stacked segments, bottom first, and its label if it has one."""

    segments: list[Segment]
    label: str | None
    label_x: float


@dataclass(frozen=True)
class ColumnChart:
    """Stacked columns from the baseline up; ticks at 0 and at the tallest column's total."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    right: int
    top_y: int
    base_y: int
    tick_x: int
    peak: int
    peak_y: int
    zero_y: int
    label_y: int
    columns: list[Column]
    legend: list[Series]


COLUMN_WIDTH = 900
COLUMN_LEFT = 40
COLUMN_RIGHT = 8
COLUMN_TOP = 14
COLUMN_PLOT_HEIGHT = 170
COLUMN_BOTTOM = 34
COLUMN_MAX_WIDTH = 48
# At most about eight column labels fit along the axis; the rest are left out, evenly.
COLUMN_MAX_LABELS = 8


def column_chart(
    id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]
) -> ColumnChart:
    """One column per label, its series stacked in order, scaled so the tallest column fills
    the plot; a legend only when there is more than one series."""
    n = len(labels)
    totals = [sum(s.points[i] for s in series) for i in range(n)]
    peak = max(totals) if totals else 0
    base = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    slot = (COLUMN_WIDTH - COLUMN_LEFT - COLUMN_RIGHT) / (n or 1)
    col_w = min(slot * 0.7, COLUMN_MAX_WIDTH)
    every = (n + COLUMN_MAX_LABELS - 1) // COLUMN_MAX_LABELS if n else 1
    columns = []
    for i in range(n):
        x = COLUMN_LEFT + i * slot + (slot - col_w) / 2
        y = float(base)
        segments = []
        for s in series:
            h = s.points[i] / peak * COLUMN_PLOT_HEIGHT if peak else 0
            if h > 0:
                y -= h
                segments.append(Segment(s.tone, x, y, col_w, h))
        columns.append(Column(segments, labels[i] if i % every == 0 else None, x + col_w / 2))
    return ColumnChart(
        id=id,
        title=title,
        desc=desc,
        width=COLUMN_WIDTH,
        height=base + COLUMN_BOTTOM,
        left=COLUMN_LEFT,
        right=COLUMN_WIDTH - COLUMN_RIGHT,
        top_y=COLUMN_TOP,
        base_y=base,
        tick_x=COLUMN_LEFT - 6,
        peak=peak,
        peak_y=COLUMN_TOP + 4,
        zero_y=base + 4,
        label_y=base + 18,
        columns=columns,
        legend=list(series) if len(series) > 1 else [],
    )


# Sparklines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    """A small line of numbers over time, oldest first, with a dot on the newest."""

    id: str
    title: str
    desc: str
    width: int
    height: int
    coords: list[tuple[float, float]]

    @property
    def points(self) -> str:
        """The coordinates as an SVG ``points`` attribute."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.coords)

    @property
    def last(self) -> tuple[float, float] | None:
        return self.coords[-1] if self.coords else None


SPARK_WIDTH = 120
SPARK_HEIGHT = 28
SPARK_PAD = 3


def sparkline(id: str, title: str, points: Sequence[int]) -> Sparkline:
    """Points spread evenly across, the biggest at the top and zero at the bottom."""
    top = max(points) if points else 0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / (len(points) - 1 if len(points) > 1 else 1)
    rise = SPARK_HEIGHT - 2 * SPARK_PAD
    coords = [
        (SPARK_PAD + i * step, SPARK_HEIGHT - SPARK_PAD - (p / top * rise if top else 0))
        for i, p in enumerate(points)
    ]
    desc = say(t("Per week, oldest first: %(numbers)s", numbers=", ".join(str(p) for p in points)))
    return Sparkline(id, title, desc, SPARK_WIDTH, SPARK_HEIGHT, coords)


# The public page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicCharts:
    """The charts of "How we are doing"."""

    word: BarChart
    times: BarChart
    weekly: ColumnChart


def public_charts(
    periods: Sequence[PublicFigures],
    weekly: Sequence[tuple[date, int]],
    week_label: WeekLabel = week_label,
) -> PublicCharts:
    """How often we kept our word, typical times, and feedback received each week."""
    word_bars: list[BarInput] = []
    word_desc: list[str] = []
    for p in periods:
        name, percent = p.lowercase_name, say(format_percent(p.ack_targets.percent))
        word_bars.append(
            BarInput(
                say(t("Acknowledged in time, %(period)s", period=name)),
                p.ack_targets.percent,
                percent,
                "good",
            )
        )
        word_desc.append(
            say(
                t(
                    "Acknowledged within target %(period)s: %(percent)s.",
                    period=name,
                    percent=percent,
                )
            )
        )
    for p in periods:
        name, percent = p.lowercase_name, say(format_percent(p.promises.percent))
        word_bars.append(
            BarInput(say(t("Promises kept, %(period)s", period=name)), p.promises.percent, percent)
        )
        word_desc.append(
            say(t("Promised dates kept %(period)s: %(percent)s.", period=name, percent=percent))
        )
    time_bars: list[BarInput] = []
    time_desc: list[str] = []
    for p in periods:
        name = p.lowercase_name
        ack, resolve = p.ack_time.median, p.resolve_time.median
        time_bars.append(
            BarInput(
                say(t("To acknowledge, %(period)s", period=name)), ack, say(format_duration(ack))
            )
        )
        time_bars.append(
            BarInput(
                say(t("To resolve, %(period)s", period=name)),
                resolve,
                say(format_duration(resolve)),
                "good",
            )
        )
        time_desc.append(
            say(
                t(
                    "Typical time to acknowledge %(period)s: %(ack)s; to resolve: %(resolve)s.",
                    period=name,
                    ack=format_duration(ack),
                    resolve=format_duration(resolve),
                )
            )
        )
    labels = [week_label(week) for week, _ in weekly]
    counts = [count for _, count in weekly]
    weekly_desc = say(
        t(
            "Feedback received each week from the week of %(week)s to this week: %(counts)s.",
            week=labels[0],
            counts=", ".join(str(n) for n in counts),
        )
        if weekly
        else t("No weeks to show.")
    )
    return PublicCharts(
        word=bar_chart(
            "chart-word",
            say(t("How often we kept our word (out of 100%)")),
            " ".join(word_desc),
            word_bars,
            max_value=100,
        ),
        times=bar_chart(
            "chart-times",
            say(t("Typical times (the median: half were quicker)")),
            " ".join(time_desc),
            time_bars,
        ),
        weekly=column_chart(
            "chart-weekly",
            say(
                tn(
                    "Feedback received each week, last %(num)d week",
                    "Feedback received each week, last %(num)d weeks",
                    len(weekly),
                )
            ),
            weekly_desc,
            labels,
            [Series(say(t("Feedback received")), "default", counts)],
        ),
    )


# The staff page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryVolume:
    """A category's items over the period: its name, its total and its weekly sparkline."""

    name: str
    total: int
    sparkline: Sparkline


@dataclass(frozen=True)
class StaffCharts:
    """The charts of the staff insights page; a chart is None when it has nothing to show."""

    week_labels: list[str]
    volume: ColumnChart
    categories: list[CategoryVolume]
    rising: PairChart | None
    ack_times: BarChart | None
    resolve_times: BarChart | None
    targets: BarChart | None
    promises: BarChart
    workload: BarChart | None
    digest: ColumnChart | None


def _times_chart(key: str, verb: str, rows: Sequence[Percentiles]) -> BarChart | None:
    if not rows:
        return None
    title = (
        t("Median time to acknowledge, per category")
        if verb == "acknowledge"
        else t("Median time to resolve, per category")
    )
    return bar_chart(
        f"chart-{key}-times",
        say(title),
        "; ".join(
            say(
                t(
                    "%(label)s: median %(median)s, 90th percentile %(slowest)s",
                    label=row.label,
                    median=format_duration(row.median),
                    slowest=format_duration(row.p90),
                )
            )
            for row in rows
        )
        + ".",
        [BarInput(row.label, row.median, say(format_duration(row.median))) for row in rows],
    )


def staff_charts(report: StaffReport, week_label: WeekLabel = week_label) -> StaffCharts:
    """Every chart of the staff page for the report's period."""
    volume = report.volume_summary
    labels = [week_label(week) for week in volume.weeks]
    kinds = [Series(say(t(kind.label)), kind.value, volume.by_kind[kind]) for kind in FeedbackKind]
    volume_desc = say(
        t(
            "Weeks from %(first)s to %(last)s. Totals per week: %(totals)s. "
            "Over the period: %(kinds)s.",
            first=labels[0] if labels else "",
            last=labels[-1] if labels else "",
            totals=", ".join(str(n) for n in volume.totals),
            kinds=", ".join(f"{s.name}: {sum(s.points)}" for s in kinds),
        )
    )
    rising = report.rising_categories
    targets = report.ack_targets_by_category
    promises, moves = report.promises, report.moves
    subscribers = [week.subscribers_at_start for week in report.digest.weeks]
    return StaffCharts(
        week_labels=labels,
        volume=column_chart(
            "chart-volume",
            say(t("Items received per week, by kind")),
            volume_desc,
            labels,
            kinds,
        ),
        categories=[
            CategoryVolume(
                name,
                sum(points),
                sparkline(
                    f"spark-category-{i}", say(t("%(name)s: items per week", name=name)), points
                ),
            )
            for i, (name, points) in enumerate(volume.by_category, start=1)
        ],
        rising=pair_chart(
            "chart-rising",
            say(t("Categories with more items than in the period before")),
            "; ".join(
                say(
                    t(
                        "%(label)s: %(now)s now, %(before)s before",
                        label=r.label,
                        now=r.current,
                        before=r.previous,
                    )
                )
                for r in rising
            )
            + ".",
            [(r.label, r.current, r.previous) for r in rising],
        )
        if rising
        else None,
        ack_times=_times_chart("ack", "acknowledge", report.ack_times["category"]),
        resolve_times=_times_chart("resolve", "resolve", report.resolve_times["category"]),
        targets=bar_chart(
            "chart-targets",
            say(t("Acknowledged within target, per category (out of 100%)")),
            "; ".join(
                say(
                    t(
                        "%(label)s: %(percent)s (%(met)s of %(decided)s)",
                        label=g.label,
                        percent=format_percent(g.percent),
                        met=g.met,
                        decided=g.decided,
                    )
                )
                for g in targets
            )
            + ".",
            [
                BarInput(
                    g.label, g.percent, say(format_percent(g.percent)), tone_for_percent(g.percent)
                )
                for g in targets
            ],
            max_value=100,
        )
        if targets
        else None,
        promises=bar_chart(
            "chart-promises",
            say(t("Promised dates that came due or were met in the period")),
            say(
                tn(
                    "Kept: %(kept)s. Broken: %(broken)s. Moved: %(num)d time.",
                    "Kept: %(kept)s. Broken: %(broken)s. Moved: %(num)d times.",
                    moves.moves,
                    kept=promises.kept,
                    broken=promises.broken,
                )
            ),
            [
                BarInput(
                    say(t("Kept (done on or before the date)")),
                    promises.kept,
                    str(promises.kept),
                    "good",
                ),
                BarInput(
                    say(t("Broken (date passed)")), promises.broken, str(promises.broken), "bad"
                ),
                BarInput(say(t("Dates moved")), moves.moves, str(moves.moves), "warn"),
            ],
        ),
        workload=bar_chart(
            "chart-workload",
            say(t("Open items per owner")),
            "; ".join(
                say(
                    t(
                        "%(name)s: %(open)s open, %(overdue)s overdue",
                        name=w.name if w.owner_id else t(UNASSIGNED),
                        open=w.open,
                        overdue=w.overdue,
                    )
                )
                for w in report.workload
            )
            + ".",
            [
                BarInput(
                    w.name if w.owner_id else say(t(UNASSIGNED)),
                    w.open,
                    say(t("%(open)s open", open=w.open)),
                    "bad" if w.overdue else None,
                )
                for w in report.workload
            ],
        )
        if report.workload
        else None,
        digest=column_chart(
            "chart-digest",
            say(t("Digest subscribers at the start of each week")),
            say(
                t(
                    "Subscribers per week: %(numbers)s.",
                    numbers=", ".join(str(n) for n in subscribers),
                )
            ),
            labels,
            [Series(say(t("Subscribers")), "default", subscribers)],
        )
        if subscribers and max(subscribers) > 0
        else None,
    )
