"""Authors fix their own words on the item's page, without JavaScript (an edit page) and with
htmx (the form in place of the words, and the words back), until staff answer."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Comment, Feedback, FeedbackState, Role
from portal.services import feedback as feedback_service
from portal.services import workflow
from tests.helpers import login, post
from tests.web.test_taking_turns import change_under_way

TYPO = "The kettel arrived with a broken lid."
FIXED = "The kettle arrived with a broken lid."
SORRY = "I am sorry about this, Jo; I am looking at it now and will write by Friday."

HTMX = {"HX-Request": "true"}


@pytest.fixture
def author(make_user):
    return make_user(display_name="Jo")


@pytest.fixture
def staff(make_verified_user):
    return make_verified_user(role=Role.STAFF, display_name="Priya")


def _browser(make_client, person) -> FlaskClient:
    client = make_client()
    login(client, person.email)
    return client


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _page(client: FlaskClient, item: Feedback) -> str:
    return client.get(f"/feedback/{item.id}").get_data(as_text=True)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# The item ------------------------------------------------------------------------------------


def test_the_author_sees_an_edit_link_and_nobody_else_does(
    author, staff, make_user, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, body=TYPO)
    edit_url = f"/feedback/{item.id}/edit"
    assert edit_url in _page(_browser(make_client, author), item)
    assert edit_url not in _page(_browser(make_client, make_user()), item)
    assert edit_url not in _page(_browser(make_client, staff), item)
    assert edit_url not in _page(make_client(), item)


def test_without_javascript_the_author_edits_on_a_page_of_its_own(
    author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    browser = _browser(make_client, author)

    form = browser.get(f"/feedback/{item.id}/edit")
    assert form.status_code == 200
    shown = form.get_data(as_text=True)
    assert "Kettel lid broken" in shown and TYPO in shown
    assert "hx-post" not in shown  # a plain form on its own page

    response = post(
        browser, f"/feedback/{item.id}/edit", {"title": "Kettle lid broken", "body": FIXED}
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/feedback/{item.id}"
    page = _text(_page(browser, item))
    assert "Your changes are saved." in page
    assert FIXED in page and TYPO not in page and "Kettle lid broken" in page
    assert "Edited" in page


def test_with_htmx_the_form_replaces_the_words_and_the_saved_words_come_back(
    author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    browser = _browser(make_client, author)

    form = browser.get(f"/feedback/{item.id}/edit", headers=HTMX)
    fragment = form.get_data(as_text=True)
    assert form.status_code == 200 and "HX-Request" in form.headers["Vary"]
    assert "<html" not in fragment and 'id="item-text"' in fragment and "hx-post" in fragment

    response = post(
        browser,
        f"/feedback/{item.id}/edit",
        {"title": "Kettle lid broken", "body": FIXED},
        htmx=True,
    )
    saved = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in saved
    assert 'id="item-text"' in saved and FIXED in saved and "Edited" in saved
    # The title at the top of the page changes with it.
    assert re.search(r'<h1 id="item-title"[^>]*hx-swap-oob="true"[^>]*>Kettle lid broken<', saved)
    assert _reload(Feedback, item.id).body_source == FIXED


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_edit_after_staff_answered_is_refused_and_keeps_what_was_typed(
    htmx, author, staff, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    browser = _browser(make_client, author)
    browser.get(f"/feedback/{item.id}/edit")  # the form was open when staff answered
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()

    response = post(
        browser,
        f"/feedback/{item.id}/edit",
        {"title": "Kettle lid broken", "body": "My carefully typed new words."},
        htmx=htmx,
    )

    assert response.status_code == 409
    shown = response.get_data(as_text=True)
    assert "Our team has answered this" in shown
    assert "My carefully typed new words." in shown
    assert ("<html" in shown) is not htmx
    assert _reload(Feedback, item.id).body_source == TYPO


def test_after_an_answer_the_link_is_gone_and_the_edit_page_says_why(
    author, staff, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, body=TYPO)
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()
    browser = _browser(make_client, author)

    assert f"/feedback/{item.id}/edit" not in _page(browser, item)
    response = browser.get(f"/feedback/{item.id}/edit")
    assert response.status_code == 302
    assert "Our team has answered this" in _text(_page(browser, item))
    in_place = browser.get(f"/feedback/{item.id}/edit", headers=HTMX)
    assert in_place.status_code == 409
    assert "Our team has answered this" in in_place.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_too_short_title_is_said_beside_the_field_and_what_was_typed_stays(
    htmx, author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    browser = _browser(make_client, author)
    response = post(
        browser, f"/feedback/{item.id}/edit", {"title": "Ket", "body": FIXED}, htmx=htmx
    )
    assert response.status_code == 400
    shown = response.get_data(as_text=True)
    assert "Titles are 5 to 160 characters long." in shown and FIXED in shown
    assert _reload(Feedback, item.id).title == "Kettel lid broken"


def test_someone_else_cannot_edit_the_item(
    author, staff, make_user, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, body=TYPO)
    for person in (make_user(), staff):
        browser = _browser(make_client, person)
        assert browser.get(f"/feedback/{item.id}/edit").status_code == 403
        response = post(browser, f"/feedback/{item.id}/edit", {"title": "Not mine", "body": FIXED})
        assert response.status_code == 403
    assert _reload(Feedback, item.id).body_source == TYPO


def test_a_visitor_sees_the_new_words_at_once_with_the_time_of_the_edit(
    author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    visitor = make_client()
    assert TYPO in _page(visitor, item)  # now in the page cache
    post(
        _browser(make_client, author),
        f"/feedback/{item.id}/edit",
        {"title": "Kettle lid broken", "body": FIXED},
    )
    page = _page(visitor, item)
    assert FIXED in page and TYPO not in page
    edited = re.search(r'class="edited">(.*?)</p>', page, re.S)
    assert edited and "<time datetime=" in edited.group(1)


def test_staff_see_earlier_versions_and_customers_do_not(
    author, staff, make_user, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    post(
        _browser(make_client, author),
        f"/feedback/{item.id}/edit",
        {"title": "Kettle lid broken", "body": FIXED},
    )
    staff_page = _page(_browser(make_client, staff), item)
    assert "Earlier version (1)" in _text(staff_page)
    assert TYPO in staff_page and "Kettel lid broken" in staff_page
    for client in (
        make_client(),
        _browser(make_client, make_user()),
        _browser(make_client, author),
    ):
        page = _page(client, item)
        assert TYPO not in page and "Kettel lid broken" not in page
        assert "Earlier version" not in page


# Comments ------------------------------------------------------------------------------------


def _comment(author, item, body=TYPO) -> Comment:
    comment = feedback_service.add_comment(author, item.id, body)
    db.session.commit()
    return comment


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_author_edits_their_comment(htmx, author, make_client, make_feedback) -> None:
    item = make_feedback(author=author)
    comment = _comment(author, item)
    browser = _browser(make_client, author)
    url = f"/feedback/{item.id}/comments/{comment.id}/edit"
    assert url in _page(browser, item)

    form = browser.get(url, headers=HTMX if htmx else {})
    assert form.status_code == 200 and TYPO in form.get_data(as_text=True)
    response = post(browser, url, {"body": FIXED}, htmx=htmx)

    if htmx:
        saved = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in saved
        assert f'id="comment-text-{comment.id}"' in saved and FIXED in saved
    else:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).fragment == f"comment-text-{comment.id}"
    page = _text(_page(browser, item))
    assert FIXED in page and TYPO not in page and "Edited" in page


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_comment_answered_by_staff_is_closed_and_keeps_what_was_typed(
    htmx, author, staff, make_client, make_feedback
) -> None:
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    comment = _comment(author, item)
    workflow.reply(item.id, staff, "Thanks Jo, a new lid goes out on Friday.", post_anyway=True)
    db.session.commit()
    browser = _browser(make_client, author)
    url = f"/feedback/{item.id}/comments/{comment.id}/edit"
    assert url not in _page(browser, item)

    response = post(browser, url, {"body": "Typed after the answer."}, htmx=htmx)

    assert response.status_code == 409
    shown = response.get_data(as_text=True)
    assert "Our team has answered since you wrote this" in shown
    assert "Typed after the answer." in shown
    assert _reload(Comment, comment.id).body_source == TYPO


def test_nobody_else_edits_a_comment(author, staff, make_user, make_client, make_feedback) -> None:
    item = make_feedback(author=author)
    comment = _comment(author, item)
    url = f"/feedback/{item.id}/comments/{comment.id}/edit"
    for person in (make_user(), staff):
        browser = _browser(make_client, person)
        assert url not in _page(browser, item)
        assert browser.get(url).status_code == 403
        assert post(browser, url, {"body": FIXED}).status_code == 403
    assert make_client().get(url).status_code == 302  # to sign in
    assert _reload(Comment, comment.id).body_source == TYPO


def test_a_comment_on_another_item_is_not_found(author, make_client, make_feedback) -> None:
    item = make_feedback(author=author)
    other = make_feedback(author=author)
    comment = _comment(author, item)
    browser = _browser(make_client, author)
    assert browser.get(f"/feedback/{other.id}/comments/{comment.id}/edit").status_code == 404


def test_the_admin_item_page_shows_staff_what_the_words_said_before(
    author, staff, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    comment = _comment(author, item, "Secnod kettle.")
    browser = _browser(make_client, author)
    post(browser, f"/feedback/{item.id}/edit", {"title": "Kettle lid broken", "body": FIXED})
    post(browser, f"/feedback/{item.id}/comments/{comment.id}/edit", {"body": "Second kettle."})

    page = _browser(make_client, staff).get(f"/admin/feedback/{item.id}").get_data(as_text=True)

    assert page.count("Earlier version (1)") == 2
    assert "Kettel lid broken" in page and TYPO in page and "Secnod kettle." in page


def test_an_edit_sent_while_staff_acknowledge_waits_its_turn_and_is_refused(
    author, staff, make_client, make_feedback
) -> None:
    """Jo saves her edit while Priya's acknowledgement is being saved: the edit waits, sees the
    answer, and is refused; the words stay as Priya read them."""
    item = make_feedback(author=author, body=TYPO)
    browser = _browser(make_client, author)
    feedback = Feedback.__table__
    acknowledgement = (
        sa.update(feedback)
        .where(feedback.c.id == item.id)
        .values(state=FeedbackState.ACKNOWLEDGED, owner_id=staff.id)
    )
    with change_under_way(acknowledgement):
        response = post(browser, f"/feedback/{item.id}/edit", {"title": item.title, "body": FIXED})

    assert response.status_code == 409
    assert _reload(Feedback, item.id).body_source == TYPO


# The guard for personal details ---------------------------------------------------------------

PHONE = "Call me on 07911 123456 after six."


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_edit_that_adds_personal_details_is_held_with_the_question_and_what_was_typed(
    htmx, author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author, body=TYPO)
    browser = _browser(make_client, author)
    url = f"/feedback/{item.id}/edit"

    held = post(browser, url, {"title": item.title, "body": PHONE}, htmx=htmx)

    assert held.status_code == 422
    shown = held.get_data(as_text=True)
    assert "This will be public" in shown and "07911 123456" in shown
    assert PHONE in shown  # what they typed stays in the box
    assert 'name="post_anyway"' in shown and 'name="make_private"' not in shown
    assert _reload(Feedback, item.id).body_source == TYPO

    posted = post(browser, url, {"title": item.title, "body": PHONE, "post_anyway": "1"}, htmx=htmx)
    assert posted.status_code == (200 if htmx else 302)
    assert _reload(Feedback, item.id).body_source == PHONE


def test_a_comment_edit_that_adds_personal_details_is_held(
    author, make_client, make_feedback
) -> None:
    item = make_feedback(author=author)
    comment = _comment(author, item)
    browser = _browser(make_client, author)
    url = f"/feedback/{item.id}/comments/{comment.id}/edit"

    held = post(browser, url, {"body": "Write to me at jo.private@example.net please."})

    assert held.status_code == 422
    assert "jo.private@example.net" in held.get_data(as_text=True)
    assert _reload(Comment, comment.id).body_source == TYPO
