"""Server-held sessions: one expires when no cookie naming it can still live, and sessions
that ended or expired a lifetime ago are pruned, by the command and by the outbox thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import User, UserSession
from portal.outbox_worker import PRUNE_SESSIONS_EVERY, prune_sessions_when_due
from portal.services import accounts
from portal.services.environment import Settings

LIFETIME = timedelta(days=30)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _lifetime(change_settings) -> None:
    change_settings(session_lifetime=LIFETIME)


def _session(user: User, *, seen: datetime, ended: datetime | None = None, device: str = "") -> str:
    signed_in = accounts.start_session(user, device, now=seen - timedelta(days=1))
    signed_in.last_seen_at = seen
    signed_in.revoked_at = ended
    db.session.commit()
    return signed_in.id


def _kept() -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(UserSession.id)))


def test_the_session_lifetime_is_the_longer_cookies_life(app: Flask) -> None:
    config = {**app.config, "PERMANENT_SESSION_LIFETIME": 3600}
    config["REMEMBER_COOKIE_DURATION"] = timedelta(days=30)
    assert Settings.from_config(config).session_lifetime == timedelta(days=30)
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=45)
    assert Settings.from_config(config).session_lifetime == timedelta(days=45)


def test_a_session_unseen_for_a_whole_lifetime_signs_nobody_in(make_user) -> None:
    user = make_user()
    session_id = _session(user, seen=NOW)
    just_in_time = NOW + LIFETIME - timedelta(minutes=1)
    assert accounts.user_for_session(user.id, session_id, now=just_in_time) == user
    db.session.commit()
    # Seen again just now: the lifetime counts from there.
    seen_again = just_in_time + LIFETIME - timedelta(minutes=1)
    assert accounts.user_for_session(user.id, session_id, now=seen_again) == user
    db.session.commit()
    too_late = seen_again + LIFETIME + timedelta(minutes=1)
    assert accounts.user_for_session(user.id, session_id, now=too_late) is None


def test_pruning_deletes_sessions_ended_or_unseen_for_a_lifetime_and_keeps_the_rest(
    make_user,
) -> None:
    user, other = make_user(), make_user()
    kept = {
        _session(user, seen=NOW - timedelta(hours=1)),
        # Signed in long ago, but seen within the lifetime.
        _session(other, seen=NOW - LIFETIME + timedelta(minutes=1)),
        # Ended, but not a lifetime ago yet.
        _session(user, seen=NOW - timedelta(days=3), ended=NOW - timedelta(days=2)),
    }
    gone = {
        _session(user, seen=NOW - LIFETIME - timedelta(minutes=1)),
        _session(other, seen=NOW - LIFETIME - timedelta(days=5)),
        _session(user, seen=NOW - LIFETIME - timedelta(days=2), ended=NOW - LIFETIME),
    }
    assert _kept() == kept | gone

    assert accounts.prune_sessions(now=NOW) == 3
    db.session.commit()
    assert _kept() == kept
    # A live session's browser is still signed in; nothing more to prune.
    assert accounts.prune_sessions(now=NOW) == 0


def test_the_outbox_thread_prunes_sessions_at_most_once_an_hour(app: Flask, make_user) -> None:
    user = make_user()
    now = datetime.now(UTC)
    live = _session(user, seen=now)
    _session(user, seen=now - LIFETIME - timedelta(days=1))

    assert prune_sessions_when_due(app, None, 100.0) == 100.0
    assert _kept() == {live}

    late = _session(user, seen=now - LIFETIME - timedelta(days=1))
    half_an_hour = 100.0 + PRUNE_SESSIONS_EVERY / 2
    assert prune_sessions_when_due(app, 100.0, half_an_hour) == 100.0
    assert _kept() == {live, late}

    an_hour = 100.0 + PRUNE_SESSIONS_EVERY
    assert prune_sessions_when_due(app, 100.0, an_hour) == an_hour
    assert _kept() == {live}


def test_a_failed_pruning_is_logged_and_tried_again_on_the_next_pass(
    app: Flask, make_user, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("portal.outbox_worker.prune_sessions", broken)
    # The migrations' logging setup (alembic.ini) turns existing loggers off in the test run.
    monkeypatch.setattr(app.logger, "disabled", False)
    assert prune_sessions_when_due(app, None, 100.0) is None
    assert prune_sessions_when_due(app, 50.0, 100.0 + PRUNE_SESSIONS_EVERY) == 50.0
    assert caplog.text.count("sessions: pruning failed") == 2
    # The failed transaction was rolled back: the thread's next pass starts clean.
    make_user()


def _cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_prune_sessions_command_says_how_many_went(app: Flask, make_user) -> None:
    user = make_user()
    now = datetime.now(UTC)
    live = _session(user, seen=now)
    _session(user, seen=now - LIFETIME - timedelta(days=1))
    _session(user, seen=now - LIFETIME, ended=now - LIFETIME - timedelta(hours=1))

    first_line = _cli(app, "prune-sessions").splitlines()[0]
    assert first_line == "Sessions deleted (ended or expired): 2."
    assert _kept() == {live}
    first_line = _cli(app, "prune-sessions").splitlines()[0]
    assert first_line == "Sessions deleted (ended or expired): 0."


def test_marking_a_session_seen_waits_for_the_write_lock_when_another_writer_committed(
    app: Flask, make_user
) -> None:
    """A signed-in request that began reading (a page, or a vote until it writes) marks its
    session seen every few minutes. On SQLite a reading transaction may not change a row once
    another writer has committed since it began: the mark is written as a writer, so the
    request goes on instead of answering 503."""
    from portal.database import sqlite_write_intent

    user = make_user()
    session_id = _session(user, seen=NOW - accounts.LAST_SEEN_EVERY)
    user_id, other_id = user.id, make_user().id
    db.session.remove()
    reading = sqlite_write_intent.set(False)  # as a page or a reads_first view begins
    try:
        db.session.execute(sa.select(User.id).where(User.id == user_id)).one()
        with db.engine.connect() as writer:  # another request commits meanwhile
            writer.execute(
                sa.update(User).where(User.id == other_id).values(display_name="Someone else")
            )
            writer.commit()
        signed_in = accounts.user_for_session(user_id, session_id, now=NOW)
        assert signed_in is not None and signed_in.id == user_id
        db.session.commit()
    finally:
        sqlite_write_intent.reset(reading)
        db.session.remove()
    seen = db.session.scalar(
        sa.select(UserSession.last_seen_at).where(UserSession.id == session_id)
    )
    assert seen is not None and seen.replace(tzinfo=UTC) == NOW
