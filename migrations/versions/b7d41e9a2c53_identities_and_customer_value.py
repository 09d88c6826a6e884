"""identities and identity_providers; sign-in policy; customers' plan, value and segment

Revision ID: b7d41e9a2c53
Revises: 9a46438dc0d5
Create Date: 2026-12-07 08:10:00

Ways in from outside: the providers an admin sets up, and each account's linked identities
(issuer + subject, unique). Staff weigh feedback by the customer's value: three nullable
columns on users, filled by the admin pages, the API or single sign-on's claims. The site's
sign-in policy: a provider staff must use, and whether customers may use passwords.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d41e9a2c53"
down_revision = "9a46438dc0d5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("discovery_url", sa.String(length=500), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.String(length=500), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        sa.UniqueConstraint("key", name=op.f("uq_identity_providers_key")),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider_key", sa.String(length=40), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_identities_issuer")),
    )
    op.create_index(op.f("ix_identities_user_id"), "identities", ["user_id"], unique=False)
    # Plain ADD COLUMN (nullable, no default) on every database: no table rebuild.
    op.add_column("users", sa.Column("plan", sa.String(length=80), nullable=True))
    op.add_column("users", sa.Column("monthly_value_cents", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("segment", sa.String(length=80), nullable=True))
    op.add_column(
        "site_settings",
        sa.Column("staff_identity_provider", sa.String(length=40), nullable=True),
    )
    op.add_column(
        "site_settings",
        sa.Column("customer_passwords", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade():
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_column("customer_passwords")
        batch.drop_column("staff_identity_provider")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("segment")
        batch.drop_column("monthly_value_cents")
        batch.drop_column("plan")
    op.drop_index(op.f("ix_identities_user_id"), table_name="identities")
    op.drop_table("identities")
    op.drop_table("identity_providers")
