"""Accounts: registration, sign-in checks, profiles and the safe-redirect rule."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import NotificationPreference, Role, User
from portal.services.errors import DomainError, EmailTaken

# Checked against when the email is unknown, so a miss costs as long as a wrong password
# and timing does not tell whether an address has an account.
_DUMMY_HASH_CACHE: dict[str, str] = {}


def normalise_email(email: str) -> str:
    """Trim and lower-case an address: addresses are unique whatever their case."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash a password with the configured modern algorithm."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_user_by_email(email: str) -> User | None:
    """Look a user up by email, ignoring case."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == normalise_email(email))
    )


def register_user(
    *,
    email: str,
    password: str,
    display_name: str,
    preferred_name: str = "",
    role: Role = Role.CUSTOMER,
) -> User:
    """Create an account. Raises EmailTaken when the address is already registered."""
    email = normalise_email(email)
    display_name = display_name.strip()
    if not display_name:
        raise DomainError("Please tell us a display name.")
    if find_user_by_email(email) is not None:
        raise EmailTaken("An account with that email address already exists. Try signing in.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name,
        # When someone leaves it blank we address them by their display name.
        preferred_name=preferred_name.strip() or display_name,
        role=role,
    )
    db.session.add(user)
    try:
        # A savepoint, so a sign-up racing this one fails cleanly on the unique index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise EmailTaken(
            "An account with that email address already exists. Try signing in."
        ) from exc
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user whose email and password match, else None (never says which)."""
    user = find_user_by_email(email)
    if user is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        dummy = _DUMMY_HASH_CACHE.setdefault(method, generate_password_hash("x", method=method))
        check_password_hash(dummy, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def update_profile(user: User, *, display_name: str, preferred_name: str) -> User:
    """Change how a user is shown publicly and how we address them."""
    display_name = display_name.strip()
    if not display_name:
        raise DomainError("Please tell us a display name.")
    user.display_name = display_name
    user.preferred_name = preferred_name.strip() or display_name
    db.session.flush()
    return user


def is_safe_next(target: str | None) -> bool:
    """True for a same-site path such as "/feedback/3"; false for anything that leaves the site."""
    if not target or not target.startswith("/"):
        return False
    # Browsers treat backslashes as slashes and ignore tabs and newlines in URLs.
    if "\\" in target or any(ch in target for ch in "\t\r\n"):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def verify_email(user_id: int, email: str) -> User | None:
    """Mark an address verified from a verification link's payload; None if it no longer
    matches the account (the address changed, or the account is gone)."""
    user = db.session.get(User, user_id)
    if user is None or normalise_email(user.email) != normalise_email(email):
        return None
    if user.verified_at is None:
        user.verified_at = datetime.now(UTC)
        db.session.flush()
    return user


def set_notification_preference(user: User, preference: NotificationPreference) -> User:
    """Choose which notification emails to get."""
    user.notification_preference = preference
    db.session.flush()
    return user
