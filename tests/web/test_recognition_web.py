"""Recognition through the pages: the "Thank me by name" preference, the thanks line on the
"You said, we did" board, a resolution's page, its feed entry and its email, and "Your feedback
led to N changes" on My feedback."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, OutboxMessage, Resolution, Role, User
from portal.services import accounts, workflow
from portal.services.votes import set_vote
from tests.conftest import make_test_app
from tests.helpers import count_queries, empty_read_cache, login, post

PREFERENCE_LABEL = "Thank me by name when something I raised is fixed"


def _choose_to_be_named(person: User) -> User:
    accounts.update_profile(
        person,
        display_name=person.display_name,
        preferred_name=person.preferred_name,
        thank_by_name=True,
    )
    db.session.commit()
    return person


def _resolved(make_user, make_feedback, author: User, *voters: User) -> Resolution:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author, title="The gate on Mill Lane is broken")
    for voter in voters:
        set_vote(voter, item.id, want=True)
    resolution = workflow.resolve(item.id, staff, "We put in a new gate.", post_anyway=True)
    db.session.commit()
    return resolution


def _profile_form(person: User, **changes: str) -> dict[str, str]:
    return {"display_name": person.display_name, "preferred_name": person.preferred_name, **changes}


# The preference -------------------------------------------------------------------------------


def test_the_account_page_offers_the_preference_off_by_default_and_saves_it(
    client, make_user
) -> None:
    person = make_user(display_name="Jo Marsh")
    login(client, person.email)
    page = client.get("/account/").get_data(as_text=True)
    assert PREFERENCE_LABEL in page
    assert 'id="thank_by_name" name="thank_by_name" type="checkbox" value="y">' in page

    saved = post(client, "/account/", _profile_form(person, thank_by_name="y"))
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, person.id).thank_by_name is True
    page = client.get("/account/").get_data(as_text=True)
    assert 'checked id="thank_by_name"' in page

    post(client, "/account/", _profile_form(person))  # the box left unticked
    db.session.expire_all()
    assert db.session.get(User, person.id).thank_by_name is False


# Where a resolution thanks people ---------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_the_board_and_a_resolutions_page_thank_the_people_who_raised_it(
    make_client, make_user, make_feedback, htmx: bool
) -> None:
    jo = _choose_to_be_named(make_user(display_name="Jo Marsh"))
    resolution = _resolved(make_user, make_feedback, jo, make_user(), make_user())
    headers = {"HX-Request": "true", "HX-Target": "resolution-results"} if htmx else {}
    board = make_client().get("/you-said-we-did", headers=headers).get_data(as_text=True)
    page = make_client().get(f"/you-said-we-did/{resolution.id}").get_data(as_text=True)
    for html in (board, page):
        assert "Thanks to Jo Marsh and 2 others who raised this." in html


def test_a_board_where_nobody_chose_to_be_named_thanks_them_by_number(
    client, make_user, make_feedback
) -> None:
    _resolved(make_user, make_feedback, make_user(display_name="Jo Marsh"), make_user())
    html = client.get("/you-said-we-did").get_data(as_text=True)
    assert "Thanks to 2 people who raised this." in html
    assert "Jo Marsh" not in html


def test_the_feed_entry_thanks_the_people_who_raised_it(client, make_user, make_feedback) -> None:
    jo = _choose_to_be_named(make_user(display_name="Jo <Marsh>"))
    _resolved(make_user, make_feedback, jo, make_user())
    response = client.get("/feeds/resolutions.atom")
    [entry] = feedparser.parse(response.get_data()).entries
    assert "Thanks to Jo &lt;Marsh&gt; and 1 other who raised this." in entry.content[0].value


def test_the_resolution_email_thanks_the_people_who_raised_it(
    make_user, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(display_name="Jo Marsh")
    voter = _choose_to_be_named(make_verified_user(display_name="Sam Hale"))
    _resolved(make_user, make_feedback, author, voter)
    mails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "resolution"))
    bodies = {m.to_email: m for m in mails}
    assert set(bodies) == {author.email, voter.email}
    for mail in bodies.values():
        assert "Thanks to Sam Hale and 1 other who raised this." in mail.text_body
        assert "Thanks to Sam Hale and 1 other who raised this." in mail.html_body


def test_a_name_chosen_or_withdrawn_shows_at_once_on_a_kept_page(
    database_uri: str, tmp_path: Path, make_user, make_feedback
) -> None:
    """The page cache forgets its pages when a person's row changes (portal.cache watches
    User), so a visitor never keeps seeing a name that was withdrawn in this process."""
    cached = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=30.0)
    jo = make_user(display_name="Jo Marsh")
    resolution = _resolved(make_user, make_feedback, jo)
    visitor = cached.test_client()
    url = f"/you-said-we-did/{resolution.id}"
    assert "Thanks to the person who raised this." in visitor.get(url).get_data(as_text=True)

    member = cached.test_client()
    login(member, jo.email)
    post(member, "/account/", _profile_form(jo, thank_by_name="y"))
    assert "Thanks to Jo Marsh, who raised this." in visitor.get(url).get_data(as_text=True)

    post(member, "/account/", _profile_form(jo))
    html = visitor.get(url).get_data(as_text=True)
    assert "Jo Marsh" not in html and "Thanks to the person who raised this." in html


def test_the_board_reads_the_names_in_one_query_however_many_are_thanked(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)

    def publish(n: int) -> None:
        for _ in range(n):
            item = make_feedback(author=_choose_to_be_named(make_user()))
            for _ in range(2):
                set_vote(_choose_to_be_named(make_user()), item.id, want=True)
            workflow.resolve(item.id, staff, "We fixed it.", post_anyway=True)
        db.session.commit()

    visitor = make_client()
    publish(2)
    empty_read_cache(visitor.application)
    with count_queries(db.engine) as few:
        assert visitor.get("/you-said-we-did").status_code == 200
    publish(8)
    empty_read_cache(visitor.application)
    with count_queries(db.engine) as many:
        html = visitor.get("/you-said-we-did").get_data(as_text=True)
    assert html.count('class="resolution__thanks"') == 10
    assert few.count == many.count, many.statements


# "Your feedback led to N changes" -------------------------------------------------------------


def _my_feedback(client: FlaskClient) -> str:
    response = client.get("/account/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_my_feedback_says_how_many_changes_it_led_to_with_links(
    client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    jo = make_user()
    mine = make_feedback(author=jo, title="The gate is broken")
    voted = make_feedback(title="Street lights out on Elm Road")
    set_vote(jo, voted.id, want=True)
    make_feedback(author=jo, title="Bins not collected")  # still open: not a change yet
    db.session.commit()
    gate = workflow.resolve(mine.id, staff, "A new gate.", post_anyway=True)
    lights = workflow.resolve(voted.id, staff, "New bulbs.", post_anyway=True)
    db.session.commit()

    login(client, jo.email)
    html = _my_feedback(client)
    assert "Your feedback led to 2 changes." in html
    assert f'href="/you-said-we-did/{gate.id}">The gate is broken</a>' in html
    assert f'href="/you-said-we-did/{lights.id}">Street lights out on Elm Road</a>' in html


def test_my_feedback_says_nothing_of_changes_before_there_are_any(
    client, make_user, make_feedback
) -> None:
    jo = make_user()
    make_feedback(author=jo)
    login(client, jo.email)
    assert "led to" not in _my_feedback(client)


def test_my_feedback_costs_the_same_queries_for_one_change_and_many(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    jo = make_user()

    def publish(n: int) -> None:
        for _ in range(n):
            item: Feedback = make_feedback(author=jo)
            workflow.resolve(item.id, staff, "Fixed.", post_anyway=True)
        db.session.commit()

    browser = make_client()
    login(browser, jo.email)
    publish(1)
    with count_queries(db.engine) as few:
        assert "led to 1 change." in _my_feedback(browser)
    publish(5)
    with count_queries(db.engine) as many:
        assert "led to 6 changes." in _my_feedback(browser)
    assert few.count == many.count, many.statements
