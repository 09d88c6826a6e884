"""users.updates_seen_at: when each person last opened "What's new for me"

Revision ID: 3a800e06399f
Revises: c4e9a7f2d150
Create Date: 2026-12-07 08:20:00

The header's unread count is the changes on what a person follows after this moment. The
changes themselves are read from the timeline and the staff replies that already exist, so
this one nullable column is all the feature stores (None: never opened, everything since they
followed counts).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3a800e06399f"
down_revision = "c4e9a7f2d150"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (nullable, no default) on every database: no table rebuild.
    op.add_column("users", sa.Column("updates_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("updates_seen_at")
