"""No text a person types can run script on a page that shows it again.

The payloads are the public lists vendored in tests/data/xss/ (see NOTICE there). They go in
through the real forms where that is practical and through the services where a form would
only be slower, packed many to a value so the test stays fast: a value holds as many payloads
as the field's limit allows, and a payload longer than the limit is cut to fit (the form
refuses longer values anyway). Every page, fragment and feed where the field shows up is then
read, and must carry nothing executable (tests.helpers.executable_markup).

Markdown fields typed by customers (bodies, comments) get every payload; staff text that goes
through the same sanitiser ("we did", replies, notes, timeline messages) gets a part of them.
Fields shown as plain text that need a database row or a request per value get every STRIDE-th
value, which still carries about 300 payloads per field (the second search boxes, such as the
triage queue's, half of that).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from portal.extensions import db
from portal.models import Category, Feedback, FeedbackKind, Resolution, Role, User
from portal.services import admin as admin_service
from portal.services import workflow
from portal.services.accounts import register_user
from portal.services.feedback import add_comment, submit_feedback
from portal.validation import name_problem
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, emailed_token, executable_markup, login

PAYLOAD_FILE = Path(__file__).resolve().parent.parent / "data" / "xss" / "payloads.txt"
PAYLOADS: tuple[str, ...] = tuple(
    line for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
)
# Plain-text fields that need a row or a request per value take every STRIDE-th value.
STRIDE = 4
HTMX = {"HX-Request": "true"}


def test_the_vendored_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 300
    assert len(set(PAYLOADS)) == len(PAYLOADS)


# Packing payloads into values -------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One value typed into a field, and the payloads it carries."""

    text: str
    payloads: tuple[str, ...]

    @property
    def one_line(self) -> str:
        """The value as a single-line field stores it (runs of whitespace become one space)."""
        return " ".join(self.text.split())


def pack(limit: int, *, sep: str = " ", minimum: int = 0, stride: int = 1) -> list[Batch]:
    """Every payload, each cut to the limit, packed into values of at most `limit` characters."""
    batches: list[Batch] = []
    text, inside = "", []
    for payload in PAYLOADS:
        payload = payload[:limit]
        if text and len(text) + len(sep) + len(payload) <= limit:
            text, inside = text + sep + payload, [*inside, payload]
            continue
        if text:
            batches.append(Batch(text, tuple(inside)))
        text, inside = payload, [payload]
    if text:
        batches.append(Batch(text, tuple(inside)))
    padded = [
        Batch(
            b.text if len(b.text.strip()) >= minimum else (b.text + " " + "x" * minimum)[:limit],
            b.payloads,
        )
        for b in batches
    ]
    return padded[::stride]


def carried(batches: Sequence[Batch]) -> int:
    """How many payloads these values carry."""
    return sum(len(b.payloads) for b in batches)


# Checking pages -----------------------------------------------------------------------------


_FINDING_WORD = re.compile(r"[a-z:-]+")


def _suspects(found: list[str], batches: Sequence[Batch]) -> list[str]:
    """The payloads that most likely made these findings (they mention the tag or attribute)."""
    words = set()
    for finding in found:
        parts = _FINDING_WORD.findall(finding.lower())
        words.update(p.rstrip(":=") for p in parts[:2] if len(p) > 1)
    suspects = [p for b in batches for p in b.payloads if any(w and w in p.lower() for w in words)]
    return suspects[:5] or [p for b in batches for p in b.payloads][:3]


@dataclass
class Inspector:
    """Reads pages as one person and collects what could run script on each."""

    failures: list[str] = field(default_factory=list)
    pages: int = 0

    def html(self, where: str, html: str, batches: Sequence[Batch]) -> str:
        self.pages += 1
        found = executable_markup(html)
        if found:
            self.failures.append(
                f"{where}: executable markup {found[:5]} from payloads {_suspects(found, batches)}"
            )
        return html

    def page(
        self,
        client: FlaskClient,
        url: str,
        batches: Sequence[Batch],
        *,
        who: str,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> str:
        response = client.get(url, headers=headers or {}, query_string=query)
        where = f"{who} GET {url}{' ' + str(query) if query else ''}{' (htmx)' if headers else ''}"
        assert response.status_code == 200, f"{where} answered {response.status_code}"
        return self.html(where, response.get_data(as_text=True), batches)

    def feed(self, client: FlaskClient, url: str, batches: Sequence[Batch]) -> str:
        """A feed as text, and the HTML a reader renders from its entries."""
        response = client.get(url)
        assert response.status_code == 200, f"GET {url} answered {response.status_code}"
        text = response.get_data(as_text=True)
        self.html(f"feed {url} (as text)", text, batches)
        for element in ET.fromstring(response.data).iter():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag in ("content", "summary", "description", "encoded") and element.text:
                self.html(f"feed {url} <{tag}> (as HTML)", element.text, batches)
        return text

    def assert_clean(self) -> None:
        assert self.pages, "no page was checked"
        assert not self.failures, "\n".join(self.failures)


def test_a_finding_names_the_page_and_the_payload_behind_it() -> None:
    inspect = Inspector()
    batch = Batch(
        "<b>fine</b> <img src=x onerror=alert(1)>", ("<b>fine</b>", "<img src=x onerror=alert(1)>")
    )
    inspect.html("GET /somewhere", "<p>ok</p><img src=x onerror=alert(1)>", [batch])
    inspect.html("GET /elsewhere", "<p>&lt;img src=x onerror=alert(1)&gt;</p>", [batch])
    assert len(inspect.failures) == 1
    assert "GET /somewhere" in inspect.failures[0]
    assert "onerror=alert(1)>" in inspect.failures[0]
    assert "<b>fine</b>" not in inspect.failures[0]
    with pytest.raises(AssertionError):
        inspect.assert_clean()


def _poster(client: FlaskClient) -> Callable[..., Any]:
    """POST forms as this browser, with its CSRF token read once."""
    token = csrf_token(client)

    def send(url: str, data: dict[str, Any], **kw: Any) -> Any:
        return client.post(url, data={"csrf_token": token, **data}, **kw)

    return send


def _item_id(response: Any) -> int:
    # The submit form answers with its thank-you page, /feedback/<id>/submitted.
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    path = urlsplit(response.headers["Location"]).path
    match = re.fullmatch(r"/feedback/(\d+)(?:/submitted)?/?", path)
    assert match, path
    return int(match.group(1))


def _presence(pages: str, values: Sequence[str]) -> int:
    return sum(1 for value in values if str(escape(value)) in pages)


# Feedback titles and bodies ----------------------------------------------------------------


def test_feedback_titles_and_bodies_never_run_script(
    app: Flask, client: FlaskClient, make_client, make_user, make_category, monkeypatch
) -> None:
    author = make_user()
    staff = make_user(role=Role.STAFF)
    category = make_category()
    bodies = pack(10_000, sep="\n\n", minimum=10)
    titles = pack(160, minimum=5, stride=STRIDE)
    assert carried(bodies) == len(PAYLOADS)
    assert carried(titles) > 300

    # The real form for every body (each one item), with the first titles.
    login(client, author.email)
    send = _poster(client)
    form_ids = []
    for body, title in zip(bodies, titles, strict=False):
        response = send(
            "/feedback/new",
            {
                "kind": "complaint",
                "category_id": str(category.id),
                "title": title.text,
                "body": body.text,
                "visibility": "public",
                "website": "",
                # Payloads hold addresses and numbers the guard would ask about: the writer
                # posts them anyway, so they reach every page.
                "post_anyway": "1",
            },
        )
        form_ids.append(_item_id(response))
    # The service for the other titles: the same rows, far faster.
    service_ids = []
    for title in titles[len(bodies) :]:
        item = submit_feedback(
            author,
            kind=FeedbackKind.IDEA,
            category_id=category.id,
            title=title.text,
            body="Seen again this morning.",
            post_anyway=True,
        )
        service_ids.append(item.id)
    db.session.commit()

    everything = [*titles, *bodies]
    inspect = Inspector()
    visitor = make_client()
    staff_client = make_client()
    login(staff_client, staff.email)
    monkeypatch.setitem(app.config, "BOARD_PAGE_SIZE", 100)

    # "My feedback" lists every title at once.
    mine = inspect.page(client, "/account/", titles, who="author")
    assert _presence(mine, [t.one_line for t in titles]) == len(titles)

    # The board, page by page, plainly and as the htmx fragment.
    board_pages = math.ceil(len(titles) / 100)
    board_html = ""
    for page in range(1, board_pages + 1):
        board_html += inspect.page(visitor, "/", titles, who="visitor", query={"page": page})
    assert _presence(board_html, [t.one_line for t in titles]) == len(titles)
    inspect.page(
        visitor, "/", titles, who="visitor", headers={**HTMX, "HX-Target": "board-results"}
    )

    # Search results highlight the words in titles and show snippets of bodies.
    for term in ("script", "alert", "onerror", "javascript", "svg onload"):
        for page, sort in ((1, "match"), (2, "match"), (1, "new")):
            query = {"q": term, "page": page, "sort": sort}
            inspect.page(visitor, "/", everything, who="visitor", query=query)
        query = {"q": term}
        inspect.page(visitor, "/", everything, who="visitor", query=query, headers=HTMX)
        inspect.page(staff_client, "/admin/", everything, who="staff", query=query)
        inspect.page(visitor, "/feedback/suggest", titles, who="visitor", query={"title": term})

    # The triage queue, every page, and its fragment.
    for page in range(1, math.ceil(len(titles) / 50) + 1):
        inspect.page(staff_client, "/admin/", titles, who="staff", query={"page": page})
    inspect.page(
        staff_client,
        "/admin/",
        titles,
        who="staff",
        query={"sort": "votes"},
        headers={**HTMX, "HX-Target": "queue-results"},
    )

    # Item pages: every form-made item (the bodies) and a sample of the others.
    for item_id in [*form_ids, *service_ids[::25]]:
        inspect.page(visitor, f"/feedback/{item_id}", everything, who="visitor")
        inspect.page(staff_client, f"/admin/feedback/{item_id}", everything, who="staff")
    inspect.assert_clean()


# Comments, staff replies, internal notes and timeline messages -----------------------------


def test_comments_replies_notes_and_timeline_messages_never_run_script(
    client: FlaskClient, make_client, make_user, make_feedback
) -> None:
    author = make_user()
    commenter = make_user()
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author)
    chunks = pack(5_000, sep="\n")
    assert carried(chunks) == len(PAYLOADS)

    login(client, commenter.email)
    send = _poster(client)
    for chunk in chunks:
        response = send(
            f"/feedback/{item.id}/comments",
            {"body": chunk.text, "website": "", "post_anyway": "1"},  # past the guard
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    workflow.acknowledge(item.id, staff, chunks[1].text, post_anyway=True)
    db.session.commit()
    staff_client = make_client()
    login(staff_client, staff.email)
    staff_send = _poster(staff_client)
    # One reply through the admin form (past the tone check), the rest through the service.
    response = staff_send(
        f"/admin/feedback/{item.id}/reply",
        {"body": chunks[0].text, "post_anyway": "Post anyway"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    item = db.session.get(Feedback, item.id)
    staff = db.session.get(User, staff.id)
    workflow.plan(
        item.id,
        staff,
        date.today() + timedelta(days=400),
        chunks[2].text,
        outcome=" ".join(chunks[3].text.split())[:120],
        post_anyway=True,
    )
    for n, chunk in enumerate(chunks[::STRIDE]):
        workflow.reply(item.id, staff, chunk.text, post_anyway=True)
        workflow.add_internal_note(item.id, staff, chunk.text)
        # Moving the promise puts the reason on the public timeline.
        workflow.move_promise(item.id, staff, date.today() + timedelta(days=n + 2), chunk.text)
    db.session.commit()

    inspect = Inspector()
    visitor = make_client()
    inspect.page(visitor, f"/feedback/{item.id}", chunks, who="visitor")
    inspect.page(client, f"/feedback/{item.id}", chunks, who="commenter")
    author_client = make_client()
    login(author_client, author.email)
    inspect.page(author_client, f"/feedback/{item.id}", chunks, who="author")
    inspect.page(staff_client, f"/admin/feedback/{item.id}", chunks, who="staff")
    inspect.page(staff_client, "/admin/", chunks, who="staff", query={"all": "1"})
    inspect.assert_clean()


# Display names and preferred names ---------------------------------------------------------


def _register_form(display: Batch, preferred: Batch, n: int) -> dict[str, str]:
    return {
        "email": f"named{n}@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "display_name": display.text,
        "preferred_name": preferred.text,
        "website": "",
    }


def test_display_and_preferred_names_never_run_script(
    make_client, make_user, make_category, make_feedback
) -> None:
    # A name with a tab or line break in it is refused (the name rule), so it is never shown.
    names = [b for b in pack(80, stride=STRIDE) if name_problem(b.text) is None]
    preferred = names[::-1]
    assert carried(names) > 300
    everything = names
    inspect = Inspector()

    # Registration through the real form, finished by the emailed link (whose page names
    # the person), signs in and greets by the preferred name.
    for n in range(0, len(names), 25):
        browser = make_client()
        send = _poster(browser)
        response = send("/account/register", _register_form(names[n], preferred[n], n))
        assert response.status_code == 200, response.get_data(as_text=True)[:2000]
        token = emailed_token("registration", f"named{n}@example.com", "/account/register/")
        link = f"/account/register/{token}"
        inspect.page(browser, link, everything, who=f"registration link #{n}")
        assert send(link, {}).status_code == 302
        page = inspect.page(browser, "/account/", everything, who=f"registered #{n}")
        assert str(escape(preferred[n].text.strip())) in page
    # The profile form changes both names.
    changer = make_user()
    browser = make_client()
    login(browser, changer.email)
    send = _poster(browser)
    for n in range(3, len(names), 25):
        response = send(
            "/account/",
            {"display_name": names[n].text, "preferred_name": preferred[n].text},
            follow_redirects=True,
        )
        assert response.status_code == 200
        inspect.html(f"profile save #{n}", response.get_data(as_text=True), everything)
        inspect.page(browser, "/feedback/new", everything, who=f"profile #{n}")

    # The service for every value: each person comments on one item and authors another.
    category = make_category()
    shared = make_feedback(category=category)
    staff = make_user(role=Role.STAFF, display_name=names[0].text, preferred_name=names[1].text)
    people = []
    for n, (display, called) in enumerate(zip(names, preferred, strict=True)):
        person = register_user(
            email=f"person-{n}@example.com",
            password=TEST_PASSWORD,
            display_name=display.text,
            preferred_name=called.text,
        )
        add_comment(person, shared.id, "Me too.")
        people.append(person)
    authored = []
    for person in people[::10]:
        authored.append(
            submit_feedback(
                person,
                kind=FeedbackKind.COMPLAINT,
                category_id=category.id,
                title="It broke again",
                body="Still broken.",
            )
        )
    db.session.flush()
    workflow.acknowledge(
        authored[0].id, staff, "Thank you, we are looking at it.", post_anyway=True
    )
    db.session.commit()

    visitor = make_client()
    shared_page = inspect.page(visitor, f"/feedback/{shared.id}", everything, who="visitor")
    shown = _presence(shared_page, [b.text.strip() for b in names])
    assert shown == len(names), f"only {shown} of {len(names)} display names were on the page"
    inspect.page(visitor, f"/feedback/{authored[0].id}", everything, who="visitor")

    admin = make_user(role=Role.ADMIN)
    admin_client = make_client()
    login(admin_client, admin.email)
    inspect.page(admin_client, f"/admin/feedback/{shared.id}", everything, who="admin")
    for item in authored[:5]:
        inspect.page(admin_client, f"/admin/feedback/{item.id}", everything, who="admin")
    inspect.page(admin_client, "/admin/", everything, who="admin")
    inspect.page(admin_client, "/admin/", everything, who="admin", query={"owner": "none"})
    users_html = ""
    for page in range(1, math.ceil((len(people) + 30) / 30) + 1):
        users_html += inspect.page(
            admin_client, "/admin/users", everything, who="admin", query={"page": page}
        )
    shown = _presence(users_html, [b.text.strip() for b in preferred])
    assert shown == len(preferred), f"only {shown} preferred names were on the users pages"
    for term in ("script", "alert", "onerror"):
        inspect.page(admin_client, "/admin/users", everything, who="admin", query={"q": term})
    inspect.page(admin_client, "/admin/audit", everything, who="admin")
    inspect.assert_clean()


# Categories --------------------------------------------------------------------------------


def test_category_names_and_descriptions_never_run_script(
    make_client, make_user, make_feedback
) -> None:
    names = pack(80, stride=STRIDE)
    descriptions = pack(1_000, sep="\n", stride=STRIDE)
    assert carried(names) > 300
    assert carried(descriptions) > 300
    admin = make_user(role=Role.ADMIN)
    admin_client = make_client()
    login(admin_client, admin.email)
    send = _poster(admin_client)

    # A few through the admin form, the rest through the service.
    through_form = 5
    for n in range(through_form):
        response = send(
            "/admin/categories",
            {
                "name": f"{n} {names[n].text}"[:80],
                "slug": f"form-{n}",
                "description": descriptions[n].text,
                "ack_target_hours": "48",
                "response_guide": descriptions[-n - 1].text,
                "position": str(n),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    admin = db.session.get(User, admin.id)
    for n in range(through_form, max(len(names), len(descriptions))):
        admin_service.save_category(
            admin,
            None,
            name=f"{n} {names[n].text}"[:80].strip() if n < len(names) else f"Plain {n}",
            slug=f"cat-{n}",
            description=descriptions[n].text if n < len(descriptions) else "",
            ack_target_hours=48,
            response_guide="",
            position=n,
        )
    db.session.commit()
    categories = list(db.session.scalars(sa.select(Category).order_by(Category.id)))
    items = [make_feedback(category=c) for c in categories[:: max(1, len(categories) // 8)]]
    customer = make_user()

    everything = [*names, *descriptions]
    inspect = Inspector()
    visitor = make_client()
    board = inspect.page(visitor, "/", everything, who="visitor")
    shown = _presence(board, [f"{n} {b.text}"[:80].strip() for n, b in enumerate(names)])
    assert shown == len(names), f"only {shown} of {len(names)} category names were on the board"
    inspect.page(visitor, "/you-said-we-did", everything, who="visitor")
    inspect.page(visitor, "/digest/subscribe", everything, who="visitor")
    for item in items:
        inspect.page(visitor, f"/feedback/{item.id}", everything, who="visitor")
        inspect.page(admin_client, f"/admin/feedback/{item.id}", everything, who="admin")
        inspect.feed(visitor, f"/feeds/categories/{item.category.slug}.atom", everything)
    customer_client = make_client()
    login(customer_client, customer.email)
    inspect.page(customer_client, "/feedback/new", everything, who="customer")
    inspect.page(admin_client, "/admin/categories", everything, who="admin")
    inspect.page(admin_client, "/admin/", everything, who="admin")
    for category in categories[: len(descriptions)]:
        inspect.page(admin_client, f"/admin/categories/{category.id}", everything, who="admin")
    inspect.assert_clean()


# "You said, we did" ------------------------------------------------------------------------


def test_resolution_texts_never_run_script(make_client, make_user, make_category) -> None:
    we_did = pack(10_000, sep="\n\n", stride=STRIDE)
    you_said = pack(200, stride=STRIDE)
    assert carried(we_did) > 300
    assert carried(you_said) > 250
    author = make_user()
    staff = make_user(role=Role.STAFF)
    # Each category feed shows its newest 50, so no category gets more than that.
    per_category = 40
    categories = [make_category() for _ in range(math.ceil(len(you_said) / per_category) + 1)]

    def new_item(n: int, title: str = "") -> Feedback:
        return submit_feedback(
            author,
            kind=FeedbackKind.IDEA,
            category_id=categories[n // per_category].id,
            title=title or f"Please change thing {n}",
            body="It would help.",
        )

    staff_client = make_client()
    login(staff_client, staff.email)
    send = _poster(staff_client)
    # "We did" through the admin form, each with its own item and a "you said" summary.
    form_items = [new_item(len(you_said) + n) for n in range(len(we_did))]
    for item in form_items:  # answered personally first, as the form requires
        workflow.acknowledge(item.id, staff, "Thank you, this is a good idea.", post_anyway=True)
    db.session.commit()
    for n, (item, text) in enumerate(zip(form_items, we_did, strict=True)):
        response = send(
            f"/admin/resolutions/new?items={item.id}",
            {"you_said": you_said[n].text, "we_did": text.text, "post_anyway": "Post anyway"},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    # "You said" through the service, one resolution each.
    staff = db.session.get(User, staff.id)
    for n, summary in enumerate(you_said):
        item = new_item(n)
        db.session.flush()
        workflow.resolve(item.id, staff, "We changed it.", summary.text, post_anyway=True)
    db.session.commit()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Resolution))
    assert total == len(you_said) + len(we_did)

    everything = [*we_did, *you_said]
    inspect = Inspector()
    visitor = make_client()
    board = ""
    for page in range(1, math.ceil(total / 10) + 1):
        board += inspect.page(
            visitor, "/you-said-we-did", everything, who="visitor", query={"page": page}
        )
    shown = _presence(board, [b.text.strip()[:200] for b in you_said])
    assert shown == len(you_said), f"only {shown} of {len(you_said)} summaries were shown"
    inspect.page(
        visitor,
        "/you-said-we-did",
        everything,
        who="visitor",
        headers={**HTMX, "HX-Target": "resolution-results"},
    )
    inspect.page(staff_client, "/you-said-we-did", everything, who="staff", query={"page": 2})
    inspect.feed(visitor, "/feeds/resolutions.atom", everything)
    inspect.feed(visitor, "/feeds/resolutions.rss", everything)
    for category in categories:
        inspect.feed(visitor, f"/feeds/categories/{category.slug}.atom", everything)
    for item in form_items:
        inspect.page(visitor, f"/feedback/{item.id}", everything, who="visitor")
        inspect.page(staff_client, f"/admin/feedback/{item.id}", everything, who="staff")
    resolution_ids = db.session.scalars(sa.select(Resolution.id).limit(3)).all()
    for resolution_id in resolution_ids:
        inspect.page(
            staff_client, f"/admin/resolutions/{resolution_id}/edit", everything, who="staff"
        )
    inspect.page(
        staff_client,
        "/admin/resolutions/new",
        everything,
        who="staff",
        query={"items": str(form_items[0].id)},
    )
    inspect.assert_clean()


# Search boxes and other echoed input -------------------------------------------------------


def test_search_queries_are_echoed_without_running_script(
    make_client, make_user, make_feedback
) -> None:
    queries = pack(200, stride=STRIDE)
    assert carried(queries) > 250
    make_feedback(title="Script alert on the image upload page", body="onerror javascript svg")
    admin = make_user(role=Role.ADMIN)
    admin_client = make_client()
    login(admin_client, admin.email)
    visitor = make_client()
    inspect = Inspector()
    for n, query in enumerate(queries):
        inspect.page(visitor, "/", [query], who="visitor", query={"q": query.text})
        if n % 2 == 0:
            inspect.page(admin_client, "/admin/", [query], who="admin", query={"q": query.text})
        if n % 8 == 0:
            inspect.page(
                visitor,
                "/",
                [query],
                who="visitor",
                query={"q": query.text},
                headers={**HTMX, "HX-Target": "board-results"},
            )
            inspect.page(
                visitor, "/feedback/suggest", [query], who="visitor", query={"title": query.text}
            )
            inspect.page(
                admin_client, "/admin/users", [query], who="admin", query={"q": query.text[:100]}
            )
            inspect.page(
                visitor,
                "/you-said-we-did",
                [query],
                who="visitor",
                query={"category": query.text},
            )
    inspect.assert_clean()


def test_digest_subscription_addresses_are_echoed_without_running_script(
    app: Flask, make_client
) -> None:
    if "digests.subscribe" not in app.view_functions:
        return  # no digest yet: nothing to check
    addresses = pack(254, stride=STRIDE)
    assert carried(addresses) > 300
    visitor = make_client()
    send = _poster(visitor)
    inspect = Inspector()
    for address in addresses:
        response = send(
            "/digest/subscribe",
            {"email": address.text, "frequency": "weekly"},
            follow_redirects=True,
        )
        assert response.status_code < 500
        inspect.html(
            f"POST /digest/subscribe email={address.text[:60]!r}",
            response.get_data(as_text=True),
            [address],
        )
    inspect.assert_clean()


def test_site_settings_are_shown_on_every_page_without_running_script(
    make_client, make_user
) -> None:
    names = pack(120, stride=100)
    addresses = pack(300, stride=40)
    admin = make_user(role=Role.ADMIN)
    admin_client = make_client()
    login(admin_client, admin.email)
    send = _poster(admin_client)
    visitor = make_client()
    inspect = Inspector()
    for n, name in enumerate(names):
        address = addresses[n % len(addresses)]
        response = send(
            "/admin/settings",
            {
                "organisation_name": name.text,
                "contact_email": "help@example.com",
                "contact_phone": name.text[:40],
                "contact_address": address.text,
                "time_zone": "Europe/London",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        inspect.page(visitor, "/", [name, address], who="visitor")
        inspect.feed(visitor, "/feeds/resolutions.atom", [name])
    inspect.page(admin_client, "/admin/settings", [*names, *addresses], who="admin")
    inspect.assert_clean()


@pytest.mark.parametrize("payload", PAYLOADS[:: len(PAYLOADS) // 8])
def test_a_single_payload_as_a_whole_value_is_shown_as_text(
    payload: str, make_client, make_user, make_category
) -> None:
    """Packing puts payloads side by side; a few also go in alone, as a whole field."""
    author = make_user()
    browser = make_client()
    login(browser, author.email)
    send = _poster(browser)
    category = make_category()
    response = send(
        "/feedback/new",
        {
            "kind": "idea",
            "category_id": str(category.id),
            "title": (payload + " xxxxx")[:160],
            "body": payload + "\n\nxxxxxxxxxx",
            "visibility": "public",
            "post_anyway": "1",  # past the guard for personal details
        },
    )
    item_id = _item_id(response)
    send(f"/feedback/{item_id}/comments", {"body": payload, "post_anyway": "1"})
    inspect = Inspector()
    batch = [Batch(payload, (payload,))]
    inspect.page(browser, f"/feedback/{item_id}/submitted", batch, who="author")
    inspect.page(make_client(), f"/feedback/{item_id}", batch, who="visitor")
    inspect.page(make_client(), "/", batch, who="visitor", query={"q": payload[:200]})
    inspect.assert_clean()


def test_code_in_a_comment_reads_as_typed_and_stays_inert(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    """`<script>` in backticks is shown as the characters <script>, escaped once: a second
    escaping would show the reader "&lt;script&gt;"; none at all would run it."""
    item_id = make_feedback().id
    person = make_user()
    login(client, person.email, TEST_PASSWORD)
    sent = client.post(
        f"/feedback/{item_id}/comments",
        data={
            "csrf_token": csrf_token(client),
            "body": "Typing `<script>alert(1)</script>` in the name box breaks it:\n\n"
            "    <b>bold</b> & <i>more</i>\n",
        },
    )
    assert sent.status_code == 302
    page = client.get(f"/feedback/{item_id}").get_data(as_text=True)
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    assert "<pre><code>&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;more&lt;/i&gt;" in page
    assert "&amp;lt;" not in page
    assert executable_markup(page) == []
