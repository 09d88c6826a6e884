"""Delivers the outbox (emails and webhooks) from inside the web app right after a commit that
queued some, so a single-machine install needs no cron. Larger installs run `flask outbox
deliver` too; claims keep the two from sending anything twice.

The same thread, awake every minute anyway, keeps house: it prunes ended and expired sessions
once an hour (`flask prune-sessions` does it from cron where this thread is turned off), and
moves the board's trending window up every ten minutes, which votes do on a busy site
(`flask sweep-trending`). It starts with the app's first commit in a request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context

from portal import unit_of_work
from portal.extensions import db
from portal.services import trending
from portal.services.accounts import prune_sessions
from portal.services.sso import prune_used_tokens

_wakeups: dict[int, threading.Event] = {}
_lock = threading.Lock()


def start_outbox_worker(app: Flask) -> None:
    """Listen for commits that queued mail; wake a per-app worker thread to deliver it."""
    if not app.config.get("OUTBOX_DELIVER_AFTER_COMMIT"):
        return
    wake = threading.Event()
    _wakeups[id(app)] = wake

    @sa.event.listens_for(db.session, "after_commit")
    def _after_commit(session: Any) -> None:
        # The session is shared by every app in the process; only this app's commits count,
        # and only in web requests: a CLI command exits before a thread could finish, and
        # delivers with `flask outbox deliver` instead.
        # Flask types current_app as the Flask it stands for; it is a werkzeug LocalProxy.
        if not (has_request_context() and current_app._get_current_object() is app):  # type: ignore[attr-defined]
            return
        # Any commit starts the thread, for its housekeeping; mail to send wakes it now.
        if getattr(app, "_outbox_thread", None) is None:
            _ensure_thread(app, wake)
        if session.info.pop("outbox_pending", False):
            wake.set()

    @sa.event.listens_for(db.session, "after_rollback")
    def _after_rollback(session: Any) -> None:
        session.info.pop("outbox_pending", None)


def _ensure_thread(app: Flask, wake: threading.Event) -> None:
    with _lock:
        if getattr(app, "_outbox_thread", None) is not None:
            return
        thread = threading.Thread(
            target=_run, args=(app, wake), name="outbox-deliverer", daemon=True
        )
        app._outbox_thread = thread  # type: ignore[attr-defined]
        thread.start()


def _run(app: Flask, wake: threading.Event) -> None:
    from portal.services.chat import deliver_chat_messages
    from portal.services.outbox import deliver_pending
    from portal.services.webhooks import deliver_webhooks

    pruned_at: float | None = None
    swept_at: float | None = None
    while True:
        # Also wakes every minute, for retries that fall due.
        wake.wait(timeout=60)
        wake.clear()
        with app.app_context():
            # Webhooks and chat messages go out from the same thread: their rows are claimed
            # the same way.
            for deliver in (deliver_pending, deliver_webhooks, deliver_chat_messages):
                try:
                    deliver()
                except Exception:
                    db.session.rollback()
                    app.logger.exception("outbox: delivery pass failed; it will be retried")
            pruned_at = prune_sessions_when_due(app, pruned_at, time.monotonic())
            swept_at = sweep_trending_when_due(app, swept_at, time.monotonic())
            db.session.remove()


# Sessions go after a lifetime of weeks; an hour late changes nothing, and every instance of
# the app prunes (a second DELETE of the same rows finds none).
PRUNE_SESSIONS_EVERY = 3600.0
# As often as a vote sweeps on a busy site: the board then keeps reading the counters
# (trending.TRUST_FOR) on a site with few votes. A sweep that finds the window current reads
# one row; a second instance's sweep finds it current.
SWEEP_TRENDING_EVERY = trending.SWEEP_AFTER.total_seconds()


def prune_sessions_when_due(app: Flask, pruned_at: float | None, now: float) -> float | None:
    """Prune the sessions that ended or expired a lifetime ago, when the last pruning (at
    monotonic time `pruned_at`, None for never) is PRUNE_SESSIONS_EVERY old; returns when the
    sessions were last pruned."""

    def prune() -> str | None:
        pruned = prune_sessions()
        prune_used_tokens()
        return f"sessions: deleted {pruned} ended or expired" if pruned else None

    return _when_due(app, pruned_at, now, PRUNE_SESSIONS_EVERY, prune, "sessions: pruning")


def sweep_trending_when_due(app: Flask, swept_at: float | None, now: float) -> float | None:
    """Move the trending window up (trending.sweep) when the last attempt, at monotonic time
    `swept_at` (None for never), is SWEEP_TRENDING_EVERY old; returns when it last ran."""

    def sweep() -> str | None:
        return "trending: window swept" if trending.sweep(db.session.connection()) else None

    return _when_due(app, swept_at, now, SWEEP_TRENDING_EVERY, sweep, "trending: sweeping")


def _when_due(
    app: Flask,
    last: float | None,
    now: float,
    every: float,
    job: Callable[[], str | None],
    what: str,
) -> float | None:
    """Run `job` in a command transaction in the app's context when `last` (monotonic time,
    None for never) is `every` seconds old; returns when it last ran. What the job says it
    did is logged once committed; a failure is logged and tried again on the next pass."""
    if last is not None and now - last < every:
        return last
    try:
        with unit_of_work.command_transaction():
            done = job()
    except Exception:
        app.logger.exception("%s failed; it will be tried again", what)
        return last
    if done:
        app.logger.info(done)
    return now
