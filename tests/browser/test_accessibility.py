"""Accessibility in a real browser: axe-core on every kind of page, visible keyboard focus,
state badges that carry words, and pages that fit a 360-pixel phone.

axe-core is vendored under tests/data/axe/ (see NOTICE there) and injected with
page.evaluate, which the site's Content Security Policy does not govern; a script tag would be
blocked, rightly. The main pages are also screenshotted, desktop and phone, on believable demo
data (and any page that does not fit the phone, to show how).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect

from portal.database import sqlite_write_intent
from portal.extensions import db
from portal.models import Feedback, FeedbackState, Role, User
from portal.services import branding, digests, invitations
from portal.services.accounts import find_user_by_email, hash_password, register_user
from portal.services.demo import DEMO_PASSWORD, seed_demo
from portal.services.tokens import (
    hash_secret,
    make_digest_subscription_token,
    make_email_change_token,
    make_invitation_token,
    make_registration_token,
    make_sign_in_token,
)
from tests.browser.conftest import MOBILE, BrowserLog, LiveServer, screenshot, sign_in
from tests.conftest import _empty_all_tables
from tests.helpers import empty_read_cache

AXE = Path(__file__).resolve().parents[1] / "data" / "axe" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
PHONE_WIDTH = MOBILE["width"]

ADMIN = "admin@example.com"
CUSTOMER = "nia@example.com"  # Nia, a customer in the demo data
NEWCOMER = "noor@example.com"  # nobody in the demo data
STAFF_NOT_OWNER = "sam@example.com"  # staff; Priya owns the demo's open item
INVITED = "kofi@example.com"  # nobody in the demo data either: invited to join the staff


@cache
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Demo:
    """Items of the demo data the pages below are about."""

    resolved_id: int  # public, resolved and answered on "You said, we did"
    nia_resolved_id: int  # Nia's own resolved item: she is asked "Did this fix it?"
    open_id: int  # planned, with a promised date
    nia_new_id: int  # Nia's own item nobody has answered yet: she may still edit it
    resolution_id: int  # the resolution that answered resolved_id
    # The emailed link that finishes a newcomer's registration (no account until it is used).
    registration_token: str
    nia_newest_id: int  # Nia's newest item: its thank-you page is hers
    subscription_token: str  # a confirmed digest subscription's own page
    # The emailed link of an invitation to join the staff, waiting for an answer.
    invitation_token: str
    # An emailed sign-in link, for a person nobody signs in as here (so it stays unused).
    sign_in_token: str
    # The link that confirms Nia's move to a new address (only its page is opened).
    email_change_token: str


def _invitation_token() -> str:
    """An invitation to a newcomer, listed on the people page, and its link's token."""
    admin = find_user_by_email(ADMIN)
    assert admin is not None
    invitation = invitations.invite(admin, email=INVITED, role=Role.STAFF)
    invitation.secret_hash = hash_secret("the accessibility check's secret")
    db.session.commit()
    return make_invitation_token(invitation.id, "the accessibility check's secret")


def _sign_in_token() -> str:
    linked = register_user(
        email="linked@example.com", password="a long enough password", display_name="Lin"
    )
    db.session.commit()
    return make_sign_in_token(linked.id, linked.email, "")


def _email_change_token() -> str:
    nia = find_user_by_email(CUSTOMER)
    assert nia is not None
    return make_email_change_token(nia.id, nia.email, "nia.new@example.com")


@pytest.fixture(scope="module")
def demo(app: Flask) -> Iterator[Demo]:
    """The demo portal: people, five categories, thirty-odd items in every state, resolutions.
    Seeded once for the module (it takes seconds) and emptied after the module's last test."""
    with app.app_context():
        seed_demo()
        db.session.commit()

        def by_title(title: str) -> int:
            return db.session.scalar(sa.select(Feedback.id).where(Feedback.title == title))

        ids = Demo(
            resolved_id=by_title("Charged twice for one order"),
            nia_resolved_id=by_title("Waited 40 minutes on the phone"),
            open_id=by_title("Courier left my parcel in the rain"),
            nia_new_id=by_title("How do I delete a saved address?"),
            resolution_id=db.session.scalar(
                sa.select(Feedback.resolution_id).where(
                    Feedback.title == "Charged twice for one order"
                )
            ),
            registration_token=make_registration_token(
                NEWCOMER, "Noor", "Noor", hash_password("a long enough password"), ""
            ),
            invitation_token=_invitation_token(),
            nia_newest_id=db.session.scalar(
                sa.select(sa.func.max(Feedback.id))
                .join(User, User.id == Feedback.author_id)
                .where(User.email == CUSTOMER)
            ),
            subscription_token=_subscription_token(),
            sign_in_token=_sign_in_token(),
            email_change_token=_email_change_token(),
        )
        db.session.commit()
        db.session.remove()
    yield ids
    with app.app_context():
        _empty_all_tables()
        db.session.remove()


def _subscription_token() -> str:
    subscribed = digests.subscribe("reader@example.com", "weekly", []).subscription
    digests.confirm(subscribed.confirm_token)
    return make_digest_subscription_token(subscribed.id, subscribed.confirm_token)


@pytest.fixture(autouse=True)
def _app_context(app: Flask, demo: Demo) -> Iterator[None]:
    """Replaces the root fixture of the same name for this module, whose tests only read:
    the same app context per test, without emptying the tables after each (see demo)."""
    token = sqlite_write_intent.set(False)
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
    sqlite_write_intent.reset(token)


@pytest.fixture(scope="module")
def signed_in(browser: Any, live_server: LiveServer) -> Callable[[str | None], Any]:
    """The cookies of someone signed in through the real form, once per person."""
    states: dict[str, Any] = {}

    def state_for(email: str | None) -> Any:
        if email is None:
            return None
        if email not in states:
            context = browser.new_context(base_url=live_server.url)
            sign_in(context.new_page(), email, DEMO_PASSWORD)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state_for


@dataclass(frozen=True)
class PageCase:
    name: str
    path: str  # may hold {resolved_id}, {nia_resolved_id}, {open_id}, {resolution_id}, ...
    who: str | None = None  # an email to sign in as, or a visitor
    status: int = 200
    shots: bool = False  # a main page: screenshotted, desktop and phone, every run


PAGES = [
    PageCase("board", "/", shots=True),
    PageCase("board-search", "/?q=delivery+parcel"),
    PageCase("board-filtered", "/?state=planned&sort=trending"),
    PageCase("board-signed-in", "/?sort=answered", CUSTOMER),
    PageCase("roadmap", "/roadmap", shots=True),
    PageCase("roadmap-category", "/roadmap?category=delivery"),
    PageCase("item", "/feedback/{resolved_id}", shots=True),
    PageCase("item-signed-in", "/feedback/{nia_resolved_id}", CUSTOMER, shots=True),
    PageCase("item-editable", "/feedback/{nia_new_id}", CUSTOMER),
    PageCase("edit-item", "/feedback/{nia_new_id}/edit", CUSTOMER),
    PageCase("submit", "/feedback/new", CUSTOMER, shots=True),
    PageCase(
        "submit-suggestions", "/feedback/new?title=parcel+left+in+the+rain", CUSTOMER, shots=True
    ),
    PageCase("register", "/account/register"),
    PageCase("register-finish", "/account/register/{registration_token}"),
    PageCase("sign-in", "/account/login"),
    PageCase("sign-in-link", "/account/sign-in-link"),
    PageCase("sign-in-link-press", "/account/sign-in-link/{sign_in_token}"),
    PageCase("change-email", "/account/email", CUSTOMER),
    PageCase("change-email-confirm", "/account/email/{email_change_token}"),
    PageCase("account", "/account/", CUSTOMER, shots=True),
    PageCase("updates", "/account/updates", CUSTOMER),
    PageCase("delete-account", "/account/delete", CUSTOMER),
    PageCase("you-said-we-did", "/you-said-we-did", shots=True),
    PageCase("you-said-we-did-one", "/you-said-we-did/{resolution_id}"),
    PageCase("digest-subscribe", "/digest/subscribe", shots=True),
    PageCase("digest-subscription", "/digest/subscription/{subscription_token}"),
    PageCase("submitted", "/feedback/{nia_newest_id}/submitted", CUSTOMER, shots=True),
    PageCase("how-we-are-doing", "/how-we-are-doing", shots=True),
    PageCase("triage", "/admin/", ADMIN, shots=True),
    PageCase("admin-item", "/admin/feedback/{open_id}", ADMIN, shots=True),
    # Sam does not own it: the page says who does instead of offering forms that are refused.
    PageCase("admin-item-not-owner", "/admin/feedback/{open_id}", STAFF_NOT_OWNER),
    # Ticks kept from another filter: the count, the clear-all and a hidden field.
    PageCase("triage-ticked", "/admin/?state=received&items={open_id}", ADMIN),
    PageCase("categories", "/admin/categories", ADMIN),
    PageCase("users", "/admin/users", ADMIN, shots=True),
    PageCase("invitation", "/account/invitation/{invitation_token}", shots=True),
    PageCase("settings", "/admin/settings", ADMIN),
    PageCase("audit", "/admin/audit", ADMIN),
    PageCase("insights", "/admin/insights", ADMIN),
    PageCase("api-tokens", "/admin/tokens", ADMIN),
    PageCase("single-sign-on", "/admin/sso", ADMIN),
    PageCase("sign-in-providers", "/admin/sign-in", ADMIN),
    PageCase("widget-admin", "/admin/widget", ADMIN),
    # The feedback widget's form, as a new tab shows it (in a frame it is the same page).
    PageCase("widget", "/widget/", shots=True),
    PageCase("widget-signed-in", "/widget/?title=parcel", CUSTOMER),
    PageCase("not-found", "/feedback/999999", status=404),
]


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations for the page as it is now."""
    page.evaluate(axe_source())
    return page.evaluate(
        """async () => {
          const results = await axe.run(document, { resultTypes: ["violations"] });
          return results.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map((n) => ({
              target: n.target, html: n.html, summary: n.failureSummary,
            })),
          }));
        }"""
    )


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.append("       " + (node["summary"] or "").replace("\n", "\n       "))
    return "\n".join(lines)


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """How wide the document is, and the outermost elements that stick out past the viewport
    (not counting what a scrolling box such as .table-wrap keeps inside itself)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const sticksOut = (e) => e.getBoundingClientRect().right > width + 0.5;
          const contained = (e) => {
            for (let a = e.parentElement; a; a = a.parentElement) {
              if (getComputedStyle(a).overflowX !== "visible" && !sticksOut(a)) return true;
            }
            return false;
          };
          const out = [...document.querySelectorAll("body *")]
            .filter((e) => sticksOut(e) && !contained(e));
          const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
            (typeof e.className === "string" && e.className.trim()
              ? "." + e.className.trim().split(/\\s+/).join(".") : "");
          const culprits = out.filter((e) => !out.includes(e.parentElement))
            .map((e) => `${name(e)} (in ${name(e.parentElement)}) ` +
                        `right=${Math.round(e.getBoundingClientRect().right)}`);
          return {
            scrollWidth: document.documentElement.scrollWidth,
            culprits: [...new Set(culprits)].slice(0, 8),
          };
        }"""
    )


@pytest.mark.parametrize("case", PAGES, ids=[c.name for c in PAGES])
def test_page_has_no_serious_accessibility_violations_and_fits_a_phone(
    case: PageCase,
    demo: Demo,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
    browser_log: BrowserLog,
) -> None:
    if case.status == 404:
        # The deliberate 404 of the error page itself is logged by Chromium.
        browser_log.allow(r"status of 404")
    page = open_page(storage_state=signed_in(case.who))
    path = case.path.format(**demo.__dict__)
    response = page.goto(path)
    assert response is not None and response.status == case.status, path
    assert_accessible_and_fits_a_phone(page, case.name, path, shots=case.shots)


def assert_accessible_and_fits_a_phone(page: Page, name: str, path: str, *, shots: bool) -> None:
    """axe finds nothing serious on the page as it is, and at 360 px it does not scroll
    sideways; a main page (`shots`) is screenshotted, desktop and phone."""
    if shots:
        screenshot(page, name)
    violations = run_axe(page)
    print(f"axe on {name} ({path}):", json.dumps([(v["id"], v["impact"]) for v in violations]))
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe found on {path}:\n{describe(violations)}"

    # Media queries follow the viewport as it changes; no reload is needed.
    page.set_viewport_size(MOBILE)
    overflow = horizontal_overflow(page)
    if shots or overflow["scrollWidth"] > PHONE_WIDTH:
        screenshot(page, name)
    assert overflow["scrollWidth"] <= PHONE_WIDTH, (
        f"{path} scrolls sideways at {PHONE_WIDTH}px: {overflow}"
    )


def _logo() -> bytes:
    out = io.BytesIO()
    # A wide logo, the hardest to keep on one line at 360 px.
    Image.new("RGB", (900, 200), (242, 184, 75)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def branded(app: Flask) -> Iterator[None]:
    """The demo site with a logo and an accent colour, for one test; then its own look again."""
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    assert admin is not None
    token = sqlite_write_intent.set(True)
    branding.set_logo(admin, _logo())
    branding.set_accent_colour(admin, "#6b2d5c")
    db.session.commit()
    sqlite_write_intent.set(False)
    empty_read_cache(app)
    yield
    sqlite_write_intent.set(True)
    branding.remove_logo(admin)
    branding.set_accent_colour(admin, "")
    db.session.commit()
    sqlite_write_intent.reset(token)
    empty_read_cache(app)


@pytest.mark.parametrize(
    ("name", "path", "who"),
    [("branded-board", "/", None), ("branded-settings", "/admin/settings", ADMIN)],
)
def test_a_branded_site_stays_accessible_and_its_header_one_line_on_a_phone(
    branded: None,
    name: str,
    path: str,
    who: str | None,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
) -> None:
    page = open_page(storage_state=signed_in(who))
    page.goto(path)
    expect(page.locator(".site-header .brand__logo")).to_be_visible()
    header = page.locator(".site-header")
    assert header.evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(107, 45, 92)"
    assert_accessible_and_fits_a_phone(page, name, path, shots=True)
    # The logo sits beside the name and adds no line: the brand is no taller with it.
    brand = page.locator(".site-header .brand")
    with_logo = brand.bounding_box()
    page.locator(".site-header .brand__logo").evaluate("(e) => { e.hidden = true; }")
    without_logo = brand.bounding_box()
    assert with_logo is not None and without_logo is not None
    assert with_logo["height"] <= without_logo["height"] + 1, (with_logo, without_logo)


# Pages only a form's answer shows: registration's "check your email", and the form refused.
REGISTRATION_ANSWERS = {  # what is typed in "Repeat the password", and what the answer says
    "register-check-email": ("a long and happy password", f"We have sent a message to {NEWCOMER}"),
    "register-refused": ("not the same password", "The two passwords are not the same."),
}


@pytest.mark.parametrize("name", list(REGISTRATION_ANSWERS))
def test_registrations_answers_have_no_serious_accessibility_violations_and_fit_a_phone(
    name: str, demo: Demo, open_page: Callable[..., Page]
) -> None:
    confirm, answer = REGISTRATION_ANSWERS[name]
    page = open_page()
    page.goto("/account/register")
    page.get_by_label("Email address").fill(NEWCOMER)
    page.get_by_label("Display name").fill("Noor")
    page.get_by_label("What should we call you?").fill("Noor")
    page.get_by_label("Password", exact=True).fill("a long and happy password")
    page.get_by_label("Repeat the password").fill(confirm)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("main")).to_contain_text(answer)
    assert_accessible_and_fits_a_phone(page, name, "/account/register (posted)", shots=True)


def test_a_submission_held_for_personal_details_has_no_serious_accessibility_violations(
    demo: Demo,
    open_page: Callable[..., Page],
    signed_in: Callable[[str | None], Any],
    browser_log: BrowserLog,
) -> None:
    """The submit form come back with the guard's question, the quoted words and the choices."""
    browser_log.allow(r"/feedback/new.*status of 422")  # held words answer 422
    # axe runs as a script, so JavaScript is on; the form is sent as without it.
    page = open_page(storage_state=signed_in(CUSTOMER))
    page.goto("/feedback/new")
    page.get_by_label("Something went wrong (a complaint)").check()
    page.get_by_label("Which part of our service?").select_option(index=1)
    page.get_by_label("Title").fill("Order #44821 never arrived")
    page.get_by_label("Tell us more").fill("Ring me on 07911 123456 about it, please.")
    page.get_by_label("Public: others can see it").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#personal-details")).to_contain_text("make it private")
    assert_accessible_and_fits_a_phone(page, "submit-held", "/feedback/new (held)", shots=True)


def test_keyboard_focus_is_always_visible(
    demo: Demo, open_page: Callable[..., Page], signed_in: Callable[[str | None], Any]
) -> None:
    """Tabbing through the board and an item page, every focused element shows it."""
    page = open_page(storage_state=signed_in(CUSTOMER))
    invisible: list[str] = []
    for path in ("/", f"/feedback/{demo.nia_resolved_id}"):
        page.goto(path)
        for _ in range(25):
            page.keyboard.press("Tab")
            focus = page.evaluate(
                """() => {
                  const e = document.activeElement;
                  const s = getComputedStyle(e);
                  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
                  const shadow = s.boxShadow && s.boxShadow !== "none";
                  return { tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || e.name
                           || "").trim().slice(0, 40), visible: outline || shadow,
                           style: `outline: ${s.outlineStyle} ${s.outlineWidth};` +
                                  ` box-shadow: ${s.boxShadow}` };
                }"""
            )
            if focus["tag"] == "body":
                continue
            if not focus["visible"]:
                invisible.append(f"{path}: <{focus['tag']}> {focus['text']!r} ({focus['style']})")
    assert not invisible, "focus is not visible on:\n" + "\n".join(invisible)

    # The first Tab lands on the skip link, which then shows itself.
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()


def test_state_badges_carry_words_not_only_colour(demo: Demo, page: Page) -> None:
    labels = {state.label for state in FeedbackState}
    seen: set[str] = set()
    for path in ("/", "/?state=resolved", "/?state=planned", "/you-said-we-did"):
        page.goto(path)
        badges = page.locator(".badge")
        assert badges.count() > 0, path
        for text in badges.all_inner_texts():
            assert text.strip() in labels, f"a badge on {path} says {text!r}"
            seen.add(text.strip())
    assert {"Received", "Planned", "Done"} <= seen, seen
    # The coloured dot is decoration: hidden from screen readers, the word is what is read.
    dots = page.locator(".badge .badge__dot")
    for i in range(dots.count()):
        expect(dots.nth(i)).to_have_attribute("aria-hidden", "true")


def test_triage_on_a_phone_keeps_each_items_actions_in_view(
    demo: Demo, open_page: Callable[..., Page], signed_in: Callable[[str | None], Any]
) -> None:
    """At 360 px the queue is a list of cards: "Acknowledge" and "Take it" are on screen,
    not off to the right of a table that scrolls sideways."""
    page = open_page(storage_state=signed_in(ADMIN), viewport=MOBILE)
    page.goto("/admin/?state=received")
    actions = page.locator(".queue summary, .queue button")
    assert actions.count() > 0
    for n in range(min(actions.count(), 6)):
        box = actions.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, (
            f"{actions.nth(n).inner_text()!r} is outside the phone's width: {box}"
        )
    # Each value says which column it was.
    assert page.locator(".queue td[data-label='Category']").first.is_visible()
    screenshot(page, "triage-phone")


def test_buttons_that_destroy_something_look_like_it(
    demo: Demo, open_page: Callable[..., Page], signed_in: Callable[[str | None], Any]
) -> None:
    """ "Delete my account" is red, not the brand colour of every other button: `button.button`
    used to outrank `.button--danger`, so every danger button looked harmless."""
    page = open_page(storage_state=signed_in(CUSTOMER))
    page.goto("/account/delete")
    button = page.get_by_role("button", name="Delete my account")
    expect(button).to_have_css("background-color", "rgb(179, 38, 30)")


def test_a_secondary_button_looks_secondary_beside_the_main_one(
    demo: Demo, open_page: Callable[..., Page], signed_in: Callable[[str | None], Any]
) -> None:
    """The follow button is an outlined, smaller button beside the filled "Me too": the same
    `button.button` rule had made every secondary and tiny <button> look like the main one."""
    page = open_page(storage_state=signed_in(CUSTOMER))
    page.goto(f"/feedback/{demo.open_id}")
    follow = page.locator("form.follow button")
    expect(follow).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    expect(follow).to_have_css("font-size", "13.6px")  # .85rem: tiny


def test_a_chart_over_time_opens_on_the_newest_weeks_on_a_phone(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    """On a phone the weekly chart scrolls sideways; it must open on the recent weeks, where
    the figures are, not on empty weeks long past."""
    page = open_page(viewport=MOBILE)
    page.goto("/how-we-are-doing")
    chart = page.locator(".chart--over-time").first
    box = chart.bounding_box()
    newest = chart.locator("rect.chart__bar").last.bounding_box()
    assert box is not None and newest is not None
    assert box["x"] <= newest["x"] <= box["x"] + box["width"], (box, newest)
    # The caption stays in view as well.
    caption = chart.locator("figcaption").bounding_box()
    assert caption is not None and caption["x"] >= box["x"] - 1


def _png_file(name: str, colour: tuple[int, int, int]) -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", (240, 160), colour).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def test_the_submit_page_with_previews_and_the_item_pages_with_thumbnails_are_accessible(
    demo: Demo, open_page: Callable[..., Page], signed_in: Callable[[str | None], Any]
) -> None:
    """Last in the module: it adds an item (with two images) to the demo data."""
    page = open_page(storage_state=signed_in(CUSTOMER))
    page.goto("/feedback/new")
    page.get_by_label("Which part of our service?").select_option(index=1)
    page.get_by_label("Title").fill("The lid of the parcel box is broken")
    page.get_by_label("Tell us more").fill("The lid hangs off its hinge, see the photos.")
    page.get_by_label("Public: others can see it").check()
    page.get_by_label("Add up to 5 images").set_input_files(
        [_png_file("lid.png", (90, 90, 160)), _png_file("hinge.png", (160, 90, 60))]
    )
    expect(page.locator(".image-preview img")).to_have_count(2)
    page.get_by_label("Description of image 1").fill("The lid, hanging off")
    assert_accessible_and_fits_a_phone(
        page, "submit-with-previews", "/feedback/new (previews)", shots=True
    )

    page.get_by_role("button", name="Send feedback").click()
    page.get_by_role("link", name="See it, or add something").click()
    expect(page.locator(".gallery img")).to_have_count(2)
    assert_accessible_and_fits_a_phone(page, "item-with-thumbnails", page.url, shots=True)

    item_path = page.url.split("#")[0].removeprefix(page.url.split("/feedback/")[0])
    admin = open_page(storage_state=signed_in(ADMIN))
    admin.goto(item_path.replace("/feedback/", "/admin/feedback/"))
    expect(admin.locator(".gallery img")).to_have_count(2)
    assert_accessible_and_fits_a_phone(admin, "admin-item-with-thumbnails", admin.url, shots=True)
