"""Flask-Login set-up and the role checks views use."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db, login_manager
from portal.models import User

F = TypeVar("F", bound=Callable[..., Any])


def configure_login(app: Flask) -> None:
    """Bind Flask-Login: where to sign in, and how a session id maps to a user."""
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)


def load_user(session_id: str) -> User | None:
    """Return the user for a session id "<id>:<session version>", or None when it is stale."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    try:
        user = db.session.get(User, int(user_id))
    except SQLAlchemyError:
        # The database is down; the request fails with a 503 elsewhere, as a visitor.
        db.session.rollback()
        return None
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def staff_required(view: F) -> F:
    """Allow staff and admins; send visitors to sign in and refuse customers with 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


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
