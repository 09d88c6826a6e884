"""sessions: one row per signed-in browser, so signing out ends it on the server

Revision ID: d9a3b7e5c1f4
Revises: c8e4f1a6b2d9
Create Date: 2026-12-06 21:10:00

A session was only a signed cookie naming the user and their session version: signing out
deleted the browser's copy, and a copy taken before still opened the account (OWASP ASVS 5.0
V7.4.1). Each sign-in now makes a row here whose id the cookie carries; signing out revokes it.
Cookies signed before this revision name no row, so everyone signs in once more after it.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d9a3b7e5c1f4"
down_revision = "c8e4f1a6b2d9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("device", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(
        "ix_user_sessions_user_id_revoked_at",
        "user_sessions",
        ["user_id", "revoked_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_user_sessions_user_id_revoked_at", table_name="user_sessions")
    op.drop_table("user_sessions")
