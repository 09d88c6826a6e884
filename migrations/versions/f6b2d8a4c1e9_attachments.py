"""attachments: images on items and comments, and the database store's bytes

Revision ID: f6b2d8a4c1e9
Revises: a7c3e9b1d5f2
Create Date: 2026-12-07 02:20:00

Issue #24. An attachment is uploaded first (attached to nothing), then attached to an item or
a comment; staff may remove one, kept for the record. The images themselves are in the
attachment store: by default the attachment_blobs table (bytea on PostgreSQL, BLOB on SQLite),
so every app process and every backup has them. Only new tables: nothing existing is rebuilt.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f6b2d8a4c1e9"
down_revision = "a7c3e9b1d5f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=43), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("thumbnail_width", sa.Integer(), nullable=False),
        sa.Column("thumbnail_height", sa.Integer(), nullable=False),
        sa.Column("alt_text", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "comment_id IS NULL OR feedback_id IS NOT NULL",
            name=op.f("ck_attachments_comment_on_its_item"),
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_attachments_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_attachments_feedback_id_feedback")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["users.id"], name=op.f("fk_attachments_removed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_attachments_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("public_id", name=op.f("uq_attachments_public_id")),
    )
    op.create_index("ix_attachments_comment_id", "attachments", ["comment_id"], unique=False)
    op.create_index(
        "ix_attachments_feedback_id_created_at",
        "attachments",
        ["feedback_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_attachments_uploader_id", "attachments", ["uploader_id"], unique=False)
    op.create_table(
        "attachment_blobs",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attachment_blobs")),
    )


def downgrade():
    op.drop_table("attachment_blobs")
    op.drop_index("ix_attachments_uploader_id", table_name="attachments")
    op.drop_index("ix_attachments_feedback_id_created_at", table_name="attachments")
    op.drop_index("ix_attachments_comment_id", table_name="attachments")
    op.drop_table("attachments")
