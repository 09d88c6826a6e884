"""The guard for personal details through the API: POST /items keeps its documented default
(public), refuses a public item the guard holds with 422 and the findings, changing nothing,
and posts it as written with post_anyway: true. A private item is not checked."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, Visibility
from tests.api.test_api import API, api_post, assert_error, new_item_body


@pytest.fixture
def bins(make_category):
    return make_category(name="Bins")


HELD = {"title": "Bins at 221B Baker Street missed", "body": "Ring me on 07911 123456 today."}


def _items() -> list[Feedback]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Feedback)))


def test_a_public_item_with_personal_details_is_refused_with_the_findings(
    client, write_token, bins
) -> None:
    response = api_post(client, f"{API}/items", new_item_body(**HELD), write_token)
    error = assert_error(response, 422, "This will be public")
    found: list[dict[str, Any]] = error["findings"]
    assert [(f["field"], f["code"], f["quotes"]) for f in found] == [
        ("title", "street_address", ["221B Baker Street"]),
        ("body", "phone_number", ["07911 123456"]),
    ]
    assert all(f["message"] and f["advice"] for f in found)
    assert _items() == []


def test_post_anyway_posts_it_publicly_as_written(client, write_token, bins) -> None:
    body = new_item_body(**HELD, post_anyway=True)
    response = api_post(client, f"{API}/items", body, write_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    [item] = _items()
    assert item.visibility is Visibility.PUBLIC and item.title == HELD["title"]


def test_a_private_item_is_not_checked(client, write_token, bins) -> None:
    body = new_item_body(**HELD, visibility="private")
    assert api_post(client, f"{API}/items", body, write_token).status_code == 201
    [item] = _items()
    assert item.visibility is Visibility.PRIVATE


def test_post_anyway_must_be_a_boolean(client, write_token, bins) -> None:
    body = new_item_body(**HELD, post_anyway="yes")
    error = assert_error(api_post(client, f"{API}/items", body, write_token), 422)
    assert error["fields"] == {"post_anyway": "Must be true or false."}


def test_the_openapi_document_describes_post_anyway_and_the_guards_findings(client) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    new_item = document["components"]["schemas"]["NewItem"]["properties"]
    assert (
        new_item["post_anyway"]["type"] == "boolean" and new_item["post_anyway"]["default"] is False
    )
    assert new_item["visibility"]["default"] == "public"
    create = document["paths"]["/items"]["post"]["responses"]["422"]
    assert create == {"$ref": "#/components/responses/UnprocessableOrHeld"}
    codes = document["components"]["schemas"]["ToneFinding"]["properties"]["code"]
    assert "phone_number" in codes["description"]
