"""Staff pages in a real browser, with and without JavaScript (issue #25): a move's form shows
only what that move needs; ticked items in triage survive a filter change; both pass axe."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.models import Category, Feedback, FeedbackState, Role, User
from tests.browser.conftest import BrowserLog, sign_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe
from tests.browser.test_journeys import move_button, move_choice

PLAN_MESSAGE = (
    "Nia, I am so sorry your parcel was soaked. I have ordered a replacement and I will make "
    "sure it reaches you dry, in the porch box, by the date below."
)
JS = [pytest.param(True, id="javascript"), pytest.param(False, id="no-javascript")]


def assert_no_serious_axe_findings(page: Page, javascript: bool = True) -> None:
    """axe runs in the page: in a browser with JavaScript off the same markup is checked by
    the other run of each test."""
    if not javascript:
        return
    violations = run_axe(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe found on {page.url}:\n{describe(violations)}"


@pytest.mark.parametrize("javascript", JS)
def test_a_moves_form_shows_only_what_that_move_needs(
    javascript: bool,
    open_page: Callable[..., Page],
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    browser_log: BrowserLog,
) -> None:
    # The first try is refused on purpose (400): Planned without a date.
    browser_log.allow(r"/admin/feedback/\d+/move.*status of 400")
    staff = make_verified_user(role=Role.STAFF, display_name="Sam from Support")
    item = make_feedback(author=make_verified_user(preferred_name="Nia"))
    desk = open_page(javascript=javascript)
    sign_in(desk, staff.email)
    desk.goto(f"/admin/feedback/{item.id}")

    # Nothing to fill in shows until a move is chosen; then only that move's fields.
    expect(desk.get_by_label("What we promise by then (for Planned)")).to_be_hidden()
    planning = move_choice(desk, "Planned")
    expect(planning.get_by_label("Promised date (for Planned)")).to_be_visible()
    expect(planning.get_by_label("What we promise by then (for Planned)")).to_be_visible()
    for not_asked in ("\u201cWe did\u201d", "\u201cYou said\u201d", "Merge into item number"):
        expect(planning.get_by_label(not_asked)).to_have_count(0)
    # Another move's fields stay out of sight.
    expect(desk.get_by_label("\u201cWe did\u201d for everyone (for Done)")).to_be_hidden()
    assert_no_serious_axe_findings(desk, javascript)

    planning.get_by_label("Public message to the customer").fill(PLAN_MESSAGE)
    planning.get_by_label("What we promise by then (for Planned)").fill("a dry replacement")
    move_button(planning, "Planned").click()
    # Refused: the same move's form is open again, with what was typed and what is missing.
    planning = move_choice(desk, "Planned")
    expect(planning).to_have_attribute("open", "")
    expect(planning).to_contain_text("Planning needs a target date")
    expect(planning.get_by_label("Public message to the customer")).to_have_value(PLAN_MESSAGE)
    assert_no_serious_axe_findings(desk, javascript)

    promised = date.today() + timedelta(days=14)
    planning.get_by_label("Promised date (for Planned)").fill(promised.isoformat())
    move_button(planning, "Planned").click()
    expect(desk.locator(".flash--success")).to_contain_text("Moved to \u201cPlanned\u201d")
    expect(desk.locator(".meta .badge")).to_have_text("Planned")


@pytest.mark.parametrize("javascript", JS)
def test_ticked_items_stay_ticked_across_a_filter_change(
    javascript: bool,
    open_page: Callable[..., Page],
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    make_category: Callable[..., Category],
) -> None:
    staff = make_verified_user(role=Role.STAFF)
    parcels, billing = make_category(name="Parcels"), make_category(name="Billing")
    wet = make_feedback(category=parcels, title="Wet parcel on the step")
    charged = make_feedback(category=billing, title="Charged twice for one order")
    desk = open_page(javascript=javascript)
    sign_in(desk, staff.email)
    desk.goto("/admin/")

    def tick(item: Feedback) -> None:
        desk.get_by_label(f"Select #{item.id} to resolve together").check()

    def choose_category(label: str) -> None:
        desk.get_by_label("Category", exact=True).select_option(label=label)
        if not javascript:  # without JavaScript the filter is applied with "Show"
            desk.get_by_role("button", name="Show", exact=True).click()

    tick(wet)
    if javascript:
        expect(desk.locator("#queue-ticked")).to_contain_text("1 ticked")
    choose_category("Billing")
    expect(desk.locator("#queue-results")).not_to_contain_text("Wet parcel on the step")
    expect(desk.locator("#queue-ticked")).to_contain_text("1 ticked")
    tick(charged)
    if javascript:
        expect(desk.locator("#queue-ticked")).to_contain_text("2 ticked")
    assert_no_serious_axe_findings(desk, javascript)

    choose_category("All")
    expect(desk.get_by_label(f"Select #{wet.id} to resolve together")).to_be_checked()
    expect(desk.get_by_label(f"Select #{charged.id} to resolve together")).to_be_checked()
    expect(desk.locator("#queue-ticked")).to_contain_text("2 ticked")

    # The ticks are what "Resolve selected together" takes.
    desk.get_by_role("button", name="Resolve selected together").click()
    desk.wait_for_url("**/admin/resolutions/new?**")
    expect(desk.locator("main")).to_contain_text("Wet parcel on the step")
    expect(desk.locator("main")).to_contain_text("Charged twice for one order")

    # "Clear all ticks" drops them, and keeps the filter.
    desk.go_back()
    desk.get_by_role("link", name="Clear all ticks").click()
    expect(desk.locator("#queue-ticked")).not_to_contain_text("ticked")
    expect(desk.get_by_label(f"Select #{wet.id} to resolve together")).not_to_be_checked()
    assert wet.state is FeedbackState.RECEIVED  # nothing was acted on
