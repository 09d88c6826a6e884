"""The public "How we are doing" page, and the words-for-numbers filters insight pages share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, render_template

from portal.services import insights

bp = Blueprint("insights", __name__)

# The periods the public page reports on, in days, and the weeks of its weekly chart.
PUBLIC_PERIODS = (30, 365)
PUBLIC_WEEKS = 26
# Anyone may open the page, so its figures are kept this long per process (seconds; 0 turns
# the cache off, as the test configuration does).
CACHE_SETTING = "INSIGHTS_PUBLIC_CACHE_SECONDS"

bp.add_app_template_filter(insights.format_duration, "insight_duration")
bp.add_app_template_filter(insights.format_percent, "insight_percent")


@dataclass(frozen=True)
class PublicPage:
    """Everything the public page shows, computed at one moment."""

    computed_at: datetime
    periods: list[insights.PublicFigures]
    weekly: list[tuple[datetime, int]]
    resolutions: list[insights.PublishedResolution]


def _compute(now: datetime) -> PublicPage:
    return PublicPage(
        computed_at=now,
        periods=[insights.public_figures(now, days) for days in PUBLIC_PERIODS],
        weekly=insights.weekly_received(insights.weeks_back(now, PUBLIC_WEEKS), now),
        resolutions=insights.latest_resolutions(5),
    )


def _public_page(now: datetime) -> PublicPage:
    seconds = int(current_app.config[CACHE_SETTING])
    if seconds <= 0:
        return _compute(now)
    cache = current_app.extensions.setdefault("insights.public_page", {})
    page = cache.get("page")
    if page is None or now - page.computed_at >= timedelta(seconds=seconds):
        page = cache["page"] = _compute(now)
    return page


@bp.get("/how-we-are-doing")
def how_we_are_doing() -> str:
    """Aggregate figures of every item, public and private; never an item's content."""
    page = _public_page(datetime.now(UTC))
    return render_template(
        "insights/how_we_are_doing.html",
        periods=page.periods,
        weekly=page.weekly,
        resolutions=page.resolutions,
        now=page.computed_at,
    )
