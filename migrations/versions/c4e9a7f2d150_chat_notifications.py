"""chat notifications: channels, their categories, queued messages and timed notices sent

Revision ID: c4e9a7f2d150
Revises: 15678d42c3d1
Create Date: 2026-12-07 08:15:00

Staff hear of new items, reopen requests and due or missed targets in Slack, Microsoft Teams
or Discord. Messages are outbox rows sent with retries; a notice row per item, event and day
(unique) keeps the sweep from sending a timed notice twice in a day. New tables only.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e9a7f2d150"
down_revision = "15678d42c3d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chat_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("all_categories", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_chat_channels_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_channels")),
    )
    op.create_table(
        "chat_channel_categories",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_chat_channel_categories_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["chat_channels.id"],
            name=op.f("fk_chat_channel_categories_channel_id_chat_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "channel_id", "category_id", name=op.f("pk_chat_channel_categories")
        ),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["chat_channels.id"],
            name=op.f("fk_chat_messages_channel_id_chat_channels"),
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_chat_messages_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index(
        "ix_chat_messages_status_next_attempt_at",
        "chat_messages",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_chat_messages_channel_id_created_at",
        "chat_messages",
        ["channel_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "chat_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_chat_notices_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_notices")),
        sa.UniqueConstraint(
            "feedback_id", "event", "day", name="uq_chat_notices_feedback_id_event_day"
        ),
    )


def downgrade():
    op.drop_table("chat_notices")
    op.drop_index("ix_chat_messages_channel_id_created_at", table_name="chat_messages")
    op.drop_index("ix_chat_messages_status_next_attempt_at", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("chat_channel_categories")
    op.drop_table("chat_channels")
