"""Signing in through a real OpenID Provider in Chromium: "Continue with Corp ID" on the sign-in
page, the provider's authorization endpoint (PKCE, state, nonce), back with a code that the
portal redeems at the provider's /token; the person lands signed in where they started, sees
the provider on their account page, and signing out signs them out at the provider too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.services.environment import Settings
from tests.browser.conftest import BrowserLog, LiveServer
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe
from tests.oidc_provider import OidcProvider


@pytest.fixture
def corp(
    app: Flask,
    live_server: LiveServer,
    oidc_provider: OidcProvider,
    change_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[OidcProvider]:
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", live_server.url)
    client_id, secret = oidc_provider.register_client(
        [f"{live_server.url}/sign-in/corp/callback"], [f"{live_server.url}/"]
    )
    change_settings(
        trusted_private_hosts=frozenset({"127.0.0.1"}),
        identity_providers_json=json.dumps(
            [
                {
                    "key": "corp",
                    "name": "Corp ID",
                    "discovery_url": oidc_provider.discovery_url,
                    "client_id": client_id,
                    "client_secret": secret,
                }
            ]
        ),
    )
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


def test_continue_with_a_provider_signs_in_and_out_through_it(
    open_page: Callable[..., Page], live_server: LiveServer, corp: OidcProvider
) -> None:
    corp.add_account("robin-1", "robin@example.com", name="Robin Reed")
    corp.next_login("robin-1")
    page = open_page()
    page.goto("/account/login?next=/roadmap")
    assert_accessible(page)
    page.get_by_role("link", name="Continue with Corp ID").click()
    expect(page).to_have_url(f"{live_server.url}/roadmap")
    expect(page.locator(".flash--success")).to_contain_text("Welcome, Robin Reed")

    page.goto("/account/")
    identities = page.locator("#identities")
    expect(identities).to_contain_text("Corp ID")
    expect(identities).to_contain_text("robin@example.com")
    assert_accessible(page)

    # Signing out here signs out at the provider too, and comes back to the board.
    page.get_by_role("button", name="Sign out").first.click()
    expect(page).to_have_url(f"{live_server.url}/", timeout=15_000)
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/account/login"))


def assert_accessible(page: Page) -> None:
    serious = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not serious, describe(serious)


def test_a_refusal_is_a_clear_accessible_page_with_the_other_ways_in(
    open_page: Callable[..., Page], corp: OidcProvider, browser_log: BrowserLog
) -> None:
    browser_log.allow(r"status of 400")
    corp.add_account("una-1", "una@example.com", email_verified=False)
    corp.next_login("una-1")
    page = open_page()  # axe runs as script
    page.goto("/account/register")
    page.get_by_role("link", name="Continue with Corp ID").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are not signed in")
    expect(page.locator("#refusal")).to_contain_text("has not confirmed that una@example.com")
    expect(page.get_by_role("link", name="Email me a sign-in link")).to_be_visible()
    assert_accessible(page)
