"""Email presentation for the services: absolute links and the text and HTML parts of each
message, rendered from templates/emails/ (services reach this through their environment's
presenter, never importing Flask).

Emails are written outside any request (the CLI, the deliverer), so links are built from
PORTAL_BASE_URL rather than from a request's host. Each email is written in its reader's
language (notifications.recipient_language chooses it), whatever the request's: a staff member
working in English tells a customer who reads Spanish in Spanish.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, render_template
from flask_babel import force_locale, get_locale
from werkzeug.routing import MapAdapter

from portal.i18n import gettext, locale, ngettext
from portal.services.environment import RenderedEmail
from portal.services.site import get_site_settings
from portal.services.wording import Text
from portal.templating import formatted_day, localdate, longdate

_BUILT_LINKS_KEPT = 4096


class JinjaPresenter:
    """One app's presenter: its email templates and its URL map."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        # The URL map bound to PORTAL_BASE_URL, and that URL; and the links built with it, by
        # endpoint and values (the feed builds a few hundred, most of them again each time).
        self._adapter: tuple[str, MapAdapter] | None = None
        self._built: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}
        app.jinja_env.filters["longday"] = long_day

    def url(self, endpoint: str, **values: Any) -> str:
        """An absolute link to a page of the portal, for emails and webhooks."""
        base_url = self._app.config["PORTAL_BASE_URL"]
        if self._adapter is None or self._adapter[0] != base_url:
            base = urlsplit(base_url)
            bound = self._app.url_map.bind(
                base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
            )
            self._adapter = (base_url, bound)
            self._built = {}
        anchor = values.pop("_anchor", None)
        key = (endpoint, tuple(sorted(values.items())))
        try:
            url = self._built.get(key)
            keep = True
        except TypeError:  # a value that cannot be a key (a list): built each time
            url, keep = None, False
        if url is None:
            url = self._adapter[1].build(endpoint, values, force_external=True)
            if keep:
                if len(self._built) >= _BUILT_LINKS_KEPT:
                    self._built.clear()
                self._built[key] = url
        return f"{url}#{anchor}" if anchor else url

    def translate(self, text: Text, language: str | None = None) -> str:
        """A service's words through the catalog, in `language`, else in the language of the
        request or of the email being written (Flask-Babel's locale). A day among the values
        is written as the reader's language writes dates (longdate: "4 December 2026")."""
        if language:
            with _in_language(language):
                return _translated(text)
        return _translated(text)

    def email(
        self, template: str, subject: str | Text, *, language: str | None = None, **context: Any
    ) -> RenderedEmail:
        """Render templates/emails/<template>.txt and .html with the site's settings and the
        link helper (`url`), in `language` (None: the request's, or the site's default outside
        a request). Runs in the app's context, as every service call does."""
        with _in_language(language):
            context.setdefault("site", get_site_settings())
            context["url"] = self.url
            context["subject"] = shown = str(subject)
            return RenderedEmail(
                subject=shown,
                text=render_template(f"emails/{template}.txt", **context).strip() + "\n",
                html=render_template(f"emails/{template}.html", **context),
                language=str(get_locale() or "").replace("_", "-"),
            )


def _translated(text: Text) -> str:
    # In the language being written. The feed says a few hundred of these a request.
    values = (
        {
            name: longdate(value) if isinstance(value, date) else value
            for name, value in text.values().items()
        }
        if text.params
        else {}
    )
    if text.plural is not None:
        return ngettext(text.message, text.plural, text.count, **values)
    return gettext(text.message, **values)


def long_day(value: date | None) -> str:
    """A day as an email names a promise's, in the reader's language: "Friday 12 December
    2026" (the site's British form in English; CLDR's full date, with its weekday, in any
    other). A datetime is the day it falls on in the site's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = localdate(value)
    reader = locale()
    english = reader is None or reader.language == "en"
    return formatted_day(value, "EEEE d MMMM y" if english else "full", reader)


def _in_language(language: str | None) -> AbstractContextManager[None]:
    # Flask-Babel names locales with "_" ("pt_BR"); a page's lang attribute with "-".
    return force_locale(language.replace("-", "_")) if language else nullcontext()
