"""Email that came in through the intake pipe: one row per accepted message."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class InboundEmail(Base):
    """An accepted message and what it became. Its Message-ID is unique, so a message the mail
    server delivers twice (it retries when it cannot tell that the first try worked) is
    recorded once and creates nothing the second time."""

    __tablename__ = "inbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    sender: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    attachments_refused: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
