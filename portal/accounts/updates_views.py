"""What's new for me (/account/updates) and the header's unread count. Its route joins the
accounts blueprint."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, make_response, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.accounts.views import bp
from portal.extensions import htmx
from portal.services import updates

# Where a page keeps the count once asked (the updates page sets it to 0 after marking read).
UNREAD_KEY = "updates_unread"


@bp.get("/updates")
@login_required
def updates_page() -> str | Response:
    """The changes on what I follow, newest first; opening the first page marks them read."""
    # As the board's: a page past any list is empty, never a number the database overflows on.
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    # Taken before reading, so a change made while the page is built stays unread.
    opened_at = datetime.now(UTC)
    shown = updates.updates_page(current_user, page)
    if page == 1 and request.method == "GET":  # a HEAD reads nothing to anyone
        updates.mark_updates_seen(current_user, opened_at)
        setattr(g, UNREAD_KEY, 0)
    fragment = htmx and htmx.target == "updates-list"
    response = make_response(
        render_template(
            "accounts/_updates_list.html" if fragment else "accounts/updates.html", shown=shown
        )
    )
    response.vary.add("HX-Request")
    return response


@bp.app_template_global()
def updates_unread() -> int:
    """The header's count of unread updates for the signed-in person (0 for anyone else): one
    statement per page, asked only by pages that show the header."""
    if not current_user.is_authenticated:
        return 0
    if UNREAD_KEY not in g:
        setattr(g, UNREAD_KEY, updates.unread_count(current_user))
    return int(g.get(UNREAD_KEY, 0))
