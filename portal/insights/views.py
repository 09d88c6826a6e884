"""The public "How we are doing" page, and the words-for-numbers filters insight pages share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, current_app, render_template
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from portal.services.insights.charts import public_charts
from portal.services.insights.report import PublicPage, public_page

bp = Blueprint("insights", __name__)

# Anyone may open the page, so its figures are kept this long per process (seconds; 0 turns
# the cache off, as the test configuration does).
CACHE_SETTING = "INSIGHTS_PUBLIC_CACHE_SECONDS"


def say_duration(seconds: float | None) -> str:
    """A duration as people say it, "40 min", "5.5 hours", "3 days", in the reader's
    language and numbers (figures.format_duration's words, for templates)."""
    if seconds is None:
        return str(_("no data"))
    if seconds < 60:
        return str(_("under a minute"))
    if seconds < 90 * 60:
        return str(_("%(minutes)s min", minutes=format_decimal(round(seconds / 60))))
    if seconds < 48 * 3600:
        hours = round(seconds / 3600, 1)
        if hours == 1:
            return str(_("1 hour"))
        return str(_("%(hours)s hours", hours=format_decimal(hours, "#,##0.#")))
    return str(_("%(days)s days", days=format_decimal(round(seconds / 86400, 1), "#,##0.#")))


def say_percent(value: float | None) -> str:
    """A share as a whole percentage in the reader's numbers, or "no data"."""
    if value is None:
        return str(_("no data"))
    return str(_("%(percent)s%%", percent=format_decimal(round(value))))


def say_week(week: date) -> str:
    """A week as a chart's axis names it: the day and month of its Monday, "2 Mar"."""
    return str(format_date(week, "d MMM"))


bp.add_app_template_filter(say_duration, "insight_duration")
bp.add_app_template_filter(say_percent, "insight_percent")


def _public_page(now: datetime) -> PublicPage:
    seconds = int(current_app.config[CACHE_SETTING])
    if seconds <= 0:
        return public_page(now)
    cache: dict[str, PublicPage] = current_app.extensions.setdefault("insights.public_page", {})
    page = cache.get("page")
    if page is None or now - page.computed_at >= timedelta(seconds=seconds):
        page = cache["page"] = public_page(now)
    return page


@bp.get("/how-we-are-doing")
def how_we_are_doing() -> str:
    """Aggregate figures of every item, public and private; never an item's content."""
    page = _public_page(datetime.now(UTC))
    return render_template(
        "insights/how_we_are_doing.html",
        periods=page.periods,
        weekly=page.weekly,
        charts=public_charts(page.periods, page.weekly, week_label=say_week),
        resolutions=page.resolutions,
        now=page.computed_at,
    )
