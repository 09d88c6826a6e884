"""The public "How we are doing" page, and the words-for-numbers filters insight pages share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, render_template

from portal.services.insights.charts import public_charts
from portal.services.insights.figures import format_duration, format_percent
from portal.services.insights.report import PublicPage, public_page

bp = Blueprint("insights", __name__)

# Anyone may open the page, so its figures are kept this long per process (seconds; 0 turns
# the cache off, as the test configuration does).
CACHE_SETTING = "INSIGHTS_PUBLIC_CACHE_SECONDS"

bp.add_app_template_filter(format_duration, "insight_duration")
bp.add_app_template_filter(format_percent, "insight_percent")


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
        charts=public_charts(page.periods, page.weekly),
        resolutions=page.resolutions,
        now=page.computed_at,
    )
