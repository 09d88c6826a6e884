"""item signals: "This still happens to me" on Done items, "I still want this" on Not planned

Revision ID: a7c3e9f15b20
Revises: e2f4a6c8b0d1
Create Date: 2026-12-06 22:40:00

Votes close when an item is done, declined or merged, so a published "N people raised this"
never grows. What customers still have to say of a closed item is counted here instead, once
per person, item and kind.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e9f15b20"
down_revision = "e2f4a6c8b0d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "item_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_item_signals_feedback_id_feedback")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_item_signals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_signals")),
        sa.UniqueConstraint(
            "feedback_id", "user_id", "kind", name="uq_item_signals_feedback_id_user_id_kind"
        ),
    )
    op.create_index(
        "ix_item_signals_kind_created_at", "item_signals", ["kind", "created_at"], unique=False
    )
    op.create_index("ix_item_signals_user_id", "item_signals", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_item_signals_user_id", table_name="item_signals")
    op.drop_index("ix_item_signals_kind_created_at", table_name="item_signals")
    op.drop_table("item_signals")
