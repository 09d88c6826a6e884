"""`/sso`: single sign-on from the organisation's own site. Its page posts a signed token (the
token is the proof, so this POST is exempt from CSRF: portal/security.py); the rules are in
portal/services/sso.py. A link may carry the token in its query string instead: every answer
here says `Referrer-Policy: no-referrer`, so no page it leads to learns the address, and the
access log redacts `token=` (gunicorn.conf.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.extensions import limiter
from portal.services import accounts, sso

bp = Blueprint("sso", __name__)


@bp.after_request
def no_referrer(response: Response) -> Response:
    """Refusals too: the error page's address may hold the token."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sso", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def sign_in() -> Response:
    """Sign the customer a token names in, and return them to the page they came from."""
    values = request.form if request.method == "POST" else request.args
    user, created = sso.sign_in_with_token(values.get("token", ""))
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
    return_to = values.get("return_to")
    return redirect(return_to if accounts.is_safe_next(return_to) else url_for("board.index"))
