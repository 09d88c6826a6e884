"""the feedback widget: allowed embedding origins, and the page an item was sent from

Revision ID: 5b74934785d3
Revises: 3a800e06399f
Create Date: 2026-12-07 08:40:00

The organisation's own pages embed the feedback widget: the admin lists the origins allowed to
frame it (site_settings.widget_origins, one a line, empty by default: nobody), and an item sent
through it keeps the address of the page it came from (feedback.page_url, for staff).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b74934785d3"
down_revision = "3a800e06399f"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN on every database (nullable, or with a server default): the feedback
    # table keeps its full-text triggers, no table is rebuilt.
    op.add_column(
        "site_settings",
        sa.Column("widget_origins", sa.Text(), server_default="", nullable=False),
    )
    op.add_column("feedback", sa.Column("page_url", sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table("site_settings") as batch_op:
        batch_op.drop_column("widget_origins")
    # DROP COLUMN without a rebuild (SQLite 3.35+), so the FTS triggers on feedback stay.
    op.drop_column("feedback", "page_url")
