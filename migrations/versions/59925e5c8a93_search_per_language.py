"""search per language: PostgreSQL's tsvector uses the item's language's configuration

Revision ID: 59925e5c8a93
Revises: 5b74934785d3
Create Date: 2026-12-07 09:05:00

An item in Spanish is stemmed as Spanish ("quejas" and "queja" are one word), in German as
German, in French as French, in English as English; Arabic (PostgreSQL has no Arabic stemmer)
and items of unknown language word for word ('simple'). The generated column is rebuilt from
feedback.language, so an edit that changes an item's language re-indexes it. Existing items
keep the language they recorded (the page's they wrote on), and NULL stays unknown.

SQLite is unchanged: FTS5's unicode61 tokenizer already folds accents in every language.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '59925e5c8a93'
down_revision = '5b74934785d3'
branch_labels = None
depends_on = None

# Immutable, as a generated column needs: each branch is a constant regconfig. "de-AT" and
# "de_AT" count as German. Keep in step with portal/services/languages.SEARCH_CONFIGURATIONS.
CONFIGURATION = """
    CASE split_part(replace(lower(coalesce(language, '')), '_', '-'), '-', 1)
        WHEN 'en' THEN 'english'::regconfig
        WHEN 'es' THEN 'spanish'::regconfig
        WHEN 'de' THEN 'german'::regconfig
        WHEN 'fr' THEN 'french'::regconfig
        ELSE 'simple'::regconfig
    END
"""


def _vector(configuration):
    return f"""
    ALTER TABLE feedback ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector({configuration}, coalesce(title, '')), 'A') ||
        setweight(to_tsvector({configuration}, coalesce(body_source, '')), 'B')
    ) STORED
    """


def _rebuild(configuration):
    op.execute("DROP INDEX IF EXISTS ix_feedback_search_vector")
    op.execute("ALTER TABLE feedback DROP COLUMN IF EXISTS search_vector")
    op.execute(_vector(configuration))
    op.execute("CREATE INDEX ix_feedback_search_vector ON feedback USING gin (search_vector)")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(CONFIGURATION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _rebuild("'english'::regconfig")
