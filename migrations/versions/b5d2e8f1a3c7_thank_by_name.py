"""users: whether a published resolution may thank them by name for what they raised

Revision ID: b5d2e8f1a3c7
Revises: d9a3b7e5c1f4
Create Date: 2026-12-06 22:45:00

Off for everyone, those already here included: being named in public is each person's choice.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5d2e8f1a3c7"
down_revision = "d9a3b7e5c1f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("thank_by_name", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("thank_by_name")
