"""SQLite writers queue for the write lock by asking again every millisecond or so: a writer
starts when the one before it ends, and gives up with an error after the busy timeout. A
request that reads first takes the lock only when it starts to write.

The mechanism belongs to SQLite engines (portal.database.configure_engine), so these tests
build their own SQLite engine in a temporary folder, whichever database the suite runs on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from portal import database
from portal.database import configure_engine, sqlite_write_intent
from portal.extensions import db


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


def _writer_while_the_lock_is_held(engine: sa.Engine) -> dict[str, object]:
    """Another writer's whole attempt (its wait or its error) while this test holds the
    write lock throughout."""
    with engine.connect() as holder:
        holder.begin()
        outcome: dict[str, object] = {}
        thread = _other_writer(engine, outcome)
        thread.join(timeout=5)
        assert not thread.is_alive()
        holder.rollback()
    return outcome


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
    outcome = _writer_while_the_lock_is_held(engine)
    assert "database is locked" in str(outcome.get("error"))
    # One busy timeout (0.2 s here), not a second one on top.
    assert 0.2 <= outcome["gave_up_after"] < 0.4  # type: ignore[operator]


def test_after_giving_up_the_next_write_works(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    outcome = _writer_while_the_lock_is_held(engine)
    assert "database is locked" in str(outcome.get("error"))
    again: dict[str, object] = {}
    _other_writer(engine, again).join(timeout=5)
    assert "error" not in again and again["busy_timeout"] == 100


# A request that reads first (portal.database.reads_first) -----------------------------------


class _Base(DeclarativeBase):
    pass


class _Counter(_Base):
    __tablename__ = "counters"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int]


@pytest.fixture
def counter_session(engine: sa.Engine) -> Iterator[Session]:
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(_Counter(id=1, value=0))
        session.commit()
    token = sqlite_write_intent.set(False)  # as a reads_first request begins
    with Session(engine) as session:
        yield session
    sqlite_write_intent.reset(token)


def _bump_elsewhere(engine: sa.Engine) -> None:
    """Another request's write, committed while ours still reads."""
    token = sqlite_write_intent.set(True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.update(_Counter).values(value=_Counter.value + 1))
    finally:
        sqlite_write_intent.reset(token)


def test_a_reader_becomes_a_writer_even_after_another_writer_committed(
    engine: sa.Engine, counter_session: Session
) -> None:
    counter = counter_session.get(_Counter, 1)  # our read begins a deferred transaction
    assert counter is not None
    _bump_elsewhere(engine)
    # Writing from the reader's snapshot is what SQLite refuses at once ("database is
    # locked", SQLITE_BUSY_SNAPSHOT); begin_write swaps the reader for a writer instead.
    with pytest.raises(OperationalError, match="locked"):
        counter_session.execute(sa.update(_Counter).values(value=_Counter.value + 10))
    counter_session.rollback()

    counter = counter_session.get(_Counter, 1)
    _bump_elsewhere(engine)
    connection = database.begin_write(counter_session)
    connection.execute(sa.update(_Counter).values(value=_Counter.value + 10))
    counter_session.commit()
    assert counter_session.scalar(sa.select(_Counter.value)) == 12  # both bumps and ours


def test_begin_write_holds_the_lock_until_the_commit(
    engine: sa.Engine, counter_session: Session
) -> None:
    counter_session.get(_Counter, 1)
    database.begin_write(counter_session)
    outcome: dict[str, object] = {}
    thread = _other_writer(engine, outcome)
    time.sleep(0.2)
    assert thread.is_alive(), "another writer must wait for our commit"
    counter_session.commit()
    thread.join(timeout=5)
    assert "error" not in outcome


@pytest.mark.parametrize("flushed", [False, True], ids=["pending", "flushed"])
def test_a_change_made_before_begin_write_is_not_committed_by_it(
    counter_session: Session, flushed: bool
) -> None:
    """Ending the reader must never commit half a request: a change already flushed means
    SQLite took the write lock then, and the transaction goes on as it is."""
    counter = counter_session.get(_Counter, 1)
    assert counter is not None
    counter.value = 5
    if flushed:
        counter_session.flush()
    database.begin_write(counter_session)
    counter_session.rollback()
    assert counter_session.scalar(sa.select(_Counter.value)) == 0


def test_begin_write_refuses_to_come_inside_a_savepoint(counter_session: Session) -> None:
    counter_session.get(_Counter, 1)
    with counter_session.begin_nested(), pytest.raises(RuntimeError, match="savepoint"):
        database.begin_write(counter_session)


def test_commit_keeping_loaded_reads_nothing_again(
    engine: sa.Engine, counter_session: Session
) -> None:
    counter = counter_session.get(_Counter, 1)
    assert counter is not None
    database.begin_write(counter_session)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    database.commit_keeping_loaded(counter_session)
    assert counter.value == 0 and statements == []
    assert counter_session.expire_on_commit, "only that one commit keeps what was loaded"


def test_each_sqlite_connection_keeps_8_mib_of_pages(engine: sa.Engine) -> None:
    """SQLite's default page cache (2 MiB) made a large board's feed read its pages from the
    file again on every request; every connection the portal opens keeps 8 MiB."""
    token = sqlite_write_intent.set(False)  # two readers at once: neither takes the lock
    try:
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                kib = connection.exec_driver_sql("PRAGMA cache_size").scalar()
                assert kib == -database.SQLITE_CACHE_KIB == -8192
    finally:
        sqlite_write_intent.reset(token)


def test_a_workers_requests_reuse_its_warmest_connection(app: Flask) -> None:
    """The pool hands out the connection returned last: after a busy moment opened three, one
    request after another keeps using the one whose caches the last request warmed, instead
    of cycling through all three (each filling its own SQLite page cache)."""
    with app.app_context():
        pool = db.engine.pool
        busy = [pool.connect() for _ in range(3)]
        for connection in busy:
            connection.close()
        used = []
        for _ in range(3):
            connection = pool.connect()
            used.append(connection.dbapi_connection)
            connection.close()
        assert used[0] is used[1] is used[2]
