"""The guard for personal details in a real browser: with JavaScript the question appears under
the text as it is typed, without a reload; without JavaScript the form comes back with the
question, the quoted words and everything typed, and "Make it private and send" sends it
privately."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Category, Feedback, User, Visibility
from tests.browser.conftest import BrowserLog, sign_in
from tests.browser.test_journeys import without_reload

QUESTION = "This will be public: make it private, or take the details out?"
TITLE = "My parcel never arrived"
BODY = "Order #44821 never came. Ring me on 07911 123456 about it."


def _fill(page: Page, category: Category) -> None:
    page.goto("/feedback/new")
    page.get_by_label("Something went wrong (a complaint)").check()
    page.get_by_label("Which part of our service?").select_option(label=category.name)
    page.get_by_label("Title").fill(TITLE)


def test_the_question_appears_as_they_type(
    open_page: Callable[..., Page],
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    category = make_category(name="Delivery")
    page = open_page()
    sign_in(page, make_user().email)
    _fill(page, category)
    guard = page.locator("#personal-details")
    with without_reload(page):
        page.get_by_label("Tell us more").press_sequentially(BODY, delay=5)
        expect(guard).to_contain_text(QUESTION)
        expect(guard).to_contain_text('"07911 123456"')
        expect(guard).to_contain_text('"Order #44821"')
        # Taking the details out takes the question away.
        page.get_by_label("Tell us more").fill("")
        page.get_by_label("Tell us more").press_sequentially("It never came at all.", delay=5)
        expect(guard).not_to_contain_text(QUESTION)
        # Pasted, not typed (no key pressed): asked all the same.
        page.get_by_label("Tell us more").fill(BODY)
        expect(guard).to_contain_text('"07911 123456"')


def test_without_javascript_the_form_asks_and_make_it_private_sends_it(
    open_page: Callable[..., Page],
    browser_log: BrowserLog,
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    # The held form answers 422, as held words do on every surface.
    browser_log.allow(r"/feedback/new.*status of 422")
    category = make_category(name="Delivery")
    page = open_page(javascript=False)
    sign_in(page, make_user().email)
    _fill(page, category)
    page.get_by_label("Tell us more").fill(BODY)
    # Nothing is chosen for them: sending without a choice is refused, keeping the words.
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("body")).to_contain_text("Please choose who can see it")
    expect(page.get_by_label("Tell us more")).to_have_value(BODY)
    page.get_by_label("Public: others can see it").check()
    page.get_by_role("button", name="Send feedback").click()
    guard = page.locator("#personal-details")
    expect(guard).to_contain_text(QUESTION)
    expect(guard).to_contain_text('"07911 123456"')
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Tell us more")).to_have_value(BODY)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
    guard.get_by_role("button", name="Make it private and send").click()
    page.wait_for_url(re.compile(r"/feedback/\d+/submitted$"))
    db.session.rollback()  # read what the server committed, not this session's snapshot
    [item] = db.session.scalars(sa.select(Feedback)).all()
    assert item.visibility is Visibility.PRIVATE and item.body_source == BODY
