"""Feeds of published resolutions: valid Atom and RSS, stable ids, privacy and conditional GETs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date

from portal.extensions import db
from portal.models import Category, Feedback, Resolution, Role, User, Visibility
from portal.services import workflow
from tests.conftest import make_test_app
from tests.helpers import count_queries, resolve_together

ATOM = "/feeds/resolutions.atom"
RSS = "/feeds/resolutions.rss"


def _publish(
    make_user: Callable[..., User],
    items: list[Feedback],
    we_did: str = "We fixed it and checked it twice.",
    you_said: str = "",
) -> Resolution:
    staff = make_user(role=Role.STAFF)
    resolution = resolve_together(items, staff, we_did, you_said)
    db.session.commit()
    return resolution


def _parsed(client: FlaskClient, url: str = ATOM) -> feedparser.FeedParserDict:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_atom_feed_parses_with_a_real_feed_parser(client, make_user, make_feedback) -> None:
    _publish(make_user, [make_feedback(title="Bins were not collected")], you_said="Missed bins")
    response = client.get(ATOM)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["Cache-Control"] in {"public, max-age=60", "max-age=60, public"}
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == ["Missed bins"]


def test_atom_feed_and_entries_have_the_required_elements(client, make_user, make_feedback) -> None:
    _publish(make_user, [make_feedback()], you_said="The first thing")
    _publish(make_user, [make_feedback()], you_said="The second thing")
    parsed = _parsed(client)
    feed = parsed.feed
    assert feed.id and feed.title and feed.updated_parsed and feed.author
    assert any(link.rel == "self" for link in feed.links)
    assert len(parsed.entries) == 2
    for entry in parsed.entries:
        assert entry.id and entry.title and entry.updated_parsed and entry.published_parsed
        assert entry.link
    assert [e.title for e in parsed.entries] == ["The second thing", "The first thing"]


def test_entry_content_says_what_you_said_and_what_we_did_with_the_voice_count(
    client, make_user, make_feedback
) -> None:
    _publish(
        make_user,
        [make_feedback(title="Bins were not collected")],
        we_did="We added a **second round** on your street.",
        you_said="Missed bins",
    )
    entry = _parsed(client).entries[0]
    assert entry.content[0].type == "text/html"
    html = entry.content[0].value
    assert "You said:" in html and "Missed bins" in html
    assert "We did:" in html and "<strong>second round</strong>" in html
    assert "1 person raised this" in html
    assert "Bins were not collected" in html


def test_feed_links_are_absolute(client, make_user, make_feedback) -> None:
    resolution = _publish(make_user, [make_feedback()])
    parsed = _parsed(client)
    assert parsed.feed.link.startswith("http")
    assert all(link.href.startswith("http") for link in parsed.feed.links)
    entry = parsed.entries[0]
    assert entry.link.startswith("http")
    assert entry.link.endswith(f"/you-said-we-did/{resolution.id}")
    assert client.get(urlsplit(entry.link).path).status_code == 200
    assert 'href="http' in entry.content[0].value  # the listed item links too


def test_entry_ids_stay_the_same_after_the_resolution_is_edited(
    client, make_user, make_feedback
) -> None:
    resolution = _publish(make_user, [make_feedback()], you_said="Before the edit")
    before = _parsed(client).entries[0]
    workflow.update_resolution(
        db.session.get(Resolution, resolution.id).id,
        make_user(role=Role.STAFF),
        you_said="After the edit",
        we_did="New words for what we did.",
    )
    db.session.commit()
    after = _parsed(client).entries[0]
    assert after.title == "After the edit"
    assert after.id == before.id
    assert after.id.startswith("tag:") and after.id.endswith(f":resolution:{resolution.id}")
    assert after.updated_parsed >= before.updated_parsed


def test_ids_and_links_are_the_configured_sites_whatever_host_the_feed_is_fetched_by(
    database_uri: str, tmp_path: Path, make_user, make_category, make_feedback
) -> None:
    # As in production: no SERVER_NAME, so only PORTAL_BASE_URL can stop the Host header
    # from naming the site. Readers dedupe entries by id; a feed fetched by another name (an
    # alias, an IP address, a forged header) must not look like a new feed of new entries.
    site = make_test_app(
        database_uri, tmp_path, SERVER_NAME=None, PORTAL_BASE_URL="https://portal.example.com"
    )
    category = make_category(name="Roads")
    resolution = _publish(make_user, [make_feedback(category=category)])
    for url in (ATOM, "/feeds/categories/roads.atom", RSS):
        seen = {}
        for host in ("portal.example.com", "feedback.example.org"):
            response = site.test_client().get(url, headers={"Host": host})
            assert response.status_code == 200, (url, host)
            assert "feedback.example.org" not in response.get_data(as_text=True), url
            seen[host] = feedparser.parse(response.get_data())
        configured, other = seen["portal.example.com"], seen["feedback.example.org"]
        assert other.feed.get("id") == configured.feed.get("id"), url
        assert [e.id for e in other.entries] == [e.id for e in configured.entries], url
        # The ids a request to the configured host got before links came from the setting.
        assert other.entries[0].id == f"tag:portal.example.com,2026:resolution:{resolution.id}"
        assert other.entries[0].link == (
            f"https://portal.example.com/you-said-we-did/{resolution.id}"
        )
        assert other.feed.link.startswith("https://portal.example.com/"), url
    atom = feedparser.parse(site.test_client().get(ATOM).get_data())
    assert atom.feed.id == "tag:portal.example.com,2026:feeds:resolutions"


def test_an_empty_feed_is_dated_when_the_site_began_and_answers_conditional_gets(
    client, make_user, make_category
) -> None:
    make_user()
    make_category(name="Quiet")
    began = db.session.scalar(sa.select(User.created_at).order_by(User.id).limit(1))
    assert began is not None
    began = began.replace(tzinfo=began.tzinfo or UTC, microsecond=0)
    response = client.get("/feeds/categories/quiet.atom")
    parsed = feedparser.parse(response.get_data())
    assert parsed.entries == []
    updated = datetime(*parsed.feed.updated_parsed[:6], tzinfo=UTC)
    assert updated == began and updated.year != 1970
    assert parse_date(response.headers["Last-Modified"]) == began
    again = client.get(
        "/feeds/categories/quiet.atom", headers={"If-Modified-Since": http_date(began)}
    )
    assert again.status_code == 304


def test_rss_feed_parses_too(client, make_user, make_feedback) -> None:
    resolution = _publish(make_user, [make_feedback()], you_said="Missed bins")
    response = client.get(RSS)
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title and parsed.feed.link.startswith("http")
    (entry,) = parsed.entries
    assert entry.title == "Missed bins"
    assert entry.id.endswith(f":resolution:{resolution.id}")
    assert entry.link.startswith("http")
    assert entry.published_parsed


def test_category_feed_lists_only_that_category(
    client, make_user, make_category, make_feedback
) -> None:
    bins = make_category(name="Bins")
    roads = make_category(name="Roads")
    _publish(make_user, [make_feedback(category=bins)], you_said="Missed bins")
    _publish(make_user, [make_feedback(category=roads)], you_said="Potholes")
    parsed = _parsed(client, "/feeds/categories/bins.atom")
    assert [e.title for e in parsed.entries] == ["Missed bins"]
    assert "Bins" in parsed.feed.title
    everything = _parsed(client)
    assert parsed.feed.id != everything.feed.id
    assert parsed.entries[0].id in {e.id for e in everything.entries}


def test_category_feed_of_an_unknown_slug_is_404(client) -> None:
    assert client.get("/feeds/categories/no-such-thing.atom").status_code == 404


def test_empty_feeds_are_still_valid(client, make_category) -> None:
    make_category(name="Quiet")
    for url in (ATOM, RSS, "/feeds/categories/quiet.atom"):
        parsed = _parsed(client, url)
        assert parsed.entries == []
        assert parsed.feed.title
    assert _parsed(client).feed.updated_parsed


def test_private_and_hidden_items_never_appear_in_a_feed(
    client, make_user, make_category, make_feedback
) -> None:
    category = make_category(name="Bins")
    public = make_feedback(category=category, title="Bins were not collected")
    private = make_feedback(
        category=category,
        title="My neighbour at no. 12 blocks the bins",
        visibility=Visibility.PRIVATE,
    )
    hidden = make_feedback(category=category, title="Rude words about the crew")
    _publish(make_user, [private, public, hidden], you_said="Bin collections were missed")
    assert "Rude words about the crew" in client.get(ATOM).get_data(as_text=True)
    db.session.get(Feedback, hidden.id).hidden = True
    db.session.commit()
    for url in (ATOM, RSS, "/feeds/categories/bins.atom"):
        body = client.get(url).get_data(as_text=True)
        assert "Bins were not collected" in body
        assert "neighbour at no. 12" not in body
        assert "Rude words" not in body
        assert "3 people raised this" in body


def test_a_repeated_request_with_the_etag_gets_304_with_an_empty_body(
    client, make_user, make_feedback
) -> None:
    _publish(make_user, [make_feedback()])
    for url in (ATOM, RSS):
        first = client.get(url)
        etag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag


def test_if_modified_since_the_last_modified_date_gets_304(
    client, make_user, make_feedback
) -> None:
    _publish(make_user, [make_feedback()])
    first = client.get(ATOM)
    last_modified = first.headers["Last-Modified"]
    again = client.get(ATOM, headers={"If-Modified-Since": last_modified})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_a_new_resolution_changes_the_etag(client, make_user, make_feedback) -> None:
    _publish(make_user, [make_feedback()])
    etag = client.get(ATOM).headers["ETag"]
    _publish(make_user, [make_feedback()], you_said="Something new")
    response = client.get(ATOM, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert "Something new" in response.get_data(as_text=True)


def test_editing_a_resolution_changes_the_etag(client, make_user, make_feedback) -> None:
    resolution = _publish(make_user, [make_feedback()])
    etag = client.get(ATOM).headers["ETag"]
    workflow.update_resolution(
        db.session.get(Resolution, resolution.id).id,
        make_user(role=Role.STAFF),
        you_said="Edited summary",
        we_did="Edited text.",
    )
    db.session.commit()
    response = client.get(ATOM, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Edited summary" in response.get_data(as_text=True)


def _publish_many(
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    category: Category,
    count: int,
) -> None:
    staff = make_user(role=Role.STAFF)
    for n in range(count):
        voter_item = make_feedback(category=category, title=f"Item {n}")
        workflow.resolve(voter_item.id, staff, f"We fixed number {n}.", post_anyway=True)
    db.session.commit()


def _costs(client: FlaskClient, url: str) -> tuple[int, int]:
    with count_queries(db.engine) as full:
        response = client.get(url)
    assert response.status_code == 200
    with count_queries(db.engine) as conditional:
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    return full.count, conditional.count


def test_feed_query_count_is_fixed_and_the_304_path_is_cheap(
    client, make_user, make_category, make_feedback
) -> None:
    category = make_category(name="Bins")
    urls = (ATOM, RSS, "/feeds/categories/bins.atom")
    _publish_many(make_user, make_feedback, category, 2)
    small = {url: _costs(client, url) for url in urls}
    _publish_many(make_user, make_feedback, category, 18)
    large = {url: _costs(client, url) for url in urls}
    for url in urls:
        full, conditional = large[url]
        # One of them reads the names every entry thanks (resolutions.thanks_for).
        assert full <= 7, url
        assert conditional <= 2, url
        assert large[url] == small[url], url


def test_feed_holds_the_fifty_newest_resolutions(
    client, make_user, make_category, make_feedback
) -> None:
    _publish_many(make_user, make_feedback, make_category(), 52)
    newest = db.session.scalar(sa.select(sa.func.max(Resolution.id)))
    entries = _parsed(client).entries
    assert len(entries) == 50
    assert entries[0].id.endswith(f":resolution:{newest}")


def test_board_and_resolutions_pages_link_to_the_feeds(client) -> None:
    for url in ("/", "/you-said-we-did"):
        html = client.get(url).get_data(as_text=True)
        assert '<link rel="alternate" type="application/atom+xml"' in html
        assert '<link rel="alternate" type="application/rss+xml"' in html
        # Same-origin paths: readers resolve them against the page, and the page loads nothing
        # from an absolute address (the CSP page test forbids href="http...").
        assert f'href="{ATOM}"' in html and f'href="{RSS}"' in html
    assert "Follow in a feed reader" in client.get("/you-said-we-did").get_data(as_text=True)


def test_a_warm_304_needs_no_database_and_a_new_resolution_shows_at_once(
    client, make_user, make_feedback
) -> None:
    _publish(make_user, [make_feedback()])
    etag = client.get(ATOM).headers["ETag"]
    with count_queries(db.engine) as polled:
        assert client.get(ATOM, headers={"If-None-Match": etag}).status_code == 304
    assert polled.count == 0  # the validator is reused for a few seconds (portal.cache)
    # Publishing in this process forgets it, so the next poll gets the new feed.
    _publish(make_user, [make_feedback()])
    fresh = client.get(ATOM, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
