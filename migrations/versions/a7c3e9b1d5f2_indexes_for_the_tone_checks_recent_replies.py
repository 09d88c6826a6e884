"""indexes for the tone check: a writer's latest replies and state messages

Revision ID: a7c3e9b1d5f2
Revises: b5d2e8f1a3c7
Create Date: 2026-12-06 23:00:00

The tone check compares a draft with what the same member of staff sent other customers in the
last 30 days (workflow.tone_context), on every post and as they type: their official comments
and state messages, read by author (or actor) and time.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e9b1d5f2"
down_revision = "b5d2e8f1a3c7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_comments_author_id_created_at",
        "comments",
        ["author_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_timeline_events_actor_id_created_at",
        "timeline_events",
        ["actor_id", "created_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_timeline_events_actor_id_created_at", table_name="timeline_events")
    op.drop_index("ix_comments_author_id_created_at", table_name="comments")
