"""Invitations: an admin asks someone to join the staff, by email, with a role."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import N_, Base, str_enum, utcnow
from portal.models.user import Role

if TYPE_CHECKING:
    from portal.models.user import User


class InvitationStatus(StrEnum):
    """Where an invitation stands: its link works only while it is pending."""

    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return {
            "pending": N_("Waiting for an answer"),
            "expired": N_("Expired"),
            "accepted": N_("Accepted"),
            "revoked": N_("Revoked"),
        }[self.value]


class Invitation(Base):
    """An emailed invitation to join as staff or admin. Only a hash of its link's secret is
    kept (portal/services/tokens.py signs the link); sending it again makes a new secret, so
    the older link stops working."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # sha256 hex digest of the secret the emailed link carries.
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    invited_by: Mapped[User | None] = relationship(
        foreign_keys=[invited_by_id], lazy="raise_on_sql"
    )

    def status_at(self, now: datetime) -> InvitationStatus:
        """Pending, expired, accepted or revoked, as of `now`."""
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.role}>"
