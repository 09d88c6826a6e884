"""Email presentation for the services: absolute links and the text and HTML parts of each
message, rendered from templates/emails/ (services reach this through their environment's
presenter, never importing Flask).

Emails are written outside any request (the CLI, the deliverer), so links are built from
PORTAL_BASE_URL rather than from a request's host.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, render_template
from flask_babel import gettext, ngettext

from portal.services.environment import RenderedEmail
from portal.services.site import get_site_settings
from portal.services.wording import Text
from portal.templating import longdate


class JinjaPresenter:
    """One app's presenter: its email templates and its URL map."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def url(self, endpoint: str, **values: Any) -> str:
        """An absolute link to a page of the portal, for emails and webhooks."""
        base = urlsplit(self._app.config["PORTAL_BASE_URL"])
        adapter = self._app.url_map.bind(
            base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
        )
        anchor = values.pop("_anchor", None)
        url = adapter.build(endpoint, values, force_external=True)
        return f"{url}#{anchor}" if anchor else url

    def translate(self, text: Text) -> str:
        """A service's words through the catalog, in the language of the request or of the
        email being written (Flask-Babel's locale)."""
        # A day among the values is written as the reader's language writes dates.
        values = {
            name: longdate(value) if isinstance(value, date) else value
            for name, value in text.values().items()
        }
        if text.plural is not None:
            return str(ngettext(text.message, text.plural, text.count, **values))
        return str(gettext(text.message, **values))

    def email(self, template: str, subject: str, **context: Any) -> RenderedEmail:
        """Render templates/emails/<template>.txt and .html with the site's settings and the
        link helper (`url`). Runs in the app's context, as every service call does."""
        context.setdefault("site", get_site_settings())
        context["url"] = self.url
        context["subject"] = subject
        return RenderedEmail(
            subject=subject,
            text=render_template(f"emails/{template}.txt", **context).strip() + "\n",
            html=render_template(f"emails/{template}.html", **context),
        )
