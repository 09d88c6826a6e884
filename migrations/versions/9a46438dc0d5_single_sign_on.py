"""sso_settings and sso_token_uses: single sign-on from the organisation's own site

Revision ID: 9a46438dc0d5
Revises: 088f32fc0ae7
Create Date: 2026-12-07 06:40:00

One settings row (the algorithm and the key that checks the organisation's tokens), and each
used token's jti kept until it expires, so a token signs in once.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9a46438dc0d5"
down_revision = "088f32fc0ae7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sso_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_settings")),
    )
    op.create_table(
        "sso_token_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_token_uses")),
        sa.UniqueConstraint("jti", name=op.f("uq_sso_token_uses_jti")),
    )
    op.create_index(
        op.f("ix_sso_token_uses_expires_at"), "sso_token_uses", ["expires_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_sso_token_uses_expires_at"), table_name="sso_token_uses")
    op.drop_table("sso_token_uses")
    op.drop_table("sso_settings")
