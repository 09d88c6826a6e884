"""The site's settings as the current request reads them: loaded once per request (every date on
a page asks for the time zone), with neutral defaults when the database is down so the error
page still renders. Below both the templates' helpers and the choice of language."""

from __future__ import annotations

from flask import g
from flask.globals import _cv_app
from sqlalchemy.exc import SQLAlchemyError

from portal.models import SiteSettings
from portal.services.site import cached_site_settings
from portal.unit_of_work import roll_back


def current_settings() -> SiteSettings:
    """The site settings, loaded once per request."""
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        # Read straight from the app context's g: every date on a page asks (for the zone).
        kept = app_ctx.g.__dict__.get("site_settings")
        if kept is not None:
            return kept  # type: ignore[no-any-return]
    if "site_settings" not in g:
        try:
            g.site_settings = cached_site_settings()
        except SQLAlchemyError:
            # The database is down: the error page still renders, with neutral defaults.
            roll_back()
            g.site_settings = SiteSettings(
                organisation_name="Feedback",
                contact_email="",
                contact_phone="",
                contact_address="",
                time_zone="UTC",
                pre_moderation=False,
            )
    settings: SiteSettings = g.site_settings
    return settings
