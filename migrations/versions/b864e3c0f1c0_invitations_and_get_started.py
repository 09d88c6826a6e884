"""invitations, and when the "Get started" checklist was put away

Revision ID: b864e3c0f1c0
Revises: c4d8e2a6f0b3
Create Date: 2026-12-07 05:10:00

Schema only: the first category ("General") is added by `create-admin`, never here, so
`import-data` into a freshly migrated database finds every table empty.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b864e3c0f1c0"
down_revision = "c4d8e2a6f0b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column(
            "role",
            sa.Enum("customer", "staff", "admin", name="role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"], name=op.f("fk_invitations_invited_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"], name=op.f("fk_invitations_accepted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_email"), "invitations", ["email"], unique=False)
    # A nullable column without a reference: a plain ADD COLUMN on SQLite too.
    op.add_column(
        "site_settings",
        sa.Column("get_started_dismissed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_column("get_started_dismissed_at")
    op.drop_index(op.f("ix_invitations_email"), table_name="invitations")
    op.drop_table("invitations")
