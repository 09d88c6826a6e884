"""resolution categories: every category a resolution answered an item of

Revision ID: d4e6f8a0b2c3
Revises: b5d9e2f4a7c1
Create Date: 2026-11-24 18:25:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4e6f8a0b2c3"
down_revision = "b5d9e2f4a7c1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "resolution_categories",
        sa.Column("resolution_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_resolution_categories_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolution_id"],
            ["resolutions.id"],
            name=op.f("fk_resolution_categories_resolution_id_resolutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resolution_id", "category_id", name=op.f("pk_resolution_categories")
        ),
    )
    op.create_index(
        "ix_resolution_categories_category_id",
        "resolution_categories",
        ["category_id", "resolution_id"],
        unique=False,
    )
    # Resolutions published before: the category each was filed under, and those of the
    # items it answered.
    op.execute(
        """
        INSERT INTO resolution_categories (resolution_id, category_id)
        SELECT id, category_id FROM resolutions WHERE category_id IS NOT NULL
        UNION
        SELECT resolution_id, category_id FROM feedback WHERE resolution_id IS NOT NULL
        """
    )


def downgrade():
    op.drop_index("ix_resolution_categories_category_id", table_name="resolution_categories")
    op.drop_table("resolution_categories")
