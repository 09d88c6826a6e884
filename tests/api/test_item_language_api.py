"""The API's submissions: the language is detected from the words as the site's are, may be
stated with `language`, and a language the portal does not speak is refused with nothing kept."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback
from tests.api.test_api import API, api_post, assert_error, new_item_body


@pytest.fixture
def bins(make_category):
    return make_category(name="Bins")


def _language(answer) -> str | None:
    assert answer.status_code == 201, answer.get_data(as_text=True)
    db.session.expire_all()
    return db.session.get(Feedback, answer.get_json()["id"]).language


def test_a_submission_is_detected_from_its_words_whatever_its_content_language(
    client, write_token, bins
) -> None:
    body = new_item_body(
        title="La basura no se recogió el martes",
        body="Es la tercera semana seguida y la calle huele fatal.",
    )
    answer = api_post(client, f"{API}/items", body, write_token, headers={"Content-Language": "en"})
    assert _language(answer) == "es"


def test_a_stated_language_is_recorded_as_it_is(client, write_token, bins) -> None:
    answer = api_post(client, f"{API}/items", new_item_body(language="de"), write_token)
    assert _language(answer) == "de"


def test_a_language_the_portal_does_not_speak_is_refused_and_nothing_is_kept(
    client, write_token, bins
) -> None:
    answer = api_post(client, f"{API}/items", new_item_body(language="it"), write_token)
    error = assert_error(answer, 422)
    assert "en, es, de, fr, ar" in error["fields"]["language"]
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_the_openapi_document_offers_the_portals_languages(client) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    language = spec["components"]["schemas"]["NewItem"]["properties"]["language"]
    assert language["enum"] == ["en", "es", "de", "fr", "ar"]
