"""Customer value in a real browser, with and without JavaScript: an admin sets a customer's
plan, monthly value and segment on their page (a refusal keeps what was typed, with the
field's message), and triage then shows the value behind the customer's item and sorts by it.
The page passes axe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from portal.models import Feedback, Role, User
from tests.browser.conftest import BrowserLog, sign_in
from tests.browser.test_staff_pages_browser import assert_no_serious_axe_findings

JS = [pytest.param(True, id="javascript"), pytest.param(False, id="no-javascript")]


@pytest.mark.parametrize("javascript", JS)
def test_an_admin_sets_customer_value_and_triage_sorts_by_it(
    javascript: bool,
    open_page: Callable[..., Page],
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    browser_log: BrowserLog,
) -> None:
    # The first try is refused on purpose (400): three decimals.
    browser_log.allow(r"/admin/users/\d+/value.*status of 400")
    browser_log.allow(r"Status Error Code 400 from /admin/users/\d+/value")
    admin = make_verified_user(role=Role.ADMIN)
    customer = make_verified_user(display_name="Nia Valued")
    make_feedback(title="Nobody paying behind this one")
    item = make_feedback(author=customer, title="The valued customer's request")
    desk = open_page(javascript=javascript)
    sign_in(desk, admin.email)

    desk.goto("/admin/users")
    desk.get_by_role("link", name="Nia Valued").click()
    expect(desk.get_by_role("heading", name="Customer value")).to_be_visible()
    assert_no_serious_axe_findings(desk, javascript)

    desk.get_by_label("Plan").fill("Business")
    desk.get_by_label("Monthly value").fill("1,234.567")
    desk.get_by_label("Segment").fill("Retail")
    desk.get_by_role("button", name="Save customer value").click()
    expect(desk.locator(".field__error")).to_contain_text("at most two decimals")
    expect(desk.get_by_label("Monthly value")).to_have_value("1,234.567")
    expect(desk.get_by_label("Plan")).to_have_value("Business")
    assert_no_serious_axe_findings(desk, javascript)

    desk.get_by_label("Monthly value").fill("1,234.50")
    desk.get_by_role("button", name="Save customer value").click()
    expect(desk.get_by_text("Saved Nia Valued")).to_be_visible()
    expect(desk.get_by_label("Monthly value")).to_have_value("1234.50")

    desk.goto("/admin/")
    desk.get_by_label("Sort").select_option("value")
    desk.get_by_role("button", name="Show").click()
    first = desk.locator("tr.queue-row").first
    expect(first).to_contain_text(f"#{item.id}")
    expect(first).to_contain_text("$1,234.50 a month")
    expect(first).to_contain_text("1 paying")
