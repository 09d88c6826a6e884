"""search per language: PostgreSQL's tsvector uses the item's language's configuration

Revision ID: 59925e5c8a93
Revises: 5b74934785d3
Create Date: 2026-12-07 09:05:00

An item in Spanish is stemmed as Spanish ("quejas" and "queja" are one word), in German as
German, in French as French, in English as English; Arabic (PostgreSQL has no Arabic stemmer)
and items of unknown language word for word ('simple'). The generated column is rebuilt from
feedback.language, so an edit that changes an item's language re-indexes it. Existing items
keep the language they recorded (the page's they wrote on), and NULL stays unknown.

Each configuration is PostgreSQL's own with accents folded first (the unaccent extension, a
trusted one: the database's owner may create it), so "llego" finds "llegó" and "laisse"
finds "laissé", as they do on SQLite.

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
        WHEN 'en' THEN 'portal_english'::regconfig
        WHEN 'es' THEN 'portal_spanish'::regconfig
        WHEN 'de' THEN 'portal_german'::regconfig
        WHEN 'fr' THEN 'portal_french'::regconfig
        ELSE 'portal_simple'::regconfig
    END
"""
# Our configuration, the one it copies, and the dictionary after unaccent for words.
CONFIGURATIONS = {
    "portal_english": ("english", "english_stem"),
    "portal_spanish": ("spanish", "spanish_stem"),
    "portal_german": ("german", "german_stem"),
    "portal_french": ("french", "french_stem"),
    "portal_simple": ("simple", "simple"),
}
WORDS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _create_configurations():
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    for name, (base, dictionary) in CONFIGURATIONS.items():
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {base})")
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {name} "
            f"ALTER MAPPING FOR {WORDS} WITH unaccent, {dictionary}"
        )


def _drop_configurations():
    for name in CONFIGURATIONS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")


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
        _create_configurations()
        _rebuild(CONFIGURATION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _rebuild("'english'::regconfig")
        # The unaccent extension stays: something else may use it.
        _drop_configurations()
