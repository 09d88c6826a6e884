"""Single sign-on in a real browser: the organisation's own page (another site) posts a signed
token to /sso; the customer lands on the page they came for, signed in, and the address bar
never shows the token. Posting the same page again (the Back button) signs nobody in."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
from playwright.sync_api import Page, Route, expect

from portal.extensions import db
from portal.models import Role, User
from portal.services import sso
from tests.browser.conftest import BrowserLog, LiveServer

AUDIENCE = "https://feedback.example.org"
ORGANISATION = "http://organisation.test/members"


def _organisation_page(live_server: LiveServer, token: str) -> str:
    return (
        "<!doctype html><html lang='en'><title>Members</title>"
        f"<form method='post' action='{live_server.url}/sso'>"
        f"<input type='hidden' name='token' value='{html.escape(token)}'>"
        "<input type='hidden' name='return_to' value='/roadmap'>"
        "<button>Give feedback</button></form></html>"
    )


def test_the_organisations_page_signs_a_customer_in_and_lands_them_where_they_asked(
    open_page: Callable[..., Page],
    make_user: Callable[..., User],
    live_server: LiveServer,
    browser_log: BrowserLog,
) -> None:
    browser_log.allow(r"/sso.*status of 400")  # the replay at the end, refused on purpose
    secret = sso.use_shared_secret(make_user(role=Role.ADMIN), audience=AUDIENCE).secret
    db.session.commit()
    now = datetime.now(UTC)
    token = jwt.encode(
        {
            "email": "noor@example.com",
            "name": "Noor Haddad",
            "aud": AUDIENCE,
            "exp": now + timedelta(minutes=5),
            "jti": secrets.token_hex(16),
        },
        secret,
        "HS256",
    )
    page = open_page(javascript=False)

    def organisation(route: Route) -> None:
        route.fulfill(body=_organisation_page(live_server, token), content_type="text/html")

    page.route(ORGANISATION, organisation)
    page.goto(ORGANISATION)
    page.get_by_role("button", name="Give feedback").click()
    expect(page).to_have_url(f"{live_server.url}/roadmap")
    expect(page.locator(".flash--success")).to_contain_text("Welcome, Noor Haddad")
    assert token not in page.url

    # Back on the organisation's page, the same token again: used already.
    page.goto(ORGANISATION)
    page.get_by_role("button", name="Give feedback").click()
    expect(page.locator("body")).to_contain_text("used already")
