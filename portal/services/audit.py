"""The audit log: services call record() for every staff and admin action."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import AuditEntry, User
from portal.models.base import N_

# How the log names each action. Entries keep the action's code (programs and exports read
# it); the page says it in the reader's language with these. An action missing here shows
# its code.
ACTION_LABELS: dict[str, str] = {
    "api.customer_created": N_("Customer created through the API"),
    "api.item_moved": N_("Item moved through the API"),
    "api.item_replied": N_("Reply posted through the API"),
    "api.item_submitted": N_("Item submitted through the API"),
    "api_token.created": N_("API token created"),
    "api_token.revoked": N_("API token revoked"),
    "category.created": N_("Category created"),
    "category.updated": N_("Category changed"),
    "chat.changed": N_("Chat channel changed"),
    "chat.created": N_("Chat channel added"),
    "chat.deleted": N_("Chat channel removed"),
    "chat.tested": N_("Chat channel test message queued"),
    "comment.hidden": N_("Comment hidden"),
    "identity_provider.changed": N_("Identity provider changed"),
    "identity_provider.created": N_("Identity provider added"),
    "identity_provider.disabled": N_("Identity provider disabled"),
    "identity_provider.enabled": N_("Identity provider enabled"),
    "intake.comment_added": N_("Comment added by email"),
    "intake.customer_created": N_("Customer created by email"),
    "intake.item_submitted": N_("Item submitted by email"),
    "invitation.accepted": N_("Invitation accepted"),
    "invitation.revoked": N_("Invitation revoked"),
    "invitation.sent": N_("Invitation sent"),
    "invitation.sent_again": N_("Invitation sent again"),
    "item.approved": N_("Item approved for the board"),
    "item.hidden": N_("Item hidden"),
    "item.me_too_recorded": N_("\u201cMe too\u201d recorded for a customer"),
    "item.merged": N_("Item merged"),
    "item.noted": N_("Internal note added"),
    "item.owner_changed": N_("Owner changed"),
    "item.promise_moved": N_("Promised date moved"),
    "item.promise_set": N_("Date promised"),
    "item.recorded_for_customer": N_("Item recorded for a customer"),
    "item.redacted": N_("Item redacted"),
    "item.replied": N_("Reply posted"),
    "item.state_changed": N_("State changed"),
    "item.unhidden": N_("Item shown again"),
    "resolution.edited": N_("Resolution edited"),
    "resolution.published": N_("Resolution published"),
    "staff.customer_created": N_("Customer created by staff"),
    "settings.get_started_dismissed": N_("\u201cGet started\u201d checklist put away"),
    "settings.sign_in_policy": N_("Sign-in policy changed"),
    "settings.updated": N_("Site settings changed"),
    "user.admin_created": N_("Admin created"),
    "user.email_changed": N_("Email address changed"),
    "user.made_admin": N_("Made an admin"),
    "user.updated": N_("User changed"),
    "user.value_changed": N_("Customer value changed"),
    "webhook.changed": N_("Webhook changed"),
    "webhook.created": N_("Webhook created"),
    "webhook.deleted": N_("Webhook deleted"),
    "webhook.paused": N_("Webhook paused"),
    "webhook.pinged": N_("Webhook test delivery queued"),
    "webhook.resumed": N_("Webhook resumed"),
    "webhook.secret_rotated": N_("Webhook secret rotated"),
    "webhook.sent_again": N_("Webhook delivery sent again"),
}


def record(
    actor: User | None, action: str, target_type: str, target_id: int | None, **detail: Any
) -> AuditEntry:
    """Write one audit entry (flushed, not committed: it belongs to the action's transaction)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail={k: _plain(v) for k, v in detail.items()},
    )
    db.session.add(entry)
    return entry


def _plain(value: Any) -> Any:
    """JSON-safe form of a value: enums and dates become strings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def action_label(action: str) -> str:
    """What the log calls an action (a catalog message: the page translates it), or its code."""
    return ACTION_LABELS.get(action, action)


def recent_entries(page: int = 1, per_page: int = 50) -> Any:
    """The newest audit entries first, with who did them, one page at a time."""
    query = (
        sa.select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
