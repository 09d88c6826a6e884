"""merged_voices: who spoke up on a duplicate, heard on the item it was merged into

Revision ID: b5e2c7a9d3f1
Revises: a7c5e3f1d9b2
Create Date: 2026-12-06 22:50:00

A merge moved a duplicate's votes and follows to its target, and with them the record of who
had voted there. Everyone whose voice was merged into an item (the duplicate's author, voters
and commenters) is now asked "Did this fix it?" when it is resolved, as its author is: each
has a row here, with their answer.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5e2c7a9d3f1"
down_revision = "a7c5e3f1d9b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "merged_voices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("merged_from_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fix_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopen_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_merged_voices_feedback_id_feedback")
        ),
        sa.ForeignKeyConstraint(
            ["merged_from_id"],
            ["feedback.id"],
            name=op.f("fk_merged_voices_merged_from_id_feedback"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_merged_voices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merged_voices")),
        sa.UniqueConstraint(
            "feedback_id", "user_id", name="uq_merged_voices_feedback_id_user_id"
        ),
    )
    op.create_index(
        "ix_merged_voices_merged_from_id", "merged_voices", ["merged_from_id"], unique=False
    )
    op.create_index("ix_merged_voices_user_id", "merged_voices", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_merged_voices_user_id", table_name="merged_voices")
    op.drop_index("ix_merged_voices_merged_from_id", table_name="merged_voices")
    op.drop_table("merged_voices")
