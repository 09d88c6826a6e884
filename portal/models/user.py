"""User accounts: customers, staff and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import N_, Base, str_enum, utcnow
from portal.services.wording import Text, t

if TYPE_CHECKING:
    from portal.models.session import UserSession


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
            "all": N_("Every update on what I follow"),
            "resolutions": N_("Only when something I follow is done"),
            "none": N_("No notification emails"),
        }[self.value]


# Who chose to be thanked by name and still can be (resolutions._thanked_query), as each
# database writes `thank_by_name.is_(True), active.is_(True), deleted_at.is_(None)`.
THANKED_SQLITE = "thank_by_name IS 1 AND active IS 1 AND deleted_at IS NULL"
THANKED_POSTGRESQL = "thank_by_name IS true AND active IS true AND deleted_at IS NULL"


class User(UserMixin, Base):
    """A person with an account. Deleting an account anonymises this row instead of removing it."""

    __tablename__ = "users"
    __table_args__ = (
        # Case-insensitive uniqueness lives in the database, so two racing sign-ups cannot both win.
        sa.Index("uq_users_email_lower", sa.func.lower(sa.text("email")), unique=True),
        # The few who may be thanked by name (resolutions.thanks_for asks on every "You said,
        # we did" page): read off this instead of a scan of every account. Its condition is
        # the query's, word for word, as SQLite needs to use it.
        sa.Index(
            "ix_users_thanked",
            "id",
            sqlite_where=sa.text(THANKED_SQLITE),
            postgresql_where=sa.text(THANKED_POSTGRESQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    preferred_name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.CUSTOMER)
    active: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime | None]
    # No longer read: sessions are rows of their own (portal.models.session) since d9a3b7e5c1f4.
    # Kept until a later migration drops it, so older code and seed data still insert.
    session_version: Mapped[int] = mapped_column(default=1)
    notification_preference: Mapped[NotificationPreference] = mapped_column(
        str_enum(NotificationPreference), default=NotificationPreference.ALL
    )
    # Whether a published resolution may thank them by display name for what they raised
    # (resolutions.thanks_for). Off by default: being named is their choice.
    thank_by_name: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    # The language pages and emails speak to them in ("es"); None: none chosen, so their
    # browser's, then the site's.
    language: Mapped[str | None] = mapped_column(sa.String(16))
    # What the customer is worth to the organisation, for staff weighing feedback: set by the
    # admin pages, the API or single sign-on's claims; never shown outside the staff pages.
    plan: Mapped[str | None] = mapped_column(sa.String(80))
    # In the site's currency's smallest unit (cents), so sums stay exact on every database.
    monthly_value_cents: Mapped[int | None]
    segment: Mapped[str | None] = mapped_column(sa.String(80))
    # When they last opened "What's new for me" (/account/updates): changes on what they
    # follow after it are the header's unread count (portal/services/updates.py).
    updates_seen_at: Mapped[datetime | None]

    def get_id(self) -> str:
        """Flask-Login's session key "<user id>:<session id>", kept in the session cookie and
        the remember-me cookie. Without a signed-in session it names none, and opens nothing."""
        signed_in = self.signed_in_session
        return f"{self.id}:{signed_in.id if signed_in is not None else ''}"

    @property
    def signed_in_session(self) -> UserSession | None:
        """The browser session this object was loaded for or signed in with; not a column."""
        return getattr(self, "_signed_in_session", None)

    @signed_in_session.setter
    def signed_in_session(self, value: UserSession | None) -> None:
        self._signed_in_session = value

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
    def public_name(self) -> str | Text:
        """The name shown on public pages. A deleted account's stand-in comes in the reader's
        language (str() of it; a person's own name is never translated)."""
        return t("a former customer") if self.deleted_at else self.display_name

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
