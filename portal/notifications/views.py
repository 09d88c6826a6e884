"""Stopping notification emails from a link, without signing in (RFC 8058 one-click)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from portal.services import notifications
from portal.services.tokens import read_unsubscribe_token

bp = Blueprint("notifications", __name__)


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response | str:
    """GET shows a page with a button and changes nothing; POST unsubscribes. The token in
    the address is the proof, so this POST needs no session and no CSRF token."""
    payload = read_unsubscribe_token(token)
    if payload is None:
        abort(404)
    item_id = payload.get("f")
    # HEAD (which Flask answers with this view too, and link checkers send) changes nothing.
    if request.method != "POST":
        return render_template("notifications/unsubscribe.html", token=token, item_id=item_id)
    # A mail client's one-click POST carries no scope: it stops what the token names.
    scope = request.form.get("scope")
    target = None if (scope == "all" or item_id is None) else item_id
    changed = notifications.unsubscribe(payload["u"], target)
    return render_template(
        "notifications/unsubscribed.html", all=target is None, changed=changed, token=token
    )
