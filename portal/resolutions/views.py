"""The public "You said, we did" board."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.extensions import htmx
from portal.i18n import markup_gettext
from portal.models import FeedbackState
from portal.services.errors import NotFound
from portal.services.resolutions import (
    get_resolution,
    resolution_items,
    resolutions_page,
    thanks_for,
    voice_counts,
)
from portal.services.site import cached_categories

bp = Blueprint("resolutions", __name__)


@bp.get("/you-said-we-did")
def index() -> Response:
    category = request.args.get("category") or None
    try:
        page_number = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page_number = 1
    page = resolutions_page(category, page_number)
    ids = [r.id for r in page.items]
    voices = voice_counts(ids)
    context = {
        "page": page,
        "category": category,
        "voices": voices,
        "thanks": thanks_for(ids, voices),
        "shown": resolution_items(ids),
        "state_labels": {state: markup_gettext(state.label) for state in FeedbackState},
        "page_args": lambda n: {k: v for k, v in {"category": category, "page": n}.items() if v},
    }
    if htmx and htmx.target == "resolution-results":
        response = make_response(render_template("resolutions/_results.html", **context))
    else:
        response = make_response(
            render_template("resolutions/index.html", categories=cached_categories(), **context)
        )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/you-said-we-did/<int:resolution_id>")
def detail(resolution_id: int) -> str:
    """One resolution's permanent page: the address emails and feeds link to, on any page
    of the board it has moved to."""
    resolution = get_resolution(resolution_id)
    if resolution is None:
        raise NotFound(
            _(
                "We could not find that change. It may have been removed; everything we have "
                "changed is on the \u201cYou said, we did\u201d board."
            )
        )
    voices = voice_counts([resolution.id])
    return render_template(
        "resolutions/detail.html",
        resolution=resolution,
        voice_count=voices.get(resolution.id, 0),
        thanks=thanks_for([resolution.id], voices),
        shown=resolution_items([resolution.id]),
    )
