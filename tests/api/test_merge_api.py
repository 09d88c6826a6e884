"""The API's merge asks what the admin form asks: what becomes of a promised date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from portal.extensions import db
from portal.models import Feedback, FeedbackState, Role
from portal.services import workflow

API = "/api/v1"
MESSAGE = (
    "Jo, I am so sorry your parcel was soaked. Others told us the same, so I will follow it "
    "together with theirs and write to you by Friday."
)


def _day(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _fresh(item: Feedback) -> Feedback:
    db.session.expire_all()
    return db.session.get(Feedback, item.id)


def _promised_duplicate(make_user, make_feedback):
    """Jo's complaint, promised by Sam, and Priya's item saying the same."""
    sam = make_user(role=Role.STAFF, display_name="Sam Patel")
    priya = make_user(role=Role.STAFF, display_name="Priya Shah")
    target = make_feedback(title="Parcels left out in the rain")
    workflow.acknowledge(target.id, priya, "Sorry, on it.", post_anyway=True)
    duplicate = make_feedback(author=make_user(preferred_name="Jo"), title="My parcel was soaked")
    workflow.acknowledge(duplicate.id, sam, "Jo, I am sorry.", post_anyway=True)
    workflow.plan(duplicate.id, sam, _day(13), "By then.", outcome="a fix", post_anyway=True)
    db.session.commit()
    return sam, duplicate, target


def _api_merge(client, token: str, item_id: int, **body) -> object:
    return client.post(
        f"{API}/items/{item_id}/transitions",
        json={"to_state": "duplicate", **body},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_api_refuses_a_promised_merge_without_a_choice_and_keeps_it_when_asked(
    client, make_feedback, make_user, write_token
) -> None:
    sam, duplicate, target = _promised_duplicate(make_user, make_feedback)
    body = {"acting_as": sam.email, "message": MESSAGE, "duplicate_of": target.id}
    refused = _api_merge(client, write_token, duplicate.id, **body, post_anyway=True)
    assert refused.status_code == 400
    assert "carries a promise" in refused.get_json()["error"]["message"]
    assert _fresh(duplicate).state is FeedbackState.PLANNED

    kept = _api_merge(client, write_token, duplicate.id, **body, promise="keep", post_anyway=True)
    assert kept.status_code == 200, kept.get_data(as_text=True)
    assert _fresh(target).target_date == _day(13)


def test_the_api_changes_a_promise_only_with_a_reason(
    client, make_feedback, make_user, write_token
) -> None:
    sam, duplicate, target = _promised_duplicate(make_user, make_feedback)
    body = {
        "acting_as": sam.email,
        "message": MESSAGE,
        "duplicate_of": target.id,
        "promise": "change",
        "post_anyway": True,
    }
    refused = _api_merge(client, write_token, duplicate.id, **body)
    assert refused.status_code == 400
    assert "Say why the date promised" in refused.get_json()["error"]["message"]
    changed = _api_merge(
        client, write_token, duplicate.id, **body, promise_reason="The rota changes in January."
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert _fresh(target).target_date is None


def test_the_api_names_the_promise_choices(client, make_feedback, make_user, write_token) -> None:
    sam, duplicate, target = _promised_duplicate(make_user, make_feedback)
    response = _api_merge(
        client,
        write_token,
        duplicate.id,
        acting_as=sam.email,
        message=MESSAGE,
        duplicate_of=target.id,
        promise="maybe",
    )
    assert response.status_code == 422
    assert "promise" in response.get_json()["error"]["fields"]
    assert _fresh(duplicate).state is FeedbackState.PLANNED
