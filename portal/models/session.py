"""Sessions: one signed-in browser each, held on the server so signing out can end it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class UserSession(Base):
    """A signed-in browser. Its id travels in the signed session cookie (and the remember-me
    cookie); a revoked row no longer opens anything, whatever cookie a browser still holds."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        # The account page lists a person's live sessions; ending them all finds them here.
        sa.Index("ix_user_sessions_user_id_revoked_at", "user_id", "revoked_at"),
    )

    # A random token (secrets.token_urlsafe(32)); the cookie carrying it is signed as well.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A summary of the browser's User-Agent ("Firefox on Linux"), so a person can tell them apart.
    device: Mapped[str] = mapped_column(sa.String(80))
    revoked_at: Mapped[datetime | None]

    @property
    def live(self) -> bool:
        """Not ended: it still signs its browser in."""
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<UserSession of user {self.user_id} {self.device!r}>"
