"""Signed tokens for links in emails: email verification and notification opt-outs."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

VERIFY_MAX_AGE = 7 * 24 * 3600


def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _plain(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_verify_token(user_id: int, email: str) -> str:
    """A link token proving the holder received mail at this address (expires in 7 days)."""
    return _timed("verify-email").dumps({"u": user_id, "e": email})


def read_verify_token(token: str) -> dict[str, Any] | None:
    """The payload of a verification token, or None if it is forged or expired."""
    try:
        return _timed("verify-email").loads(token, max_age=VERIFY_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None


def make_unsubscribe_token(user_id: int, feedback_id: int | None) -> str:
    """A lasting token to stop notifications about one item (or all, with None)."""
    return _plain("unsubscribe").dumps({"u": user_id, "f": feedback_id})


def read_unsubscribe_token(token: str) -> dict[str, Any] | None:
    """The payload of an unsubscribe token, or None if it is not ours."""
    try:
        payload = _plain("unsubscribe").loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("u"), int) else None
