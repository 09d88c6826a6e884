"""indexes for the insights' date ranges: arrival, promised dates, timeline events by kind

Revision ID: b5d9e2f4a7c1
Revises: e7b1c4d2a9f0
Create Date: 2026-11-24 03:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d9e2f4a7c1'
down_revision = 'e7b1c4d2a9f0'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX (no batch rebuild of `feedback`, which would drop the FTS triggers).
    op.create_index('ix_feedback_created_at', 'feedback', ['created_at'], unique=False)
    op.create_index('ix_feedback_target_date', 'feedback', ['target_date'], unique=False)
    op.create_index('ix_timeline_events_kind_created_at', 'timeline_events', ['kind', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_timeline_events_kind_created_at', table_name='timeline_events')
    op.drop_index('ix_feedback_target_date', table_name='feedback')
    op.drop_index('ix_feedback_created_at', table_name='feedback')
