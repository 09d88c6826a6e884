"""Attachments: images on an item or a comment, and the stored bytes behind them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow

if TYPE_CHECKING:
    from portal.models.user import User


class Attachment(Base):
    """One image, re-encoded when it was kept (portal/services/images.py), reached by an
    unguessable public id. Uploaded first (attached to nothing: only its uploader sees it),
    then attached to an item, or to a comment on it (feedback_id is set for both, so an item
    page reads every image of the item and its comments at once). The bytes are in the
    attachment store under `<public_id>.full` and `<public_id>.thumbnail`."""

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint(
            "comment_id IS NULL OR feedback_id IS NOT NULL", name="comment_on_its_item"
        ),
        # An item's images; and uploads never attached (feedback_id NULL) by age, for prune.
        sa.Index("ix_attachments_feedback_id_created_at", "feedback_id", "created_at"),
        sa.Index("ix_attachments_comment_id", "comment_id"),
        # Deleting an account deletes the files its person uploaded.
        sa.Index("ix_attachments_uploader_id", "uploader_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(43), unique=True)
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # The type it was re-encoded to (image/jpeg, image/png or image/webp), never the sender's.
    content_type: Mapped[str] = mapped_column(sa.String(20))
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    thumbnail_width: Mapped[int]
    thumbnail_height: Mapped[int]
    # What the image shows, in the person's words; pages fall back to the item's title.
    alt_text: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attached_at: Mapped[datetime | None]
    # Removed by staff: kept for the record (staff still see it), like a hidden comment.
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    uploader: Mapped[User] = relationship(foreign_keys=[uploader_id], lazy="raise_on_sql")

    @property
    def storage_keys(self) -> tuple[str, str]:
        """Where its full image and its thumbnail are kept in the attachment store."""
        return f"{self.public_id}.full", f"{self.public_id}.thumbnail"

    def __repr__(self) -> str:
        return f"<Attachment {self.public_id} {self.content_type}>"


class AttachmentBlob(Base):
    """The database store's bytes (portal/services/attachment_store.py): one row per stored
    image or thumbnail, so every app process and every database backup has them."""

    __tablename__ = "attachment_blobs"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
