"""Engine set-up per database: SQLite pragmas and write transactions that lock at their start."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Whether the next SQLite transaction should take the write lock at BEGIN. Requests that only
# read (GET, HEAD) turn it off so readers never queue behind writers; everything else, the CLI
# and the tests keep the safe default.
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def configure_engine(engine: Engine) -> None:
    """Attach the per-dialect connection set-up to a freshly created engine."""
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    # SQLAlchemy's documented pysqlite recipe: turn off the driver's own transaction handling,
    # then emit BEGIN ourselves, IMMEDIATE for writers, so concurrent writers wait on the busy
    # timeout instead of failing later with "database is locked".
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")


# Objects the database has but the models do not describe: the full-text index (an FTS5 table
# and its shadow tables on SQLite, a generated tsvector column on PostgreSQL). Alembic's
# autogenerate and the models-versus-migrations test leave them alone.
SEARCH_INDEX_TABLE_PREFIX = "feedback_fts"
SEARCH_INDEX_COLUMN = "search_vector"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic include_object hook: skip the full-text index objects."""
    if type_ == "table" and name and name.startswith(SEARCH_INDEX_TABLE_PREFIX):
        return False
    if type_ == "column" and name == SEARCH_INDEX_COLUMN:
        return False
    return not (type_ == "index" and name == "ix_feedback_search_vector")
