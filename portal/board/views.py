"""The public board at /."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.extensions import htmx
from portal.services.board import TRENDING_DAYS, BoardFilters, BoardSort, board_page
from portal.services.site import cached_categories
from portal.services.votes import voted_item_ids

bp = Blueprint("board", __name__)


@bp.get("/")
def index() -> Response:
    filters = BoardFilters.from_args(request.args)
    page = board_page(filters, per_page=current_app.config["BOARD_PAGE_SIZE"])
    context = {
        "filters": filters,
        "page": page,
        "voted_ids": voted_item_ids(current_user, [item.id for item in page.items]),
        "sorts": list(BoardSort),
        "trending_days": TRENDING_DAYS,
    }
    if htmx and htmx.target == "board-results":
        response = make_response(render_template("board/_results.html", **context))
    else:
        response = make_response(
            render_template("board/index.html", categories=cached_categories(), **context)
        )
    response.headers["Vary"] = "HX-Request"
    return response
