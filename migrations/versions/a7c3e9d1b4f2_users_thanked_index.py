"""users thanked index: the few who may be thanked by name, without a scan of every account

Revision ID: a7c3e9d1b4f2
Revises: b7d3e9f1a2c4
Create Date: 2026-12-07 12:05:00

Every "You said, we did" page (resolutions.thanks_for) looks up who chose to be thanked by
name; without an index each of its four lookups read every account (0.7 ms of a 5 ms page
at 3,000 accounts, and growing with them). A partial index holds only those people.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3e9d1b4f2'
down_revision = 'b7d3e9f1a2c4'
branch_labels = None
depends_on = None

# As portal/models/user.py writes them (the query's own terms, which SQLite needs to match).
THANKED_SQLITE = sa.text("thank_by_name IS 1 AND active IS 1 AND deleted_at IS NULL")
THANKED_POSTGRESQL = sa.text("thank_by_name IS true AND active IS true AND deleted_at IS NULL")


def upgrade():
    op.create_index(
        'ix_users_thanked',
        'users',
        ['id'],
        unique=False,
        sqlite_where=THANKED_SQLITE,
        postgresql_where=THANKED_POSTGRESQL,
    )


def downgrade():
    op.drop_index('ix_users_thanked', table_name='users')
