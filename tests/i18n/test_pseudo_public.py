"""Every word of the public "You said, we did" pages, the account pages, the unsubscribe pages
and the feeds passes through the translation catalog: rendered in the pseudo-locale
(⟦àççéñţéð⟧), they hold nothing else than what people wrote or are called, and dates.

Refusals a service raises are marked in the services (another part of issue #23); until they
are in the catalog, _marked_elsewhere() lets exactly those sentences through, and no more."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Feedback, Role, User, Visibility
from portal.services.accounts import hash_password
from portal.services.api import customer_for_email
from portal.services.tokens import (
    make_claim_token,
    make_registration_token,
    make_reset_token,
    make_unsubscribe_token,
    make_verify_token,
)
from portal.services.votes import set_vote
from tests.conftest import TEST_PASSWORD
from tests.helpers import browser_form, login, post, resolve_together
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import CLOSE, OPEN, PSEUDO_LANGUAGE, pseudo
from tests.i18n.pseudo import words_outside_the_catalog as _words_outside

YOU_SAID = "Parcels were left out in the rain"
WE_DID = "We fitted a covered parcel box by every front door."
COMMENT = "The lid came off again, second time this month."


# A translated sentence may hold another as a value ("End the session on ⟦A browser⟧"): the
# innermost go first, so the outer one is whole when the check looks for it.
_INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


def words_outside_the_catalog(html: str, data: list[str]) -> list[str]:
    """pseudo.words_outside_the_catalog, for sentences with translated values in them."""
    while _INNERMOST.search(html):
        html = _INNERMOST.sub(" ", html)
    return _words_outside(html, data)


@dataclass
class World:
    """A published resolution with people thanked by name, a customer with items of every
    kind on their account page, a member of staff, and the links emails carry."""

    customer: User
    staff: User
    resolution_id: int
    category_slug: str
    item: Feedback
    data: list[str]


@pytest.fixture
def world(make_user, make_feedback, make_category, people_data) -> World:
    category = make_category(name="Rubbish and bins")
    staff = make_user(
        role=Role.STAFF,
        email="priya@example.com",
        display_name="Priya Shah",
        preferred_name="Priya",
    )
    customer = make_user(email="nia@example.com", display_name="Nia Okafor", preferred_name="Nia")
    item = make_feedback(author=customer, title="Bins left open by the crew", category=category)
    make_feedback(
        author=customer,
        title="Missed my birthday card",
        category=category,
        visibility=Visibility.PRIVATE,
    )
    hidden = make_feedback(author=customer, title="Crew swore at my neighbour", category=category)
    waiting = make_feedback(author=customer, title="Street lamp flickers", category=category)
    hidden.hidden = True
    waiting.awaiting_review = True
    db.session.commit()
    for name in ("Jo Marsh", "Sam Hale"):
        voter = make_user(display_name=name)
        voter.thank_by_name = True
        db.session.commit()
        set_vote(voter, item.id, True)
    set_vote(make_user(display_name="Kit Lowe"), item.id, True)  # one of the others
    db.session.commit()
    resolution = resolve_together([item], staff, WE_DID, YOU_SAID)
    db.session.commit()
    return World(
        customer=customer,
        staff=staff,
        resolution_id=resolution.id,
        category_slug=category.slug,
        item=item,
        data=[
            *people_data,
            YOU_SAID,
            WE_DID,
            COMMENT,
            category.name,
            item.title,
            "Missed my birthday card",
            "Crew swore at my neighbour",
            "Street lamp flickers",
            "Jo Marsh",
            "Sam Hale",
            "Priya Shah",
            "Priya",
            customer.email,
            staff.email,
            "new@example.com",
            "Ada Byrne",
            "Ada",
            "sam@example.com",
            "Sam Jones",
            "Sam",
        ],
    )


def _browser(site: Flask, person: User | None = None) -> FlaskClient:
    browser = site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)  # as the footer's switcher leaves it
    if person is not None:
        login(browser, person.email)
    return browser


def _page(answer, status: int = 200) -> str:
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    html = answer.get_data(as_text=True)
    assert f'lang="{PSEUDO_LANGUAGE}"' in html
    return html


@pytest.fixture
def marked_elsewhere(catalogs: Path) -> Callable[..., list[str]]:
    """The sentences among these that the catalog does not hold yet: refusals that services
    raise, marked by the part of #23 that converts every `raise`; once merged, none."""
    with (catalogs / PSEUDO_LANGUAGE / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)

    def missing(*sentences: str) -> list[str]:
        return [sentence for sentence in sentences if sentence not in catalog]

    return missing


# --- "You said, we did" ---------------------------------------------------------------------

BOARD_PAGES: dict[str, Callable[[World], str]] = {
    "the board": lambda w: "/you-said-we-did",
    "the board of one category": lambda w: f"/you-said-we-did?category={w.category_slug}",
    "the board with nothing published": lambda w: "/you-said-we-did?category=no-such-thing",
    "a resolution's page": lambda w: f"/you-said-we-did/{w.resolution_id}",
}
READERS: dict[str, Callable[[World], User | None]] = {
    "a visitor": lambda w: None,
    "a customer": lambda w: w.customer,
    "staff": lambda w: w.staff,  # who also see "Edit"
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("page", BOARD_PAGES)
def test_you_said_we_did_speaks_only_through_the_catalog(pseudo_site, world, page, reader) -> None:
    browser = _browser(pseudo_site, READERS[reader](world))
    html = _page(browser.get(BOARD_PAGES[page](world), headers=ACCEPT))
    assert words_outside_the_catalog(html, world.data) == []


def test_the_boards_htmx_results_speak_only_through_the_catalog(pseudo_site, world) -> None:
    browser = _browser(pseudo_site)
    answer = browser.get(
        "/you-said-we-did",
        headers={**ACCEPT, "HX-Request": "true", "HX-Target": "resolution-results"},
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'id="resolution-results"' in html and "<html" not in html
    assert words_outside_the_catalog(html, world.data) == []


def test_a_resolution_that_is_not_there_says_so_through_the_catalog(pseudo_site, world) -> None:
    html = _page(_browser(pseudo_site).get("/you-said-we-did/999999", headers=ACCEPT), 404)
    assert words_outside_the_catalog(html, world.data) == []


# --- The account pages ----------------------------------------------------------------------

ACCOUNT_PAGES = {
    "my feedback": "/account/",
    "change password": "/account/password",
    "delete my account": "/account/delete",
}


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
@pytest.mark.parametrize("page", ACCOUNT_PAGES)
def test_the_account_pages_speak_only_through_the_catalog(pseudo_site, world, page, role) -> None:
    person = world.customer if role is Role.CUSTOMER else world.staff
    html = _page(_browser(pseudo_site, person).get(ACCOUNT_PAGES[page], headers=ACCEPT))
    if page == "my feedback" and role is Role.CUSTOMER:
        # The page shows all it can: a change their feedback led to, private, hidden and
        # waiting items, votes, the unconfirmed address, their sessions.
        assert f"/you-said-we-did/{world.resolution_id}" in html
        assert "Crew swore at my neighbour" in html and "Street lamp flickers" in html
        assert 'action="/account/verify/resend"' in html
    assert words_outside_the_catalog(html, world.data) == []


def _link_pages(world: World) -> dict[str, str]:
    """The pages behind the links emails carry, each with a good token."""
    contact, _ = customer_for_email("sam@example.com", "Sam Jones")
    verified = world.staff
    verified.verified_at = datetime.now(UTC)
    db.session.commit()
    nia = world.customer
    return {
        "confirm your address": "/account/verify/" + make_verify_token(nia.id, nia.email),
        "already confirmed": "/account/verify/" + make_verify_token(verified.id, verified.email),
        "set your password": "/account/claim/"
        + make_claim_token(contact.id, contact.email, contact.password_hash),
        "finish creating your account": "/account/register/"
        + make_registration_token(
            "new@example.com", "Ada Byrne", "Ada", hash_password(TEST_PASSWORD), ""
        ),
        "choose a new password": "/account/reset/" + make_reset_token(nia.id, nia.password_hash),
        "forgotten password": "/account/reset",
        "stop emails about an item": "/notifications/unsubscribe/"
        + make_unsubscribe_token(nia.id, world.item.id),
        "stop all emails": "/notifications/unsubscribe/" + make_unsubscribe_token(nia.id, None),
    }


LINK_PAGES = [
    "confirm your address",
    "already confirmed",
    "set your password",
    "finish creating your account",
    "choose a new password",
    "forgotten password",
    "stop emails about an item",
    "stop all emails",
]


@pytest.mark.parametrize("page", LINK_PAGES)
def test_the_pages_behind_emailed_links_speak_only_through_the_catalog(
    pseudo_site, world, page
) -> None:
    path = _link_pages(world)[page]
    html = _page(_browser(pseudo_site).get(path, headers=ACCEPT))
    assert words_outside_the_catalog(html, world.data) == []


def test_check_your_email_after_registering_speaks_only_through_the_catalog(
    pseudo_site, world
) -> None:
    form = {
        "email": "new@example.com",
        "display_name": "Ada Byrne",
        "preferred_name": "Ada",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
    }
    html = _page(post(_browser(pseudo_site), "/account/register", form, headers=ACCEPT))
    assert "new@example.com" in html and 'href="/account/register"' in html
    assert words_outside_the_catalog(html, world.data) == []


@pytest.mark.parametrize(
    ("scope", "twice"), [("item", False), ("all", False), ("all", True)], ids=str
)
def test_the_unsubscribed_page_speaks_only_through_the_catalog(
    pseudo_site, world, scope, twice
) -> None:
    path = f"/notifications/unsubscribe/{make_unsubscribe_token(world.customer.id, world.item.id)}"
    browser = _browser(pseudo_site)
    for _ in range(2 if twice else 1):  # the second time, they "were already stopped"
        answer = browser.post(path, data={"scope": scope}, headers=ACCEPT)
    html = _page(answer)
    assert words_outside_the_catalog(html, world.data) == []


# --- Refused forms, and what a redirect flashes ---------------------------------------------

NEW = "a brand new password"


@pytest.mark.parametrize(
    ("path", "form", "refusal"),
    [
        pytest.param(
            "/account/password",
            {"current_password": "not my password at all", "password": NEW, "confirm": NEW},
            "Your current password is not right.",
            id="wrong current password",
        ),
        pytest.param(
            "/account/password",
            {"current_password": TEST_PASSWORD, "password": NEW, "confirm": NEW + " typo"},
            None,
            id="new passwords that differ",
        ),
        pytest.param(
            "/account/password",
            {"current_password": "", "password": "short", "confirm": ""},
            None,
            id="nothing filled in, a short password",
        ),
        pytest.param(
            "/account/delete",
            {"password": "not my password at all"},
            "That password is not right, so nothing was deleted.",
            id="delete with a wrong password",
        ),
        pytest.param("/account/delete", {"password": ""}, None, id="delete without a password"),
        pytest.param(
            "/account/",
            {"display_name": "", "preferred_name": "x" * 81},
            None,
            id="a profile without a display name",
        ),
    ],
)
def test_a_refused_account_form_says_why_through_the_catalog(
    pseudo_site, world, marked_elsewhere, path, form, refusal
) -> None:
    browser = _browser(pseudo_site, world.customer)
    html = _page(post(browser, path, form, headers=ACCEPT))
    assert "field__error" in html
    allowed = marked_elsewhere(refusal) if refusal else []
    assert words_outside_the_catalog(html, world.data + allowed) == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        pytest.param("/account/reset", {"email": "not an address"}, id="reset: a bad address"),
        pytest.param("/account/reset", {"email": ""}, id="reset: no address"),
        pytest.param(
            "choose a new password", {"password": NEW, "confirm": "other"}, id="reset: differ"
        ),
        pytest.param("set your password", {"password": "short", "confirm": ""}, id="claim"),
    ],
)
def test_a_refused_password_form_says_why_through_the_catalog(
    pseudo_site, world, path, form
) -> None:
    path = _link_pages(world).get(path, path)
    html = _page(post(_browser(pseudo_site), path, form, headers=ACCEPT))
    assert "field__error" in html or "flash--error" in html
    assert words_outside_the_catalog(html, world.data) == []


def test_a_wrong_password_at_sign_in_says_so_through_the_catalog(pseudo_site, world) -> None:
    browser = _browser(pseudo_site)
    form = {"email": world.customer.email, "password": "not my password at all"}
    html = _page(post(browser, "/account/login", form, headers=ACCEPT))
    assert "field__error" in html
    assert words_outside_the_catalog(html, world.data) == []


_FLASHES = re.compile(r'<div class="flashes" role="status">.*?</div>', re.S)


def _flashed(browser: FlaskClient, answer) -> str:
    """What a redirect flashed, on the page it leads to (whose other words, the board's say,
    are their own tests' business)."""
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    html = _page(browser.get(answer.headers["Location"], headers=ACCEPT))
    [flashes] = _FLASHES.findall(html)
    return flashes


GET, POST = "GET", "POST"
# Who acts (None: a visitor), how, where, with what.
Action = tuple[User | None, str, str, dict[str, str]]
FLASHES: dict[str, Callable[[World, dict[str, str]], Action]] = {
    "bad reset link": lambda w, links: (None, GET, "/account/reset/nonsense", {}),
    "bad claim link": lambda w, links: (None, GET, "/account/claim/nonsense", {}),
    "bad confirmation link": lambda w, links: (None, GET, "/account/verify/nonsense", {}),
    "bad registration link": lambda w, links: (None, GET, "/account/register/nonsense", {}),
    "a reset asked for": lambda w, links: (
        None,
        POST,
        "/account/reset",
        {"email": w.customer.email},
    ),
    "a new password chosen": lambda w, links: (
        None,
        POST,
        links["choose a new password"],
        {"password": NEW, "confirm": NEW},
    ),
    "a password set by claiming": lambda w, links: (
        None,
        POST,
        links["set your password"],
        {"password": NEW, "confirm": NEW},
    ),
    "an account finished": lambda w, links: (
        None,
        POST,
        links["finish creating your account"],
        {},
    ),
    "an address confirmed": lambda w, links: (None, POST, links["confirm your address"], {}),
    "a confirmation link sent again": lambda w, links: (
        w.customer,
        POST,
        "/account/verify/resend",
        {},
    ),
    "the profile saved": lambda w, links: (
        w.customer,
        POST,
        "/account/",
        {"display_name": "Nia Okafor", "preferred_name": "Nia", "thank_by_name": "y"},
    ),
    "the emails chosen": lambda w, links: (
        w.customer,
        POST,
        "/account/preferences",
        {"notification_preference": "resolutions"},
    ),
    "no emails chosen": lambda w, links: (w.customer, POST, "/account/preferences", {}),
    "the password changed": lambda w, links: (
        w.customer,
        POST,
        "/account/password",
        {"current_password": TEST_PASSWORD, "password": NEW, "confirm": NEW},
    ),
    "signed out": lambda w, links: (w.customer, POST, "/account/logout", {}),
    "signed out everywhere": lambda w, links: (
        w.customer,
        POST,
        "/account/sign-out-everywhere",
        {},
    ),
    "an unknown session ended": lambda w, links: (
        w.customer,
        POST,
        "/account/sessions/nope/end",
        {},
    ),
    "the account deleted": lambda w, links: (
        w.customer,
        POST,
        "/account/delete",
        {"password": TEST_PASSWORD},
    ),
}


@pytest.mark.parametrize("action", FLASHES)
def test_what_an_account_action_flashes_comes_from_the_catalog(
    pseudo_site, world, marked_elsewhere, action
) -> None:
    person, method, path, form = FLASHES[action](world, _link_pages(world))
    browser = _browser(pseudo_site, person)
    if method == POST:
        answer = post(browser, path, form, headers=ACCEPT)
    else:
        answer = browser.get(path, headers=ACCEPT)
    html = _flashed(browser, answer)
    allowed = marked_elsewhere("We could not find that session. It may have ended already.")
    assert words_outside_the_catalog(html, world.data + allowed) == []


def test_ending_another_session_names_its_device_through_the_catalog(pseudo_site, world) -> None:
    _browser(pseudo_site, world.customer)  # signed in elsewhere: "A browser", in its words
    here = _browser(pseudo_site, world.customer)
    page = _page(here.get("/account/", headers=ACCEPT))
    listed = page[page.index('id="sessions"') :]
    sessions = listed[: listed.index("</ul>")].split("<li>")[1:]
    [other] = [li for li in sessions if 'class="tag"' not in li]  # not "This browser"
    [end] = re.findall(r'action="([^"]+/end)"', other)
    html = _flashed(here, post(here, end, {}, headers=ACCEPT))
    assert words_outside_the_catalog(html, world.data) == []


# --- What someone wrote, kept through an ended session --------------------------------------


def test_writing_kept_through_sign_in_is_shown_through_the_catalog(
    pseudo_site, world, marked_elsewhere
) -> None:
    browser = _browser(pseudo_site, world.customer)
    item_page = browser.get(f"/feedback/{world.item.id}", headers=ACCEPT).get_data(as_text=True)
    action = f"/feedback/{world.item.id}/comments"
    fields = MultiDict(browser_form(item_page, action))
    fields["body"] = COMMENT
    post(browser, "/account/logout")  # as from another tab

    refused = browser.post(
        action, data=fields, headers={**ACCEPT, "Referer": f"http://localhost{action}"}
    )
    sign_in = _page(refused, 401)
    # The label is the comment form's (portal/feedback/views.py marks it), the flash
    # Flask-Login's (portal/auth.py).
    label = marked_elsewhere("Your comment", "Please sign in to continue.")
    assert "kept-title" in sign_in
    assert words_outside_the_catalog(sign_in, world.data + label) == []

    carried = dict(browser_form(sign_in, "/account/login"))
    carried.update(email=world.customer.email, password=TEST_PASSWORD)
    send_again = _page(browser.post("/account/login", data=carried, headers=ACCEPT))
    assert COMMENT in send_again and action in send_again
    assert words_outside_the_catalog(send_again, world.data + label) == []


def test_the_data_download_gives_its_labels_in_the_readers_language(pseudo_site, world) -> None:
    """Its keys are for machines; the labels in it (an item's state) are for the person."""
    download = _browser(pseudo_site, world.customer).get("/account/export", headers=ACCEPT)
    [resolved] = [i for i in download.get_json()["feedback"] if i["id"] == world.item.id]
    assert resolved["state_label"] == pseudo("Done")
    assert {step["state"] for step in resolved["timeline"]} >= {pseudo("Done")}


# --- Feeds ----------------------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def _feed_words(xml: bytes) -> tuple[str, list[str]]:
    """A feed's language and the texts it says in its own words: its title and subtitle, and
    each entry's content around what people wrote (an entry's title is its "you said")."""
    root = ET.fromstring(xml)
    if root.tag == f"{ATOM}feed":
        language = root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
        texts = [root.findtext(f"{ATOM}title"), root.findtext(f"{ATOM}subtitle")]
        texts += [entry.findtext(f"{ATOM}content") for entry in root.iter(f"{ATOM}entry")]
    else:
        channel = root.find("channel")
        assert channel is not None
        language = channel.findtext("language") or ""
        texts = [channel.findtext("title"), channel.findtext("description")]
        texts += [item.findtext("description") for item in channel.iter("item")]
    return language, [text or "" for text in texts]


@pytest.mark.parametrize(
    "feed",
    ["/feeds/resolutions.atom", "/feeds/resolutions.rss", "/feeds/categories/{slug}.atom"],
)
def test_a_feeds_own_words_come_from_the_catalog(pseudo_site, world, feed) -> None:
    answer = pseudo_site.test_client().get(feed.format(slug=world.category_slug), headers=ACCEPT)
    assert answer.status_code == 200
    language, texts = _feed_words(answer.data)
    assert language == PSEUDO_LANGUAGE
    assert len(texts) == 3  # the feed's title, its subtitle, the one entry
    assert WE_DID in texts[2]
    for text in texts:
        assert text and words_outside_the_catalog(text, world.data) == []


def test_each_language_of_a_feed_is_a_version_of_its_own(pseudo_site, world) -> None:
    client = pseudo_site.test_client()
    english = client.get("/feeds/resolutions.atom", headers={"Accept-Language": "en"})
    pseudo = client.get("/feeds/resolutions.atom", headers=ACCEPT)
    assert b"You said, we did" in english.data and b"You said, we did" not in pseudo.data
    assert english.headers["ETag"] != pseudo.headers["ETag"]
    assert "Accept-Language" in pseudo.headers["Vary"]
    again = client.get(
        "/feeds/resolutions.atom", headers={**ACCEPT, "If-None-Match": english.headers["ETag"]}
    )
    assert again.status_code == 200  # the English copy is not the pseudo-locale's
