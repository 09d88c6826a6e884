"""The staff insights report (/admin/insights) and its tables as CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import make_response, render_template, request
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.insights.views import say_week
from portal.services.insights.charts import staff_charts
from portal.services.insights.figures import DateRange, parse_date_range
from portal.services.insights.report import TABLES as INSIGHT_TABLES
from portal.services.insights.report import (
    insight_table,
    staff_report,
    table_csv,
    week_on_week,
)
from portal.services.wording import Text


def _insight_period() -> tuple[DateRange, list[Text], datetime, datetime, datetime]:
    now = datetime.now(UTC)
    date_range, notes = parse_date_range(
        request.args.get("from"), request.args.get("to"), today=now.date()
    )
    start, end = date_range.bounds(now)
    return date_range, notes, start, end, now


@bp.get("/insights")
def insights() -> str:
    date_range, notes, start, end, now = _insight_period()
    report = staff_report(start, end, now)
    return render_template(
        "admin/insights.html",
        report=report,
        week=week_on_week(now),
        charts=staff_charts(report, week_label=say_week),
        date_range=date_range,
        notes=notes,
        tables=INSIGHT_TABLES,
    )


@bp.get("/insights.csv")
def insights_csv() -> Response:
    date_range, _, start, end, now = _insight_period()
    table = insight_table(request.args.get("table") or "summary", start, end, now)
    response = make_response(table_csv(table))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="insights-{table.name}-{date_range.first_day.isoformat()}-'
        f'{date_range.last_day.isoformat()}.csv"'
    )
    return no_store(response)
