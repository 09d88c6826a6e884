"""full-text search: SQLite FTS5 table kept by triggers, PostgreSQL generated tsvector + GIN

Revision ID: c3f1a9d27e55
Revises: ba8e566800b9
Create Date: 2026-11-24 00:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3f1a9d27e55'
down_revision = 'ba8e566800b9'
branch_labels = None
depends_on = None

# Title and body are indexed as separate columns so a title match can rank above a body match.
SQLITE_UP = [
    """
    CREATE VIRTUAL TABLE feedback_fts USING fts5(
        title, body_source,
        content='feedback', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    # Only changes to the indexed text touch the index (a vote must not re-index an item).
    """
    CREATE TRIGGER feedback_fts_after_insert AFTER INSERT ON feedback BEGIN
        INSERT INTO feedback_fts(rowid, title, body_source)
        VALUES (new.id, new.title, new.body_source);
    END
    """,
    """
    CREATE TRIGGER feedback_fts_after_delete AFTER DELETE ON feedback BEGIN
        INSERT INTO feedback_fts(feedback_fts, rowid, title, body_source)
        VALUES ('delete', old.id, old.title, old.body_source);
    END
    """,
    """
    CREATE TRIGGER feedback_fts_after_update AFTER UPDATE OF title, body_source ON feedback BEGIN
        INSERT INTO feedback_fts(feedback_fts, rowid, title, body_source)
        VALUES ('delete', old.id, old.title, old.body_source);
        INSERT INTO feedback_fts(rowid, title, body_source)
        VALUES (new.id, new.title, new.body_source);
    END
    """,
    "INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS feedback_fts_after_update",
    "DROP TRIGGER IF EXISTS feedback_fts_after_delete",
    "DROP TRIGGER IF EXISTS feedback_fts_after_insert",
    "DROP TABLE IF EXISTS feedback_fts",
]

POSTGRES_UP = [
    """
    ALTER TABLE feedback ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(body_source, '')), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_feedback_search_vector ON feedback USING gin (search_vector)",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_feedback_search_vector",
    "ALTER TABLE feedback DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(POSTGRES_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWN)
