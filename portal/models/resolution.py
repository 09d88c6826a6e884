"""Resolutions: the "we did" that answers one or more items, published on the board."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

if TYPE_CHECKING:
    from portal.models.category import Category
    from portal.models.user import User


# Every category a resolution answered an item of: filed under the first item's category, a
# theme resolved together may span several, and each of them lists it (the board's category
# filter, the category feeds, the digest's category choice).
resolution_categories = sa.Table(
    "resolution_categories",
    Base.metadata,
    sa.Column(
        "resolution_id", sa.ForeignKey("resolutions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("category_id", sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_resolution_categories_category_id", "category_id", "resolution_id"),
)


class Resolution(Base):
    """What we did about something customers said. One resolution may answer a whole theme."""

    __tablename__ = "resolutions"
    __table_args__ = (
        sa.Index("ix_resolutions_published_at", "published_at", "id"),
        sa.Index("ix_resolutions_category_id_published_at", "category_id", "published_at"),
        # The feeds' validator reads the latest change off this index's end.
        sa.Index("ix_resolutions_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    you_said: Mapped[str] = mapped_column(sa.String(200))
    we_did_source: Mapped[str] = mapped_column(sa.Text)
    we_did_html: Mapped[str] = mapped_column(sa.Text)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship(lazy="raise_on_sql")
    published_by: Mapped[User | None] = relationship(lazy="raise_on_sql")
