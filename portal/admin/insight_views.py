"""The staff insights report (/admin/insights) and its tables as CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import make_response, render_template, request
from werkzeug.wrappers import Response

from portal.admin.blueprint import bp, no_store
from portal.services import insights as insights_service


def _insight_period() -> tuple[insights_service.DateRange, list[str], datetime, datetime, datetime]:
    now = datetime.now(UTC)
    date_range, notes = insights_service.parse_date_range(
        request.args.get("from"), request.args.get("to"), today=now.date()
    )
    start, end = date_range.bounds(now)
    return date_range, notes, start, end, now


@bp.get("/insights")
def insights() -> str:
    date_range, notes, start, end, now = _insight_period()
    return render_template(
        "admin/insights.html",
        report=insights_service.staff_report(start, end, now),
        date_range=date_range,
        notes=notes,
        tables=insights_service.TABLES,
    )


@bp.get("/insights.csv")
def insights_csv() -> Response:
    date_range, _, start, end, now = _insight_period()
    table = insights_service.insight_table(request.args.get("table") or "summary", start, end, now)
    response = make_response(insights_service.table_csv(table))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="insights-{table.name}-{date_range.first_day.isoformat()}-'
        f'{date_range.last_day.isoformat()}.csv"'
    )
    return no_store(response)
