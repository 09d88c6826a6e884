"""SQLite writers queue for the write lock by asking again every millisecond or so: a writer
starts when the one before it ends, and gives up with an error after the busy timeout.

The mechanism belongs to SQLite engines (portal.database.configure_engine), so these tests
build their own SQLite engine in a temporary folder, whichever database the suite runs on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from portal import database
from portal.database import configure_engine, sqlite_write_intent


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    configure_engine(engine)
    token = sqlite_write_intent.set(True)
    yield engine
    sqlite_write_intent.reset(token)
    engine.dispose()


def _other_writer(engine: sa.Engine, outcome: dict[str, object]) -> threading.Thread:
    """Start a write transaction in another thread; outcome gets its wait or its error."""

    def write() -> None:
        started = time.monotonic()
        with engine.connect() as connection:
            try:
                connection.begin()  # BEGIN IMMEDIATE: a new thread writes by default
            except OperationalError as exc:
                outcome["error"] = str(exc)
                outcome["gave_up_after"] = time.monotonic() - started
                return
            outcome["waited"] = time.monotonic() - started
            outcome["busy_timeout"] = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.rollback()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_writer_starts_when_the_one_before_it_commits(engine: sa.Engine) -> None:
    with engine.connect() as holder:
        holder.begin()  # holds the write lock
        outcome: dict[str, object] = {}
        thread = _other_writer(engine, outcome)
        time.sleep(0.3)
        assert thread.is_alive(), "the other writer must wait while the lock is held"
        holder.commit()
        thread.join(timeout=5)
    assert "error" not in outcome
    assert 0.25 <= outcome["waited"] < 5  # type: ignore[operator]
    # Only BEGIN is retried in short steps; other statements keep SQLite's normal wait.
    assert outcome["busy_timeout"] == database.SQLITE_BUSY_TIMEOUT_MS


def test_a_writer_gives_up_with_an_error_after_the_busy_timeout(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    with engine.connect() as holder:
        holder.begin()
        outcome: dict[str, object] = {}
        thread = _other_writer(engine, outcome)
        thread.join(timeout=5)
        assert not thread.is_alive()
        holder.rollback()
    assert "database is locked" in str(outcome.get("error"))
    # One busy timeout (0.2 s here), not a second one on top.
    assert 0.2 <= outcome["gave_up_after"] < 0.4  # type: ignore[operator]


def test_after_giving_up_the_next_write_works(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    with engine.connect() as holder:
        holder.begin()
        outcome: dict[str, object] = {}
        _other_writer(engine, outcome).join(timeout=5)
        holder.commit()
    assert "database is locked" in str(outcome.get("error"))
    again: dict[str, object] = {}
    _other_writer(engine, again).join(timeout=5)
    assert "error" not in again and again["busy_timeout"] == 100
