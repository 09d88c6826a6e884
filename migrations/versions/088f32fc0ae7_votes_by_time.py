"""votes: an index by time, for the board's trending sort

Revision ID: 088f32fc0ae7
Revises: c4d8e2a6f0b3
Create Date: 2026-12-07 05:10:00

Trending counts each item's votes of the last 14 days: a range of this index, which also
holds the item's id, so no vote row is read.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "088f32fc0ae7"
down_revision = "c4d8e2a6f0b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_votes_created_at_feedback_id", "votes", ["created_at", "feedback_id"])


def downgrade():
    op.drop_index("ix_votes_created_at_feedback_id", table_name="votes")
