"""Journeys through a real browser: a customer, another customer, staff and a visitor, each
through the real forms, with htmx where it is on and the plain forms where JavaScript is off."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from portal.extensions import db
from portal.models import Category, DigestSubscription, Feedback, Role, User
from portal.services.accounts import find_user_by_email
from tests.browser.conftest import BrowserLog, screenshot, sign_in
from tests.conftest import TEST_PASSWORD
from tests.helpers import newest_email_body

PARCEL_TITLE = "Parcel left outside in the rain, box soaked"
PARCEL_BODY = (
    "The courier left my parcel on the doorstep in heavy rain on Tuesday. The box was soaked "
    "through and the cushion covers inside were wet. Nobody rang the bell."
)
BLAMING_DRAFT = "did you call us?"
ACKNOWLEDGEMENT = (
    "Nia, I am so sorry your parcel was left out in the rain. I have asked our courier team "
    "why, and I will keep you posted here."
)
PROMISED_OUTCOME = "waterproof bags on every courier round"
PLAN_MESSAGE = (
    "Nia, sorry again for the soaked parcel. From next month every courier carries "
    "waterproof bags, and parcels are never left outside in the rain."
)
WE_DID = (
    "Nia, thank you for telling us, and sorry it took a soaked parcel. We did it: every courier "
    "now carries waterproof bags and asks for a safe place before leaving a parcel outside."
)
# What the board, the feeds and everyone else read: no names (WE_DID above is Nia's).
PUBLIC_WE_DID = (
    "We did it: every courier now carries waterproof bags and asks for a safe place before "
    "leaving a parcel outside."
)


@pytest.fixture
def categories(make_category: Callable[..., Category]) -> dict[str, Category]:
    return {
        name: make_category(name=name, ack_target_hours=24)
        for name in ("Billing", "Delivery", "Website and app")
    }


@pytest.fixture
def staff(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user(
        email="sam@brightside.example",
        display_name="Sam from Support",
        preferred_name="Sam",
        role=Role.STAFF,
    )


@contextmanager
def without_reload(page: Page) -> Iterator[None]:
    """The block's actions must update the page in place (htmx), never load a new document:
    same address, no frame navigation, and a marker set on window before survives."""
    page.evaluate("window.__marker = 1")
    address = page.url
    navigations: list[str] = []

    def on_navigated(frame: Any) -> None:
        if frame == page.main_frame:
            navigations.append(frame.url)

    page.on("framenavigated", on_navigated)
    try:
        yield
    finally:
        page.remove_listener("framenavigated", on_navigated)
    assert navigations == [], f"the page navigated: {navigations}"
    assert page.url == address
    assert page.evaluate("window.__marker") == 1, "the document was replaced"


def item_id_from(page: Page) -> int:
    match = re.search(r"/feedback/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def register(page: Page, *, email: str, display_name: str, preferred_name: str) -> None:
    """Create an account through the real form."""
    page.goto("/account/register")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("What should we call you?").fill(preferred_name)
    page.get_by_label("Password", exact=True).fill("a long and happy password")
    page.get_by_label("Repeat the password").fill("a long and happy password")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    # Nobody is signed in until the emailed link is followed and its button pressed.
    page.goto(emailed_link("registration", email, r"/account/register/\S+"))
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".flash--success")).to_contain_text(
        f"Welcome, {preferred_name}. Your account is ready"
    )


def submit_complaint(page: Page, *, category: str, title: str, body: str) -> int:
    """Send a complaint through the real form; returns the new item's number."""
    page.goto("/feedback/new")
    page.get_by_label("Something went wrong (a complaint)").check()
    page.get_by_label("Which part of our service?").select_option(label=category)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Tell us more").fill(body)
    page.get_by_label("Public: others can see it").check()
    page.get_by_role("button", name="Send feedback").click()
    page.wait_for_url(re.compile(r"/feedback/\d+/submitted$"))
    match = re.search(r"/feedback/(\d+)/submitted$", page.url)
    assert match, page.url
    return int(match.group(1))


def expect_receipt(page: Page, name: str) -> None:
    """The thank-you page (reference, when a person answers), then on to the item's page."""
    expect(page.locator("h1")).to_have_text(f"Thank you, {name}. We have received it.")
    expect(page.locator(".reference")).to_have_text(re.compile(r"#\d+"))
    expect(page.locator(".next-step")).to_contain_text(
        "will read it and answer you personally within"
    )
    page.get_by_role("link", name="See it, or add something").click()
    page.wait_for_url(re.compile(r"/feedback/\d+$"))
    expect(page.locator(".timeline .timeline__title").first).to_contain_text("Received")
    expect(page.locator(".status-panel__state")).to_have_text("Now: Received")


def vote_count(page: Page, scope: str = ".item__head") -> Any:
    return page.locator(f"{scope} .vote__count")


def move_choice(page: Page, state: str) -> Locator:
    """The admin page's form for one move, opened: each move has its own, with its own fields."""
    choice = page.locator("details.move-choice").filter(
        has=page.locator("summary", has_text=f"Move to \u201c{state}\u201d")
    )
    if choice.get_attribute("open") is None:
        choice.locator("summary").click()
    return choice


def move_button(choice: Locator, state: str) -> Locator:
    return choice.locator("form").get_by_role("button", name=f"Move to \u201c{state}\u201d")


def move(page: Page, state: str, message: str, *, target: date | None = None) -> None:
    """Move an item on its admin page with a message that the tone check passes."""
    choice = move_choice(page, state)
    choice.get_by_label("Public message to the customer").fill(message)
    if target is not None:
        choice.get_by_label("Promised date (for Planned)").fill(target.isoformat())
        choice.get_by_label("What we promise by then (for Planned)").fill(PROMISED_OUTCOME)
    if state == "Done":
        choice.get_by_label("\u201cWe did\u201d for everyone (for Done)").fill(PUBLIC_WE_DID)
    move_button(choice, state).click()
    expect(page.locator(".flash--success")).to_contain_text(f"Moved to \u201c{state}\u201d")


def expect_full_timeline(page: Page) -> None:
    """Received, Acknowledged, Planned and Done, in that order, with the messages."""
    titles = [t.strip() for t in page.locator(".timeline .timeline__title").all_inner_texts()]
    steps = [re.sub(r"\s*\(where it is now\)$", "", t) for t in titles]
    states = [s for s in steps if s in {"Received", "Acknowledged", "Planned", "Done"}]
    assert states == ["Received", "Acknowledged", "Planned", "Done"], titles
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("I am so sorry your parcel was left out in the rain")
    expect(timeline).to_contain_text("every courier now carries waterproof bags")
    expect(page.locator(".timeline__step--current")).to_contain_text("Done")
    expect(page.locator(".status-panel__state")).to_have_text("Now: Done")


# The journeys ---------------------------------------------------------------------------------


def test_customer_registers_complains_gets_a_receipt_and_votes_in_place(
    page: Page,
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
) -> None:
    other = make_feedback(
        author=make_user(display_name="Owen P.", preferred_name="Mr Owen"),
        category=categories["Website and app"],
        title="Checkout times out on the payment step",
        body="Three times now the checkout spins on *Pay now* and then says the session expired.",
    )
    register(page, email="nia@example.com", display_name="Nia", preferred_name="Nia")
    item_id = submit_complaint(page, category="Delivery", title=PARCEL_TITLE, body=PARCEL_BODY)
    expect_receipt(page, "Nia")
    expect(page.locator("h1")).to_have_text(PARCEL_TITLE)
    screenshot(page, "journey-item-received")

    # The author's own voice is counted; taking it back and giving it again stays on the page.
    button = page.locator(".item__head .vote__button")
    expect(vote_count(page)).to_have_text("1")
    expect(button).to_have_attribute("aria-pressed", "true")
    with without_reload(page):
        button.click()
        expect(vote_count(page)).to_have_text("0")
        expect(button).to_have_attribute("aria-pressed", "false")
        expect(page.locator(".item__head .vote__label")).to_have_text("Me too")
        button.click()
        expect(vote_count(page)).to_have_text("1")
        expect(button).to_have_attribute("aria-pressed", "true")
    assert page.url.endswith(f"/feedback/{item_id}")

    # Following, from the keyboard: the button is swapped and keeps the focus.
    follow = page.locator("form.follow button")
    expect(follow).to_have_attribute("aria-pressed", "true")
    with without_reload(page):
        follow.focus()
        follow.press("Enter")
        expect(follow).to_have_attribute("aria-pressed", "false")
        expect(follow).to_be_focused()

    # "Me too" on someone else's item, from the board.
    page.goto("/")
    card = page.locator(".item-card", has_text=other.title)
    expect(card.locator(".vote__count")).to_have_text("1")
    with without_reload(page):
        card.locator(".vote__button").click()
        expect(card.locator(".vote__count")).to_have_text("2")
        expect(card.locator(".vote__label")).to_have_text("Voted")
        # Screen readers are told in the page's live region; the card holds one button.
        expect(page.locator("#vote-status")).to_have_text(
            f"Your vote counts: 2 votes for {other.title}."
        )
        expect(page.locator("#vote-status")).to_have_attribute("aria-live", "polite")
        expect(card.locator(".vote__button")).to_have_count(1)
        # From the keyboard: Enter takes the vote back, and focus stays on the button. (Each
        # press waits until htmx has settled the new button in; before that, in its first
        # 20 ms, the button would post as a plain form.)
        settled = re.compile(r"^(?!.*htmx-(added|settling|swapping|request)).*$")
        expect(card.locator("form.vote")).to_have_class(settled)
        card.locator(".vote__button").press("Enter")
        expect(card.locator(".vote__count")).to_have_text("1")
        expect(card.locator(".vote__button")).to_be_focused()
        expect(card.locator("form.vote")).to_have_class(settled)
        card.locator(".vote__button").press("Enter")
        expect(card.locator(".vote__count")).to_have_text("2")
    page.reload()
    expect(page.locator(".item-card", has_text=other.title).locator(".vote__count")).to_have_text(
        "2"
    )


def test_second_customer_finds_the_same_problem_while_typing_and_votes_there(
    page: Page,
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
) -> None:
    nia = make_user(email="nia@example.com", display_name="Nia", preferred_name="Nia")
    item = make_feedback(
        author=nia, category=categories["Delivery"], title=PARCEL_TITLE, body=PARCEL_BODY
    )
    marta = make_user(email="marta@example.com", display_name="Marta", preferred_name="Marta")
    sign_in(page, marta.email)
    page.goto("/feedback/new")
    with without_reload(page):
        page.get_by_label("Title").press_sequentially("My parcel got soaked in the rain", delay=20)
        suggestions = page.locator("#suggestions")
        expect(suggestions).to_contain_text("Is it one of these?")
        suggestion = suggestions.locator(".suggestion", has_text=PARCEL_TITLE)
        expect(suggestion.get_by_role("link", name=PARCEL_TITLE)).to_have_attribute(
            "href", f"/feedback/{item.id}"
        )
        expect(suggestion.locator(".vote__count")).to_have_text("1")
        screenshot(page, "journey-submit-suggestions")
        suggestion.locator(".vote__button").click()
        expect(suggestion.locator(".vote__count")).to_have_text("2")
        expect(suggestion.locator(".vote__label")).to_have_text("Voted")
    # What was typed is still there: voting did not cost the half-written feedback.
    expect(page.get_by_label("Title")).to_have_value("My parcel got soaked in the rain")
    page.goto(f"/feedback/{item.id}")
    expect(vote_count(page)).to_have_text("2")
    expect(page.locator(".item__head .vote__button")).to_have_attribute("aria-pressed", "true")
    # The vote brought a follow; taking the vote back on the item's page ends it, and the
    # follow button there says so at once.
    follow = page.locator("form.follow button")
    expect(follow).to_have_attribute("aria-pressed", "true")
    with without_reload(page):
        page.locator(".item__head .vote__button").click()
        expect(vote_count(page)).to_have_text("1")
        expect(follow).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#vote-status")).to_contain_text("You will not get emails about it")
        page.locator(".item__head .vote__button").click()
        expect(follow).to_have_attribute("aria-pressed", "true")


def test_staff_take_acknowledge_plan_and_resolve_and_the_customer_sees_it_done(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    staff: User,
) -> None:
    nia = make_user(email="nia@example.com", display_name="Nia", preferred_name="Nia")
    item = make_feedback(
        author=nia, category=categories["Delivery"], title=PARCEL_TITLE, body=PARCEL_BODY
    )
    make_feedback(
        author=make_user(display_name="Li Wei", preferred_name="Li"),
        category=categories["Billing"],
        title="Promo code not applied at checkout",
        body="The code WELCOME10 from your email is accepted but the total does not change.",
    )

    desk = open_page()
    sign_in(desk, staff.email)
    desk.goto("/admin/")
    row = desk.locator(f"#item-{item.id}")
    expect(row).to_contain_text(PARCEL_TITLE)
    expect(row).to_contain_text("Received")
    screenshot(desk, "journey-triage")
    with without_reload(desk):
        row.get_by_role("button", name="Take it").click()
        expect(row.locator(".row-notice")).to_have_text(f"You look after #{item.id} now.")
        # The pressed button went with the old row: focus is on what happened, in this row.
        expect(row.locator(".row-notice")).to_be_focused()
        expect(row).to_contain_text("Sam from Support")
        expect(row.get_by_role("button", name="Take it")).to_have_count(0)

    row.get_by_role("link", name=re.compile(PARCEL_TITLE)).click()
    desk.wait_for_url(f"**/admin/feedback/{item.id}")

    # The tone check reads the draft as it is typed.
    message = move_choice(desk, "Acknowledged").get_by_label("Public message to the customer")
    with without_reload(desk):
        message.press_sequentially(BLAMING_DRAFT, delay=20)
        # Each move's form has its own findings (#move-tone is the one a refused form opens with).
        finding = desk.locator('#move-tone-acknowledged li[data-code="blame"]')
        expect(finding).to_contain_text('"did you call"')
        screenshot(desk, "journey-admin-item-tone")
        message.fill(ACKNOWLEDGEMENT)
        expect(desk.locator("#move-tone-acknowledged .tone--clear")).to_have_text(
            "No tone findings."
        )
    move(desk, "Acknowledged", ACKNOWLEDGEMENT)
    move(desk, "Planned", PLAN_MESSAGE, target=date.today() + timedelta(days=21))
    expect(desk.locator("#promise-heading + p")).to_contain_text(
        f"We promised: {PROMISED_OUTCOME} by"
    )
    move(desk, "Done", WE_DID)
    expect(desk.locator(".meta .badge")).to_have_text("Done")

    customer = open_page()
    sign_in(customer, nia.email)
    customer.goto(f"/feedback/{item.id}")
    expect_full_timeline(customer)
    # What was promised is said as an outcome, and judged against its date.
    expect(customer.locator(".status-panel")).to_contain_text(f"We promised {PROMISED_OUTCOME} by")
    expect(customer.get_by_role("heading", name="Did this fix it, Nia?")).to_be_visible()
    screenshot(customer, "journey-item-timeline")

    customer.goto("/you-said-we-did")
    entry = customer.locator(".resolution", has_text=PARCEL_TITLE)
    expect(entry.locator(".resolution__title")).to_have_text(PARCEL_TITLE)
    expect(entry.locator(".resolution__did")).to_contain_text("every courier now carries")
    expect(entry.locator(".voices")).to_contain_text("1 person raised this")
    expect(entry.get_by_role("link", name=PARCEL_TITLE)).to_have_attribute(
        "href", f"/feedback/{item.id}"
    )


def test_visitor_subscribes_to_the_digest(page: Page, categories: dict[str, Category]) -> None:
    response = page.goto("/digest/subscribe")
    assert response is not None
    if response.status == 404:
        pytest.fail("/digest/subscribe is missing: docs/design.md promises digest opt-in there")
    assert response.status == 200
    page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_label("Monthly").check()
    page.get_by_label("Delivery").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".flash--success")).to_contain_text(
        "Nearly done: we have sent a link to reader@example.com."
    )
    assert page.url.endswith("/digest/subscribe")

    # The emailed link asks first: opening it (as a mail scanner does) confirms nothing.
    page.goto(emailed_link("digest_confirm", "reader@example.com", r"/digest/confirm/\S+"))
    expect(page.get_by_role("heading", name="Confirm the digest")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Monthly")  # the choices it confirms
    expect(page.locator("main")).to_contain_text("Delivery")
    assert digest_confirmed("reader@example.com") is False
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Thank you: you are subscribed")).to_be_visible()
    assert digest_confirmed("reader@example.com") is True


def emailed_link(kind: str, address: str, path_pattern: str) -> str:
    """The path of the link in the newest email of this kind to this address (the outbox
    row the server committed; a fresh snapshot, read only)."""
    db.session.rollback()
    body = newest_email_body(kind, address)
    match = re.search(rf"https?://[^/\s]+({path_pattern})", body)
    assert match, body
    return match.group(1)


def digest_confirmed(address: str) -> bool:
    db.session.rollback()
    confirmed_at = db.session.scalar(
        sa.select(DigestSubscription.confirmed_at).where(DigestSubscription.email == address)
    )
    return confirmed_at is not None


def test_the_registration_link_asks_before_it_makes_the_account_without_javascript(
    open_page: Callable[..., Page],
) -> None:
    page = open_page(javascript=False)
    page.goto("/account/register")
    page.get_by_label("Email address").fill("nia@example.com")
    page.get_by_label("Display name").fill("Nia")
    page.get_by_label("What should we call you?").fill("Nia")
    page.get_by_label("Password", exact=True).fill("a long and happy password")
    page.get_by_label("Repeat the password").fill("a long and happy password")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("main")).to_contain_text("We have sent a message to nia@example.com.")
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/account/login"))  # nobody is signed in yet

    link = emailed_link("registration", "nia@example.com", r"/account/register/\S+")
    # Opened elsewhere first, as a mail scanner would: no account is made by that.
    scanner = open_page(javascript=False)
    scanner.goto(link)
    expect(scanner.get_by_role("button", name="Create my account")).to_be_visible()
    db.session.rollback()
    assert find_user_by_email("nia@example.com") is None

    page.goto(link)
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".flash--success")).to_have_text(
        "Welcome, Nia. Your account is ready and nia@example.com is confirmed."
    )
    page.goto("/account/")
    expect(page.locator("main")).not_to_contain_text("Please confirm your email address.")

    # The link works once: followed again, it says to sign in and signs in nobody.
    scanner.goto(link)
    scanner.get_by_role("button", name="Create my account").click()
    expect(scanner.locator(".flash")).to_contain_text("That account exists already.")
    expect(scanner).to_have_url(re.compile(r"/account/login"))


def test_the_main_journey_works_without_javascript(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_user: Callable[..., User],
    staff: User,
    browser_log: BrowserLog,
) -> None:
    # Posting a blaming draft without JavaScript answers 422 with the findings, on purpose.
    browser_log.allow(r"status of 422")
    # Built before the browser writes: the test's own SQLite reads must not turn into writes
    # on a snapshot older than the server's commits.
    marta = make_user(email="marta@example.com", display_name="Marta", preferred_name="Marta")

    customer = open_page(javascript=False)
    register(customer, email="nia@example.com", display_name="Nia", preferred_name="Nia")
    item_id = submit_complaint(customer, category="Delivery", title=PARCEL_TITLE, body=PARCEL_BODY)
    expect_receipt(customer, "Nia")

    # Voting without JavaScript: the form posts and comes back to the item, at its button.
    customer.get_by_role("button", name=re.compile("Take back your vote|Voted")).click()
    expect(customer.locator(".flash--success")).to_have_text("Your vote is taken back.")
    expect(vote_count(customer)).to_have_text("0")
    customer.locator(".item__head .vote__button").click()
    expect(customer.locator(".flash--success")).to_have_text("Thanks, your vote counts.")
    expect(vote_count(customer)).to_have_text("1")
    assert customer.url.endswith(f"/feedback/{item_id}#vote-{item_id}")

    # Another customer finds it with the "Look for similar feedback" button and says "me too"
    # (while it is open: votes close when it is done).
    other = open_page(javascript=False)
    sign_in(other, marta.email)
    other.goto("/feedback/new")
    other.get_by_label("Title").fill("My parcel got soaked in the rain")
    other.get_by_role("button", name="Look for similar feedback").click()
    suggestion = other.locator(".suggestion", has_text=PARCEL_TITLE)
    expect(other.locator("#suggestions")).to_contain_text("Is it one of these?")
    # The button must post the vote, not the feedback form around the suggestions.
    submits_to = suggestion.locator(".vote__button").evaluate(
        "b => b.getAttribute('formaction') ? b.formAction : (b.form && b.form.action)"
    )
    assert submits_to and submits_to.endswith(f"/feedback/{item_id}/vote"), (
        f'"Me too" in "Is it one of these?" submits {submits_to!r}, not the vote'
    )
    suggestion.locator(".vote__button").click()
    expect(other.locator(".flash--success")).to_have_text("Thanks, your vote counts.")
    # Voting there instead of writing a new item leads to the item itself.
    assert other.url.endswith(f"/feedback/{item_id}#vote-{item_id}")
    expect(vote_count(other)).to_have_text("2")

    # Staff take it from the queue and move it on with plain form posts.
    desk = open_page(javascript=False)
    sign_in(desk, staff.email)
    desk.goto("/admin/")
    desk.locator(f"#item-{item_id}").get_by_role("button", name="Take it").click()
    expect(desk.locator(".flash--success")).to_have_text(f"You look after #{item_id} now.")
    expect(desk.locator(f"#item-{item_id}")).to_contain_text("Sam from Support")
    desk.goto(f"/admin/feedback/{item_id}")
    acknowledging = move_choice(desk, "Acknowledged")
    acknowledging.get_by_label("Public message to the customer").fill(BLAMING_DRAFT)
    move_button(acknowledging, "Acknowledged").click()
    expect(desk.locator('#move-tone li[data-code="blame"]')).to_contain_text('"did you call"')
    expect(desk.get_by_role("button", name="Post anyway")).to_be_visible()
    move(desk, "Acknowledged", ACKNOWLEDGEMENT)
    move(desk, "Planned", PLAN_MESSAGE, target=date.today() + timedelta(days=21))
    move(desk, "Done", WE_DID)

    customer.goto(f"/feedback/{item_id}")
    expect_full_timeline(customer)
    expect(vote_count(customer)).to_have_text("2")
    customer.goto("/you-said-we-did")
    expect(customer.locator(".resolution", has_text=PARCEL_TITLE)).to_contain_text(
        "every courier now carries waterproof bags"
    )

    # Once it is done, "me too" is closed: Marta, whom it still happens to, says so instead.
    other.goto(f"/feedback/{item_id}")
    expect(other.locator(".item__head form.vote")).to_have_count(0)
    expect(other.locator("#still")).to_contain_text("Voting has closed: this was done on")
    other.get_by_role("button", name="This still happens to me").click()
    expect(other.locator(".flash--success")).to_contain_text("Sam from Support will look at it")
    expect(other.locator("#still")).to_contain_text("1 person says this still happens")
    assert other.url.endswith(f"/feedback/{item_id}#still")


def test_after_looking_for_similar_feedback_without_javascript_the_customer_can_still_send(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
) -> None:
    """ "Is it one of these?" without JavaScript: nothing matches what Marta means, so she
    carries on and sends hers from the same page."""
    make_feedback(
        author=make_user(display_name="Nia", preferred_name="Nia"),
        category=categories["Delivery"],
        title=PARCEL_TITLE,
        body=PARCEL_BODY,
    )
    marta = make_user(email="marta@example.com", display_name="Marta", preferred_name="Marta")
    page = open_page(javascript=False)
    sign_in(page, marta.email)
    page.goto("/feedback/new")
    page.get_by_label("Which part of our service?").select_option(label="Delivery")
    page.get_by_label("Title").fill("Parcel left in the rain by the wrong courier")
    page.get_by_role("button", name="Look for similar feedback").click()
    expect(page.locator("#suggestions")).to_contain_text(PARCEL_TITLE)
    # Posted back: the draft and the form's token never go into the address.
    assert page.url.endswith("/feedback/new"), page.url
    expect(page.get_by_label("Title")).to_have_value("Parcel left in the rain by the wrong courier")
    page.get_by_label("Tell us more").fill(
        "A courier from a company I have never heard of left my parcel in the rain."
    )
    unowned = page.evaluate(
        """() => [...document.querySelectorAll("#main button, #main textarea, #main input")]
                 .filter((e) => !e.form).map((e) => e.name || e.textContent.trim())"""
    )
    assert not unowned, f"after the suggestions, these belong to no form: {unowned}"
    # Who can see it is chosen knowingly: nothing is chosen for them.
    page.get_by_label("Public: others can see it").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("h1")).to_have_text("Thank you, Marta. We have received it.")


def test_an_acknowledgement_typed_after_signing_out_in_another_tab_is_not_lost(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    staff: User,
) -> None:
    """The triage row's htmx form meets an ended session: the whole page becomes the sign-in
    page holding the message, and after signing in one press sends it."""
    nia = make_user(display_name="Nia", preferred_name="Nia")
    item = make_feedback(
        author=nia, category=categories["Delivery"], title=PARCEL_TITLE, body=PARCEL_BODY
    )
    desk = open_page()
    sign_in(desk, staff.email)
    desk.goto("/admin/")
    other_tab = desk.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    # Closed only once the server has signed the session out (closing earlier could abort it).
    expect(other_tab.locator(".flash")).to_contain_text("You are signed out.")
    other_tab.close()

    row = desk.locator(f"#item-{item.id}")
    row.get_by_text("Acknowledge").click()
    row.get_by_label("Personal message to Nia").fill(ACKNOWLEDGEMENT)
    row.get_by_role("button", name="Send").click()
    expect(desk.get_by_role("heading", name="What you wrote is safe")).to_be_visible()
    expect(desk.locator(".kept__text")).to_have_text(ACKNOWLEDGEMENT)
    screenshot(desk, "kept-writing-sign-in")

    desk.get_by_label("Email address").fill(staff.email)
    desk.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    desk.get_by_role("button", name="Sign in, then send it").click()
    expect(desk.get_by_role("heading", name="Send what you wrote?")).to_be_visible()
    expect(desk.get_by_label("Your message")).to_have_value(ACKNOWLEDGEMENT)
    desk.get_by_role("button", name="Send it").click()
    expect(desk.locator(".flash--success")).to_contain_text(f"#{item.id} acknowledged.")
    db.session.rollback()  # a fresh look, after what the server committed
    assert db.session.get(Feedback, item.id).state.value == "acknowledged"


def test_a_style_that_an_extension_left_on_the_page_does_not_trip_the_csp_on_a_swap(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    staff: User,
) -> None:
    """Password managers and grammar checkers style what they decorate. htmx's settle step used
    to copy an old element's style attribute onto its replacement, which the CSP refuses (the
    browser_log fixture fails the test on any violation)."""
    item = make_feedback(category=categories["Delivery"], title=PARCEL_TITLE, body=PARCEL_BODY)
    desk = open_page()
    sign_in(desk, staff.email)
    desk.goto("/admin/")
    row = desk.locator(f"#item-{item.id}")
    # Through the CSSOM, as extensions do: the CSP allows that, not a style attribute in markup.
    row.evaluate("tr => { tr.style.outline = '2px solid gold'; }")
    with without_reload(desk):
        row.get_by_role("button", name="Take it").click()
        expect(row.locator(".row-notice")).to_have_text(f"You look after #{item.id} now.")


def test_a_triage_acknowledgement_held_by_the_tone_check_takes_the_keyboard_to_it(
    open_page: Callable[..., Page],
    categories: dict[str, Category],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    staff: User,
) -> None:
    """The row is swapped for one showing the findings; the pressed button went with the old
    row, so focus goes to what the check found, and "Post anyway" does not look like "Send"."""
    nia = make_user(display_name="Nia", preferred_name="Nia")
    item = make_feedback(author=nia, category=categories["Delivery"], title=PARCEL_TITLE)
    desk = open_page()
    sign_in(desk, staff.email)
    desk.goto("/admin/")
    row = desk.locator(f"#item-{item.id}")
    with without_reload(desk):
        row.get_by_text("Acknowledge").click()
        row.get_by_label("Personal message to Nia").fill("did you call us?")
        row.get_by_role("button", name="Send").click()
        findings = row.locator(".tone--findings")
        expect(findings).to_contain_text("Before you post, have a look")
        expect(findings.locator("xpath=..")).to_be_focused()
    anyway = row.get_by_role("button", name="Post anyway")
    send = row.get_by_role("button", name="Send")
    assert anyway.evaluate("b => getComputedStyle(b).backgroundColor") != send.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
