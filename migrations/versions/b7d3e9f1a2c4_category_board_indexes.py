"""indexes for the board filtered by category alone, at a million items

Revision ID: b7d3e9f1a2c4
Revises: a1c7e3d9b2f4
Create Date: 2026-12-07 12:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3e9f1a2c4'
down_revision = 'a1c7e3d9b2f4'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX, no batch rebuild: rebuilding `feedback` on SQLite would drop the
    # full-text index's triggers (c3f1a9d27e55).
    op.create_index('ix_feedback_category_public_top', 'feedback', ['category_id', 'visibility', 'hidden', 'awaiting_review', 'vote_count', 'id'], unique=False)
    op.create_index('ix_feedback_category_public_new', 'feedback', ['category_id', 'visibility', 'hidden', 'awaiting_review', 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_feedback_category_public_new', table_name='feedback')
    op.drop_index('ix_feedback_category_public_top', table_name='feedback')
