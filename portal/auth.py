"""Flask-Login set-up and the role checks views use."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Request,
    abort,
    flash,
    g,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.accounts.kept import keep_submission, offer_to_keep
from portal.extensions import htmx, login_manager
from portal.models import User
from portal.services.accounts import is_safe_next, user_for_session
from portal.unit_of_work import SESSION_BEFORE_KEY, roll_back

F = TypeVar("F", bound=Callable[..., Any])


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, read and written as before, with its serializer built
    once for the app's keys rather than twice a request (opening and saving the session)."""

    def __init__(self) -> None:
        self._kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


def configure_login(app: Flask) -> None:
    """Bind Flask-Login: where to sign in, and how a session id maps to a user."""
    app.session_interface = SessionCookies()
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(ask_to_sign_in)


def ask_to_sign_in() -> Response:
    """Send someone who is not signed in (or no longer is) to the sign-in page, and back to
    where they were afterwards.

    A POST (a vote, a comment) cannot be returned to: after signing in they come back to the
    page they pressed it on. One that carried writing (a comment typed before the session
    ended) gets the sign-in page at once, holding the writing to send after signing in (see
    portal.accounts.kept). An htmx request is told to load the sign-in page as a whole page;
    a redirect would be followed in the background and the sign-in page pasted into the
    button it replaced."""
    next_url = page_before(request)
    flash(_("Please sign in to continue."), login_manager.login_message_category)
    kept = keep_submission(request)
    if kept is not None:
        return offer_to_keep(kept, next_url, 401)
    sign_in = url_for("accounts.login", next=next_url)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = sign_in
        return response
    return redirect(sign_in)


def page_before(req: Request) -> str:
    """The page to come back to: for a GET itself, for a POST the page it was sent from."""
    if req.method in ("GET", "HEAD"):
        return req.full_path.rstrip("?")
    next_url = req.form.get("next", "")
    came_from = urlsplit(req.referrer or "")
    if not is_safe_next(next_url) and came_from.netloc == req.host:
        next_url = came_from._replace(scheme="", netloc="", fragment="").geturl()
    return next_url if is_safe_next(next_url) else "/"


def load_user(session_id: str) -> User | None:
    """Return the user for a session id "<user id>:<session id>", or None when that session
    was ended (signed out, or ended from the account page) or never existed."""
    user_id, _, signed_in_id = session_id.partition(":")
    if not user_id.isdigit() or not signed_in_id:
        return None
    try:
        return user_for_session(int(user_id), signed_in_id)
    except SQLAlchemyError:
        # The database is down: the error handlers answer 503. Returning None would make a
        # signed-in person a visitor, sent to sign in and their remember-me cookie deleted.
        roll_back()
        answer_outage_as_it_came()
        raise


def answer_outage_as_it_came() -> None:
    """Let the outage's 503 answer render without the database, and change no cookie.

    It is rendered for a visitor (loading the user, or what a rollback expired of them, would
    fail again), and the session goes back to what the browser sent: Flask-Login writes the
    remember-me cookie's user into it before asking us, and a session saved that way would
    be taken for a stolen one once the database is back."""
    login_manager._update_request_context_with_user()
    before = g.get(SESSION_BEFORE_KEY)
    if before is not None:
        session.clear()
        session.update(before)
    session.modified = False  # not saved: the browser keeps the cookie it has


def admin_required(view: F) -> F:
    """Allow admins only; send visitors to sign in and refuse everyone else with 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
