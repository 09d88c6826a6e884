"""The public roadmap at /roadmap, and the same as an Atom feed."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from portal.extensions import htmx
from portal.i18n import current_language, languages
from portal.services import environment
from portal.services.errors import NotFound
from portal.services.roadmap import (
    DONE_RECENTLY_DAYS,
    RoadmapLinks,
    build_roadmap_feed,
    first_name,
    roadmap,
)
from portal.services.site import cached_categories
from portal.site_settings import current_settings
from portal.templating import longdate

bp = Blueprint("roadmap", __name__)

FEED_MAX_AGE_SECONDS = 60


def _category() -> str | None:
    return request.args.get("category") or None


@bp.get("/roadmap")
def index() -> BaseResponse:
    """Planned, in progress and done recently, of every category or one's."""
    category = _category()
    board = roadmap(category)
    if board is None:
        raise NotFound(_("We could not find that category. The whole roadmap is one click away."))
    context = {
        "roadmap": board,
        "category": category,
        "first_name": first_name,
        "done_days": DONE_RECENTLY_DAYS,
    }
    if htmx and htmx.target == "roadmap-columns":
        response = make_response(render_template("roadmap/_columns.html", **context))
    else:
        response = make_response(
            render_template("roadmap/index.html", categories=cached_categories(), **context)
        )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/roadmap.atom")
def atom() -> Response:
    """The roadmap as Atom; ?category=<slug> for one category's."""
    category = _category()
    board = roadmap(category)
    if board is None:
        abort(404)
    # Built from PORTAL_BASE_URL, as the other feeds are: the same links and ids whatever
    # name the feed was fetched by.
    url = environment.current().presenter.url
    args = {"category": category} if category else {}
    links = RoadmapLinks(
        self_url=url("roadmap.atom", **args),
        page_url=url("roadmap.index", **args),
        item_url=lambda item_id: url("feedback.detail", item_id=item_id),
        resolution_url=lambda resolution_id: url("resolutions.detail", resolution_id=resolution_id),
    )
    language = current_language()
    document = build_roadmap_feed(
        board, links, current_settings().organisation_name, longdate, language
    )
    response = Response(document, content_type="application/atom+xml; charset=utf-8")
    # A tag of the document itself: a reader asking again gets a 304 while nothing changed.
    response.set_etag(hashlib.sha256(document).hexdigest()[:32], weak=True)
    if len(languages()) > 1:
        response.vary.add("Accept-Language")
    response.cache_control.public = True
    response.cache_control.max_age = FEED_MAX_AGE_SECONDS
    response.make_conditional(request)
    return response
