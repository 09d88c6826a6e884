"""Site settings: read once per request, created with defaults when missing."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.extensions import db
from portal.models import SiteSettings

SETTINGS_ID = 1


def get_site_settings() -> SiteSettings:
    """Return the settings row; a fresh database gets one with defaults (not yet committed)."""
    settings = db.session.get(SiteSettings, SETTINGS_ID)
    if settings is None:
        settings = SiteSettings(id=SETTINGS_ID)
        db.session.add(settings)
        db.session.flush()
    return settings


def site_zone(settings: SiteSettings) -> ZoneInfo:
    """The site's display time zone, falling back to UTC for an unknown name."""
    try:
        return ZoneInfo(settings.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
