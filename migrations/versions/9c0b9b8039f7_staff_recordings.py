"""staff_recordings: items and "me too"s staff recorded for a customer, with the channel

Revision ID: 9c0b9b8039f7
Revises: b7d41e9a2c53
Create Date: 2026-12-07 08:10:00

Issue #27. Staff record an item or a "me too" for a customer who told them by phone, chat, in
person, social media or email. The new channels are plain strings in feedback.channel (its
length, 10, holds "in_person"): nothing existing changes. Only a new table.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c0b9b8039f7"
down_revision = "b7d41e9a2c53"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_staff_recordings_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_staff_recordings_feedback_id_feedback"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_staff_recordings_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recordings")),
        sa.UniqueConstraint(
            "feedback_id",
            "customer_id",
            "kind",
            name="uq_staff_recordings_feedback_id_customer_id_kind",
        ),
    )
    op.create_index(
        "ix_staff_recordings_created_at", "staff_recordings", ["created_at"], unique=False
    )
    op.create_index(
        "ix_staff_recordings_customer_id", "staff_recordings", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_staff_recordings_recorded_by_id", "staff_recordings", ["recorded_by_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_staff_recordings_recorded_by_id", table_name="staff_recordings")
    op.drop_index("ix_staff_recordings_customer_id", table_name="staff_recordings")
    op.drop_index("ix_staff_recordings_created_at", table_name="staff_recordings")
    op.drop_table("staff_recordings")
