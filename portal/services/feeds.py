"""Atom and RSS feeds of published resolutions, with a cheap validator for conditional GETs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from html import escape
from typing import cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from feedgen.feed import FeedGenerator

from portal.extensions import db
from portal.models import (
    Category,
    Feedback,
    Resolution,
    SiteSettings,
    User,
    resolution_categories,
)
from portal.services.item_data import public_title
from portal.services.resolutions import (
    ListedItem,
    Thanks,
    answered_in_category,
    resolution_items,
    thanks_for,
    voice_counts,
)
from portal.services.site import SETTINGS_ID
from portal.services.wording import say, t, tn

FEED_SIZE = 50
# Bump when the feed's layout changes, so readers holding an old ETag fetch the new shape.
FEED_LAYOUT_VERSION = "5"
# The date in every tag: URI (RFC 4151). Fixed forever, so ids never change.
TAG_DATE = "2026"
# A feed with no entries is dated when the site began (its first account); this stands in only
# for a site with no account at all, which has published nothing: the year the ids were minted.
SITE_WITHOUT_ACCOUNTS_BEGAN = datetime(int(TAG_DATE), 1, 1, tzinfo=UTC)
DEFAULT_ORGANISATION_NAME = "Our organisation"


class FeedFormat(StrEnum):
    """The two syndication formats we serve."""

    ATOM = "atom"
    RSS = "rss"

    @property
    def content_type(self) -> str:
        return f"application/{self.value}+xml; charset=utf-8"


@dataclass(frozen=True)
class FeedValidator:
    """What a feed's content depends on, read in one statement, before the feed is built."""

    category_id: int | None
    category_name: str | None
    organisation_name: str
    # Resolutions are never deleted, so the newest id says whether one was added; unlike a
    # count it is read off the primary key's end, whatever the number of resolutions.
    latest_resolution_id: int
    last_modified: datetime

    @property
    def etag(self) -> str:
        """A tag for this version of the data (weak: it names the data, not the bytes)."""
        parts = [
            FEED_LAYOUT_VERSION,
            str(self.category_id or ""),
            self.category_name or "",
            self.organisation_name,
            str(self.latest_resolution_id),
            self.last_modified.isoformat(),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FeedLinks:
    """The absolute addresses a feed points at; the view builds them from PORTAL_BASE_URL (the
    site's one link builder), so they, and the ids taken from page_url's host, are the same
    whatever name a reader fetched the feed by."""

    self_url: str
    page_url: str
    entry_url: Callable[[int], str]
    item_url: Callable[[int], str]


def _latest(site_began: datetime | None, *moments: datetime | None) -> datetime:
    # No entry ever changed a feed with none: it is as it was when the site began, a date
    # that stays put, so its ETag and Last-Modified do too.
    present = [m for m in moments if m is not None]
    if present:
        return max(present)
    return site_began or SITE_WITHOUT_ACCOUNTS_BEGAN


def _organisation_name_subquery() -> sa.ScalarSelect[str]:
    # Read with the validator instead of get_site_settings(), which may insert a row on a GET.
    return (
        sa.select(SiteSettings.organisation_name)
        .where(SiteSettings.id == SETTINGS_ID)
        .scalar_subquery()
    )


def _site_began_subquery() -> sa.ScalarSelect[datetime]:
    # The first account (the admin made at setup) is read off the primary key's start.
    return sa.select(User.created_at).order_by(User.id).limit(1).scalar_subquery()


def feed_validator(category_slug: str | None = None) -> FeedValidator | None:
    """The validator of the whole feed, or of one category's (None when no such category)."""
    # Items count too: hiding an item or a new vote changes what an entry shows. The
    # foreign key guarantees a resolution behind every resolution_id, so no join: the whole
    # feed's answer is one end of a partial index, a category's one index range per resolution.
    items_changed = sa.select(sa.func.max(Feedback.updated_at)).where(
        Feedback.resolution_id.is_not(None)
    )
    if category_slug is None:
        row = db.session.execute(
            sa.select(
                sa.select(sa.func.max(Resolution.id)).scalar_subquery(),
                sa.select(sa.func.max(Resolution.updated_at)).scalar_subquery(),
                items_changed.scalar_subquery(),
                _organisation_name_subquery(),
                _site_began_subquery(),
            )
        ).one()
        latest_id, resolutions_changed, item_changed, organisation, site_began = row
        category_id = category_name = None
    else:
        column = resolution_categories.c
        answered = sa.select(column.resolution_id).where(column.category_id == Category.id)
        items_changed = items_changed.where(
            Feedback.resolution_id.in_(answered.correlate(Category))
        ).correlate(Category)
        category_row = db.session.execute(
            sa.select(
                Category.id,
                Category.name,
                sa.func.max(Resolution.id),
                sa.func.max(Resolution.updated_at),
                items_changed.scalar_subquery(),
                _organisation_name_subquery(),
                _site_began_subquery(),
            )
            .outerjoin(resolution_categories, column.category_id == Category.id)
            .outerjoin(Resolution, Resolution.id == column.resolution_id)
            .where(Category.slug == category_slug)
            .group_by(Category.id, Category.name)
        ).one_or_none()
        if category_row is None:
            return None
        (
            category_id,
            category_name,
            latest_id,
            resolutions_changed,
            item_changed,
            organisation,
            site_began,
        ) = category_row
    return FeedValidator(
        category_id=category_id,
        category_name=category_name,
        organisation_name=organisation or DEFAULT_ORGANISATION_NAME,
        latest_resolution_id=latest_id or 0,
        last_modified=_latest(site_began, resolutions_changed, item_changed),
    )


def newest_resolutions(category_id: int | None, limit: int = FEED_SIZE) -> Sequence[Resolution]:
    """The newest published resolutions, optionally of one category."""
    query = sa.select(Resolution)
    if category_id is not None:
        query = query.where(answered_in_category(category_id))
    query = query.order_by(Resolution.published_at.desc(), Resolution.id.desc()).limit(limit)
    return db.session.scalars(query).all()


def entry_id(resolution_id: int, host: str) -> str:
    """A resolution's permanent entry id: a tag URI that no edit of its text changes."""
    return f"tag:{host},{TAG_DATE}:resolution:{resolution_id}"


def feed_id(validator: FeedValidator, host: str) -> str:
    """The feed's permanent id (by category id, so renaming a category keeps it)."""
    if validator.category_id is None:
        return f"tag:{host},{TAG_DATE}:feeds:resolutions"
    return f"tag:{host},{TAG_DATE}:feeds:category:{validator.category_id}"


@dataclass(frozen=True)
class _EntryWords:
    """The words every entry of one feed says alike, translated once for the feed."""

    said: str
    did: str

    @classmethod
    def now(cls) -> _EntryWords:
        """In the language being written."""
        # Words to translate stay outside f-strings, where extraction would not find them.
        return cls(escape(say(t("You said:"))), escape(say(t("We did:"))))


def _entry_html(
    you_said: str,
    resolution: Resolution,
    voices: int,
    thanks: Thanks | None,
    items: Sequence[ListedItem],
    links: FeedLinks,
    words: _EntryWords,
) -> str:
    said, did = words.said, words.did
    raised = tn("%(num)d person raised this.", "%(num)d people raised this.", voices)
    parts = [
        f"<p><strong>{said}</strong> {escape(you_said)}</p>",
        f"<p><strong>{did}</strong></p>",
        resolution.we_did_html,  # sanitised when it was written
        f"<p>{escape(say(raised))}</p>",
    ]
    if thanks is not None:
        parts.append(f"<p>{escape(say(thanks.sentence))}</p>")
    if items:
        # public_title reads only what a ListedItem has of a Feedback.
        titles = [public_title(cast(Feedback, item)) for item in items]
        listed = "".join(
            f'<li><a href="{escape(links.item_url(item.id))}">{escape(title)}</a></li>'
            for item, title in zip(items, titles, strict=True)
        )
        parts.append(f"<ul>{listed}</ul>")
    return "\n".join(parts)


def build_feed(
    validator: FeedValidator, feed_format: FeedFormat, links: FeedLinks, language: str = "en"
) -> bytes:
    """The feed document for a validator's scope, newest resolution first. Its own words are
    in the reader's language (`language` names it, "pt-BR"); what people wrote is as written."""
    host = urlsplit(links.page_url).hostname or "localhost"
    resolutions = newest_resolutions(validator.category_id)
    ids = [r.id for r in resolutions]
    voices = voice_counts(ids)
    # Only public, shown items are listed; private ones count as voices but are never named.
    shown = resolution_items(ids)
    # A change of someone's mind about being named changes no validator: a reader holding the
    # feed keeps its copy until the feed next changes (docs/design.md, "Recognition").
    thanks = thanks_for(ids, voices)

    organisation = validator.organisation_name
    if validator.category_name:
        title = t(
            "You said, we did: %(category)s (%(organisation)s)",
            category=validator.category_name,
            organisation=organisation,
        )
    else:
        title = t("You said, we did (%(organisation)s)", organisation=organisation)
    feed = FeedGenerator()
    feed.id(feed_id(validator, host))
    feed.title(say(title))
    feed.subtitle(
        say(
            t(
                "What customers told %(organisation)s, and what we changed.",
                organisation=organisation,
            )
        )
    )
    feed.author({"name": validator.organisation_name})
    feed.link(href=links.self_url, rel="self", type=feed_format.content_type.split(";")[0])
    feed.link(href=links.page_url, rel="alternate", type="text/html")
    feed.language(language)
    feed.updated(validator.last_modified)
    words = _EntryWords.now()
    for resolution in resolutions:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(resolution.id, host))
        entry.guid(entry_id(resolution.id, host), permalink=False)
        you_said = shown.you_said(resolution)
        entry.title(you_said)
        entry.link(href=links.entry_url(resolution.id), rel="alternate", type="text/html")
        entry.published(resolution.published_at)
        entry.updated(resolution.updated_at)
        entry.content(
            _entry_html(
                you_said,
                resolution,
                voices.get(resolution.id, 0),
                thanks.get(resolution.id),
                shown.listed.get(resolution.id, []),
                links,
                words,
            ),
            type="html",
        )
    # feedgen is untyped: both give the document as bytes.
    document: bytes = (
        feed.rss_str(pretty=True) if feed_format is FeedFormat.RSS else feed.atom_str(pretty=True)
    )
    return document
