"""Outgoing webhooks: endpoints admins register, and each event's delivery to each of them.

A delivery row is written in the same transaction as the change that causes it (like the email
outbox), then sent with retries; every attempt is kept so admins can see what happened.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import N_, Base, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.user import User


class WebhookEvent(StrEnum):
    """What an endpoint can hear about."""

    ITEM_CREATED = "item.created"
    ITEM_STATE_CHANGED = "item.state_changed"
    ITEM_EDITED = "item.edited"
    RESOLUTION_PUBLISHED = "resolution.published"
    # Sent only when an admin asks for a test delivery; no endpoint subscribes to it.
    PING = "ping"

    @property
    def label(self) -> str:
        return {
            "item.created": N_("An item is submitted (any channel, private items included)"),
            "item.state_changed": N_("An item changes state"),
            "item.edited": N_("An item's author changes its title or text"),
            "resolution.published": N_("A \u201cwe did\u201d is published"),
            "ping": N_("Test delivery"),
        }[self.value]


SUBSCRIBABLE_EVENTS = (
    WebhookEvent.ITEM_CREATED,
    WebhookEvent.ITEM_STATE_CHANGED,
    WebhookEvent.ITEM_EDITED,
    WebhookEvent.RESOLUTION_PUBLISHED,
)


class WebhookDeliveryStatus(StrEnum):
    """Where a delivery is on its way out (the same life as an outbox email)."""

    PENDING = "pending"  # waiting to be sent (or retried)
    SENDING = "sending"  # claimed by a deliverer
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt, or the endpoint went away


class WebhookEndpoint(Base):
    """A URL that receives signed JSON for the events it subscribed to."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # Event names (WebhookEvent values); a handful per endpoint, filtered in Python.
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Kept in the clear because every delivery is signed with it; shown to admins only once.
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Removed endpoints keep their rows, so the delivery log stays readable in the audit.
    deleted_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    def wants(self, event: str) -> bool:
        """Whether this endpoint should be sent the event now."""
        return self.active and self.deleted_at is None and event in (self.events or [])

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class PostedJson:
    """The columns of a JSON body POSTed to a receiver with retries and backoff, claimed a
    batch at a time (portal/services/outbox.py: claim_due, mark_claimed): webhook deliveries
    and chat messages."""

    body: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(64))
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def payload(self) -> dict[str, Any]:
        """The body as data (for the admin pages and tests)."""
        payload: dict[str, Any] = json.loads(self.body)
        return payload


class WebhookDelivery(PostedJson, Base):
    """One event for one endpoint: the exact JSON body, sent with retries and backoff."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across retries (the X-Portal-Delivery header), so receivers can drop repeats.
    delivery_uid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id"))
    event: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        str_enum(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING
    )
    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="raise_on_sql")


class WebhookAttempt(Base):
    """One try at sending a delivery: what came back, or what went wrong, and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_deliveries.id"))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str] = mapped_column(sa.Text, default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
