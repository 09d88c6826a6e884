"""Merging, as staff and customers see it: the merge form asks what becomes of a promised
date and keeps what was typed when it refuses; the duplicate's page and "My feedback" say
where it went, its live state and who looks after it; everyone whose voice was merged answers
"Did this fix it?" on the target."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, FeedbackState, Role, User
from portal.services import workflow
from portal.services.workflow import PromiseChoice
from tests.helpers import count_queries, empty_read_cache, login, post


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    browser = make_client()
    login(browser, user.email)
    return browser


def _day(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _fresh(item: Feedback) -> Feedback:
    db.session.expire_all()
    return db.session.get(Feedback, item.id)


@pytest.fixture
def people(make_user) -> dict[str, User]:
    return {
        "sam": make_user(role=Role.STAFF, display_name="Sam Patel"),
        "priya": make_user(role=Role.STAFF, display_name="Priya Shah"),
        "jo": make_user(preferred_name="Jo"),
    }


def _promised_duplicate(people, make_feedback) -> tuple[Feedback, Feedback]:
    """Jo's complaint, promised by Sam, and Priya's item saying the same."""
    target = make_feedback(title="Parcels left out in the rain")
    workflow.acknowledge(target.id, people["priya"], "Sorry, on it.", post_anyway=True)
    duplicate = make_feedback(author=people["jo"], title="My parcel was soaked")
    workflow.acknowledge(duplicate.id, people["sam"], "Jo, I am sorry.", post_anyway=True)
    workflow.plan(
        duplicate.id, people["sam"], _day(13), "By then.", outcome="a fix", post_anyway=True
    )
    db.session.commit()
    return duplicate, target


MESSAGE = (
    "Jo, I am so sorry your parcel was soaked. Others told us the same, so I will follow it "
    "together with theirs and write to you by Friday."
)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_merge_form_refuses_a_promised_merge_without_a_choice_and_keeps_the_words(
    make_client, make_feedback, people, htmx: bool
) -> None:
    duplicate, target = _promised_duplicate(people, make_feedback)
    browser = _signed_in(make_client, people["sam"])
    page = browser.get(f"/admin/feedback/{duplicate.id}").get_data(as_text=True)
    assert "Keep it on the item it joins (the earlier date wins)" in page

    response = post(
        browser,
        f"/admin/feedback/{duplicate.id}/move",
        {"to_state": "duplicate", "message": MESSAGE, "duplicate_of": str(target.id)},
        htmx=htmx,
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"#{duplicate.id} carries a promise: by" in page
    assert "Others told us the same, so I will follow it" in page  # what was typed is kept
    assert _fresh(duplicate).state is FeedbackState.PLANNED


def test_the_merge_form_needs_a_reason_for_a_changed_promise_and_keeps_the_choice(
    make_client, make_feedback, people
) -> None:
    duplicate, target = _promised_duplicate(people, make_feedback)
    browser = _signed_in(make_client, people["sam"])
    response = post(
        browser,
        f"/admin/feedback/{duplicate.id}/move",
        {
            "to_state": "duplicate",
            "message": MESSAGE,
            "duplicate_of": str(target.id),
            "merge_promise": "change",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Say why the date promised" in page
    assert re.search(r'<input checked[^>]*value="change"', page)


def test_the_merge_form_keeps_the_promise_on_the_target(make_client, make_feedback, people) -> None:
    duplicate, target = _promised_duplicate(people, make_feedback)
    browser = _signed_in(make_client, people["sam"])
    response = post(
        browser,
        f"/admin/feedback/{duplicate.id}/move",
        {
            "to_state": "duplicate",
            "message": MESSAGE,
            "duplicate_of": str(target.id),
            "merge_promise": "keep",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _fresh(target).target_date == _day(13)


def test_an_unpromised_item_is_not_asked_about_a_promise(
    make_client, make_feedback, people
) -> None:
    item = make_feedback()
    browser = _signed_in(make_client, people["sam"])
    page = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert "Keep it on the item it joins" not in page


def _merged_and_done(people, make_feedback) -> tuple[Feedback, Feedback]:
    duplicate, target = _promised_duplicate(people, make_feedback)
    workflow.merge(
        duplicate.id,
        people["sam"],
        target.id,
        MESSAGE,
        promise=PromiseChoice.KEEP,
        post_anyway=True,
    )
    workflow.resolve(target.id, people["priya"], "Parcels go in the porch box.", post_anyway=True)
    db.session.commit()
    return duplicate, target


def test_the_duplicates_page_shows_where_it_went_its_live_state_and_who_looks_after_it(
    client, make_feedback, people
) -> None:
    duplicate, target = _merged_and_done(people, make_feedback)
    page = client.get(f"/feedback/{duplicate.id}").get_data(as_text=True)
    assert f'Merged into <a href="/feedback/{target.id}">#{target.id}' in page
    assert "Parcels left out in the rain" in page
    assert "<strong>Done</strong> &middot; looked after by Priya Shah" in page
    # Nothing stale from before the merge: not Sam, not the promise that moved on.
    assert "Looked after by <strong>Sam Patel" not in page
    assert "We promised: <strong>by" not in page


def test_my_feedback_shows_where_a_merged_item_went_and_how_it_is_doing(
    make_client, make_feedback, people
) -> None:
    _, target = _merged_and_done(people, make_feedback)
    browser = _signed_in(make_client, people["jo"])
    page = browser.get("/account/").get_data(as_text=True)
    assert f"#{target.id} &ldquo;Parcels left out in the rain&rdquo;" in page
    assert "<strong>Done</strong> &middot; looked after by Priya Shah" in page
    assert "0 votes" not in page


def test_my_feedback_costs_the_same_queries_with_merged_items(
    app, make_client, make_feedback, people
) -> None:
    jo = people["jo"]
    browser = _signed_in(make_client, jo)
    make_feedback(author=jo)
    empty_read_cache(app)
    with count_queries(db.engine) as few:
        browser.get("/account/")
    for n in range(3):
        target = make_feedback(title=f"Target {n}")
        workflow.take(target.id, people["priya"])
        duplicate = make_feedback(author=jo)
        workflow.merge(duplicate.id, people["sam"], target.id, "Same thing.", post_anyway=True)
    db.session.commit()
    empty_read_cache(app)
    with count_queries(db.engine) as many:
        page = browser.get("/account/").get_data(as_text=True)
    assert page.count("looked after by Priya Shah") == 3
    assert many.count == few.count, many.statements


def test_a_merged_voice_answers_did_this_fix_it_on_the_target(
    make_client, make_feedback, people
) -> None:
    _, target = _merged_and_done(people, make_feedback)
    browser = _signed_in(make_client, people["jo"])
    page = browser.get(f"/feedback/{target.id}").get_data(as_text=True)
    assert "Did this fix it, Jo?" in page
    response = post(browser, f"/feedback/{target.id}/fixed")
    assert response.status_code == 302
    page = browser.get(f"/feedback/{target.id}").get_data(as_text=True)
    assert "You told us it is fixed. Thank you." in page


def test_a_merged_voice_says_not_yet_on_the_target(make_client, make_feedback, people) -> None:
    _, target = _merged_and_done(people, make_feedback)
    browser = _signed_in(make_client, people["jo"])
    response = post(
        browser, f"/feedback/{target.id}/not-fixed", {"body": "Still left on the step today."}
    )
    assert response.status_code == 302
    page = browser.get(f"/feedback/{target.id}").get_data(as_text=True)
    assert "You told us it is not fixed yet." in page
    assert _fresh(target).reopen_requested_at is not None


def test_someone_else_is_not_asked_did_this_fix_it(make_client, make_feedback, make_user, people):
    _, target = _merged_and_done(people, make_feedback)
    browser = _signed_in(make_client, make_user())
    assert "Did this fix it" not in browser.get(f"/feedback/{target.id}").get_data(as_text=True)
    assert post(browser, f"/feedback/{target.id}/fixed").status_code == 403


def test_a_merged_items_page_costs_what_any_item_page_costs(
    app, client, make_feedback, people
) -> None:
    plain = make_feedback()
    duplicate, _ = _merged_and_done(people, make_feedback)
    empty_read_cache(app)
    with count_queries(db.engine) as plain_page:
        client.get(f"/feedback/{plain.id}")
    empty_read_cache(app)
    with count_queries(db.engine) as merged_page:
        page = client.get(f"/feedback/{duplicate.id}").get_data(as_text=True)
    assert "looked after by Priya Shah" in page
    assert merged_page.count == plain_page.count, merged_page.statements
