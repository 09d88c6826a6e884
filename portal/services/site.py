"""Site settings: one row, read on every page. Reading never writes: a fresh database shows
the defaults until an admin (or the demo seed) saves settings."""

from __future__ import annotations

from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from portal.cache import read_cache
from portal.extensions import db
from portal.models import Category, SiteSettings

SETTINGS_ID = 1
T = TypeVar("T")
# The language the portal's words are written in, and the site's default until an admin
# chooses another.
SOURCE_LANGUAGE = "en"


DEFAULTS = {
    "organisation_name": "Our organisation",
    "contact_email": "",
    "contact_phone": "",
    "contact_address": "",
    "time_zone": "UTC",
    "pre_moderation": False,
    "default_language": SOURCE_LANGUAGE,
}


def get_site_settings() -> SiteSettings:
    """The settings row, or (on a fresh database) unsaved defaults. Never inserts, so two
    readers at once cannot collide on the row."""
    settings = db.session.get(SiteSettings, SETTINGS_ID)
    return settings if settings is not None else SiteSettings(id=SETTINGS_ID, **DEFAULTS)


def settings_for_update() -> SiteSettings:
    """The settings row to change, created with the defaults if there is none yet."""
    settings = db.session.get(SiteSettings, SETTINGS_ID)
    if settings is None:
        settings = SiteSettings(id=SETTINGS_ID, **DEFAULTS)
        db.session.add(settings)
        db.session.flush()
    return settings


def site_zone(settings: SiteSettings) -> ZoneInfo:
    """The site's display time zone, falling back to UTC for an unknown name."""
    try:
        return ZoneInfo(settings.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _transient_copy(row: T) -> T:
    # A copy outside any session: safe to keep across requests and threads, and never
    # flushed by accident.
    model = type(row)
    return model(**{c.key: getattr(row, c.key) for c in model.__table__.columns})  # type: ignore[attr-defined]


def cached_site_settings() -> SiteSettings:
    """The settings for rendering pages, reused for a few seconds (see portal.cache).
    Read-only: code that changes settings uses settings_for_update()."""
    return read_cache().get_or_compute(
        "site_settings", lambda: _transient_copy(get_site_settings())
    )


def categories() -> list[Category]:
    """All categories in their display order."""
    return list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name)))


def cached_categories() -> tuple[Category, ...]:
    """All categories in display order, for filters and menus, reused for a few seconds.
    Transient copies: to change a category, load it from the session."""
    return read_cache().get_or_compute(
        "categories", lambda: tuple(_transient_copy(c) for c in categories())
    )
