"""What the sign-in policy (portal/services/sign_in_policy.py) changes on the account pages:
which ways in they offer, and the button to the provider staff must use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for

from portal.services import sign_in_policy


def provider_start_url(key: str, next_url: str | None = None) -> str:
    """Where signing in through a provider starts (the providers blueprint's route, or its
    documented address, /sign-in/<key>, where that blueprint is not in this build)."""
    if "providers.start" in current_app.view_functions:
        return url_for("providers.start", key=key, next=next_url or None)
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return f"/sign-in/{key}{query}"


def sign_in_choices(next_url: str | None = None) -> dict[str, Any]:
    """The policy and the staff provider's button, for the sign-in, register and password
    pages."""
    policy = sign_in_policy.current_policy()
    staff = policy.staff_provider
    return {
        "policy": policy,
        "staff_provider_url": (
            provider_start_url(staff.key, next_url) if staff and staff.available else None
        ),
    }
