"""Public pages for visitors who are not signed in are rendered once and shared for a few
seconds; nothing personal ever goes into a shared page, and a change made by this process
shows at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from portal.extensions import db
from portal.models import Feedback, Role, Visibility
from portal.page_cache import (
    ENVIRON_KEEP,
    CachedPage,
    PageCache,
    keep_page,
    page_cache,
    page_key,
)
from portal.services import workflow
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.helpers import login, post

TTL_SECONDS = 30.0


@pytest.fixture
def cached_app(database_uri: str, tmp_path: Path) -> Iterator[Flask]:
    """A second app process on the same database, with the page cache on."""
    application = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=TTL_SECONDS)
    yield application


def _rename_elsewhere(item: Feedback, title: str) -> None:
    # Committed by the test's app: for cached_app that is another process.
    db.session.get(Feedback, item.id).title = title  # type: ignore[union-attr]
    db.session.commit()


def _text(client: FlaskClient, url: str, **kwargs: object) -> str:
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_visitor_gets_the_same_page_until_it_ages_out(
    database_uri: str, tmp_path: Path, make_feedback
) -> None:
    application = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=0.5)
    item = make_feedback(title="Checkout button does nothing")
    visitor = application.test_client()
    assert "Checkout button does nothing" in _text(visitor, f"/feedback/{item.id}")

    _rename_elsewhere(item, "Checkout button is greyed out")
    assert "Checkout button does nothing" in _text(visitor, f"/feedback/{item.id}")
    # The board was not kept before the change, so it shows the new title already.
    assert "Checkout button is greyed out" in _text(visitor, "/")
    time.sleep(0.6)
    assert "Checkout button is greyed out" in _text(visitor, f"/feedback/{item.id}")


def test_a_change_committed_by_this_process_shows_at_once(cached_app, make_feedback) -> None:
    item = make_feedback(title="Invoices arrive twice")
    visitor = cached_app.test_client()
    assert "Invoices arrive twice" in _text(visitor, "/")
    with cached_app.app_context():
        db.session.get(Feedback, item.id).title = "Invoices arrive three times"  # type: ignore[union-attr]
        db.session.commit()
    board = _text(visitor, "/")
    assert "Invoices arrive three times" in board
    assert "Invoices arrive twice" not in board


def test_a_visitors_page_holds_no_token_and_sets_no_cookie(cached_app, make_feedback) -> None:
    item = make_feedback(title="Search ignores accents")
    visitor = cached_app.test_client()
    for url in ("/", f"/feedback/{item.id}", "/you-said-we-did"):
        for _ in range(2):  # rendered, then from the cache
            response = visitor.get(url)
            html = response.get_data(as_text=True)
            assert response.status_code == 200
            assert "csrf" not in html.lower(), url
            assert "Set-Cookie" not in response.headers, url
            # Per-request headers are fresh on every answer, never replayed from the cache.
            assert response.headers["Content-Security-Policy"]
    board = _text(visitor, "/")
    assert "Sign in to vote" in board
    assert 'href="/account/login?next=' in board


def test_signed_in_people_never_get_the_shared_page_nor_leave_theirs(
    cached_app, make_user, make_feedback
) -> None:
    make_feedback(title="Parcel left in the rain")
    visitor = cached_app.test_client()
    assert "Sign out" not in _text(visitor, "/")

    customer = make_user(display_name="Dana Okafor")
    member = cached_app.test_client()
    login(member, customer.email)
    theirs = _text(member, "/")
    assert "Sign out" in theirs and 'name="csrf-token"' in theirs
    assert "Me too" in theirs and "Sign in to vote" not in theirs

    shared = _text(cached_app.test_client(), "/")
    assert "Sign out" not in shared and "csrf" not in shared.lower()


def test_a_message_for_one_visitor_is_shown_to_them_alone(cached_app, make_feedback) -> None:
    make_feedback(title="App logs me out")
    _text(cached_app.test_client(), "/")  # the shared page is kept
    visitor = cached_app.test_client()
    with visitor.session_transaction() as session:
        session["_flashes"] = [("success", "Your digest subscription is confirmed.")]
    assert "Your digest subscription is confirmed." in _text(visitor, "/")
    assert "Your digest subscription is confirmed." not in _text(cached_app.test_client(), "/")
    assert "Your digest subscription is confirmed." not in _text(visitor, "/")


def test_fragments_and_addresses_are_kept_apart(cached_app, make_feedback) -> None:
    make_feedback(title="Alpha complaint")
    visitor = cached_app.test_client()
    full = _text(visitor, "/?sort=new")
    fragment = _text(
        visitor, "/?sort=new", headers={"HX-Request": "true", "HX-Target": "board-results"}
    )
    assert "<html" in full and "<html" not in fragment
    assert "<html" in _text(visitor, "/?sort=new")
    assert "<html" not in _text(
        visitor, "/?sort=new", headers={"HX-Request": "true", "HX-Target": "board-results"}
    )
    assert "0 items" in _text(visitor, "/?q=nothingmatcheshere")
    assert "1 item" in _text(visitor, "/?q=alpha")


def test_a_kept_feed_still_answers_conditional_requests(
    cached_app, make_user, make_feedback
) -> None:
    item = make_feedback(title="Refunds take weeks")
    workflow.resolve(
        item.id, make_user(role=Role.STAFF), "Refunds now take two days.", "", post_anyway=True
    )
    db.session.commit()
    reader = cached_app.test_client()
    first = reader.get("/feeds/resolutions.atom")
    again = reader.get("/feeds/resolutions.atom")
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    assert "Refunds now take two days." in again.get_data(as_text=True)
    etag = first.headers["ETag"]
    unchanged = reader.get("/feeds/resolutions.atom", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    since = reader.get(
        "/feeds/resolutions.atom", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert since.status_code == 304


def test_a_reader_who_only_asks_conditionally_gets_304s_from_the_kept_feed(
    cached_app, client, make_user, make_feedback
) -> None:
    item = make_feedback(title="Statements are late")
    workflow.resolve(
        item.id, make_user(role=Role.STAFF), "Statements go out on day 1.", "", post_anyway=True
    )
    db.session.commit()
    etag = client.get("/feeds/resolutions.atom").headers["ETag"]  # read from another process
    reader = cached_app.test_client()
    for _ in range(3):
        answer = reader.get("/feeds/resolutions.atom", headers={"If-None-Match": etag})
        assert answer.status_code == 304 and answer.get_data() == b""
        assert answer.headers["ETag"] == etag
    stale = reader.get("/feeds/resolutions.atom", headers={"If-None-Match": 'W/"old"'})
    assert stale.status_code == 200
    assert "Statements go out on day 1." in stale.get_data(as_text=True)
    with cached_app.app_context():
        kept = page_cache().get(page_key(stale.request.environ))
    assert kept is not None and kept.etag == etag


def test_a_page_that_made_a_token_is_not_kept(cached_app) -> None:
    with cached_app.test_request_context("/"):
        g.page_cache_key = page_key(request.environ)
        g.page_cache_generation = 0
        generate_csrf()
        keep_page(cached_app.response_class("<p>a form</p>"))
        assert ENVIRON_KEEP not in request.environ
    with cached_app.test_request_context("/"):
        key = g.page_cache_key = page_key(request.environ)
        g.page_cache_generation = 7
        keep_page(cached_app.response_class("<p>no form</p>"))
        assert request.environ[ENVIRON_KEEP] == (key, b"<p>no form</p>", 7)


def test_each_answer_has_its_own_request_id_and_head_has_no_body(cached_app, make_feedback) -> None:
    item = make_feedback(title="Delivery slot vanished")
    visitor = cached_app.test_client()
    url = f"/feedback/{item.id}"
    first, second = visitor.get(url), visitor.get(url)
    assert first.get_data() == second.get_data()
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    traced = visitor.get(url, headers={"X-Request-ID": "proxy-42"})
    assert traced.headers["X-Request-ID"] == "proxy-42"
    head = visitor.head(url)
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Type"].startswith("text/html")


def test_a_visitor_holding_a_session_cookie_gets_the_shared_page(cached_app, make_feedback) -> None:
    make_feedback(title="Password rules unclear")
    visitor = cached_app.test_client()
    visitor.get("/account/login")  # the sign-in form gives the browser a session cookie
    board = _text(visitor, "/")
    assert "Password rules unclear" in board and "csrf" not in board.lower()
    assert "Sign in to vote" in board


def test_a_refusal_is_not_kept(cached_app, make_feedback) -> None:
    item = make_feedback(title="Private billing question", visibility=Visibility.PRIVATE)
    visitor = cached_app.test_client()
    assert visitor.get(f"/feedback/{item.id}").status_code == 404
    db.session.get(Feedback, item.id).visibility = Visibility.PUBLIC  # type: ignore[union-attr]
    db.session.commit()  # by the other process: only an answer that was not kept shows it
    assert "Private billing question" in _text(visitor, f"/feedback/{item.id}")


def test_a_page_rendered_before_a_change_is_not_kept_after_it() -> None:
    cache = PageCache(ttl=30, max_bytes=1_000_000)
    page = CachedPage.from_answer(
        "200 OK",
        [("Content-Type", "text/html")],
        b"<p>old</p>",
    )
    started = cache.generation  # a request begins rendering from what it reads now
    cache.clear()  # a change commits meanwhile
    assert not cache.put(("k",), page, started)
    assert cache.get(("k",)) is None
    assert cache.put(("k",), page, cache.generation)


def test_the_cache_holds_at_most_its_size_in_bytes() -> None:
    cache = PageCache(ttl=30, max_bytes=10_000)
    for n in range(50):
        body = b"x" * 3_000
        cache.put((str(n),), CachedPage.from_answer("200 OK", [], body), cache.generation)
    kept = [n for n in range(50) if cache.get((str(n),)) is not None]
    assert 0 < len(kept) <= 3
    assert not cache.put(("big",), CachedPage.from_answer("200 OK", [], b"x" * 20_000), 0)


def test_a_remember_me_cookie_alone_gets_a_personal_page(
    cached_app, make_user, make_feedback
) -> None:
    make_feedback(title="Coupons rejected")
    _text(cached_app.test_client(), "/")  # the shared page is kept
    customer = make_user(display_name="Rae Quinn")
    member = cached_app.test_client()
    signed_in = post(
        member,
        "/account/login",
        {"email": customer.email, "password": TEST_PASSWORD, "remember": "y"},
    )
    assert signed_in.status_code == 302
    remember = member.get_cookie("remember_token")
    assert remember is not None
    returning = cached_app.test_client()  # a new browser session: only the remember cookie
    returning.set_cookie("remember_token", remember.value)
    page = _text(returning, "/")
    assert "Sign out" in page and "Sign in to vote" not in page


def test_head_of_a_kept_page_gives_its_length_without_a_body(cached_app, make_feedback) -> None:
    item = make_feedback(title="Receipt emails blank")
    visitor = cached_app.test_client()
    full = visitor.get(f"/feedback/{item.id}")
    head = visitor.head(f"/feedback/{item.id}")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == str(len(full.get_data()))
