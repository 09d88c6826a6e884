"""indexes for the board, feeds and insights at 100,000 items

Revision ID: f3a8d2c61b57
Revises: a061cfa3f56c
Create Date: 2026-11-24 02:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a8d2c61b57'
down_revision = 'a061cfa3f56c'
branch_labels = None
depends_on = None


RESOLVED_ONLY = sa.text('resolution_id IS NOT NULL')


def upgrade():
    # Plain CREATE/DROP INDEX, no batch rebuild: rebuilding `feedback` on SQLite would drop the
    # full-text index's triggers (c3f1a9d27e55).
    op.create_index('ix_feedback_public_top', 'feedback', ['visibility', 'hidden', 'awaiting_review', 'vote_count', 'id'], unique=False)
    op.create_index('ix_feedback_public_new', 'feedback', ['visibility', 'hidden', 'awaiting_review', 'created_at', 'id'], unique=False)
    op.create_index('ix_feedback_category_state_created', 'feedback', ['category_id', 'state', 'created_at', 'id'], unique=False)
    op.create_index('ix_feedback_resolution_updated', 'feedback', ['resolution_id', 'updated_at'], unique=False)
    op.create_index('ix_feedback_resolved_items_updated_at', 'feedback', ['updated_at'], unique=False, sqlite_where=RESOLVED_ONLY, postgresql_where=RESOLVED_ONLY)
    op.create_index('ix_feedback_acknowledged_at', 'feedback', ['acknowledged_at'], unique=False)
    op.create_index('ix_feedback_resolved_at', 'feedback', ['resolved_at'], unique=False)
    op.create_index('ix_resolutions_updated_at', 'resolutions', ['updated_at'], unique=False)
    # Superseded by the indexes above (each was a prefix of one, or served no query).
    op.drop_index('ix_feedback_board_top', table_name='feedback')
    op.drop_index('ix_feedback_board_new', table_name='feedback')
    op.drop_index('ix_feedback_category_id', table_name='feedback')
    op.drop_index('ix_feedback_resolution_id', table_name='feedback')


def downgrade():
    op.create_index('ix_feedback_resolution_id', 'feedback', ['resolution_id'], unique=False)
    op.create_index('ix_feedback_category_id', 'feedback', ['category_id'], unique=False)
    op.create_index('ix_feedback_board_new', 'feedback', ['created_at', 'id'], unique=False)
    op.create_index('ix_feedback_board_top', 'feedback', ['vote_count', 'id'], unique=False)
    op.drop_index('ix_resolutions_updated_at', table_name='resolutions')
    op.drop_index('ix_feedback_resolved_at', table_name='feedback')
    op.drop_index('ix_feedback_acknowledged_at', table_name='feedback')
    op.drop_index('ix_feedback_resolved_items_updated_at', table_name='feedback')
    op.drop_index('ix_feedback_resolution_updated', table_name='feedback')
    op.drop_index('ix_feedback_category_state_created', table_name='feedback')
    op.drop_index('ix_feedback_public_new', table_name='feedback')
    op.drop_index('ix_feedback_public_top', table_name='feedback')
