"""Email presentation: absolute links and the text and HTML parts of each message.

Emails are written outside any request (the CLI, the deliverer), so links are built from
PORTAL_BASE_URL rather than from a request's host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template

from portal.services.site import get_site_settings


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link to a page of the portal, for emails and feeds."""
    base = urlsplit(current_app.config["PORTAL_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


@dataclass(frozen=True)
class RenderedEmail:
    """A subject with its plain-text and HTML parts."""

    subject: str
    text: str
    html: str


def render_email(name: str, subject: str, **context: Any) -> RenderedEmail:
    """Render templates/emails/<name>.txt and .html with the site's settings and link helper."""
    context.setdefault("site", get_site_settings())
    context["url"] = absolute_url
    context["subject"] = subject
    return RenderedEmail(
        subject=subject,
        text=render_template(f"emails/{name}.txt", **context).strip() + "\n",
        html=render_template(f"emails/{name}.html", **context),
    )
