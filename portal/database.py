"""Engine set-up per database: SQLite pragmas and write transactions that lock at their start."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

from portal.extensions import db
from portal.services.wording import t

F = TypeVar("F", bound=Callable[..., Any])
# db.session is a scoped_session of Flask-SQLAlchemy's own Session class, and scoped_session is
# invariant in the class it makes: the functions below take a scoped session of any of them.
S = TypeVar("S", bound=Session)

# Whether the next SQLite transaction should take the write lock at BEGIN. Requests that only
# read (GET, HEAD) turn it off so readers never queue behind writers; everything else, the CLI
# and the tests keep the safe default.
sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Each connection's page cache, in KiB (SQLite's default is 2 MiB). The Atom feed of a board
# of a million items reads about 1,400 pages of 4 KiB: with 2 MiB it read most of them again
# from the file on every request (1.31x the CPU of a thousand items), with 8 MiB 1.23x. Four
# connections per worker (gunicorn's threads) may add up to 24 MiB to a worker that reads that
# much; the pages are the same file's, so a smaller board never fills it.
SQLITE_CACHE_KIB = 8192
# Connection.info key: whether the connection's current SQLite transaction holds the write lock.
SQLITE_WRITER_KEY = "portal.sqlite_writer"
# Connection.info key: the connection's count of changed rows when its reader began.
SQLITE_READER_CHANGES_KEY = "portal.sqlite_reader_changes"
# How long a writer waits before asking SQLite's write lock again, at most (jittered).
WRITE_LOCK_RETRY_SECONDS = 0.001


def reads_first(view: F) -> F:
    """Mark a view whose request reads before it writes, and writes briefly: on SQLite it
    begins as a reader and takes the write lock only when its service calls begin_write(),
    so loading the person and the item does not hold every other writer up."""
    view.reads_first = True  # type: ignore[attr-defined]
    return view


def begin_write(session: Session | scoped_session[S]) -> sa.Connection:
    """Make the session's transaction a writer from here on, and return its connection.

    On SQLite, a transaction begun as a reader (see reads_first) cannot safely turn into a
    writer: if another writer committed since its first read, SQLite refuses at once. So the
    reading transaction ends here and a write transaction takes its place, under the same
    SQLAlchemy transaction; what the session loaded stays loaded. The writes that follow must
    hold whatever they rely on in their own statements, since the lock was not held while it
    was read. A reader that has already changed rows holds the write lock (SQLite took it at
    that change), so it simply goes on. On PostgreSQL it only returns the connection."""
    if session.get_bind().dialect.name != "sqlite":
        return session.connection()
    intent = sqlite_write_intent.set(True)
    try:
        connection = session.connection()  # a transaction begun here begins as a writer
    finally:
        sqlite_write_intent.reset(intent)
    if connection.info.get(SQLITE_WRITER_KEY, True):
        return connection
    if _plain(session).in_nested_transaction():
        # Ending the reader would end the savepoint with it.
        raise RuntimeError("begin_write() cannot come inside a savepoint")
    if _pysqlite(connection).total_changes == connection.info.get(SQLITE_READER_CHANGES_KEY):
        _driver_execute(connection, "COMMIT")  # it only read: nothing is kept by this
        _take_write_lock(connection)
    connection.info[SQLITE_WRITER_KEY] = True
    return connection


def commit_keeping_loaded(session: Session | scoped_session[S]) -> None:
    """Commit without expiring what the session loaded, for a response rendered after the
    commit from values this transaction read or wrote (no second round of SELECTs, and no
    lock held while it renders)."""
    target = _plain(session)
    previous = target.expire_on_commit
    target.expire_on_commit = False
    try:
        target.commit()
    finally:
        target.expire_on_commit = previous


def only_read(session: Session | scoped_session[S]) -> bool:
    """Whether the session's transaction has only read: on SQLite, a transaction begun as a
    reader whose connection changed no rows, with nothing waiting to be flushed and no work
    waiting for its commit. Not known cheaply on PostgreSQL: False there."""
    from portal.services.events import AFTER_COMMIT_KEY  # events imports the models

    target = _plain(session)
    if target.new or target.dirty or target.deleted or target.info.get(AFTER_COMMIT_KEY):
        return False
    if not target.in_transaction():
        return True  # it never went to the database: nothing to commit, no connection to open
    connection = target.connection()
    if connection.dialect.name != "sqlite" or connection.info.get(SQLITE_WRITER_KEY, True):
        return False
    changes = connection.info.get(SQLITE_READER_CHANGES_KEY)
    return bool(_pysqlite(connection).total_changes == changes)


def rows_changed(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through the session changed. The session types
    what it returns as a plain Result; for these statements it is the driver's CursorResult."""
    return cast(sa.CursorResult[Any], result).rowcount


def _plain(session: Session | scoped_session[S]) -> Session:
    """The request's Session itself, behind Flask-SQLAlchemy's scoped proxy."""
    return session() if isinstance(session, scoped_session) else session


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
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        writer = sqlite_write_intent.get()
        # Kept on the connection, so begin_write() knows what this transaction may do and
        # whether it has changed anything yet.
        connection.info[SQLITE_WRITER_KEY] = writer
        if writer:
            _take_write_lock(connection)
        else:
            connection.info[SQLITE_READER_CHANGES_KEY] = _pysqlite(connection).total_changes
            # Straight to the driver: every page begins this way, and a plain BEGIN cannot be
            # busy (a deferred transaction takes no lock until it reads).
            _driver_execute(connection, "BEGIN")


def _driver_execute(connection: sa.Connection, statement: str) -> None:
    """Run transaction control on the driver's connection; a failure arrives as SQLAlchemy's
    error (a locked or broken database becomes the 503 page), and the connection is dropped."""
    try:
        _pysqlite(connection).execute(statement)
    except sqlite3.Error as exc:
        connection.invalidate()
        raise sa.exc.DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc


def _take_write_lock(connection: sa.Connection) -> None:
    """BEGIN IMMEDIATE on this connection, promptly (see _begin_immediate_promptly)."""
    dbapi_connection = _pysqlite(connection)
    try:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")
        if not _begin_immediate_promptly(dbapi_connection):
            # Still busy after the whole wait, or another error: asked once more through
            # SQLAlchemy, without waiting, so the error arrives wrapped (a locked database
            # becomes the 503 page) after one busy timeout, not two.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    except BaseException:
        # Its busy timeout may still be 0: the connection is not reused.
        connection.invalidate()
        raise


BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _pysqlite(connection: sa.Connection) -> sqlite3.Connection:
    """The driver's own connection under a checked-out SQLite connection, for what the DB-API
    protocol SQLAlchemy types it with does not name (total_changes, execute)."""
    return cast(sqlite3.Connection, connection.connection.dbapi_connection)


def _begin_immediate_promptly(dbapi_connection: sqlite3.Connection) -> bool:
    """Take SQLite's write lock, asking again every millisecond or so while it is held.

    SQLite's own busy handler waits in growing naps (up to 100 ms): under a rush of votes the
    lock sat idle between writers while the waiting ones slept, and a vote waited a second.
    Short, jittered retries hand the lock on within a millisecond and share it fairly between
    the app's processes. False when it is still held after the busy timeout, or on any other
    error (the caller asks again and lets that error surface)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.Error as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in BUSY_CODES
            if not busy or time.monotonic() >= deadline:
                return False
        time.sleep(random.uniform(0.1, 1.0) * WRITE_LOCK_RETRY_SECONDS)


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
    executor: Session | scoped_session[S] | sa.Connection, model: type[Any], **values: Any
) -> bool:
    """INSERT a row unless one with the same unique key exists (ON CONFLICT DO NOTHING, on
    either database); True when it was inserted. One statement, where a savepoint around an
    INSERT that may fail costs three, and a racing duplicate is simply not inserted."""
    if isinstance(executor, sa.Connection):
        dialect = executor.dialect.name
    else:
        dialect = executor.get_bind().dialect.name
    statement = _insert_ignoring_conflicts(dialect, model.__table__)
    return executor.execute(statement, values).scalar_one_or_none() is not None


@lru_cache(maxsize=16)
def _insert_ignoring_conflicts(dialect: str, table: sa.Table) -> Any:
    # Built once per table (a vote runs one); the columns come from the parameters given.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary_key = next(iter(table.primary_key.columns))
    # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT that returns its key, so
    # a conflict looked like an insert there.
    return insert(table).on_conflict_do_nothing().returning(primary_key)


# PostgreSQL's deadlock_detected and serialization_failure.
_CROSSED_SQLSTATES = frozenset({"40P01", "40001"})
CROSSED_MESSAGE = t(
    "Someone changed this at the same moment, so nothing you sent was saved. "
    "Please look at the page again and retry."
)


def crossed_another_change(error: BaseException) -> bool:
    """Whether the database stopped this transaction because it and another one each waited
    for the other (two people merging two items into each other): not an outage, and safe to
    retry, so the answer is a 409 that says so rather than "unavailable"."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in _CROSSED_SQLSTATES


def not_indexed(column: Any) -> sa.ColumnElement[Any]:
    """A Feedback column for a WHERE term, written so SQLite cannot use an index for it (a
    unary plus, SQLite's documented way), for when another index must drive the query: the
    full-text index beside a search, the category index beside a category filter. Without
    statistics SQLite would otherwise walk a board index and probe the full-text index (or
    read the row) once per item: seconds at 100,000 items. PostgreSQL plans from its
    statistics and gets the column as it is."""
    if db.engine.dialect.name != "sqlite":
        return column  # type: ignore[no-any-return]
    expression = column.expression
    return sa.type_coerce(
        sa.literal_column(f"+{expression.table.name}.{expression.name}"), expression.type
    )
