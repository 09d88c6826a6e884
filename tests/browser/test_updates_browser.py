"""What's new for me on a phone: the unread count shows on the folded menu and on the link
inside it, the header stays one line, the list reads newest first, and opening it clears the
count (a real browser at 360 px, with JavaScript on and off)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Feedback, Role, User
from portal.services import updates, workflow
from tests.browser.conftest import MOBILE, screenshot, sign_in

ACK = "Thank you, I am looking at this now and will write again by Friday."


def _one_line_header(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const header = document.querySelector(".site-header");
              const brand = header.querySelector(".brand").getBoundingClientRect();
              const toggle = header.querySelector(".site-menu__toggle").getBoundingClientRect();
              const middle = brand.top + brand.height / 2;
              return toggle.top <= middle && toggle.bottom >= middle
                && document.documentElement.scrollWidth <= window.innerWidth;
            }"""
        )
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_customer_on_a_phone_sees_the_count_reads_the_updates_and_the_count_clears(
    javascript: bool,
    open_page: Callable[..., Any],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    customer = make_user(display_name="Nia Okafor")
    staff = make_user(role=Role.STAFF, display_name="Sam Patel")
    item = make_feedback(author=customer, title="Kettle lid cracked")
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.reply(item.id, staff, "A new lid is on its way to you today.", post_anyway=True)
    db.session.commit()

    page = open_page(viewport=MOBILE, javascript=javascript)
    sign_in(page, customer.email)
    page.goto("/")
    toggle = page.locator(".site-menu__toggle")
    expect(toggle.locator(".count-badge")).to_have_text("2")
    expect(toggle).to_contain_text("2 new updates")  # the words a screen reader hears
    assert _one_line_header(page), "the header wraps with the count in it"

    toggle.click()
    link = page.get_by_role("link", name="What's new 2 new updates")
    expect(link).to_be_visible()
    expect(link.locator(".count-badge")).to_have_text("2")
    screenshot(page, "updates-badge")
    link.click()

    expect(page.locator("h1")).to_have_text("What's new for me")
    lines = page.locator(".update__line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_text("Sam Patel answered your feedback “Kettle lid cracked”")
    expect(lines.nth(1)).to_contain_text("has read “Kettle lid cracked” and is looking after it")
    expect(page.locator(".update .tag--new")).to_have_count(2)
    expect(page.locator(".count-badge")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "updates-list")

    lines.nth(0).get_by_role("link", name="Kettle lid cracked").click()
    expect(page.locator("h1")).to_contain_text("Kettle lid cracked")
    expect(page.locator(".count-badge")).to_have_count(0)
    # Back to the board it was opened from: signed-in pages are not kept (no-store), so the
    # count is asked again and is gone, with no polling.
    page.go_back()
    page.go_back()
    assert urlsplit(page.url).path == "/"
    expect(page.locator(".item-card").first).to_be_visible()
    expect(page.locator(".count-badge")).to_have_count(0)


def test_older_updates_come_in_place_with_htmx_and_the_address_follows(
    open_page: Callable[..., Any],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    customer = make_user()
    staff = make_user(role=Role.STAFF, display_name="Sam Patel")
    item = make_feedback(author=customer, title="Kettle lid cracked")
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    for n in range(updates.PER_PAGE + 1):
        workflow.reply(item.id, staff, f"Reply number {n}.", post_anyway=True)
    db.session.commit()

    page = open_page(viewport=MOBILE)
    sign_in(page, customer.email)
    page.goto("/account/updates")
    expect(page.locator(".update")).to_have_count(updates.PER_PAGE)
    page.evaluate("window.__marker = 1")
    page.get_by_role("link", name="Older").click()
    expect(page).to_have_url(re.compile(r"/account/updates\?page=2$"))
    expect(page.locator(".update__quote").first).to_have_text("Reply number 0.")
    expect(page.locator(".update")).to_have_count(2)
    assert page.evaluate("window.__marker") == 1, "the document was replaced"
    expect(page.locator("h1")).to_have_count(1)
