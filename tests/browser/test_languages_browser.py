"""The board, an item, the submit page and triage in each shipped language, at a phone's and a
desktop's width, in a real browser: screenshots into tests/screenshots/ (lang-<code>-<page>),
the page in its language and direction, no sideways scrolling, and for Arabic (right to left)
no serious or critical accessibility problem by axe-core."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from portal.models import Feedback, Role, User
from tests.browser.conftest import MOBILE, screenshot, sign_in
from tests.browser.test_accessibility import BLOCKING_IMPACTS, describe, run_axe

LANGUAGES = ("es", "de", "fr", "ar")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_main_pages_in_each_language_at_both_widths(
    language: str,
    open_page: Callable[..., Page],
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    staff = make_verified_user(role=Role.STAFF, email=f"staff.{language}@example.com")
    item = make_feedback(title="Parcel box leaks in the rain")
    pages = {
        "board": "/",
        "item": f"/feedback/{item.id}",
        "submit": "/feedback/new",
        "triage": "/admin/",
    }
    problems = []
    for viewport in (None, MOBILE):
        page = open_page(viewport=viewport)
        sign_in(page, staff.email)
        page.goto(f"/language/{language}?next=/")
        for name, path in pages.items():
            page.goto(path)
            html = page.locator("html")
            assert html.get_attribute("lang") == language, path
            assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), path
            wider = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not wider, f"{path} scrolls sideways in {language}"
            screenshot(page, f"lang-{language}-{name}")
            if language == "ar":
                blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
                problems += [f"{path} at {viewport or 'desktop'}: {describe(blocking)}"] * bool(
                    blocking
                )
    assert not problems, "\n".join(problems)
