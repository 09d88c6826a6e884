"""SQLite writers queue for the write lock by asking again every millisecond or so: a writer
starts when the one before it ends, and gives up with an error after the busy timeout."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import OperationalError

from portal import database
from portal.database import sqlite_write_intent
from portal.extensions import db


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write-lock queue is SQLite's; PostgreSQL locks rows")


def _other_writer(app: Flask, outcome: dict[str, object]) -> threading.Thread:
    """Start a write transaction in another thread; outcome gets its wait or its error."""

    def write() -> None:
        with app.app_context():
            started = time.monotonic()
            try:
                db.session.execute(sa.select(1))  # BEGIN IMMEDIATE
            except OperationalError as exc:
                outcome["error"] = str(exc)
                outcome["gave_up_after"] = time.monotonic() - started
            else:
                outcome["waited"] = time.monotonic() - started
                outcome["busy_timeout"] = db.session.execute(
                    sa.text("PRAGMA busy_timeout")
                ).scalar_one()
            finally:
                db.session.rollback()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_writer_starts_when_the_one_before_it_commits(app: Flask) -> None:
    token = sqlite_write_intent.set(True)
    try:
        db.session.execute(sa.select(1))  # this test now holds the write lock
        outcome: dict[str, object] = {}
        thread = _other_writer(app, outcome)
        time.sleep(0.3)
        assert thread.is_alive(), "the other writer must wait while the lock is held"
        db.session.commit()
        thread.join(timeout=5)
    finally:
        sqlite_write_intent.reset(token)
    assert "error" not in outcome
    assert 0.25 <= outcome["waited"] < 5  # type: ignore[operator]
    # Only BEGIN is retried in short steps; other statements keep SQLite's normal wait.
    assert outcome["busy_timeout"] == database.SQLITE_BUSY_TIMEOUT_MS


def test_a_writer_gives_up_with_an_error_after_the_busy_timeout(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    token = sqlite_write_intent.set(True)
    try:
        db.session.execute(sa.select(1))
        outcome: dict[str, object] = {}
        thread = _other_writer(app, outcome)
        thread.join(timeout=5)
        assert not thread.is_alive()
        db.session.rollback()
    finally:
        sqlite_write_intent.reset(token)
        # Connections opened meanwhile carry the shortened timeout: close them.
        db.engine.dispose()
    assert "database is locked" in str(outcome.get("error"))
    # One busy timeout (0.2 s here), not a second one on top.
    assert 0.2 <= outcome["gave_up_after"] < 0.4  # type: ignore[operator]


def test_after_giving_up_the_next_write_works(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    token = sqlite_write_intent.set(True)
    try:
        db.session.execute(sa.select(1))
        outcome: dict[str, object] = {}
        _other_writer(app, outcome).join(timeout=5)
        db.session.commit()
        assert "database is locked" in str(outcome.get("error"))
        again: dict[str, object] = {}
        _other_writer(app, again).join(timeout=5)
    finally:
        sqlite_write_intent.reset(token)
        db.engine.dispose()
    assert "error" not in again and again["busy_timeout"] == 100
