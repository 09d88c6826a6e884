"""Whole public pages for visitors who are not signed in, kept a few seconds per process.

When a digest goes out, many people open the same few pages without signing in: the board,
an item, "You said, we did", the feeds. Such a page is the same for every visitor (no name, no
CSRF token, nothing private), so a process renders it once and answers the next requests with
the same bytes for PAGE_CACHE_SECONDS.

What keeps this safe:
- Only GET/HEAD of the public pages listed below, only for a request with no signed-in
  session, no remember-me cookie and no message waiting to be flashed.
- A page is kept only when rendering it touched nothing personal: no CSRF token was made, the
  session was not changed and no cookie was set. A page that breaks a rule is served, not kept.
- A commit in this process that changes what pages show (items, comments, timelines,
  resolutions, categories, settings) empties the cache at once (portal.cache); other
  processes show the change within PAGE_CACHE_SECONDS, like every per-process cache here.
  Vote counts seen by visitors may be that much behind; a voter is signed in and sees theirs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cachetools import TTLCache
from flask import Flask, Response, current_app, g, request, session

EXTENSION_KEY = "portal.page_cache"

# The public pages a visitor sees the same as every other visitor.
CACHEABLE_ENDPOINTS = frozenset(
    {
        "board.index",
        "feedback.detail",
        "resolutions.index",
        "resolutions.detail",
        "feeds.resolutions_atom",
        "feeds.resolutions_rss",
        "feeds.category_atom",
        "insights.how_we_are_doing",
    }
)
# Request headers that change the answer: htmx asks for fragments of the same address.
KEY_HEADERS = ("HX-Request", "HX-Target", "HX-Boosted", "HX-History-Restore-Request")
# Session keys that make a page personal: a signed-in user, or messages to show once.
PERSONAL_SESSION_KEYS = ("_user_id", "_flashes")


@dataclass(frozen=True)
class CachedPage:
    """What is replayed: the status, the view's own headers and the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # Feeds carry an ETag and Last-Modified, so a repeat request may be answered with a 304.
    has_validators: bool


class PageCache:
    """Rendered pages by address; `ttl` of 0 turns it off."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._lock = threading.Lock()
        self._pages: TTLCache[tuple[str | None, ...], CachedPage] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl) if ttl > 0 and max_entries > 0 else None
        )

    @property
    def enabled(self) -> bool:
        return self._pages is not None

    def get(self, key: tuple[str | None, ...]) -> CachedPage | None:
        if self._pages is None:
            return None
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple[str | None, ...], page: CachedPage) -> None:
        if self._pages is not None:
            with self._lock:
                self._pages[key] = page

    def clear(self) -> None:
        if self._pages is not None:
            with self._lock:
                self._pages.clear()


def init_app(app: Flask) -> None:
    """Give the app its cache and the two hooks that read and fill it.

    Registered after the other request hooks: its lookup runs after theirs (rate limits
    still count), and its after-request hook runs first, so the request id and security
    headers are added afresh to every answer rather than kept with the page."""
    cache = PageCache(
        float(app.config["PAGE_CACHE_SECONDS"]), int(app.config["PAGE_CACHE_ENTRIES"])
    )
    app.extensions[EXTENSION_KEY] = cache
    if not cache.enabled:
        return
    app.before_request(serve_cached_page)
    app.after_request(keep_page)


def page_cache() -> PageCache:
    """The current app's page cache."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _is_anonymous_visitor() -> bool:
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if remember_cookie in request.cookies:
        return False
    return not any(key in session for key in PERSONAL_SESSION_KEYS)


def _page_key() -> tuple[str | None, ...]:
    headers = request.headers
    return (request.url, *(headers.get(name) for name in KEY_HEADERS))


def serve_cached_page() -> Response | None:
    """Answer from the cache when this is a visitor's request for a page kept recently."""
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHEABLE_ENDPOINTS:
        return None
    if not _is_anonymous_visitor():
        return None
    key = _page_key()
    page = page_cache().get(key)
    if page is None:
        g.page_cache_key = key  # keep_page stores what the view renders
        return None
    response = current_app.response_class(page.body, status=page.status, headers=page.headers)
    if page.has_validators:
        # A feed reader's If-None-Match or If-Modified-Since still gets its 304.
        response.make_conditional(request)
    return response


def keep_page(response: Response) -> Response:
    """Store a freshly rendered page if nothing personal went into it."""
    key = g.pop("page_cache_key", None)
    if key is None or response.status_code != 200 or response.is_streamed:
        return response
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if csrf_field in g or session.modified or "Set-Cookie" in response.headers:
        return response
    headers = tuple((name, value) for name, value in response.headers.items())
    has_validators = "ETag" in response.headers or "Last-Modified" in response.headers
    page_cache().put(
        key, CachedPage(response.status_code, headers, response.get_data(), has_validators)
    )
    return response
