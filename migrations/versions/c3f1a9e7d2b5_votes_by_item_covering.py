"""votes by item, covering: who voted on an item and when, read off the index alone

Revision ID: c3f1a9e7d2b5
Revises: b7d2e5f8a3c1
Create Date: 2026-12-07 15:10:00

The feed and "You said, we did" count the people who raised each resolution from the votes
of its items cast before it was published (resolutions.voice_counts); the thanks read the
same votes. With an index of feedback_id alone each vote's row was then read from the table,
a page apiece once the votes outgrow the page cache, and the feed grew with the history. This
index replaces it (every query that used it reads this one's first column), so a vote still
writes one index entry for its item.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3f1a9e7d2b5'
down_revision = 'b7d2e5f8a3c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_votes_feedback_id_created_at_user_id',
        'votes',
        ['feedback_id', 'created_at', 'user_id'],
        unique=False,
    )
    op.drop_index('ix_votes_feedback_id', table_name='votes')


def downgrade():
    op.create_index('ix_votes_feedback_id', 'votes', ['feedback_id'], unique=False)
    op.drop_index('ix_votes_feedback_id_created_at_user_id', table_name='votes')
