"""Chart geometry of the insights pages, worked out in Python so the templates only draw it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from portal.models import FeedbackKind
from portal.services.insights import charts, report
from portal.services.insights.charts import BarInput, Series
from portal.services.insights.figures import (
    Percentiles,
    PromiseFigures,
    PromiseMoves,
    TargetFigures,
)

# The world of items the figures' own tests use, and its period.
from tests.services.test_insights import END, START, build_item, world  # noqa: F401

# Horizontal bars -------------------------------------------------------------------------------


def test_the_longest_bar_fills_the_plot_and_the_others_are_in_proportion() -> None:
    chart = charts.bar_chart(
        "c", "T", "D", [BarInput("a", 10, "10"), BarInput("b", 5, "5"), BarInput("c", 2.5, "2.5")]
    )
    assert [bar.width for bar in chart.bars] == [340, 170, 85]
    # The value sits just beyond the end of its bar.
    assert [bar.value_x for bar in chart.bars] == [606, 436, 351]
    assert [bar.text for bar in chart.bars] == ["10", "5", "2.5"]


def test_bars_with_no_value_or_zero_have_no_length_and_an_empty_chart_divides_by_nothing() -> None:
    chart = charts.bar_chart(
        "c", "T", "D", [BarInput("none", None, "no data"), BarInput("z", 0, "0")]
    )
    assert [bar.width for bar in chart.bars] == [0, 0]
    assert [bar.value_x for bar in chart.bars] == [266, 266]


def test_a_share_is_drawn_out_of_100_percent_not_out_of_its_longest_bar() -> None:
    chart = charts.bar_chart(
        "c", "T", "D", [BarInput("half", 50.0, "50%"), BarInput("none", None, "no data")], 100
    )
    assert chart.bars[0].width == 170


def test_bars_sit_one_row_apart_and_the_chart_grows_with_them() -> None:
    three = charts.bar_chart("c", "T", "D", [BarInput(str(i), i, str(i)) for i in range(3)])
    assert [bar.y for bar in three.bars] == [8, 38, 68]
    assert [bar.text_y for bar in three.bars] == [21, 51, 81]
    assert (three.height, three.axis_bottom, three.bar_height) == (100, 96, 20)
    assert (three.width, three.axis_x, three.label_x) == (720, 260, 252)


def test_long_labels_are_cut_to_36_characters_ending_in_an_ellipsis() -> None:
    exact = "x" * 36
    chart = charts.bar_chart(
        "c", "T", "D", [BarInput(exact, 1, "1"), BarInput("Deliveries and " + "y" * 30, 1, "1")]
    )
    assert chart.bars[0].label == exact
    assert chart.bars[1].label == "Deliveries and " + "y" * 20 + "\u2026"
    assert len(chart.bars[1].label) == 36


def test_the_colour_of_a_share_of_targets_met() -> None:
    tones = [charts.tone_for_percent(p) for p in (100, 90, 89.9, 70, 69.9, 0, None)]
    assert tones == ["good", "good", "warn", "warn", "bad", "bad", "bad"]


# Pairs of bars ---------------------------------------------------------------------------------


def test_both_periods_share_one_scale_the_biggest_number_filling_the_plot() -> None:
    chart = charts.pair_chart("c", "T", "D", [("Billing", 8, 2), ("Delivery", 3, 4)])
    billing, delivery = chart.rows
    assert (billing.current_width, billing.previous_width) == (380, 95)
    assert (delivery.current_width, delivery.previous_width) == (142.5, 190)
    # The period before is drawn above this period, in the same row.
    assert (billing.previous_y, billing.current_y, billing.label_y) == (7, 21, 24)
    assert (delivery.previous_y, delivery.current_y) == (43, 57)
    assert chart.height == 2 * 36 + 10
    assert (chart.previous_name, chart.current_name) == ("Period before", "This period")


def test_a_pair_chart_of_zeros_has_no_bars() -> None:
    (row,) = charts.pair_chart("c", "T", "D", [("Quiet", 0, 0)]).rows
    assert (row.current_width, row.previous_width) == (0, 0)


# Columns over time -----------------------------------------------------------------------------


def _labels(n: int) -> list[str]:
    return [f"w{i}" for i in range(n)]


def test_the_tallest_column_reaches_the_top_and_stacks_sit_on_each_other() -> None:
    chart = charts.column_chart(
        "c",
        "T",
        "D",
        _labels(3),
        [Series("Ideas", "idea", [2, 0, 1]), Series("Complaints", "complaint", [2, 0, 3])],
    )
    assert chart.peak == 4
    first, empty, last = chart.columns
    ideas, complaints = first.segments
    assert (ideas.y + ideas.height, ideas.height) == (chart.base_y, 85)
    assert (complaints.y + complaints.height, complaints.y) == (ideas.y, chart.top_y)
    # A week with nothing draws nothing (no zero-height rectangles).
    assert empty.segments == []
    assert [s.height for s in last.segments] == [42.5, 127.5]
    assert [s.tone for s in last.segments] == ["idea", "complaint"]


def test_a_column_chart_ticks_zero_at_the_baseline_and_the_peak_at_the_top() -> None:
    chart = charts.column_chart("c", "T", "D", _labels(2), [Series("n", "default", [7, 3])])
    assert (chart.peak, chart.peak_y, chart.zero_y) == (7, chart.top_y + 4, chart.base_y + 4)
    assert (chart.top_y, chart.base_y, chart.height) == (14, 184, 218)
    assert (chart.left, chart.right, chart.tick_x) == (40, 892, 34)


def test_weeks_run_oldest_first_from_left_to_right_the_newest_inside_the_plot() -> None:
    chart = charts.column_chart("c", "T", "D", _labels(12), [Series("n", "default", [1] * 12)])
    xs = [column.segments[0].x for column in chart.columns]
    assert xs == sorted(xs) and len(set(xs)) == 12
    newest = chart.columns[-1].segments[0]
    assert newest.x + newest.width <= chart.right
    assert chart.columns[0].segments[0].x >= chart.left
    # Each label is centred under its column.
    assert all(
        c.label_x == pytest.approx(c.segments[0].x + c.segments[0].width / 2) for c in chart.columns
    )


def test_columns_are_never_wider_than_48_and_leave_a_gap_between_them() -> None:
    few = charts.column_chart("c", "T", "D", _labels(2), [Series("n", "default", [1, 1])])
    many = charts.column_chart("c", "T", "D", _labels(52), [Series("n", "default", [1] * 52)])
    assert few.columns[0].segments[0].width == 48
    slot = (900 - 40 - 8) / 52
    assert many.columns[0].segments[0].width == pytest.approx(slot * 0.7)


@pytest.mark.parametrize(
    ("weeks", "labelled"),
    [(1, [0]), (8, list(range(8))), (9, [0, 2, 4, 6, 8]), (26, [0, 4, 8, 12, 16, 20, 24])],
)
def test_at_most_about_eight_weeks_are_labelled_evenly_starting_with_the_first(
    weeks: int, labelled: list[int]
) -> None:
    chart = charts.column_chart("c", "T", "D", _labels(weeks), [Series("n", "t", [0] * weeks)])
    assert [i for i, c in enumerate(chart.columns) if c.label is not None] == labelled
    assert [c.label for c in chart.columns if c.label is not None] == [f"w{i}" for i in labelled]


def test_a_legend_only_when_more_than_one_series_is_stacked() -> None:
    one = [Series("n", "default", [1])]
    two = [Series("a", "idea", [1]), Series("b", "question", [1])]
    assert charts.column_chart("c", "T", "D", ["w"], one).legend == []
    assert [s.name for s in charts.column_chart("c", "T", "D", ["w"], two).legend] == ["a", "b"]


def test_a_column_chart_without_weeks_or_figures_draws_nothing() -> None:
    empty = charts.column_chart("c", "T", "D", [], [Series("n", "default", [])])
    assert (empty.peak, empty.columns) == (0, [])
    zeros = charts.column_chart("c", "T", "D", _labels(3), [Series("n", "default", [0, 0, 0])])
    assert zeros.peak == 0 and all(c.segments == [] for c in zeros.columns)


# Sparklines ------------------------------------------------------------------------------------


def test_a_sparkline_spreads_its_weeks_across_with_the_most_at_the_top() -> None:
    line = charts.sparkline("s", "Billing: items per week", [0, 4, 2])
    assert line.coords == [(3, 25), (60, 3), (117, 14)]
    assert line.points == "3.0,25.0 60.0,3.0 117.0,14.0"
    assert line.last == (117, 14)  # the dot marks the newest week
    assert line.desc == "Per week, oldest first: 0, 4, 2"


def test_a_sparkline_of_one_week_or_of_zeros_lies_on_the_floor() -> None:
    assert charts.sparkline("s", "T", [0, 0]).coords == [(3, 25), (117, 25)]
    assert charts.sparkline("s", "T", [5]).coords == [(3, 3)]
    empty = charts.sparkline("s", "T", [])
    assert (empty.points, empty.last) == ("", None)


def test_weeks_are_labelled_by_the_day_and_month_of_their_monday() -> None:
    assert charts.week_label(date(2026, 3, 2)) == "2 Mar"
    assert charts.week_label(date(2026, 11, 30)) == "30 Nov"


# The pages' charts ------------------------------------------------------------------------------


def _period(days: int, *, met: int, missed: int, kept: int, broken: int) -> report.PublicFigures:
    end = datetime(2026, 3, 20, tzinfo=UTC)
    return report.PublicFigures(
        received=met + missed,
        ack_targets=TargetFigures(None, "All items", met, missed, 0),
        resolved=kept,
        declined=0,
        ack_time=Percentiles(None, "All items", 2, 40 * 60, 3 * 3600),
        resolve_time=Percentiles(None, "All items", 0, None, None),
        promises=PromiseFigures(kept, broken),
        moves=PromiseMoves(0, 0, 0),
        days=days,
        start=end - timedelta(days=days),
        end=end,
    )


def test_the_public_charts_say_in_words_what_they_draw() -> None:
    periods = [
        _period(30, met=9, missed=1, kept=1, broken=1),
        _period(365, met=3, missed=1, kept=0, broken=0),
    ]
    weekly = [(date(2026, 3, 2), 4), (date(2026, 3, 9), 0), (date(2026, 3, 16), 2)]
    drawn = charts.public_charts(periods, weekly)

    assert [b.label for b in drawn.word.bars] == [
        "Acknowledged in time, last 30 days",
        "Acknowledged in time, last 12 months",
        "Promises kept, last 30 days",
        "Promises kept, last 12 months",
    ]
    assert [(b.text, b.width, b.tone) for b in drawn.word.bars] == [
        ("90%", 306, "good"),
        ("75%", 255, "good"),
        ("50%", 170, None),
        ("no data", 0, None),
    ]
    assert drawn.word.desc == (
        "Acknowledged within target last 30 days: 90%. Acknowledged within target last 12 "
        "months: 75%. Promised dates kept last 30 days: 50%. Promised dates kept last 12 "
        "months: no data."
    )
    assert [b.text for b in drawn.times.bars] == ["40 min", "no data", "40 min", "no data"]
    assert drawn.times.desc.startswith(
        "Typical time to acknowledge last 30 days: 40 min; to resolve: no data."
    )
    assert drawn.weekly.title == "Feedback received each week, last 3 weeks"
    assert drawn.weekly.desc == (
        "Feedback received each week from the week of 2 Mar to this week: 4, 0, 2."
    )
    assert [c.label for c in drawn.weekly.columns] == ["2 Mar", "9 Mar", "16 Mar"]
    assert charts.public_charts(periods, []).weekly.desc == "No weeks to show."


@pytest.mark.usefixtures("world")
def test_the_staff_charts_for_a_period() -> None:
    staff = report.staff_report(START, END, END)
    drawn = charts.staff_charts(staff)

    assert drawn.week_labels == ["2 Mar", "9 Mar"]
    assert drawn.volume.id == "chart-volume"
    assert [s.tone for s in drawn.volume.legend] == [kind.value for kind in FeedbackKind]
    assert drawn.volume.desc.startswith(
        "Weeks from 2 Mar to 9 Mar. Totals per week: "
        + ", ".join(str(n) for n in staff.volume_summary.totals)
    )
    assert [(c.name, c.total) for c in drawn.categories] == [
        (name, sum(points)) for name, points in staff.volume_summary.by_category
    ]
    assert [c.sparkline.id for c in drawn.categories] == ["spark-category-1", "spark-category-2"]
    assert drawn.ack_times is not None and drawn.ack_times.id == "chart-ack-times"
    assert drawn.resolve_times is not None and drawn.resolve_times.id == "chart-resolve-times"
    assert drawn.targets is not None
    assert [(b.label, b.tone) for b in drawn.targets.bars] == [
        (t.label, charts.tone_for_percent(t.percent)) for t in staff.ack_targets_by_category
    ]
    assert [(b.label, b.text, b.tone) for b in drawn.promises.bars] == [
        ("Kept (done on or before the date)", "2", "good"),
        ("Broken (date passed)", "2", "bad"),
        ("Dates moved", str(staff.moves.moves), "warn"),
    ]
    assert drawn.workload is not None
    assert [(b.label, b.tone) for b in drawn.workload.bars] == [
        (w.name, "bad" if w.overdue else None) for w in staff.workload
    ]
    assert drawn.digest is None  # nobody subscribes to the digest in this world


def test_the_staff_page_leaves_out_charts_with_nothing_to_show() -> None:
    drawn = charts.staff_charts(report.staff_report(START, END, END))
    assert drawn.rising is None and drawn.ack_times is None and drawn.resolve_times is None
    assert drawn.targets is None and drawn.workload is None and drawn.digest is None
    assert drawn.volume.peak == 0 and drawn.categories == []
    assert [b.width for b in drawn.promises.bars] == [0, 0, 0]


def test_the_insights_templates_draw_charts_without_working_them_out() -> None:
    root = Path(__file__).resolve().parents[2] / "templates"
    pages = [root / "admin" / "insights.html", *sorted((root / "insights").glob("*.html"))]
    assert len(pages) >= 3
    for page in pages:
        source = page.read_text()
        # Series, scales and descriptions are built in charts.py, not appended to in Jinja.
        assert "{% do " not in source and "namespace(" not in source, page
        assert ".append(" not in source, page
