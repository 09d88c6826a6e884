"""Browser fixtures: Debian's Chromium, driven by Playwright, against a live server that serves
the test database.

Every page a test opens records console errors, uncaught script errors and Content Security
Policy violations; a test fails when any happened (a test can allow an expected one by name,
such as the 404 of a deliberate error page). Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.conftest import TEST_PASSWORD
from tests.helpers import IN_CI, require

# Where the browser must exist and the browser tests must run rather than skip.
REQUIRE_BROWSER = IN_CI or os.environ.get("PORTAL_REQUIRE_BROWSER", "") in {"1", "true", "yes"}
if not REQUIRE_BROWSER:
    # Locally, a checkout without the dev extra skips this folder; where the browser is
    # required, the test modules' own imports fail instead.
    pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"

# Reports every securitypolicyviolation to Python through an exposed binding. Playwright adds
# init scripts and bindings through the DevTools protocol, which the page's CSP does not govern,
# so nothing inline is put into the page.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__portalCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}` +
    ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
}, true);
"""


def need_browser(available: bool, reason: str) -> None:
    """Skip locally when the browser is missing; fail where it must exist (CI=true, or
    PORTAL_REQUIRE_BROWSER=1)."""
    if not available and REQUIRE_BROWSER:
        pytest.fail(f"required here (CI or PORTAL_REQUIRE_BROWSER=1): {reason}")
    require(available, reason)


def find_chromium() -> str | None:
    """Debian's Chromium, or another Chromium-based browser on the PATH."""
    candidates = [
        os.environ.get("PORTAL_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


# The live server ------------------------------------------------------------------------------


@dataclass
class ServerErrors:
    """Requests the live server answered with a 5xx or an exception, while a test watched."""

    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, text: str) -> None:
        with self.lock:
            self.seen.append(text)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.seen = self.seen, []
        return taken


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output; errors are recorded by the middleware."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class LiveServer:
    """The test app served over HTTP on a free loopback port."""

    url: str
    errors: ServerErrors


@contextlib.contextmanager
def serving(app: Flask, name: str = "live-server") -> Iterator[LiveServer]:
    """werkzeug's threaded server on this app: each request runs in its own thread with its
    own app context and database session, as in production; 5xx answers are recorded."""
    errors = ServerErrors()

    def watched(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

        def recording_start_response(status: str, headers: Any, *args: Any) -> Any:
            if status.startswith("5"):
                errors.add(f"{where} answered {status}")
            return start_response(status, headers, *args)

        try:
            return app(environ, recording_start_response)
        except Exception as exc:
            errors.add(f"{where} raised {exc!r}")
            raise

    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, watched, threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", errors=errors)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The session's app, served (see serving)."""
    with serving(app) as server:
        yield server


# The browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Where Chromium is; skips (locally) or fails (CI) with the reason when it is missing."""
    path = find_chromium()
    need_browser(
        path is not None,
        "Chromium is not installed (apt-get install chromium, or set PORTAL_CHROMIUM)",
    )
    assert path is not None
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class BrowserLog:
    """Console errors, script errors and CSP violations seen by this test's pages."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    pages: list[Any] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching this regular expression (a deliberate 404, say)."""
        self.allowed.append(re.compile(pattern))

    def record(self, text: str) -> None:
        self.problems.append(text)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def flush(self) -> None:
        """Let Playwright deliver events still on their way from the open pages."""
        for page in self.pages:
            if not page.is_closed():
                # A page mid-navigation or without script has nothing to flush.
                with suppress(Exception):
                    page.evaluate("0")


@pytest.fixture(autouse=True)
def browser_log(live_server: LiveServer) -> Iterator[BrowserLog]:
    """The record each browser test is checked against (see pytest_runtest_call below)."""
    live_server.errors.take()  # what earlier tests left is theirs
    yield BrowserLog()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a browser test's body passes: no console error, script error, CSP violation or
    server error may have happened, unless the test allowed it."""
    result = yield
    log: BrowserLog | None = getattr(item, "funcargs", {}).get("browser_log")
    server: LiveServer | None = getattr(item, "funcargs", {}).get("live_server")
    if log is not None:
        log.flush()
        problems = log.unexpected()
        if server is not None:
            problems += [f"server error: {e}" for e in server.errors.take()]
        if problems:
            pytest.fail(
                "the browser saw problems:\n" + "\n".join(f"  - {p}" for p in problems),
                pytrace=False,
            )
    return result


def _watch(page: Any, log: BrowserLog) -> None:
    log.pages.append(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url") or page.url
            log.record(f"console error on {page.url} ({where}): {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.record(f"script error on {page.url}: {error}"))


@pytest.fixture
def open_page(
    browser: Any, live_server: LiveServer, browser_log: BrowserLog
) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies: another person).

    open_page(javascript=False) is a browser with JavaScript off; viewport=MOBILE a phone;
    storage_state=... starts with the cookies of a context saved before (someone signed in)."""
    contexts: list[Any] = []

    def open_(
        *,
        javascript: bool = True,
        viewport: dict[str, int] | None = None,
        storage_state: dict[str, Any] | None = None,
    ) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=javascript,
            viewport=viewport or DESKTOP,
            locale="en-GB",
            timezone_id="Europe/London",
            storage_state=storage_state,
        )
        context.set_default_timeout(10_000)
        context.expose_binding(
            "__portalCspViolation",
            lambda source, text: browser_log.record(
                f"CSP violation on {source['page'].url}: {text}"
            ),
        )
        context.add_init_script(script=CSP_LISTENER)
        context.on("page", lambda page: _watch(page, browser_log))
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    """A desktop page with JavaScript on."""
    return open_page()


# Helpers for tests ----------------------------------------------------------------------------


def sign_in(page: Any, email: str, password: str = TEST_PASSWORD) -> None:
    """Sign in through the real form and wait for the welcome."""
    page.goto("/account/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(".flash--success")


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot into tests/screenshots/, named for the page and viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    suffix = "mobile" if width and width < 600 else "desktop"
    path = SCREENSHOTS / f"{name}-{suffix}.png"
    # caret="initial": hiding the caret would leave style="" on the page's inputs. htmx no
    # longer settles style attributes (base.html), but the page is best left as it was.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path
