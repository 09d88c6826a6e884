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
from typing import Any, Generic, TypeVar

from cachetools import TTLCache
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EXTENSION_KEY = "portal.read_cache"
# The page cache (portal.page_cache) lives under this key; named here so that both caches
# are emptied by the same commit without this module importing that one.
PAGE_CACHE_KEY = "portal.page_cache"
_MISSING = object()
STALE_FLAG = "portal.read_cache_stale"
MAX_ENTRIES = 2048
# Changes to these (by class name, to keep this module free of model imports) make the
# process forget its caches when they commit: settings, categories, items (board counts),
# resolutions (feed validators), and what public pages show besides: comments, timelines,
# attached images and people's public names.
WATCHED_MODELS = frozenset(
    {
        "SiteSettings",
        "Category",
        "Feedback",
        "Resolution",
        "Comment",
        "TimelineEvent",
        "User",
        "Attachment",
    }
)


class GenerationalCache(Generic[K, V]):
    """A TTL cache behind a lock (`ttl` or `maxsize` of 0 turns it off). clear() also bumps a
    generation: a value computed from what was read before a change emptied the cache is not
    kept after it (put() is told the generation its computation began in)."""

    def __init__(
        self, ttl: float, maxsize: int, getsizeof: Callable[[V], int] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._entries: TTLCache[K, V] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl, getsizeof=getsizeof)
            if ttl > 0 and maxsize > 0
            else None
        )
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return self._entries is not None

    def get(self, key: K, default: Any = None) -> Any:
        if self._entries is None:
            return default
        with self._lock:
            return self._entries.get(key, default)

    def put(self, key: K, value: V, generation: int) -> bool:
        """Keep the value unless the cache was emptied since `generation` (or the value is
        larger than the whole cache)."""
        if self._entries is None:
            return False
        with self._lock:
            if generation != self.generation:
                return False
            try:
                self._entries[key] = value
            except ValueError:  # larger than maxsize
                return False
            return True

    def clear(self) -> None:
        """Forget everything, e.g. after an admin changed settings or categories."""
        if self._entries is not None:
            with self._lock:
                self.generation += 1
                self._entries.clear()


class ReadCache(GenerationalCache[Hashable, object]):
    """Values computed once and reused for `ttl` seconds; a ttl of 0 turns caching off."""

    def __init__(self, ttl: float) -> None:
        super().__init__(ttl, MAX_ENTRIES)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for key, computing (outside the lock) and storing it if absent."""
        generation = self.generation
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        value = compute()
        self.put(key, value, generation)
        return value


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
