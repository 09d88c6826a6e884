"""Delivers the outbox (emails and webhooks) from inside the web app right after a commit that
queued some, so a single-machine install needs no cron. Larger installs run `flask outbox
deliver` too; claims keep the two from sending anything twice."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context

_wakeups: dict[int, threading.Event] = {}
_lock = threading.Lock()


def start_outbox_worker(app: Flask) -> None:
    """Listen for commits that queued mail; wake a per-app worker thread to deliver it."""
    if not app.config.get("OUTBOX_DELIVER_AFTER_COMMIT"):
        return
    from portal.extensions import db

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
        if session.info.pop("outbox_pending", False):
            _ensure_thread(app, wake)
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
    from portal.extensions import db
    from portal.services.outbox import deliver_pending
    from portal.services.webhooks import deliver_webhooks

    while True:
        # Also wakes every minute, for retries that fall due.
        wake.wait(timeout=60)
        wake.clear()
        with app.app_context():
            # Webhooks go out from the same thread: their rows are claimed the same way.
            for deliver in (deliver_pending, deliver_webhooks):
                try:
                    deliver()
                except Exception:
                    db.session.rollback()
                    app.logger.exception("outbox: delivery pass failed; it will be retried")
            db.session.remove()
