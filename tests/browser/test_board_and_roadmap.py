"""The board on every screen size, and the public roadmap, in a real browser on the demo data.

On a 360 x 740 phone the header stays on one line, the filters fold behind "Filter" and the
first item's card starts on the first screen; the same at 768 and 1280 pixels. The roadmap
shows its three columns (side by side on a wide screen, one after another on a phone) and
filters by category with JavaScript on (in place) and off (a plain form).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from portal.database import sqlite_write_intent
from portal.extensions import db
from portal.models import Category, Feedback, FeedbackState
from portal.services.demo import DEMO_PASSWORD, seed_demo
from tests.browser.conftest import DESKTOP, MOBILE, screenshot, sign_in
from tests.conftest import _empty_all_tables

TABLET = {"width": 768, "height": 1024}
SIZES = {"phone": MOBILE, "tablet": TABLET, "desktop": DESKTOP}
CUSTOMER = "nia@example.com"  # Nia, a customer in the demo data


@pytest.fixture(scope="module")
def demo(app: Flask) -> Iterator[None]:
    """The demo portal, seeded once for the module and emptied after its last test."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        db.session.remove()
    yield
    with app.app_context():
        _empty_all_tables()
        db.session.remove()


@pytest.fixture(autouse=True)
def _app_context(app: Flask, demo: None) -> Iterator[None]:
    """Replaces the root fixture of the same name: these tests read the demo data without
    emptying the tables after each (see demo); the one that votes takes its vote back."""
    token = sqlite_write_intent.set(False)
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
    sqlite_write_intent.reset(token)


@contextmanager
def in_place(page: Page) -> Iterator[None]:
    """The block updates the page in place (htmx), with no new document; unlike
    test_journeys.without_reload, the address may change (htmx pushes it to the history)."""
    page.evaluate("window.__marker = 1")
    yield
    assert page.evaluate("window.__marker") == 1, "the document was replaced"


def _one_line(page: Page, selector: str) -> list[str]:
    """The header's visible parts (the brand, the menu's toggle, each link shown) that do not
    sit on the brand's line."""
    return page.evaluate(
        """(selector) => {
          const header = document.querySelector(selector);
          const brand = header.querySelector(".brand").getBoundingClientRect();
          const middle = brand.top + brand.height / 2;
          const parts = header.querySelectorAll(
            ".site-menu__toggle, .site-nav > a, .site-nav > form");
          return [...parts]
            .filter((e) => e.checkVisibility())
            .filter((e) => { const r = e.getBoundingClientRect();
                             return r.top > middle || r.bottom < middle; })
            .map((e) => e.textContent.trim());
        }""",
        selector,
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_the_first_card_shows_on_the_first_screen_under_a_one_line_header(
    size: str, open_page: Any
) -> None:
    viewport = SIZES[size]
    page = open_page(viewport=viewport)
    page.goto("/")
    assert _one_line(page, ".site-header") == [], "the header wraps"
    first = page.locator(".item-card").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None
    # Its top, and its title, inside the first screen without scrolling.
    assert 0 <= box["y"] < viewport["height"], f"first card starts at {box['y']}px"
    title = first.locator(".item-card__title").bounding_box()
    assert title is not None and title["y"] + title["height"] <= viewport["height"]
    # The filters other than the search and the order wait behind "Filter".
    expect(page.get_by_label("State")).to_be_hidden()
    expect(page.locator(".filters__toggle")).to_be_visible()
    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"board-{size}")


def test_a_card_is_compact_its_vote_beside_its_title(page: Page) -> None:
    page.goto("/")
    card = page.locator(".item-card").first
    vote, title = card.locator(".vote__button"), card.locator(".item-card__title")
    vote_box, title_box = vote.bounding_box(), title.bounding_box()
    assert vote_box is not None and title_box is not None
    # Beside: the vote starts level with the title, not above it.
    assert abs(vote_box["y"] - title_box["y"]) < title_box["height"]
    assert vote_box["x"] + vote_box["width"] <= title_box["x"]
    # The boxed "Sign in to vote" is gone from sight but still read out, and offered on hover.
    expect(vote).to_have_attribute("title", "Sign in to vote")
    expect(vote).to_contain_text("Sign in to vote")
    expect(vote.locator(".vote__label")).to_have_class(re.compile(r"\bvisually-hidden\b"))
    # One line of what was written, a state and a category.
    excerpt = card.locator(".item-card__excerpt")
    expect(excerpt).to_be_visible()
    line = excerpt.bounding_box()
    assert line is not None and line["height"] < 1.8 * 16, "the excerpt runs over one line"
    expect(card.locator(".badge")).to_have_count(1)
    expect(card.locator(".item-card__category")).not_to_be_empty()


def test_filters_fold_and_work_without_javascript_on_a_phone(open_page: Any, app: Flask) -> None:
    page = open_page(javascript=False, viewport=MOBILE)
    page.goto("/")
    page.locator(".filters__toggle").click()
    page.get_by_label("State").select_option(label="Planned")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/?**state=planned**")
    badges = page.locator(".item-card .badge")
    assert badges.count() > 0
    assert set(badges.all_inner_texts()) == {"Planned"}
    # The filter chosen is in view: its fold comes back open, and says how many are chosen.
    expect(page.get_by_label("State")).to_be_visible()
    expect(page.locator(".filters__toggle")).to_contain_text("(1)")


def test_sorting_by_recently_answered_updates_the_list_in_place(page: Page, app: Flask) -> None:
    with app.app_context():
        answered = db.session.scalar(
            sa.select(Feedback.title)
            .where(Feedback.resolved_at.is_not(None), Feedback.visibility == "public")
            .order_by(Feedback.resolved_at.desc(), Feedback.id.desc())
            .limit(1)
        )
    page.goto("/")
    with in_place(page):
        page.get_by_label("Sort by").select_option(label="Recently answered")
        expect(page.locator(".results-count")).to_contain_text("with a published answer")
    expect(page.locator(".item-card__title").first).to_have_text(str(answered))
    assert set(page.locator(".item-card .badge").all_inner_texts()) == {"Done"}
    assert "sort=answered" in page.url


def test_a_vote_on_a_card_comes_back_compact(open_page: Any, app: Flask) -> None:
    page = open_page()
    sign_in(page, CUSTOMER, DEMO_PASSWORD)
    page.goto("/?sort=new")
    form = page.locator(".item-card form.vote").first
    button = form.locator("button")
    before = int(button.locator(".vote__count").inner_text())
    pressed = button.get_attribute("aria-pressed") == "true"
    with in_place(page):
        button.click()
        after = page.locator(".item-card form.vote").first
        expect(after.locator(".vote__count")).to_have_text(str(before + (-1 if pressed else 1)))
    expect(after).to_have_class(re.compile(r"\bvote--compact\b"))
    expect(after.locator("button")).to_have_attribute("aria-pressed", str(not pressed).lower())
    # Put back as it was: the other tests read the demo data.
    after.locator("button").click()
    expect(after.locator(".vote__count")).to_have_text(str(before))


def _column_boxes(page: Page) -> list[dict[str, float]]:
    boxes = [page.locator(f".roadmap__column--{name}").bounding_box() for name in COLUMNS]
    assert all(boxes)
    return boxes  # type: ignore[return-value]


COLUMNS = ("planned", "in-progress", "done")


def test_the_roadmap_shows_three_columns_side_by_side_and_stacked_on_a_phone(
    open_page: Any, app: Flask
) -> None:
    with app.app_context():
        planned = db.session.scalars(
            sa.select(Feedback.title).where(
                Feedback.state == FeedbackState.PLANNED, Feedback.visibility == "public"
            )
        ).all()
    page = open_page()
    page.goto("/roadmap")
    expect(page.get_by_role("heading", name="Roadmap", level=1)).to_be_visible()
    planned_column = page.locator(".roadmap__column--planned")
    for title in planned:
        expect(planned_column).to_contain_text(title)
    expect(planned_column.locator(".roadmap-item__promise").first).to_contain_text("We promised")
    expect(planned_column.locator(".roadmap-item__owner").first).to_contain_text("Looked after by")
    done_link = page.locator(".roadmap__column--done a", has_text="What we did").first
    expect(done_link).to_have_attribute("href", re.compile(r"/you-said-we-did/\d+$"))
    wide = _column_boxes(page)
    assert wide[0]["x"] < wide[1]["x"] < wide[2]["x"] and wide[0]["y"] == wide[2]["y"]
    screenshot(page, "roadmap")

    phone = open_page(viewport=MOBILE)
    phone.goto("/roadmap")
    stacked = _column_boxes(phone)
    assert stacked[0]["y"] < stacked[1]["y"] < stacked[2]["y"]
    first = phone.locator(".roadmap-item").first.bounding_box()
    assert first is not None and first["y"] < MOBILE["height"]
    assert _one_line(phone, ".site-header") == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot(phone, "roadmap")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
def test_the_roadmap_filters_by_category(javascript: bool, open_page: Any, app: Flask) -> None:
    with app.app_context():
        category = db.session.scalar(
            sa.select(Category)
            .join(Feedback, Feedback.category_id == Category.id)
            .where(Feedback.state == FeedbackState.PLANNED, Feedback.visibility == "public")
            .limit(1)
        )
        assert category is not None
        name, slug = category.name, category.slug
    page = open_page(javascript=javascript)
    page.goto("/roadmap")
    if javascript:
        with in_place(page):
            page.get_by_label("Category").select_option(label=name)
            page.wait_for_url(f"**/roadmap?category={slug}")
    else:
        page.get_by_label("Category").select_option(label=name)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/roadmap?category={slug}")
    items = page.locator(".roadmap-item .meta span:first-child")
    expect(items.first).to_have_text(name)
    assert set(items.all_inner_texts()) == {name}


def test_the_roadmap_is_in_the_navigation(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roadmap").click()
    page.wait_for_url("**/roadmap")
    expect(page.get_by_role("heading", name="Roadmap", level=1)).to_be_visible()
