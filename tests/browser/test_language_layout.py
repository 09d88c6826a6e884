"""Layout in long and right-to-left languages, in Chromium (#23).

The pseudo-locale (tests/i18n/pseudo.py) turns every catalog word into a bracketed, accented
text about 30% longer; the same catalog also stands in for Arabic, so its pages say
dir="rtl". On the main pages, at a phone's width and a desktop's, nothing sticks out of the
page and no box cuts its text off; written right to left, the board mirrors.

The tests measure; they pin no text: the pseudo text grows as more words are marked.
Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from portal.database import sqlite_write_intent
from portal.extensions import db
from portal.models import Feedback
from portal.services.demo import DEMO_PASSWORD, seed_demo
from tests.browser.conftest import (
    DESKTOP,
    MOBILE,
    LiveServer,
    screenshot,
    serving,
    sign_in,
)
from tests.conftest import _empty_all_tables, make_test_app
from tests.i18n.pseudo import PSEUDO_LANGUAGE, write_pseudo_catalog

RIGHT_TO_LEFT = "ar"  # the pseudo catalog again, under a language written right to left
ADMIN = "admin@example.com"
CUSTOMER = "nia@example.com"
WIDTHS = (MOBILE, DESKTOP)


@pytest.fixture(scope="module")
def translations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pseudo-locale's catalog, and a copy of it for a right-to-left language."""
    directory = tmp_path_factory.mktemp("layout-translations")
    write_pseudo_catalog(directory)
    shutil.copytree(directory / PSEUDO_LANGUAGE, directory / RIGHT_TO_LEFT)
    return directory


@dataclass(frozen=True)
class Demo:
    """Items of the demo data the pages below are about."""

    resolved_id: int  # public, resolved: comments, a full timeline and "What we did"


@pytest.fixture(scope="module")
def demo(app: Flask) -> Iterator[Demo]:
    """The demo portal, seeded once for the module and emptied after its last test."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        ids = Demo(
            resolved_id=db.session.scalar(
                sa.select(Feedback.id).where(Feedback.title == "Charged twice for one order")
            )
        )
        db.session.remove()
    yield ids
    with app.app_context():
        _empty_all_tables()
        db.session.remove()


@pytest.fixture(autouse=True)
def _app_context(app: Flask, demo: Demo) -> Iterator[None]:
    """Replaces the root fixture of the same name: these tests only read the demo data."""
    token = sqlite_write_intent.set(False)
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
    sqlite_write_intent.reset(token)


@pytest.fixture(scope="module")
def live_server(
    chromium_path: str,  # without a browser, skip (or fail in CI) before seeding anything
    database_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
    translations: Path,
    demo: Demo,
) -> Iterator[LiveServer]:
    """Replaces the session's live server for this module: the portal on the same database,
    offering the pseudo-locale and its right-to-left twin besides English. Its errors are
    recorded like the session server's (tests/browser/conftest.py)."""
    site = make_test_app(
        database_uri,
        tmp_path_factory.mktemp("layout-instance"),
        PORTAL_TRANSLATIONS_DIR=str(translations),
    )
    try:
        with serving(site, "layout-server") as server:
            yield server
    finally:
        with site.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def signed_in(browser: Any, live_server: LiveServer) -> Callable[[str | None], Any]:
    """The cookies of someone signed in through the real form (in English), once per person."""
    states: dict[str, Any] = {}

    def state_for(email: str | None) -> Any:
        if email is None:
            return {"cookies": [], "origins": []}
        if email not in states:
            context = browser.new_context(base_url=live_server.url)
            sign_in(context.new_page(), email, DEMO_PASSWORD)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state_for


def in_language(state: dict[str, Any], language: str, server: LiveServer) -> dict[str, Any]:
    """The same cookies, plus the language switcher's cookie."""
    host = server.url.split("//", 1)[1].split(":", 1)[0]
    cookie = {"name": "lang", "value": language, "domain": host, "path": "/", "expires": -1}
    return {**state, "cookies": [*state["cookies"], cookie]}


# Each page, and who looks at it: a visitor, or someone signed in.
PAGES = {
    "board": ("/", None),
    "item": ("/feedback/{resolved_id}", None),
    "item-signed-in": ("/feedback/{resolved_id}", CUSTOMER),
    "submit": ("/feedback/new", CUSTOMER),
    # Similar feedback, shown as the title is typed (an htmx fragment; here the page itself).
    "submit-suggestions": ("/feedback/new?title=parcel+left+in+the+rain", CUSTOMER),
    "submit-refused": ("/feedback/new", CUSTOMER),
    "triage": ("/admin/", ADMIN),
    "admin-item": ("/admin/feedback/{resolved_id}", ADMIN),
}
# Pages that a button's press shows: what to press on the page opened.
PRESS = {"submit-refused": "form.form button.button:not(.check-similar)"}


def open_case(page: Page, name: str, demo: Demo) -> None:
    """Open the page a case names (and press its button)."""
    path = PAGES[name][0].format(**demo.__dict__)
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    if name in PRESS:
        with page.expect_navigation():
            page.locator(PRESS[name]).click()
        assert page.locator(".field__error").count() > 0
    # What a <details> holds (triage's quick acknowledgement) is measured open.
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")


LAYOUT_PROBLEMS = """(scrollingAllowed) => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className.trim()
      ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const text = (e) => (e.innerText || e.value || "").trim().replace(/\\s+/g, " ").slice(0, 60);
  const shown = (e) => {
    const box = e.getBoundingClientRect();
    // checkVisibility: not hidden, nor inside a closed <details> (laid out, not shown).
    return box.width > 1 && box.height > 1 && e.checkVisibility({ visibilityProperty: true });
  };
  const hides = (value) => value === "hidden" || value === "clip";
  const scrolls = (value) => value === "auto" || value === "scroll";
  const cut = [];
  const spilling = [];
  const scrolling = [];
  for (const e of document.querySelectorAll("body *")) {
    if (!shown(e)) continue;
    const style = getComputedStyle(e);
    const wider = e.scrollWidth > e.clientWidth + 1;
    const taller = e.scrollHeight > e.clientHeight + 1;
    // A box that hides what does not fit in it cuts its text off.
    if ((hides(style.overflowX) && wider) || (hides(style.overflowY) && taller) ||
        (style.textOverflow === "ellipsis" && wider)) {
      cut.push(e);
    } else if (wider && !scrolls(style.overflowX) && style.display !== "inline" &&
               e.clientWidth > 0) {
      // Content that runs out sideways past its box's edge (a card's, a button's, a cell's)
      // overlaps its neighbours or sticks out of its card, unless the box scrolls.
      spilling.push(e);
    } else if (wider && scrolls(style.overflowX) && !scrollingAllowed) {
      scrolling.push(e);
    }
  }
  // Name the innermost box that spills: its ancestors spill because of it.
  const innermost = spilling.filter((e) => !spilling.some((o) => o !== e && e.contains(o)));
  const problems = [
    ...cut.map((e) => `${name(e)} cuts its text off: ${JSON.stringify(text(e))}`),
    ...innermost.map((e) => `${name(e)} spills out of its box ` +
                            `(${e.scrollWidth} > ${e.clientWidth}px): ${JSON.stringify(text(e))}`),
    ...scrolling.map((e) => `${name(e)} scrolls sideways ` +
                            `(${e.scrollWidth} > ${e.clientWidth}px): ${JSON.stringify(text(e))}`),
  ];
  if (root.scrollWidth > width) {
    problems.unshift(`the page scrolls sideways: ${root.scrollWidth} > ${width}px`);
  }
  return problems;
}"""


def layout_problems(page: Page, *, scrolling_allowed: bool = False) -> list[str]:
    """What sticks out of the page or out of its box, is cut off, or (unless allowed) has to
    be scrolled sideways in its box, as the page is now."""
    return list(page.evaluate(LAYOUT_PROBLEMS, scrolling_allowed))


@pytest.mark.parametrize("language", [PSEUDO_LANGUAGE, RIGHT_TO_LEFT])
@pytest.mark.parametrize("name", list(PAGES))
def test_longer_words_fit_the_page_on_a_phone_and_a_desktop(
    name: str,
    language: str,
    demo: Demo,
    live_server: LiveServer,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
) -> None:
    path, who = PAGES[name]
    page = open_page(storage_state=in_language(signed_in(who), language, live_server))
    open_case(page, name, demo)
    direction = "rtl" if language == RIGHT_TO_LEFT else "ltr"
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("html").get_attribute("dir") == direction
    found = {}
    for viewport in WIDTHS:
        # Media queries follow the viewport as it changes; no reload is needed.
        page.set_viewport_size(viewport)
        if viewport is MOBILE:
            screenshot(page, f"layout-{name}-{language}")
        problems = layout_problems(page)
        if problems:
            found[viewport["width"]] = problems
    assert not found, f"{path} in {language!r}: {found}"


def test_written_right_to_left_the_board_and_an_item_mirror(
    demo: Demo,
    live_server: LiveServer,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
) -> None:
    """The vote button comes before the title: on its left when the page is written left to
    right, on its right when it is written right to left (on the board and an item's page)."""
    places = {  # where, the box holding both, its title
        "board": ("/", ".item-card", ".item-card__title"),
        "item": (f"/feedback/{demo.resolved_id}", ".item__head", ".item__title"),
    }
    sides = {}
    arrows = {}
    for language in (PSEUDO_LANGUAGE, RIGHT_TO_LEFT):
        page = open_page(storage_state=in_language(signed_in(None), language, live_server))
        for place, (path, holder, title_selector) in places.items():
            page.goto(path)
            if place == "item":
                # "← All feedback" points back the way the page reads.
                arrows[language] = page.locator(".breadcrumb .arrow").evaluate(
                    "(e) => getComputedStyle(e).transform"
                )
            box = page.locator(holder).first
            vote = box.locator(".vote__button").bounding_box()
            title = box.locator(title_selector).bounding_box()
            assert vote is not None and title is not None
            if vote["x"] + vote["width"] <= title["x"]:
                sides[place, language] = "left"
            elif title["x"] + title["width"] <= vote["x"]:
                sides[place, language] = "right"
            else:
                sides[place, language] = f"overlapping: vote {vote}, title {title}"
        if language == RIGHT_TO_LEFT:
            screenshot(page, "layout-item-rtl")
    assert sides == {
        ("board", PSEUDO_LANGUAGE): "left",
        ("item", PSEUDO_LANGUAGE): "left",
        ("board", RIGHT_TO_LEFT): "right",
        ("item", RIGHT_TO_LEFT): "right",
    }
    assert arrows[PSEUDO_LANGUAGE] == "none"
    assert arrows[RIGHT_TO_LEFT] == "matrix(-1, 0, 0, 1, 0, 0)"


LONG_WORD = "Ŝţŕéţçĥéđŵöŕđŵîţĥöûţàñýƀŕéàķîñĝþöîñţàţàĺĺ"
STRETCH = """(word) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!/\\p{L}{2,}/u.test(node.data)) continue;
    if (parent.closest("script, style, option, time")) continue;
    nodes.push(node);
  }
  for (const node of nodes) node.data = node.data.replace(/\\p{L}{4,}/u, word);
  for (const e of document.querySelectorAll("input[type=submit], input[type=button]")) {
    e.value = e.value + " " + word;
  }
  return nodes.length;
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_a_word_longer_than_a_phone_is_wide_wraps_wherever_it_is_shown(
    name: str,
    demo: Demo,
    live_server: LiveServer,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
) -> None:
    path, who = PAGES[name]
    page = open_page(
        storage_state=in_language(signed_in(who), PSEUDO_LANGUAGE, live_server), viewport=MOBILE
    )
    open_case(page, name, demo)
    assert page.evaluate(STRETCH, LONG_WORD) > 10
    found = {}
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        # A table may scroll sideways rather than break every word in it.
        problems = layout_problems(page, scrolling_allowed=True)
        if problems:
            found[viewport["width"]] = problems
    screenshot(page, f"layout-stretched-{name}")
    assert not found, f"{path}: {found}"


def test_the_measure_finds_a_page_too_wide_a_spilling_word_and_text_cut_off(
    open_page: Callable[..., Page],
) -> None:
    """The check above finds what it is for (a page that measured nothing would pass)."""
    page = open_page(viewport=MOBILE)
    word = "x" * 80
    page.set_content(
        f"""<body style="margin:0">
        <p style="width:100px">{word}</p>
        <p style="width:100px;overflow:hidden">{word}</p>
        <p style="width:100px;overflow-x:auto">{word}</p>
        <p style="width:100px;overflow-wrap:anywhere">{word}</p>
        </body>"""
    )
    problems = layout_problems(page)
    assert problems[0].startswith("the page scrolls sideways")
    assert [p.split(" ", 2)[1] for p in problems[1:]] == ["cuts", "spills", "scrolls"]
    assert layout_problems(page, scrolling_allowed=True)[1:] == problems[1:3]
