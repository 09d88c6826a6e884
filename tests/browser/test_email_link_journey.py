"""Journeys through the browser: signing in with an emailed link from the sign-in page, and
moving one's account to a new address, confirmed from the link sent there."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from portal.models import User
from tests.browser.conftest import sign_in
from tests.browser.test_journeys import emailed_link


def test_a_customer_signs_in_with_an_emailed_link(
    page: Page, make_verified_user: Callable[..., User]
) -> None:
    make_verified_user(email="linda@example.com", preferred_name="Linda")
    page.goto("/account/login")
    page.get_by_role("link", name="Email me a sign-in link").click()
    page.get_by_label("Email address").fill("linda@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    page.goto(emailed_link("sign_in_link", "linda@example.com", r"/account/sign-in-link/\S+"))
    page.get_by_role("button", name="Sign me in").click()
    expect(page.locator(".flash--success")).to_contain_text("Welcome back, Linda.")


def test_a_customer_moves_their_account_to_a_new_address(
    page: Page, make_verified_user: Callable[..., User]
) -> None:
    person = make_verified_user(email="before@example.com", preferred_name="Bea")
    sign_in(page, person.email)
    page.goto("/account/")
    page.get_by_role("link", name="Change my email address").click()
    page.get_by_label("New email address").fill("after@example.com")
    page.get_by_label("Your password, to confirm").fill("correct horse battery")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator(".flash--info")).to_contain_text("after@example.com")
    page.goto(emailed_link("email_change", "after@example.com", r"/account/email/\S+"))
    page.get_by_role("button", name="Use the new address").click()
    expect(page.locator(".flash--success")).to_contain_text(
        "Done: your account now uses after@example.com."
    )
