"""What's new for me, as people use it: the header's unread badge on signed-in pages, the
page at /account/updates (with and without htmx), and what it costs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, Role, User, Visibility
from portal.services import updates, votes, workflow
from portal.services.notifications import follow
from tests.conftest import make_test_app
from tests.helpers import count_queries, empty_read_cache, login

MakeUser = Callable[..., User]
MakeFeedback = Callable[..., Feedback]
ACK = "Thank you, I am looking at this now and will write again by Friday."
BADGE = re.compile(r'class="count-badge" aria-hidden="true">([^<]+)</span>')


@pytest.fixture
def staff(make_user: MakeUser) -> User:
    return make_user(role=Role.STAFF, display_name="Sam Staff")


def _page(client: FlaskClient, url: str, **kwargs: object) -> str:
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def _answered(item: Feedback, staff: User, reply: str = "A new lid is on its way today.") -> None:
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.reply(item.id, staff, reply, post_anyway=True)
    db.session.commit()


def test_a_follower_sees_the_count_in_the_header_and_the_changes_on_the_page(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    customer = make_user()
    item = make_feedback(author=customer, title="Kettle lid cracked")
    _answered(item, staff)
    login(client, customer.email)

    board = _page(client, "/")
    assert BADGE.findall(board) == ["2", "2"]  # on the link, and on the phone's "Menu"
    assert "2 new updates" in board
    assert 'href="/account/updates"' in board

    page = _page(client, "/account/updates")
    assert (
        f'Sam Staff answered your feedback “<a href="/feedback/{item.id}">Kettle lid cracked</a>”'
        in page
    )
    assert "A new lid is on its way today." in page
    assert f'has read “<a href="/feedback/{item.id}">Kettle lid cracked</a>” and is looking' in page
    assert page.count(">New</span>") == 2
    # The page itself shows no count: opening it marked them read.
    assert BADGE.findall(page) == []


def test_viewing_the_page_marks_the_updates_read_and_new_ones_count_again(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    customer = make_user()
    item = make_feedback(author=customer)
    _answered(item, staff)
    login(client, customer.email)
    _page(client, "/account/updates")

    board = _page(client, "/")
    assert BADGE.findall(board) == []
    assert "new update" not in board
    assert db.session.get(User, customer.id).updates_seen_at is not None  # type: ignore[union-attr]

    workflow.investigate(item.id, staff, "We are testing the batch now.", post_anyway=True)
    db.session.commit()
    assert BADGE.findall(_page(client, "/")) == ["1", "1"]
    page = _page(client, "/account/updates")
    assert "We are looking into" in page
    assert page.count(">New</span>") == 1  # the older ones stay listed, no longer new


def test_someone_who_follows_nothing_has_no_badge_and_an_empty_page(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    item = make_feedback(title="Parcel left in the rain")
    _answered(item, staff)
    login(client, make_user().email)
    assert BADGE.findall(_page(client, "/")) == []
    page = _page(client, "/account/updates")
    assert "Parcel left in the rain" not in page
    assert "Nothing has changed on what you follow yet." in page


def test_another_customers_private_item_and_internal_notes_never_show(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    author, voter = make_user(), make_user()
    public = make_feedback(author=author, title="Lift out of order")
    votes.set_vote(voter, public.id, True)
    private = make_feedback(author=author, title="My flat number", visibility=Visibility.PRIVATE)
    follow(voter, private)  # a follow that must not let them see it
    db.session.commit()
    for item in (public, private):
        workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
        workflow.add_internal_note(item.id, staff, "Landlord owes us for the last repair.")
    db.session.commit()

    login(client, voter.email)
    page = _page(client, "/account/updates")
    assert "Lift out of order" in page
    assert "My flat number" not in page
    assert "Landlord" not in page
    assert BADGE.findall(_page(client, "/")) == []  # read now; and the private one never counted


def test_a_visitor_has_no_badge_and_is_asked_to_sign_in_for_the_page(
    client: FlaskClient, make_feedback: MakeFeedback, staff: User
) -> None:
    _answered(make_feedback(), staff)
    board = _page(client, "/")
    assert "count-badge" not in board and "What's new" not in board
    response = client.get("/account/updates")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_a_cached_public_page_never_carries_a_badge(
    database_uri: str,
    tmp_path: Path,
    make_user: MakeUser,
    make_feedback: MakeFeedback,
    staff: User,
) -> None:
    application = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=30.0)
    customer = make_user()
    item = make_feedback(author=customer, title="Checkout button does nothing")
    _answered(item, staff)

    member = application.test_client()
    login(member, customer.email)
    for url in ("/", f"/feedback/{item.id}"):
        assert BADGE.findall(_page(member, url)) == ["2", "2"], url
    for url in ("/", f"/feedback/{item.id}"):
        visitor = application.test_client()
        rendered, kept = _page(visitor, url), _page(application.test_client(), url)
        assert rendered == kept, url  # the second came from the page cache
        assert "count-badge" not in kept and "new update" not in kept, url
    # And the signed-in person still gets their own page, not the kept one.
    assert BADGE.findall(_page(member, "/")) == ["2", "2"]


def test_the_page_works_without_javascript_and_pages_with_htmx(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    customer = make_user()
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    for n in range(updates.PER_PAGE + 2):
        workflow.reply(item.id, staff, f"Reply number {n}.", post_anyway=True)
    db.session.commit()
    login(client, customer.email)

    first = _page(client, "/account/updates")
    assert "Reply number 21." in first and "Reply number 2." in first
    assert "Reply number 1." not in first
    assert 'href="/account/updates?page=2"' in first  # a plain link: no JavaScript needed

    second = _page(client, "/account/updates?page=2")
    assert "<html" in second
    assert "Reply number 1." in second and "Reply number 0." in second
    assert 'href="/account/updates?page=1"' in second

    response = client.get(
        "/account/updates?page=2", headers={"HX-Request": "true", "HX-Target": "updates-list"}
    )
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="updates-list"' in fragment
    assert "Reply number 0." in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_the_badge_costs_one_statement_however_much_is_followed(
    app: Flask,
    client: FlaskClient,
    make_user: MakeUser,
    make_feedback: MakeFeedback,
    staff: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Board, signed in, cold caches: 6 statements without the badge, 7 with it (warm: 3 and
    4); the same with 1 or 12 followed items answered."""
    customer = make_user()
    _answered(make_feedback(author=customer), staff)
    login(client, customer.email)

    def statements() -> int:
        empty_read_cache(app)
        with count_queries(db.engine) as log:
            assert client.get("/").status_code == 200
        return log.count

    with_badge = statements()
    for _ in range(11):
        _answered(make_feedback(author=customer), staff)
    assert statements() == with_badge
    monkeypatch.setattr(updates, "unread_count", lambda user: 0)
    assert statements() == with_badge - 1


def test_a_page_number_past_the_list_or_not_a_number_is_answered_not_refused(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    customer = make_user()
    _answered(make_feedback(author=customer), staff)
    login(client, customer.email)
    assert "There are no older updates." in _page(
        client, "/account/updates?page=99999999999999999999"
    )
    assert "answered your feedback" in _page(client, "/account/updates?page=first")


def test_only_opening_the_page_marks_read_not_a_head_request(
    client: FlaskClient, make_user: MakeUser, make_feedback: MakeFeedback, staff: User
) -> None:
    customer = make_user()
    _answered(make_feedback(author=customer), staff)
    login(client, customer.email)
    assert client.head("/account/updates").status_code == 200
    assert BADGE.findall(_page(client, "/")) == ["2", "2"]
