"""The public roadmap at /roadmap and /roadmap.atom: Planned (with the promised date and the
owner's first name), In progress and Done recently (linked to its "You said, we did" entry);
a category filter without JavaScript; only what the public board shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Category, Feedback, Role, User, Visibility
from portal.services import workflow
from portal.services.roadmap import DONE_RECENTLY_DAYS
from portal.templating import longdate
from tests.conftest import make_test_app
from tests.helpers import count_queries, empty_read_cache, resolve_together

OWNER = "Samira Okonkwo"
OUTCOME = "the lift working again"


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.STAFF, display_name=OWNER)


def _acknowledged(staff: User, item: Feedback) -> None:
    workflow.acknowledge(item.id, staff, "Thank you, I am looking at this now.", post_anyway=True)


def _plan(staff: User, item: Feedback, in_days: int = 10) -> Feedback:
    _acknowledged(staff, item)
    workflow.plan(
        item.id,
        staff,
        datetime.now(UTC).date() + timedelta(days=in_days),
        "We will fix this next month.",
        outcome=OUTCOME,
        post_anyway=True,
    )
    db.session.commit()
    return item


def _start(staff: User, item: Feedback) -> Feedback:
    _acknowledged(staff, item)
    workflow.start_work(item.id, staff, "We are on it now.", post_anyway=True)
    db.session.commit()
    return item


def _done(staff: User, item: Feedback) -> Feedback:
    resolve_together([item], staff, "We replaced the lift's motor.")
    db.session.commit()
    return item


def _page(client: FlaskClient, url: str = "/roadmap", **kwargs: object) -> str:
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _column(html: str, name: str) -> str:
    """The markup of one column (planned, in-progress, done)."""
    start = html.index(f'roadmap__column--{name}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_each_column_shows_its_items_with_what_a_customer_needs_to_know(
    client: FlaskClient, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    later = _plan(staff, make_feedback(title="Lift out of order"), in_days=20)
    sooner = _plan(staff, make_feedback(title="Stairwell light broken"), in_days=5)
    started = _start(staff, make_feedback(title="Front door sticks"))
    done = _done(staff, make_feedback(title="Heating off in block B"))
    make_feedback(title="Bins left open")  # received: on no column

    html = _page(client)
    planned = _column(html, "planned")
    # Soonest promise first, each with its date and the first name of whoever looks after it.
    assert planned.index("Stairwell light broken") < planned.index("Lift out of order")
    with client.application.test_request_context():
        assert longdate(later.target_date) in planned
        assert longdate(sooner.target_date) in planned
    assert "Samira" in planned and "Okonkwo" not in planned
    assert OUTCOME in planned
    assert "Front door sticks" in _column(html, "in-progress")
    finished = _column(html, "done")
    assert "Heating off in block B" in finished
    assert f'href="/you-said-we-did/{done.resolution_id}"' in finished
    assert "Bins left open" not in html
    assert f'href="/feedback/{started.id}"' in html


def test_done_leaves_the_roadmap_after_a_while(
    client: FlaskClient, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    recent = _done(staff, make_feedback(title="Fixed this week"))
    old = _done(staff, make_feedback(title="Fixed long ago"))
    old.resolved_at = datetime.now(UTC) - timedelta(days=DONE_RECENTLY_DAYS + 1)
    db.session.commit()
    empty_read_cache(client.application)
    done = _column(_page(client), "done")
    assert recent.title in done and old.title not in done


def test_only_what_the_public_board_shows_is_on_the_roadmap(
    client: FlaskClient,
    staff: User,
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    author = make_user()
    shown = _plan(staff, make_feedback(author=author, title="Shown on the board"))
    private = _plan(
        staff,
        make_feedback(author=author, title="Private plan", visibility=Visibility.PRIVATE),
    )
    hidden = _plan(staff, make_feedback(author=author, title="Hidden plan"))
    workflow.set_hidden(hidden.id, staff, True, "Abusive.")
    redacted = _start(staff, make_feedback(author=author, title="Redacted plan"))
    workflow.redact(redacted.id, staff, "A neighbour's name.")
    unapproved = _plan(staff, make_feedback(author=author, title="Awaiting review plan"))
    unapproved.awaiting_review = True
    db.session.commit()

    withheld = [private, hidden, redacted, unapproved]
    for url in ("/roadmap", "/roadmap.atom"):
        text = _page(client, url)
        assert shown.title in text, url
        for item in withheld:
            assert item.title not in text, (url, item.title)
            assert f"/feedback/{item.id}<" not in text and f'/feedback/{item.id}"' not in text


def test_the_category_filter_works_without_javascript_and_with_htmx(
    client: FlaskClient,
    staff: User,
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
) -> None:
    lifts, bins = make_category(name="Lifts"), make_category(name="Bins")
    _plan(staff, make_feedback(category=lifts, title="Lift out of order"))
    _plan(staff, make_feedback(category=bins, title="Bins left open"))

    whole = _page(client)
    assert "Lift out of order" in whole and "Bins left open" in whole
    # A plain GET form: the choice is in the address, and the page says which it is.
    assert '<form class="filters" method="get" action="/roadmap"' in whole
    one = _page(client, "/roadmap?category=lifts")
    assert "Lift out of order" in one and "Bins left open" not in one
    assert '<option value="lifts" selected>' in one
    # htmx asks for the columns alone, and the answer says it differs by that header.
    response = client.get(
        "/roadmap?category=bins", headers={"HX-Request": "true", "HX-Target": "roadmap-columns"}
    )
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "Bins left open" in fragment
    assert "Lift out of order" not in fragment
    assert 'href="/roadmap.atom?category=bins"' in fragment  # the feed follows the choice
    assert "HX-Request" in response.headers["Vary"]
    # The feed follows the same choice.
    feed = feedparser.parse(_page(client, "/roadmap.atom?category=bins"))
    assert [e.title for e in feed.entries] == [
        e.title for e in feed.entries if "Bins left open" in e.title
    ]
    assert feed.entries


def test_an_unknown_category_is_not_found(client: FlaskClient) -> None:
    assert client.get("/roadmap?category=no-such-thing").status_code == 404
    assert client.get("/roadmap.atom?category=no-such-thing").status_code == 404


def test_the_roadmap_is_in_the_navigation_and_points_at_its_feed(client: FlaskClient) -> None:
    board = _page(client, "/")
    assert 'href="/roadmap">Roadmap</a>' in board
    roadmap = _page(client)
    assert 'type="application/atom+xml"' in roadmap and 'href="/roadmap.atom"' in roadmap


def test_the_feed_links_to_each_item_and_done_ones_to_their_answer(
    client: FlaskClient, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    planned = _plan(staff, make_feedback(title="Lift out of order"))
    done = _done(staff, make_feedback(title="Heating off in block B"))
    response = client.get("/roadmap.atom")
    assert response.content_type.startswith("application/atom+xml")
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    links = {entry.title: entry.link for entry in feed.entries}
    planned_title = next(t for t in links if "Lift out of order" in t)
    done_title = next(t for t in links if "Heating off in block B" in t)
    assert links[planned_title].endswith(f"/feedback/{planned.id}")
    assert links[done_title].endswith(f"/you-said-we-did/{done.resolution_id}")
    assert all(link.startswith("http") for link in links.values())
    # A reader asking again with what it holds gets a 304 while nothing changed.
    again = client.get("/roadmap.atom", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_roadmap_costs_the_same_few_queries_however_many_items_it_lists(
    app: Flask, client: FlaskClient, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    def queries() -> int:
        empty_read_cache(app)
        _page(client)  # warm: categories and settings are cached per process
        with count_queries(db.engine) as log:
            _page(client)
        return log.count

    _plan(staff, make_feedback())
    _start(staff, make_feedback())
    _done(staff, make_feedback())
    few = queries()
    for _ in range(3):
        _plan(staff, make_feedback())
        _start(staff, make_feedback())
        _done(staff, make_feedback())
    assert queries() == few


def test_visitors_share_a_kept_roadmap_and_a_change_shows_at_once(
    database_uri: str, tmp_path: Path, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    cached = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=60.0)
    item = _plan(staff, make_feedback(title="Lift out of order"))
    visitor = cached.test_client()
    assert "Lift out of order" in _page(visitor)
    # Changed by another process (the test's app): the kept page is answered meanwhile.
    item.title = "Lift stuck between floors"
    db.session.commit()
    assert "Lift out of order" in _page(visitor)
    # Changed by the same process (the cached app's own unit of work): the next visitor sees
    # it at once, as on the board.
    with cached.app_context():
        actor = db.session.get(User, staff.id)
        assert actor is not None
        workflow.start_work(item.id, actor, "We are on it now.", post_anyway=True)
        db.session.commit()
    after = _page(visitor)
    assert "Lift stuck between floors" in _column(after, "in-progress")
    assert "Lift stuck between floors" not in _column(after, "planned")
