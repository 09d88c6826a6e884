"""timeline_events: who looks after the item now, on an owner_changed step

Revision ID: c4d8e2a6f0b3
Revises: f6b2d8a4c1e9
Create Date: 2026-12-07 02:40:00

The step's sentence ("Sam is looking after this now") was stored in English; the page now says
it in the reader's language from the new owner, and `message` holds only the reason given.
Earlier steps keep their stored sentence (their new owner is not known to the database).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d8e2a6f0b3"
down_revision = "f6b2d8a4c1e9"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in place; alembic's add_column would skip
        # the reference there, and a batch rebuild is not needed for a nullable column.
        op.execute(
            "ALTER TABLE timeline_events ADD COLUMN new_owner_id INTEGER REFERENCES users (id)"
        )
        return
    op.add_column("timeline_events", sa.Column("new_owner_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_timeline_events_new_owner_id_users",
        "timeline_events",
        "users",
        ["new_owner_id"],
        ["id"],
    )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that references another table: rebuild the table (it has
        # no expression index or trigger a rebuild would lose).
        with op.batch_alter_table("timeline_events") as batch:
            batch.drop_column("new_owner_id")
        return
    op.drop_constraint("fk_timeline_events_new_owner_id_users", "timeline_events", "foreignkey")
    op.drop_column("timeline_events", "new_owner_id")
