"""The /admin/ blueprint and what its parts share: all of it is for staff."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.extensions import db, login_manager
from portal.models import Feedback
from portal.services.feedback import item_query

bp = Blueprint("admin", __name__)


def no_store(response: Response) -> Response:
    """Mark a response never to be cached: it shows a secret or staff-only figures."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def require_staff() -> Response | None:
    """The whole of /admin/ is for staff; admin-only pages check again."""
    if not current_user.is_authenticated:
        sign_in: Response = login_manager.unauthorized()
        return sign_in
    if not current_user.is_staff:
        abort(403)
    return None


def load_item(item_id: int) -> Feedback:
    """An item to show staff, with its people (404 when there is none)."""
    item = db.session.scalar(item_query(item_id))
    if item is None:
        abort(404)
    return item
