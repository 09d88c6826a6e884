"""edited words: when an item or comment was last edited, and the words it had before

Revision ID: f0e521713a2f
Revises: 80df18202543
Create Date: 2026-12-07 05:10:00

Issue #25: authors fix their own words until staff answer. Two nullable columns (added in
place, so the feedback table keeps its full-text triggers on SQLite) and a new table of the
replaced words, for staff.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f0e521713a2f"
down_revision = "80df18202543"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN in place on both databases: a batch rebuild of feedback would drop the
    # triggers that keep SQLite's full-text index in step.
    op.add_column("feedback", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("comments", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "text_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=160), nullable=True),
        sa.Column("body_source", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_text_versions_comment_id_comments")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_text_versions_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_versions")),
    )
    op.create_index(
        "ix_text_versions_feedback_id_comment_id",
        "text_versions",
        ["feedback_id", "comment_id"],
        unique=False,
    )
    op.create_index("ix_text_versions_comment_id", "text_versions", ["comment_id"], unique=False)


def downgrade():
    op.drop_index("ix_text_versions_comment_id", table_name="text_versions")
    op.drop_index("ix_text_versions_feedback_id_comment_id", table_name="text_versions")
    op.drop_table("text_versions")
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite 3.35+), for the same reason as upgrade: no rebuild of feedback.
        op.execute("ALTER TABLE comments DROP COLUMN edited_at")
        op.execute("ALTER TABLE feedback DROP COLUMN edited_at")
        return
    op.drop_column("comments", "edited_at")
    op.drop_column("feedback", "edited_at")
