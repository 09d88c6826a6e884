"""indexes for the board's trending sort and the roadmap

Revision ID: 088f32fc0ae7
Revises: f0e521713a2f
Create Date: 2026-12-07 05:10:00

Trending counts each item's votes of the last 14 days: a range of the votes' time index,
which also holds the item's id, so no vote row is read. The roadmap's Planned column reads
planned items soonest promise first off the other, and stops at the column's 50.

Plain CREATE/DROP INDEX, no batch rebuild: rebuilding `feedback` on SQLite would drop the
full-text index's triggers (c3f1a9d27e55).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "088f32fc0ae7"
down_revision = "f0e521713a2f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_votes_created_at_feedback_id", "votes", ["created_at", "feedback_id"])
    op.create_index("ix_feedback_state_target_date", "feedback", ["state", "target_date", "id"])


def downgrade():
    op.drop_index("ix_feedback_state_target_date", table_name="feedback")
    op.drop_index("ix_votes_created_at_feedback_id", table_name="votes")
