"""`/sso`: single sign-on from the organisation's own site. Its page posts a signed token (the
token is the proof, so this POST is exempt from CSRF: portal/security.py); the rules are in
portal/services/sso.py. Only POST: a token in a query string would reach access logs and
Referer headers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.extensions import limiter
from portal.services import accounts, sso

bp = Blueprint("sso", __name__)


@bp.post("/sso")
@limiter.limit("30 per minute")
def sign_in() -> Response:
    """Sign the customer a token names in, and return them to the page they came from."""
    user, created = sso.sign_in_with_token(request.form.get("token", ""))
    if current_user.is_authenticated:
        signed_in = current_user.signed_in_session
        if signed_in is not None:
            accounts.end_session(current_user, signed_in.id)
        logout_user()
    accounts.start_session(user, request.user_agent.string)
    login_user(user)
    if created:
        flash(_("Welcome, %(name)s.", name=user.preferred_name), "success")
    else:
        flash(_("Welcome back, %(name)s.", name=user.preferred_name), "success")
    return_to = request.form.get("return_to")
    response = redirect(return_to if accounts.is_safe_next(return_to) else url_for("board.index"))
    # The page after this one must not tell anyone where the token was posted from.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
