"""Closed items on the pages: no vote button but the reason, "This still happens to me" and
"I still want this" with and without JavaScript, what staff see, and a merge into a closed
item refused on the admin page with the same answer offered instead."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackState, ItemSignal, Role, SignalKind
from portal.services import signals, workflow
from tests.helpers import count_queries, empty_read_cache, login, post

SORRY = "Jo, I am sorry about this; I am looking at it now."


@pytest.fixture
def staff(make_verified_user):
    return make_verified_user(role=Role.STAFF, display_name="Priya")


def _done(item: Feedback, staff) -> None:
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    workflow.resolve(item.id, staff, "We replaced the batch of kettles.", post_anyway=True)
    db.session.commit()


def _declined(item: Feedback, staff) -> None:
    workflow.decline(item.id, staff, "We are sorry, we will not build this.", post_anyway=True)
    db.session.commit()


def _signals(item_id: int, kind: SignalKind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(ItemSignal.feedback_id == item_id, ItemSignal.kind == kind)
    )


def test_a_done_items_page_has_no_vote_button_and_says_why(
    client, make_user, make_feedback, staff
) -> None:
    item = make_feedback(title="Kettle stopped working")
    _done(item, staff)
    login(client, make_user().email)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert f'action="/feedback/{item.id}/vote"' not in page
    assert "Voting has closed: this was done on" in page
    assert "This still happens to me" in page


def test_a_vote_posted_from_a_page_opened_before_the_item_was_done_is_refused_with_why(
    client, make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    login(client, make_user().email)
    _done(item, staff)
    response = post(client, f"/feedback/{item.id}/vote", {"want": "1"})
    assert response.status_code == 409
    assert "Voting has closed: this was done on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).vote_count == 1


def test_the_board_card_of_a_done_item_shows_its_count_without_a_button(
    client, make_user, make_feedback, staff
) -> None:
    item = make_feedback(title="Kettle stopped working")
    _done(item, staff)
    login(client, make_user().email)
    page = client.get("/").get_data(as_text=True)
    assert "Kettle stopped working" in page
    assert f'action="/feedback/{item.id}/vote"' not in page
    assert "Voting has closed: this was done on" in page


def test_this_still_happens_to_me_without_javascript(
    client, make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _done(item, staff)
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/still-happens", {"want": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/feedback/{item.id}#still")
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Priya will look at it again" in page  # the flash
    assert "<strong>1</strong> person says this still happens, you among them." in page
    assert "Take it back" in page
    # The button asks for the opposite of what it shows: sent again, it takes it back.
    post(client, f"/feedback/{item.id}/still-happens", {"want": "0"})
    assert _signals(item.id, SignalKind.STILL_HAPPENS) == 0


def test_this_still_happens_to_me_with_htmx_returns_the_section(
    client, make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _done(item, staff)
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/still-happens", {"want": "1"}, htmx=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="still"') and "<html" not in html
    assert "<strong>1</strong> person says this still happens, you among them." in html
    assert 'role="status"' in html and 'name="want" value="0"' in html


def test_i_still_want_this_on_a_not_planned_item(
    client, make_client, make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _declined(item, staff)
    login(client, make_user().email)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Voting has closed: we decided not to do this." in page
    assert "This still happens to me" not in page
    assert post(client, f"/feedback/{item.id}/still-wanted", {"want": "1"}).status_code == 302
    # A visitor reads the count and is asked to sign in; their page holds no form.
    visitor = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "<strong>1</strong> person still wants this." in visitor
    assert "to say you still want it" in visitor
    assert "/still-wanted" not in visitor


def test_still_happens_on_an_open_item_is_refused_and_changes_nothing(
    client, make_user, make_feedback
) -> None:
    item = make_feedback()
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/still-happens", {"want": "1"})
    assert response.status_code == 409
    assert "me too" in response.get_data(as_text=True)
    assert _signals(item.id, SignalKind.STILL_HAPPENS) == 0


def test_staff_see_who_says_it_still_happens_on_the_item_and_in_triage(
    client, make_user, make_feedback, staff
) -> None:
    done, declined = (
        make_feedback(title="Kettle stopped working"),
        make_feedback(title="Dark mode please"),
    )
    _done(done, staff)
    _declined(declined, staff)
    nia = make_user(display_name="Nia Jones")
    signals.set_signal(nia, done.id, SignalKind.STILL_HAPPENS, want=True)
    signals.set_signal(make_user(), declined.id, SignalKind.STILL_WANTED, want=True)
    db.session.commit()
    login(client, staff.email)
    page = client.get(f"/admin/feedback/{done.id}").get_data(as_text=True)
    assert "1 person says it still happens" in page
    assert "Nia Jones" in page and nia.email in page
    assert "1 in the last 30 days" in page
    queue = client.get("/admin/").get_data(as_text=True)
    assert "Customers still speaking up" in queue
    assert f"#{done.id} Kettle stopped working" in queue
    assert f"#{declined.id} Dark mode please" in queue


def test_the_closed_item_page_costs_what_the_open_one_does_for_a_signed_in_customer(
    client, make_user, make_feedback, staff
) -> None:
    """A closed item's page asks whether the viewer said "still happens" instead of whether
    they voted: no more statements for that. A Done item also asks whether the viewer's voice
    was merged into it (they are asked "Did this fix it?" too): one more. A visitor's page
    reads the count: one more than an open item's (test_pages pins that one)."""
    opened, closed = make_feedback(), make_feedback()
    _done(closed, staff)
    login(client, make_user().email)
    counts = []
    for item in (opened, closed):
        empty_read_cache(client.application)
        with count_queries(db.engine) as log:
            client.get(f"/feedback/{item.id}")
        counts.append(log.count)
    assert counts[1] == counts[0] + 1, counts  # is the viewer a voice merged into it?
    visitor = client.application.test_client()
    seen = []
    for item in (opened, closed):
        empty_read_cache(client.application)
        with count_queries(db.engine) as log:
            visitor.get(f"/feedback/{item.id}")
        seen.append(log.count)
    assert seen[1] == seen[0] + 1, seen  # the count of people who say it still happens


# A merge into a closed item, refused on the admin page ---------------------------------------


def test_a_merge_into_a_done_item_is_refused_and_the_same_answer_offered(
    client, make_feedback, staff
) -> None:
    target = make_feedback(title="Kettle stopped working")
    _done(target, staff)
    late = make_feedback(title="My kettle died too")
    login(client, staff.email)
    response = post(
        client,
        f"/admin/feedback/{late.id}/move",
        {"to_state": "duplicate", "duplicate_of": str(target.id), "message": "Sorry, Jo."},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"#{target.id} is Done" in page and "Resolve together" in page
    link = re.search(r'href="(/admin/resolutions/new\?[^"]+)"', page)
    assert link, "the page offers to answer it as the done item was"
    db.session.expire_all()
    assert db.session.get(Feedback, late.id).state is FeedbackState.RECEIVED
    # The link opens "Resolve together" for the late item with the same words.
    form = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "We replaced the batch of kettles." in form
    assert "The same answer as" in form
    assert f'name="items" value="{late.id}"' in form


def test_a_done_suggestion_shows_its_count_and_no_me_too(
    client, make_user, make_category, make_feedback, staff
) -> None:
    category = make_category()
    item = make_feedback(category=category, title="Parcel left in the rain")
    _done(item, staff)
    login(client, make_user().email)
    page = client.get("/feedback/suggest?title=parcel+rain").get_data(as_text=True)
    assert "Parcel left in the rain" in page
    assert f"/feedback/{item.id}/vote" not in page
    assert "<span>1 vote</span>" in page
