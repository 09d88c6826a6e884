"""Every page of the portal, for every kind of person, in the pseudo-locale: the access sweep's
rows (tests/security/test_access.py: every GET route with the rows its arguments point at)
rendered as a visitor, a customer, staff and an admin, each browser asking for the
pseudo-locale (Accept-Language) from signing in on. A route added later is swept too, so a
page whose words were never marked fails here even if nobody wrote a pseudo-locale test for it.

People's own words are read from the database (titles, bodies, names, categories, the
organisation's details), so whatever the sweep's data holds is excepted and nothing else.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from babel import Locale
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    ApiToken,
    Attachment,
    Category,
    ChatChannel,
    Comment,
    Feedback,
    IdentityProvider,
    Invitation,
    Resolution,
    SiteSettings,
    TimelineEvent,
    User,
    UserSession,
    WebhookEndpoint,
)
from portal.services.site import DEFAULTS
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog
from tests.security.test_access import (
    SESSION_ENDING,
    World,
    _sweep,
    _url,
    world,  # noqa: F401 (a fixture)
)

ROLES = ("visitor", "customer", "staff", "admin")
# Whole values people and the organisation wrote or chose.
_WRITTEN = [
    Feedback.title,
    Feedback.body_source,
    Feedback.promise_outcome,
    Comment.body_source,
    Category.name,
    Category.slug,
    Category.description,
    Category.response_guide,
    User.email,
    Invitation.email,
    User.display_name,
    User.preferred_name,
    Resolution.you_said,
    Resolution.we_did_source,
    TimelineEvent.message,
    ApiToken.name,
    ApiToken.prefix,
    WebhookEndpoint.url,
    WebhookEndpoint.description,
    ChatChannel.name,
    IdentityProvider.key,
    IdentityProvider.name,
    IdentityProvider.client_id,
    IdentityProvider.scopes,
    Attachment.alt_text,
    UserSession.device,
    SiteSettings.organisation_name,
    SiteSettings.contact_email,
    SiteSettings.contact_phone,
    SiteSettings.contact_address,
]
_WORD = re.compile(r"[^\W\d_]{2,}")
# The settings page lists the time zones by their IANA names, which are identifiers.
_ZONE_WORDS = frozenset(_WORD.findall(" ".join(zoneinfo.available_timezones())))


def _people_words() -> tuple[list[str], set[str]]:
    """What people wrote, whole (titles, names) and as words (Markdown bodies are shown
    rendered, so only their words can be matched)."""
    whole: list[str] = []
    for column in _WRITTEN:
        whole += [value for value in db.session.scalars(sa.select(column)) if value]
    whole.append(DEFAULTS["organisation_name"])  # the name of a site nobody has named yet
    words = {word for value in whole for word in _WORD.findall(value)}
    return whole, words


@pytest.fixture
def make_client(pseudo_site: Flask) -> Callable[[], FlaskClient]:
    """The sweep's browsers, on the app that has the pseudo-locale's catalog, each asking for
    the pseudo-locale from its first request (signing in) on."""

    def browser() -> FlaskClient:
        client = pseudo_site.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO_LANGUAGE
        return client

    return browser


def _from_babel() -> set[str]:
    """Month and day names, which Babel writes in the pseudo-locale's own language."""
    locale = Locale.parse(PSEUDO_LANGUAGE)
    names = [
        *locale.months["format"]["abbreviated"].values(),
        *locale.months["format"]["wide"].values(),
        *locale.months["stand-alone"]["abbreviated"].values(),
        *locale.days["format"]["abbreviated"].values(),
        *locale.days["format"]["wide"].values(),
    ]
    return {word for name in names for word in _WORD.findall(name)}


def _is_pseudo(word: str) -> bool:
    """A word the catalog wrote, whose brackets were cut off with its end (a chart label
    shortened to fit): English words are plain ASCII, the pseudo-locale's are accented."""
    return not word.isascii()


def test_every_page_for_every_person_speaks_through_the_catalog(
    pseudo_site: Flask,
    world: World,  # noqa: F811
) -> None:
    whole, words = _people_words()
    words |= _from_babel()
    paths = [
        _url(rule, world.values)
        for rule, method in _sweep(pseudo_site, world)
        if method == "GET"
        and rule.endpoint not in SESSION_ENDING
        # Choosing a language is the switcher's, and leaves the pseudo-locale.
        and rule.endpoint != "languages.choose"
        and not rule.endpoint.startswith(("api.", "static", "feeds."))
    ]
    assert len(paths) >= 40
    untranslated: dict[str, list[str]] = {}
    pages = 0
    for role in ROLES:
        for path in dict.fromkeys(paths):
            answer = world.clients[role].get(path)
            if answer.mimetype != "text/html" or answer.status_code in range(300, 400):
                continue
            pages += 1
            html = answer.get_data(as_text=True)
            found = [
                word
                for word in words_outside_the_catalog(html, whole)
                if word not in words
                and not _is_pseudo(word)
                and not (path.startswith("/admin/settings") and word in _ZONE_WORDS)
            ]
            if found:
                untranslated[f"{path} as {role}"] = sorted(set(found))
    assert pages > 100
    report = "\n".join(f"{page}: {' '.join(found)}" for page, found in untranslated.items())
    assert not untranslated, f"words that did not pass through the catalog:\n{report}"
