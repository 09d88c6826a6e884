"""User accounts: customers, staff and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, str_enum, utcnow


class Role(StrEnum):
    """What a user may do: customers give feedback, staff triage, admins also run the site."""

    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


class NotificationPreference(StrEnum):
    """Which notification emails a person wants."""

    ALL = "all"  # every public change on items they follow
    RESOLUTIONS = "resolutions"  # only when something they follow is done
    NONE = "none"

    @property
    def label(self) -> str:
        return {
            "all": "Every update on what I follow",
            "resolutions": "Only when something I follow is done",
            "none": "No notification emails",
        }[self.value]


class User(UserMixin, Base):
    """A person with an account. Deleting an account anonymises this row instead of removing it."""

    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness lives in the database, so two racing sign-ups cannot both win.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.text("email")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    preferred_name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.CUSTOMER)
    active: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(default=1)
    notification_preference: Mapped[NotificationPreference] = mapped_column(
        str_enum(NotificationPreference), default=NotificationPreference.ALL
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    def get_id(self) -> str:
        """Flask-Login's session key: bumping session_version signs this user out everywhere."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active and self.deleted_at is None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def public_name(self) -> str:
        """The name shown on public pages."""
        return "a former customer" if self.deleted_at else self.display_name

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
