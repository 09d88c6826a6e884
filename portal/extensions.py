"""Flask extensions, created unbound and bound to the app in create_app()."""

from __future__ import annotations

from typing import Any

from flask import session
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from portal.models.base import Base

# Models inherit Base directly (no Flask-SQLAlchemy query property); the extension shares its
# metadata, so Flask-Migrate and db.session see every table.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()


class SessionLoginManager(LoginManager):  # type: ignore[misc]  # Flask-Login is untyped
    """Flask-Login whose "strong" session protection guards sign-ins only.

    Flask-Login takes any non-empty session without its browser identifier for a stolen one:
    it strips it and deletes the remember-me cookie. Two sessions never had that identifier:
    a visitor's (a CSRF token, a message), so every visitor was sent a deletion of a cookie
    they never had; and one signed in by the remember-me cookie, so "keep me signed in"
    lasted one request. A session without a signed-in user has nothing to protect, and one
    signed in by the cookie is bound to its browser as a sign-in with the password is."""

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session:
            return False
        return bool(super()._session_protection_failed())

    def _load_user_from_remember_cookie(self, cookie: str) -> Any:
        user = super()._load_user_from_remember_cookie(cookie)
        if user is not None:
            session["_id"] = self._session_identifier_generator()
        return user


login_manager = SessionLoginManager()
csrf = CSRFProtect()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address)
mail = Mail()
