"""Feeds of published resolutions, answering conditional GETs before building anything."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.http import is_resource_modified

from portal.cache import read_cache
from portal.i18n import current_language, languages
from portal.services import environment
from portal.services.feeds import (
    FeedFormat,
    FeedLinks,
    FeedValidator,
    build_feed,
    feed_validator,
)

bp = Blueprint("feeds", __name__)

MAX_AGE_SECONDS = 60
_CACHE_CONTROL = f"public, max-age={MAX_AGE_SECONDS}"


@bp.get("/feeds/resolutions.atom")
def resolutions_atom() -> Response:
    """Every category's newest resolutions, as Atom."""
    return _feed_response(_validator(), FeedFormat.ATOM, "feeds.resolutions_atom")


@bp.get("/feeds/resolutions.rss")
def resolutions_rss() -> Response:
    """Every category's newest resolutions, as RSS 2.0."""
    return _feed_response(_validator(), FeedFormat.RSS, "feeds.resolutions_rss")


@bp.get("/feeds/categories/<slug>.atom")
def category_atom(slug: str) -> Response:
    """One category's newest resolutions, as Atom."""
    return _feed_response(_validator(slug), FeedFormat.ATOM, "feeds.category_atom", slug=slug)


def _validator(category_slug: str | None = None) -> FeedValidator:
    # Feed readers poll: the validator is reused for a few seconds (portal.cache), so most
    # conditional requests are answered without the database. A change made in this process
    # shows at once; a vote (which does not pass the cache's watch) within READ_CACHE_SECONDS.
    validator = read_cache().get_or_compute(
        ("feed_validator", category_slug), lambda: feed_validator(category_slug)
    )
    if validator is None:
        abort(404)
    return validator


def _feed_response(
    validator: FeedValidator, feed_format: FeedFormat, endpoint: str, **values: str
) -> Response:
    response = Response(content_type=feed_format.content_type)
    # The feed's own words (its title, "We did:") are in the reader's language: each language
    # is a version of its own, which a shared cache keeps apart.
    language = current_language()
    response.set_etag(f"{validator.etag}-{language}", weak=True)
    # Written as headers: a new response has neither, and Werkzeug's header objects parse and
    # write the header again on every change (most of a 304's own cost).
    if len(languages()) > 1:
        response.headers["Vary"] = "Accept-Language"
    response.last_modified = validator.last_modified
    response.headers["Cache-Control"] = _CACHE_CONTROL
    # The cheap path: an unchanged feed is answered from the validator alone.
    if not is_resource_modified(
        request.environ, etag=response.headers["ETag"], last_modified=validator.last_modified
    ):
        response.status_code = 304  # Werkzeug drops the body and entity headers
        return response
    # Built from PORTAL_BASE_URL, never the request's Host: the links, and the tag: ids taken
    # from them, are the same whatever name the feed was fetched by.
    url = environment.current().presenter.url
    page = url("resolutions.index")
    if validator.category_id is not None:
        page = url("resolutions.index", category=values["slug"])
    links = FeedLinks(
        self_url=url(endpoint, **values),
        page_url=page,
        entry_url=lambda resolution_id: url("resolutions.detail", resolution_id=resolution_id),
        item_url=lambda item_id: url("feedback.detail", item_id=item_id),
    )
    response.set_data(build_feed(validator, feed_format, links, language))
    return response
