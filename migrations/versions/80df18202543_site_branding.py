"""site_settings: branding, a logo and an accent colour

Revision ID: 80df18202543
Revises: b864e3c0f1c0
Create Date: 2026-12-07 05:10:00

The logo's bytes are in the attachment store under `logo_key` (re-encoded by the image
pipeline); its size says how pages and emails show it. The accent colour is "#rrggbb", checked
for contrast against the page when saved. All empty: the portal's own look.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "80df18202543"
down_revision = "b864e3c0f1c0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("site_settings") as batch:
        batch.add_column(sa.Column("logo_key", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("logo_width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("logo_height", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("accent_colour", sa.String(length=7), nullable=True))


def downgrade():
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_column("accent_colour")
        batch.drop_column("logo_height")
        batch.drop_column("logo_width")
        batch.drop_column("logo_key")
