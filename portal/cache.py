"""A small per-process cache for what almost every page reads and rarely changes: site
settings, the category list, board counts. It also decides when the process forgets its
rendered public pages (portal.page_cache).

Per process and short-lived on purpose: several app processes never share it, so a change
made through one process reaches the others within READ_CACHE_SECONDS (the process that made
the change clears its own copy at once). Nothing that decides who may do what is cached here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.page_cache import EXTENSION_KEY as PAGE_CACHE_KEY

T = TypeVar("T")

EXTENSION_KEY = "portal.read_cache"
STALE_FLAG = "portal.read_cache_stale"
MAX_ENTRIES = 2048
# Changes to these (by class name, to keep this module free of model imports) make the
# process forget its caches when they commit: settings, categories, items (board counts),
# resolutions (feed validators), and what public pages show besides: comments, timelines
# and people's public names.
WATCHED_MODELS = frozenset(
    {"SiteSettings", "Category", "Feedback", "Resolution", "Comment", "TimelineEvent", "User"}
)


class ReadCache:
    """Values computed once and reused for `ttl` seconds; a ttl of 0 turns caching off."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: TTLCache[Hashable, object] | None = (
            TTLCache(maxsize=MAX_ENTRIES, ttl=ttl) if ttl > 0 else None
        )
        self._generation = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for key, computing (outside the lock) and storing it if absent."""
        if self._entries is None:
            return compute()
        with self._lock:
            if key in self._entries:
                return self._entries[key]  # type: ignore[return-value]
            generation = self._generation
        value = compute()
        with self._lock:
            # Read before a change that cleared the cache meanwhile: used once, not kept.
            if generation == self._generation:
                self._entries[key] = value
        return value

    def clear(self) -> None:
        """Forget everything, e.g. after an admin changed settings or categories."""
        if self._entries is not None:
            with self._lock:
                self._generation += 1
                self._entries.clear()


def init_app(app: Flask) -> None:
    """Give the app its own cache (each app in a test run has a separate one)."""
    app.extensions[EXTENSION_KEY] = ReadCache(float(app.config["READ_CACHE_SECONDS"]))
    if not event.contains(Session, "before_flush", _note_watched_changes):
        event.listen(Session, "before_flush", _note_watched_changes)
        event.listen(Session, "after_commit", _clear_if_stale)


def _note_watched_changes(session: Session, flush_context: object, instances: object) -> None:
    # Flushed ORM changes only: bulk UPDATE statements (vote counts) do not pass here, and
    # need not, since nothing they change is cached.
    for obj in (*session.new, *session.dirty, *session.deleted):
        if type(obj).__name__ in WATCHED_MODELS:
            session.info[STALE_FLAG] = True
            return


def _clear_if_stale(session: Session) -> None:
    # A flag left by a rolled-back flush only costs one early refresh, so it is not reset.
    if session.info.pop(STALE_FLAG, False) and has_app_context():
        for key in (EXTENSION_KEY, PAGE_CACHE_KEY):
            cache = current_app.extensions.get(key)
            if cache is not None:
                cache.clear()


def read_cache() -> ReadCache:
    """The current app's cache."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
