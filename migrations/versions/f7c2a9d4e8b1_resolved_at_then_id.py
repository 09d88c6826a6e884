"""the answered board and the part-days read resolutions in full order: resolved_at, then id

Revision ID: f7c2a9d4e8b1
Revises: e4a7c9b2d6f8
Create Date: 2026-12-07 20:00:00

"Recently answered" lists items by resolved_at, newest first, then by id: publishing a
resolution resolves all its items at the same moment, so many items share a resolved_at. On
PostgreSQL the index of resolved_at alone gave them in no order within a moment, and the page
sorted every item of the newest moment to pick 20: 1,011 rows read for a page at 100,000 items
(1.32x the time of 1,000 items). With id in the index the page is read in order, and the
insights' part-days find the items resolved in them from the index alone. SQLite already
ordered ties by the row id, which is the id.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f7c2a9d4e8b1"
down_revision = "e4a7c9b2d6f8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_feedback_resolved_at_id", "feedback", ["resolved_at", "id"], unique=False)
    op.drop_index("ix_feedback_resolved_at", table_name="feedback")


def downgrade():
    op.create_index("ix_feedback_resolved_at", "feedback", ["resolved_at"], unique=False)
    op.drop_index("ix_feedback_resolved_at_id", table_name="feedback")
