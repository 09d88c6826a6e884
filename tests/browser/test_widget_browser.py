"""The feedback widget in a real browser, on another site: the organisation's page is served
from http://localhost:<port>, the portal from http://127.0.0.1:<port>. Different sites, so
Chromium sends the portal's SameSite=Lax session cookie to neither the frame nor its forms, as
in production. The customer sends feedback through the frame (signed in by the organisation's
single sign-on token, handed in by widget.js), or, signed out, signs in in a new tab that
carries what they wrote; the item keeps the page's address. A page of an origin the admin did
not list cannot frame the portal."""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Category, Feedback, Role, User
from portal.services import sso
from portal.services.site import settings_for_update
from tests.browser.conftest import MOBILE, BrowserLog, LiveServer, sign_in
from tests.conftest import TEST_PASSWORD

AUDIENCE = "https://feedback.example.org"
# Where the demo page expects the portal (its "How to try it").
DEMO_PORTAL = "http://127.0.0.1:5000"


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class OrganisationSite:
    """The organisation's own site: pages set by the test, on a loopback port of its own."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.partition("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not here").encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost", not 127.0.0.1: another site than the portal's, for the browser.
        self.url = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path: str, portal: str, sso_token: str = "") -> str:
        """A shop page with the widget's one script tag (and a single sign-on token)."""
        token = f' data-sso-token="{html.escape(sso_token)}"' if sso_token else ""
        self.pages[path] = (
            "<!doctype html><html lang='en'><title>The shop</title><link rel='icon' href='data:,'>"
            "<h1>Your basket</h1>"
            f"<script src='{portal}/static/widget.js' data-portal='{portal}'{token} async>"
            "</script></html>"
        )
        return self.url + path


@pytest.fixture
def organisation() -> Iterator[OrganisationSite]:
    site = OrganisationSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


def _allow(origin: str) -> None:
    settings_for_update().widget_origins = origin
    db.session.commit()


def _sso_token(make_user: Callable[..., User]) -> str:
    secret = sso.use_shared_secret(make_user(role=Role.ADMIN), audience=AUDIENCE).secret
    db.session.commit()
    return jwt.encode(
        {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "aud": AUDIENCE,
            "exp": datetime.now(UTC) + timedelta(minutes=5),
            "jti": secrets.token_hex(8),
        },
        secret,
        "HS256",
    )


def _fill(frame: Any, title: str) -> None:
    frame.get_by_label("Which part of our service?").select_option(label="Deliveries")
    frame.get_by_label("Title").fill(title)
    frame.get_by_label("Tell us more").fill("The basket emptied itself when I went back a step.")
    frame.get_by_label("Private: only you and our staff can see it").check()


def _item_titled(title: str) -> Feedback:
    db.session.rollback()  # a fresh read: the server's commit came after this session's snapshot
    return db.session.scalars(sa.select(Feedback).where(Feedback.title == title)).one()


def test_a_customer_signed_in_by_sso_sends_feedback_from_the_organisations_page(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    organisation: OrganisationSite,
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
) -> None:
    category = make_category(name="Deliveries")
    make_feedback(title="Voucher code vanishes from the basket", category=category)
    _allow(organisation.url)
    shop = organisation.page("/basket", live_server.url, _sso_token(make_user))
    page = open_page()
    page.goto(shop + "?step=2")
    page.get_by_role("button", name="Give feedback").click()
    frame = page.frame_locator("iframe[title='Give feedback']")
    # widget.js handed the token in; the frame came back for Ada, with no cookie of ours.
    expect(frame.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    _fill(frame, "The basket forgets my voucher")
    # "Is it one of these?", as on the submit page.
    expect(frame.get_by_text("Is it one of these?")).to_be_visible()
    expect(frame.get_by_role("link", name="Voucher code vanishes from the basket")).to_be_visible()
    frame.get_by_role("button", name="Send feedback").click()
    expect(frame.get_by_text("We have your feedback")).to_be_visible()
    frame.get_by_role("button", name="Close").click()
    expect(page.locator("#portal-widget-panel")).to_be_hidden()
    expect(page.get_by_role("button", name="Give feedback")).to_be_focused()

    item = _item_titled("The basket forgets my voucher")
    assert item.page_url == shop + "?step=2"
    author = db.session.get(User, item.author_id)
    assert author is not None and author.email == "ada@example.com"
    # The browser kept no session of the portal's: the widget token did the work.
    assert not [c for c in page.context.cookies() if c["domain"] == "127.0.0.1"]


def test_a_signed_out_customer_signs_in_in_a_new_tab_and_nothing_typed_is_lost(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    organisation: OrganisationSite,
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    make_category(name="Deliveries")
    nia = make_verified_user()
    _allow(organisation.url)
    shop = organisation.page("/checkout", live_server.url)
    page = open_page()
    page.goto(shop)
    page.get_by_role("button", name="Give feedback").click()
    frame = page.frame_locator("iframe[title='Give feedback']")
    _fill(frame, "Checkout asks for my postcode twice")
    with page.context.expect_page() as opened:
        frame.get_by_role("button", name="Sign in to send").click()
    tab = opened.value
    # The new tab went on to this site's sign-in page, holding what was written.
    expect(tab.get_by_role("button", name="Sign in, then send it")).to_be_visible()
    tab.get_by_label("Email address").fill(nia.email)
    tab.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    tab.get_by_role("button", name="Sign in, then send it").click()
    expect(tab.get_by_label("Title")).to_have_value("Checkout asks for my postcode twice")
    tab.get_by_role("button", name="Send it").click()
    expect(tab.locator("h1")).to_contain_text("Thank you")

    item = _item_titled("Checkout asks for my postcode twice")
    assert (item.author_id, item.page_url) == (nia.id, shop)
    assert item.body_source == "The basket emptied itself when I went back a step."


def test_a_page_of_an_origin_not_allowed_cannot_frame_the_portal(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    organisation: OrganisationSite,
    browser_log: BrowserLog,
) -> None:
    browser_log.allow(r"frame-ancestors")  # the refusal this test is about
    _allow("https://shop.example.org")  # not the page's origin
    page = open_page()
    page.goto(organisation.page("/elsewhere", live_server.url))
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.get_by_role("button", name="Give feedback").click()
    assert "blocked" in refused.value.text
    frame = page.locator("iframe").element_handle().content_frame()
    assert frame is not None
    assert not frame.url.startswith(live_server.url)
    assert frame.locator("#widget-form").count() == 0


def test_the_frame_gets_no_cookie_but_the_new_tab_does(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    organisation: OrganisationSite,
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    """Signed in at the portal already: the frame on the other site is not told (Chromium
    withholds the Lax cookie), and "Sign in to send" lands on the submit page, filled in."""
    make_category(name="Deliveries")
    nia = make_verified_user()
    _allow(organisation.url)
    page = open_page()
    sign_in(page, nia.email)
    page.goto(organisation.page("/returns", live_server.url))
    page.get_by_role("button", name="Give feedback").click()
    frame = page.frame_locator("iframe[title='Give feedback']")
    expect(frame.get_by_role("button", name="Sign in to send")).to_be_visible()
    _fill(frame, "Returns label will not print")
    with page.context.expect_page() as opened:
        frame.get_by_role("button", name="Sign in to send").click()
    tab = opened.value
    expect(tab.get_by_label("Title")).to_have_value("Returns label will not print")
    expect(tab.get_by_text("the page you came from")).to_contain_text(organisation.url)
    tab.get_by_role("button", name="Send feedback").click()
    expect(tab.locator("h1")).to_contain_text("Thank you")
    item = _item_titled("Returns label will not print")
    assert (item.author_id, item.page_url) == (nia.id, organisation.url + "/returns")


def test_on_a_small_screen_the_form_opens_in_a_new_tab_signed_in_by_sso(
    open_page: Callable[..., Page],
    live_server: LiveServer,
    organisation: OrganisationSite,
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    make_category(name="Deliveries")
    _allow(organisation.url)
    shop = organisation.page("/plants", live_server.url, _sso_token(make_user))
    page = open_page(viewport=MOBILE)
    page.goto(shop)
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Give feedback").click()
    tab = opened.value
    # The token was posted into the new tab, never put in its address.
    expect(tab.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    assert "token" not in tab.url
    assert page.locator("iframe").count() == 0
    _fill(tab, "Plant labels are unreadable on a phone")
    tab.get_by_role("button", name="Send feedback").click()
    expect(tab.get_by_text("We have your feedback")).to_be_visible()
    assert _item_titled("Plant labels are unreadable on a phone").page_url == shop


def test_the_demo_page_shows_the_widget_form(
    open_page: Callable[..., Page], live_server: LiveServer
) -> None:
    """docs/widget-demo/ as its page says to serve it: from localhost, with the portal's
    address it names (127.0.0.1:5000) answered by the test's portal."""
    demo = Path(__file__).resolve().parents[2] / "docs" / "widget-demo"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(demo)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    demo_url = f"http://localhost:{server.server_port}"
    _allow(demo_url)
    try:
        page = open_page()

        def to_portal(route: Any) -> None:
            address = route.request.url.replace(DEMO_PORTAL, live_server.url, 1)
            route.fulfill(response=route.fetch(url=address))

        page.context.route(f"{DEMO_PORTAL}/**", to_portal)
        page.goto(demo_url + "/")
        expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
        page.get_by_role("button", name="Give feedback").click()
        frame = page.frame_locator("iframe[title='Give feedback']")
        expect(frame.get_by_role("heading", name="Tell us what is on your mind")).to_be_visible()
        expect(frame.get_by_role("button", name="Sign in to send")).to_be_visible()
    finally:
        server.shutdown()
        server.server_close()
