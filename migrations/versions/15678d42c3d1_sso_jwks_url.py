"""sso_settings.jwks_url: single sign-on may check tokens with the organisation's key set

Revision ID: 15678d42c3d1
Revises: 9c0b9b8039f7
Create Date: 2026-12-07 08:20:00

The organisation publishes its public keys at a URL (a JWKS); a token's `kid` names the key.
One nullable column: the existing row (a secret or a pasted key) is unchanged.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "15678d42c3d1"
down_revision = "9c0b9b8039f7"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sso_settings", sa.Column("jwks_url", sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table("sso_settings") as batch_op:
        batch_op.drop_column("jwks_url")
