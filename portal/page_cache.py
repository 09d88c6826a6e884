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
  resolutions, categories, settings, names) empties the cache at once (portal.cache); other
  processes show the change within PAGE_CACHE_SECONDS, like every per-process cache here.
  Vote counts seen by visitors may be that much behind; a voter is signed in and sees theirs.

Two ways in. A request without any session or remember-me cookie (most visitors, and every
feed reader) is answered by PageCacheMiddleware before Flask builds a request at all, so such
a hit runs no request hook (no rate limit applies to these pages, and gunicorn's access log
still records it). A visitor whose browser holds a session cookie (say, after opening the
sign-in page) is checked inside Flask, where the session can be read, by serve_cached_page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, g, request, session
from werkzeug.http import is_resource_modified, parse_date, remove_entity_headers

from portal.cache import PAGE_CACHE_KEY, GenerationalCache
from portal.i18n import visitor_language
from portal.logging_setup import REQUEST_ID_HEADER, clean_request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EXTENSION_KEY = PAGE_CACHE_KEY
# Where keep_page hands the middleware a page to keep, with the key it was asked under.
ENVIRON_KEEP = "portal.page_cache.keep"
# A feed reader always asks conditionally; the view would answer a 304 and leave nothing to
# keep. So on a miss the view is asked for the whole page and the 304 is made from it.
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")

# The public pages a visitor sees the same as every other visitor.
CACHEABLE_ENDPOINTS = frozenset(
    {
        "board.index",
        "feedback.detail",
        "resolutions.index",
        "resolutions.detail",
        "roadmap.index",
        "roadmap.atom",
        "feeds.resolutions_atom",
        "feeds.resolutions_rss",
        "feeds.category_atom",
        "insights.how_we_are_doing",
    }
)
# Request headers that change the answer (htmx asks for fragments of the same address), as
# WSGI environ keys.
KEY_HEADERS = (
    "HTTP_HX_REQUEST",
    "HTTP_HX_TARGET",
    "HTTP_HX_BOOSTED",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
)
# Session keys that make a page personal: a signed-in user, or messages to show once.
PERSONAL_SESSION_KEYS = ("_user_id", "_flashes")
# Headers that belong to one answer, never replayed (an answer setting a cookie is not kept
# at all: see _replayable).
PER_REQUEST_HEADERS = frozenset({REQUEST_ID_HEADER.lower(), "date"})

PageKey = tuple[str, ...]


@dataclass(frozen=True)
class CachedPage:
    """An answer as it left the app (status line, headers, body), minus per-request headers."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # Feeds carry validators, so a repeat request may be answered with a 304.
    etag: str | None
    last_modified: datetime | None

    @classmethod
    def from_answer(
        cls, status: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> CachedPage:
        kept = tuple((k, v) for k, v in headers if k.lower() not in PER_REQUEST_HEADERS)
        found = {k.lower(): v for k, v in kept}
        last_modified = found.get("last-modified")
        return cls(
            status=status,
            headers=kept,
            body=body,
            etag=found.get("etag"),
            last_modified=parse_date(last_modified) if last_modified else None,
        )

    def not_modified_for(self, environ: WSGIEnvironment) -> bool:
        """Whether the request's If-None-Match / If-Modified-Since already has this page."""
        if self.etag is None and self.last_modified is None:
            return False
        return not is_resource_modified(environ, etag=self.etag, last_modified=self.last_modified)


class PageCache(GenerationalCache[PageKey, CachedPage]):
    """Rendered pages by address, at most `max_bytes` of bodies; `ttl` of 0 turns it off.
    Bounded by bytes, not pages: an item page with a long conversation is large, and every
    query string is its own address. A page rendered from data read before a change emptied
    the cache is not kept after it (the generation its rendering began in)."""

    def __init__(self, ttl: float, max_bytes: int) -> None:
        super().__init__(ttl, max_bytes, getsizeof=lambda page: len(page.body) + 1)


def page_key(environ: WSGIEnvironment, offered: tuple[str, ...] | None = None) -> PageKey:
    """The address asked for, as sent (scheme, host, path, query), the htmx headers, and the
    language the visitor's browser asks for among those `offered` (the app's, by default)."""
    get = environ.get
    if offered is None:
        offered = current_app.config["PORTAL_LANGUAGES"]
    return (
        get("wsgi.url_scheme", ""),
        get("HTTP_HOST") or get("SERVER_NAME", ""),
        get("SCRIPT_NAME", ""),
        get("PATH_INFO", ""),
        get("QUERY_STRING", ""),
        *(get(name, "") for name in KEY_HEADERS),
        visitor_language(environ, offered) if len(offered) > 1 else "",
    )


def replay(
    page: CachedPage, environ: WSGIEnvironment, request_id: str | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status, headers and body for answering this request with a kept page."""
    headers = list(page.headers)
    request_id = request_id or clean_request_id(environ.get("HTTP_X_REQUEST_ID"))
    headers.append((REQUEST_ID_HEADER, request_id))
    if page.not_modified_for(environ):
        remove_entity_headers(headers)
        return "304 NOT MODIFIED", headers, b""
    return page.status, headers, page.body


class PageCacheMiddleware:
    """Answers kept pages to requests that carry no session at all, before Flask runs, and
    keeps the pages that keep_page marked, with the headers they finally left with."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        cache: PageCache,
        cookie_names: list[str],
        languages: tuple[str, ...],
    ):
        self.wsgi_app = wsgi_app
        self.cache = cache
        self.languages = languages
        # The name anywhere in the Cookie header: a false match only sends the request the
        # slower way, through Flask, which reads the session properly.
        self.cookie_names = cookie_names

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        cookies = environ.get("HTTP_COOKIE", "")
        if not any(name in cookies for name in self.cookie_names):
            page = self.cache.get(page_key(environ, self.languages))
            if page is not None:
                return _answer(page, environ, start_response)
        return self._render(environ, start_response)

    def _render(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The app's answer is held until it is known whether it is kept: a kept page is
        # answered the way later requests will be (a 304 when the reader has it already).
        answer: list[Any] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers, exc_info]
            return _no_write

        app_iter = self.wsgi_app(environ, hold)
        keep = environ.pop(ENVIRON_KEEP, None)
        if not answer:  # an app that answers only once its body is read (never Flask)
            return _pass_through(app_iter, start_response, answer)
        status, headers, exc_info = answer
        if keep is None or not _replayable(headers):
            start_response(status, headers, exc_info)
            return app_iter
        key, body, generation = keep
        page = CachedPage.from_answer(status, headers, body)
        self.cache.put(key, page, generation)
        if hasattr(app_iter, "close"):
            app_iter.close()
        request_id = next((v for k, v in headers if k.lower() == REQUEST_ID_HEADER.lower()), None)
        return _answer(page, environ, start_response, request_id)


def _answer(
    page: CachedPage,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    request_id: str | None = None,
) -> Iterable[bytes]:
    status, headers, body = replay(page, environ, request_id)
    start_response(status, headers)
    return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _no_write(data: bytes) -> None:
    raise RuntimeError("the page cache holds the answer: write() is not supported")


def _pass_through(
    app_iter: Iterable[bytes], start_response: StartResponse, answer: list[Any]
) -> Iterable[bytes]:
    iterator = iter(app_iter)
    try:
        first = next(iterator, b"")
        start_response(*answer)
        yield first
        yield from iterator
    finally:
        if hasattr(app_iter, "close"):
            app_iter.close()


# Headers that say the answer is one person's: never kept (rate-limit figures, cookies).
PERSONAL_HEADER_PREFIXES = ("set-cookie", "x-ratelimit", "retry-after")


def _replayable(headers: list[tuple[str, str]]) -> bool:
    return not any(name.lower().startswith(PERSONAL_HEADER_PREFIXES) for name, _ in headers)


def init_app(app: Flask) -> None:
    """Give the app its cache, the two hooks that read and mark pages, and the middleware.

    Registered after the other request hooks: its lookup runs after theirs, and its
    after-request hook runs first (Flask runs them in reverse), before the others add their
    headers; the middleware keeps the answer with those headers once it is complete."""
    cache = PageCache(
        float(app.config["PAGE_CACHE_SECONDS"]), int(app.config["PAGE_CACHE_MB"] * 1024 * 1024)
    )
    app.extensions[EXTENSION_KEY] = cache
    if not cache.enabled:
        return
    app.before_request(serve_cached_page)
    app.after_request(keep_page)
    cookie_names = [
        app.config.get("SESSION_COOKIE_NAME", "session"),
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    ]
    app.wsgi_app = PageCacheMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, cache, cookie_names, app.config["PORTAL_LANGUAGES"]
    )


def page_cache() -> PageCache:
    """The current app's page cache."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _is_anonymous_visitor() -> bool:
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if remember_cookie in request.cookies:
        return False
    return not any(key in session for key in PERSONAL_SESSION_KEYS)


def serve_cached_page() -> Response | None:
    """A visitor whose browser holds a session cookie: answer from the cache if the session
    is not a signed-in one; otherwise note the key, for keep_page."""
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHEABLE_ENDPOINTS:
        return None
    if not _is_anonymous_visitor():
        return None
    environ = request.environ
    key = page_key(environ)
    page = page_cache().get(key)
    if page is None:
        g.page_cache_key = key
        g.page_cache_generation = page_cache().generation
        g.page_cache_conditions = {h: environ.pop(h) for h in CONDITIONAL_HEADERS if h in environ}
        return None
    status, headers, body = replay(page, environ)
    return current_app.response_class(body, status=status, headers=headers)


def keep_page(response: Response) -> Response:
    """Mark a freshly rendered page for keeping if nothing personal went into it."""
    key = g.pop("page_cache_key", None)
    if key is None:
        return response
    request.environ.update(g.pop("page_cache_conditions", {}))
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if (
        response.status_code != 200
        or response.is_streamed
        or csrf_field in g
        or session.modified
        or "Set-Cookie" in response.headers
    ):
        # Not kept: the reader's conditions apply to this answer, as the view would have.
        if response.status_code == 200 and ("ETag" in response.headers or response.last_modified):
            response.make_conditional(request)
        return response
    request.environ[ENVIRON_KEEP] = (key, response.get_data(), g.page_cache_generation)
    return response
