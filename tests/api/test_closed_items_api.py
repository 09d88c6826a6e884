"""The API keeps the rules of closed items: no votes on a Done item, no merge into a closed
one, and "still happens" / "still wanted" counted apart, for customers named by email."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackState, ItemSignal, Role, SignalKind
from portal.services import workflow
from portal.services.accounts import find_user_by_email
from tests.api.test_api import API, api_post, assert_error

SORRY = "Jo, I am sorry about this; I am looking at it now."


@pytest.fixture
def staff(make_user):
    return make_user(role=Role.STAFF, email="priya@example.com", display_name="Priya")


def _done(item: Feedback, staff) -> None:
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    workflow.resolve(item.id, staff, "We replaced the batch of kettles.", post_anyway=True)
    db.session.commit()


def test_a_vote_on_a_done_item_is_409_and_makes_no_account(
    client, make_feedback, staff, write_token
) -> None:
    item = make_feedback()
    _done(item, staff)
    response = api_post(
        client,
        f"{API}/items/{item.id}/votes",
        {"email": "new@example.com", "name": "Kofi"},
        write_token,
    )
    assert_error(response, 409, "Voting has closed: this was done on")
    assert find_user_by_email("new@example.com") is None
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).vote_count == 1


def test_a_merge_into_a_done_item_is_409_with_what_to_do_instead(
    client, make_feedback, staff, write_token
) -> None:
    target = make_feedback()
    _done(target, staff)
    late = make_feedback()
    response = api_post(
        client,
        f"{API}/items/{late.id}/transitions",
        {
            "to_state": "duplicate",
            "acting_as": staff.email,
            "duplicate_of": target.id,
            "message": "Sorry, Jo: the same fault.",
            "post_anyway": True,
        },
        write_token,
    )
    assert_error(response, 409, "same resolution")
    db.session.expire_all()
    assert db.session.get(Feedback, late.id).state is FeedbackState.RECEIVED


def test_a_customer_says_a_done_item_still_happens_once(
    client, make_feedback, staff, write_token
) -> None:
    item = make_feedback()
    _done(item, staff)
    url = f"{API}/items/{item.id}/still-happens"
    for _ in range(2):
        response = api_post(client, url, {"email": "nia@example.com", "name": "Nia"}, write_token)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"item_id": item.id, "said": True, "count": 1}
    assert find_user_by_email("nia@example.com") is not None


def test_still_wanted_is_409_on_a_done_item_and_makes_no_account(
    client, make_feedback, staff, write_token
) -> None:
    item = make_feedback()
    _done(item, staff)
    response = api_post(
        client,
        f"{API}/items/{item.id}/still-wanted",
        {"email": "new@example.com", "name": "Kofi"},
        write_token,
    )
    assert_error(response, 409, "not \u201cNot planned\u201d")
    assert find_user_by_email("new@example.com") is None
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(ItemSignal.kind == SignalKind.STILL_WANTED)
    )


def test_the_openapi_document_names_the_new_operations(client) -> None:
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert paths["/items/{item_id}/still-happens"]["post"]["operationId"] == "sayStillHappens"
    assert paths["/items/{item_id}/still-wanted"]["post"]["responses"]["409"]
