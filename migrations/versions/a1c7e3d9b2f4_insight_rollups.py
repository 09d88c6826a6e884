"""insight roll-ups: daily counts and duration buckets for the insights figures

Revision ID: a1c7e3d9b2f4
Revises: 59925e5c8a93
Create Date: 2026-12-07 11:15:00

The tables start empty: after upgrading, run ``flask insights rebuild`` once to count the
existing items (docs/deploy.md). From then on every change to an item keeps them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1c7e3d9b2f4"
down_revision = "59925e5c8a93"
branch_labels = None
depends_on = None

COUNTERS = (
    "received",
    "ack_met",
    "ack_late",
    "resolved",
    "declined",
    "promises_kept",
    "promises_broken",
)


def upgrade() -> None:
    op.create_table(
        "insight_days",
        sa.Column("day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("category_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        *[sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTERS],
        sa.PrimaryKeyConstraint("day", "category_id", "kind", "channel", name="pk_insight_days"),
    )
    op.create_table(
        "insight_durations",
        sa.Column("day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("measure", sa.String(length=10), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("owner_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("seconds", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "measure", "category_id", "owner_id", "seconds", name="pk_insight_durations"
        ),
    )
    op.create_table(
        "insight_items",
        sa.Column("feedback_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("created_day", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("ack_outcome", sa.Integer(), nullable=False),
        sa.Column("ack_seconds", sa.Integer(), nullable=True),
        sa.Column("unacknowledged_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_day", sa.Integer(), nullable=True),
        sa.Column("resolve_seconds", sa.Integer(), nullable=True),
        sa.Column("declined_day", sa.Integer(), nullable=True),
        sa.Column("kept_day", sa.Integer(), nullable=True),
        sa.Column("broken_day", sa.Integer(), nullable=True),
        sa.Column("open", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("waiting", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("ack_due_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("feedback_id", name="pk_insight_items"),
    )
    op.create_table(
        "insight_backlog",
        sa.Column("owner_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("what", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "what", "day", name="pk_insight_backlog"),
    )
    op.create_table(
        "insight_waiting",
        sa.Column("created_day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("category_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("due_day", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("created_day", "category_id", "due_day", name="pk_insight_waiting"),
    )
    op.create_index(
        "ix_insight_items_unacknowledged",
        "insight_items",
        ["unacknowledged_due_at"],
        sqlite_where=sa.text("unacknowledged_due_at IS NOT NULL"),
        postgresql_where=sa.text("unacknowledged_due_at IS NOT NULL"),
    )

    op.create_index(
        "ix_feedback_most_voted",
        "feedback",
        [sa.text("vote_count DESC"), "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_most_voted", table_name="feedback")
    op.drop_index("ix_insight_items_unacknowledged", table_name="insight_items")
    op.drop_table("insight_waiting")
    op.drop_table("insight_backlog")
    op.drop_table("insight_items")
    op.drop_table("insight_durations")
    op.drop_table("insight_days")
