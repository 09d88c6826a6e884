"""languages: each person's, each item's and each digest's, and the site's default

Revision ID: e2f4a6c8b0d1
Revises: d9a3b7e5c1f4
Create Date: 2026-12-06 23:10:00

Pages and emails speak to a person in the language they chose (users.language), digests in the
one chosen when subscribing, and visitors whose browser names no offered language in the
site's default. An item records the language it was written in, so a customer's words are
shown as written. Existing rows have no language (None): their readers get the usual order.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2f4a6c8b0d1"
down_revision = "d9a3b7e5c1f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("site_settings") as batch_op:
        batch_op.add_column(
            sa.Column("default_language", sa.String(length=16), nullable=False, server_default="en")
        )
    for table in ("users", "feedback", "digest_subscriptions"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite >= 3.35 has it), not a batch rebuild: rebuilding these tables
    # would lose the expression indexes on lower(email) and the search triggers on feedback.
    for table in ("digest_subscriptions", "feedback", "users"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN language")
    op.execute("ALTER TABLE site_settings DROP COLUMN default_language")
