"""The floors' database access: one SQLAlchemy Core engine on the bench's DATABASE_URL, set
up as the portal sets up its own connections, and nothing else.

The floors (page_floor_app.py, write_floor_app.py) say what a page or a signed-in write costs
on this stack when the code does only the job itself; they read the database the portal is
served from, so both sides see the same rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

# What the portal's own connections set on SQLite (portal/database.py), so the floors wait and
# write the same way: a busy timeout, the write-ahead log, synchronous=NORMAL.
SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
)


def engine_url(raw: str) -> str:
    """DATABASE_URL as SQLAlchemy wants it (postgresql:// means psycopg 3, as in the portal)."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def make_engine() -> sa.Engine:
    """The engine for DATABASE_URL: no pre-ping, and on SQLite the portal's PRAGMAs with
    transactions begun by us (BEGIN IMMEDIATE for the write, as the portal's writers do)."""
    url = engine_url(os.environ["DATABASE_URL"])
    engine = sa.create_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
            dbapi_connection.isolation_level = None
            for pragma in SQLITE_PRAGMAS:
                dbapi_connection.execute(pragma)

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: sa.Connection) -> None:
            immediate = connection.get_execution_options().get("write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def aware(value: datetime | str | None) -> datetime | None:
    """A stored datetime as an aware UTC one (SQLite hands back naive ones or strings)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
