"""The audit log: services call record() for every staff and admin action."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import AuditEntry, User


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


def recent_entries(page: int = 1, per_page: int = 50) -> Any:
    """The newest audit entries first, with who did them, one page at a time."""
    query = (
        sa.select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
