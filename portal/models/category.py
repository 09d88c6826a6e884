"""Categories group feedback and carry the acknowledgement target and the response guide."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base


class Category(Base):
    """A product area, such as Billing or Delivery."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Hours within which a person must acknowledge a new item in this category.
    ack_target_hours: Mapped[int] = mapped_column(default=48)
    # Staff-only guidance shown beside the reply form.
    response_guide: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"
