"""follows: whether the follow came with a vote, so taking the vote back ends it

Revision ID: a7c9e1b3d5f2
Revises: d4e6f8a0b2c3
Create Date: 2026-11-24 20:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c9e1b3d5f2"
down_revision = "d4e6f8a0b2c3"
branch_labels = None
depends_on = None


def upgrade():
    # Follows from before are kept as chosen: which of them came with a vote is not known, and
    # ending one the person wanted would be worse than keeping one they did not.
    with op.batch_alter_table("follows") as batch:
        batch.add_column(
            sa.Column("because_of_vote", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("because_of_vote")
