"""Engine set-up per database: SQLite pragmas and write transactions that lock at their start."""

from __future__ import annotations

import random
import sqlite3
import time
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

# Whether the next SQLite transaction should take the write lock at BEGIN. Requests that only
# read (GET, HEAD) turn it off so readers never queue behind writers; everything else, the CLI
# and the tests keep the safe default.
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a writer waits before asking SQLite's write lock again, at most (jittered).
WRITE_LOCK_RETRY_SECONDS = 0.001


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
        if not sqlite_write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        if not _begin_immediate_promptly(connection.connection.dbapi_connection):
            # Still busy after the whole wait: SQLite waits once more and reports the error.
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_immediate_promptly(dbapi_connection: Any) -> bool:
    """Take SQLite's write lock, asking again every millisecond or so while it is held.

    SQLite's own busy handler waits in growing naps (up to 100 ms): under a rush of votes the
    lock sat idle between writers while the waiting ones slept, and a vote waited a second.
    Short, jittered retries hand the lock on within a millisecond and share it fairly between
    the app's processes. False when it is still held after the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    return False
            time.sleep(random.uniform(0.1, 1.0) * WRITE_LOCK_RETRY_SECONDS)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


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


def insert_if_absent(
    session: Session | scoped_session[Session], model: type[Any], **values: Any
) -> bool:
    """INSERT a row unless one with the same unique key exists (ON CONFLICT DO NOTHING, on
    either database); True when it was inserted. One statement, where a savepoint around an
    INSERT that may fail costs three, and a racing duplicate is simply not inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing()
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]
