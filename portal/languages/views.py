"""The language switcher: plain links, so it works without JavaScript and a visitor's pages
stay cacheable (each language is kept as its own page)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE, languages
from portal.services import accounts

bp = Blueprint("languages", __name__)


@bp.get("/language/<code>")
def choose(code: str) -> Response:
    """Answer in this language from now on: a cookie for everyone, and the saved preference
    of a signed-in person (their emails follow it too). Back to the page it was chosen on."""
    if code not in languages():
        abort(404)
    if current_user.is_authenticated:
        accounts.set_language(current_user.id, code)
    next_url = request.args.get("next", "")
    response = redirect(next_url if accounts.is_safe_next(next_url) else "/")
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response
