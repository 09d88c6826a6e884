"""API tokens: what lets another system read the API as itself and submit on customers' behalf."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import N_, Base, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.user import User


class TokenScope(StrEnum):
    """What a token may do: read the public API, or also write through it."""

    READ = "read"
    WRITE = "write"

    @property
    def label(self) -> str:
        return {"read": N_("Read only"), "write": N_("Read and write")}[self.value]


class ApiToken(Base):
    """A bearer token for the JSON API. Only a hash of it is stored; its prefix identifies it."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        # Tokens are found by the hash of what the caller presents.
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    # The first characters of the token, shown to admins so they can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(8))
    # sha256 hex digest of the full token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    scope: Mapped[TokenScope] = mapped_column(str_enum(TokenScope, length=10))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship(lazy="raise_on_sql")

    @property
    def active(self) -> bool:
        """Not revoked: it still opens the API."""
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        """Whether this token may submit, vote and move items."""
        return self.active and self.scope is TokenScope.WRITE

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} {self.scope}>"
