"""The item's timeline: the customer's tracking history, written as events happen."""

from __future__ import annotations

from datetime import UTC, date, datetime

from portal.extensions import db
from portal.models import Feedback, FeedbackState, TimelineEvent, TimelineKind, User
from portal.services.sanitize import render_markdown


def record(
    item: Feedback,
    actor: User | None,
    kind: TimelineKind,
    message: str = "",
    *,
    from_state: FeedbackState | None = None,
    to_state: FeedbackState | None = None,
    target_date: date | None = None,
    new_owner: User | None = None,
    at: datetime | None = None,
) -> TimelineEvent:
    """Add one step to the item's timeline (flushed with the change that caused it)."""
    event = TimelineEvent(
        feedback_id=item.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        message=message,
        message_html=render_markdown(message) if message else "",
        target_date=target_date,
        new_owner_id=new_owner.id if new_owner else None,
        created_at=at or datetime.now(UTC),
    )
    db.session.add(event)
    return event
