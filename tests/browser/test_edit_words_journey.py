"""A customer fixes a typo in their own words in a real browser: in place with htmx, and on the
edit page with JavaScript off; once staff have answered, the words are closed to edits, and
staff read the earlier versions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Feedback, Role, User
from portal.services import feedback as feedback_service
from portal.services import workflow
from tests.browser.conftest import BrowserLog, screenshot, sign_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe
from tests.browser.test_journeys import without_reload

TITLE_TYPO = "Kettel lid cracked on arrival"
TITLE = "Kettle lid cracked on arrival"
TYPO = "The kettel arrived with a cracked lid."
FIXED = "The kettle arrived with a cracked lid."
SORRY = "Nia, I am sorry the lid was cracked; a new kettle goes out to you on Friday."


@pytest.fixture
def nia(make_user: Callable[..., User]) -> User:
    return make_user(email="nia.edits@example.com", display_name="Nia", preferred_name="Nia")


@pytest.fixture
def staff(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user(role=Role.STAFF, display_name="Sam from Support")


def _answer(item: Feedback, staff: User) -> None:
    """Staff acknowledge the item, from a fresh look at what the server committed (a write
    from an older snapshot would be refused by SQLite)."""
    db.session.rollback()
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()


def _no_serious_violations(page: Page) -> None:
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, describe(blocking)


def test_the_author_edits_in_place_until_staff_answer(
    page: Page,
    browser_log: BrowserLog,
    nia: User,
    staff: User,
    make_feedback: Callable[..., Feedback],
) -> None:
    item = make_feedback(author=nia, title=TITLE_TYPO, body=TYPO)
    comment = feedback_service.add_comment(nia, item.id, "It was the secnod kettle.")
    db.session.commit()
    sign_in(page, nia.email)
    page.goto(f"/feedback/{item.id}")

    # The item: the form takes the words' place, and the saved words come back.
    with without_reload(page):
        page.get_by_role("link", name="Edit your title and text").click()
        title = page.get_by_label("Title")
        expect(title).to_be_focused()
        expect(title).to_have_value(TITLE_TYPO)
        screenshot(page, "edit-item-in-place")
        _no_serious_violations(page)
        title.fill(TITLE)
        page.get_by_label("Your feedback").fill(FIXED)
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#item-text .item__body")).to_have_text(FIXED)
        expect(page.locator("h1")).to_have_text(TITLE)
        expect(page.locator("#item-text")).to_contain_text("Edited")
        expect(page.locator("#item-text [role=status]")).to_have_text("Your changes are saved.")

    # Cancel puts the words back as they were.
    with without_reload(page):
        page.get_by_role("link", name="Edit your title and text").click()
        # Typing waits for the form to settle: htmx then moves the focus to the title, and
        # keys sent before that would land there.
        expect(page.get_by_label("Title")).to_be_focused()
        page.get_by_label("Your feedback").fill("Words I thought better of.")
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("#item-text .item__body")).to_have_text(FIXED)

    # A comment, the same way.
    box = page.locator(f"#comment-text-{comment.id}")
    with without_reload(page):
        box.get_by_role("link", name="Edit your comment").click()
        field = page.get_by_label("Your comment", exact=True)
        expect(field).to_be_focused()
        field.fill("It was the second kettle.")
        page.get_by_role("button", name="Save changes").click()
        expect(box.locator(".prose")).to_have_text("It was the second kettle.")
        expect(box).to_contain_text("Edited")

    # Staff answer while the form is open: the edit is refused (409, shown in place), what was
    # typed stays.
    browser_log.allow(r"/feedback/\d+/edit.*status of 409")
    browser_log.allow(r"Status Error Code 409 from /feedback/\d+/edit")
    with without_reload(page):
        page.get_by_role("link", name="Edit your title and text").click()
        expect(page.get_by_label("Title")).to_be_focused()
        _answer(item, staff)
        page.get_by_label("Your feedback").fill("Typed after the answer.")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#item-text [role=alert]")).to_contain_text(
            "Our team has answered this"
        )
        expect(page.get_by_label("Your feedback")).to_have_value("Typed after the answer.")
        expect(page.get_by_label("Title")).to_have_value(TITLE)

    # After the answer, neither Edit link is offered; the words are as saved.
    page.reload()
    expect(page.locator("#item-text .item__body")).to_have_text(FIXED)
    expect(page.get_by_role("link", name="Edit your title and text")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit your comment")).to_have_count(0)


def test_without_javascript_the_author_edits_on_its_own_page_and_staff_see_earlier_versions(
    open_page: Callable[..., Page],
    nia: User,
    staff: User,
    make_feedback: Callable[..., Feedback],
) -> None:
    item = make_feedback(author=nia, title=TITLE_TYPO, body=TYPO)
    page = open_page(javascript=False)
    sign_in(page, nia.email)
    page.goto(f"/feedback/{item.id}")

    page.get_by_role("link", name="Edit your title and text").click()
    expect(page).to_have_url(f"{page.url.split('/feedback/')[0]}/feedback/{item.id}/edit")
    expect(page.locator("h1")).to_have_text("Edit your feedback")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Your feedback").fill(FIXED)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash--success")).to_have_text("Your changes are saved.")
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator("#item-text .item__body")).to_have_text(FIXED)

    # Staff answer; the edit page then sends Nia back to the item, saying why.
    _answer(item, staff)
    page.goto(f"/feedback/{item.id}/edit")
    expect(page.locator(".flash")).to_contain_text("Our team has answered this")
    expect(page.get_by_role("link", name="Edit your title and text")).to_have_count(0)

    # Staff read what it said before, and customers never do.
    staff_page = open_page()
    sign_in(staff_page, staff.email)
    staff_page.goto(f"/feedback/{item.id}")
    versions = staff_page.locator("details.versions")
    versions.locator("summary").click()
    expect(versions).to_contain_text(TITLE_TYPO)
    expect(versions).to_contain_text(TYPO)
    screenshot(staff_page, "edit-earlier-versions")
    _no_serious_violations(staff_page)
    expect(page.locator("details.versions")).to_have_count(0)
