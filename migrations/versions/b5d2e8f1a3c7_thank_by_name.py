"""users: whether a published resolution may thank them by name for what they raised

Revision ID: b5d2e8f1a3c7
Revises: b5e2c7a9d3f1
Create Date: 2026-12-06 22:45:00

Off for everyone, those already here included: being named in public is each person's choice.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5d2e8f1a3c7"
down_revision = "b5e2c7a9d3f1"
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: SQLite adds a column with a constant default in place, where a batch
    # would rebuild the table and lose the expression index on lower(email), which cannot be
    # reflected.
    op.add_column(
        "users",
        sa.Column("thank_by_name", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("thank_by_name")
    # SQLite rebuilds the table to drop a column, and the rebuild cannot carry the expression
    # index on lower(email) (it cannot be reflected): put it back.
    indexes = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("users")}
    if "uq_users_email_lower" not in indexes:
        op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
