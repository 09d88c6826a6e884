"""The API and the services' refusals speak through the catalog: an API error asked for in the
pseudo-locale comes back with its message (and each field's) in it, the OpenAPI document's
titles, summaries and descriptions are all catalog words, and a rule refused on a page says
why in the page's language. An item submitted through the API records the language its
Content-Language names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, Role, SiteSettings, TokenScope, User
from portal.services import api_tokens, workflow
from portal.services.site import SETTINGS_ID
from tests.helpers import login, post
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import CLOSE, OPEN, PSEUDO_LANGUAGE, words_outside_the_catalog

API = "/api/v1"


@pytest.fixture
def token(make_user: Callable[..., User]) -> Callable[[TokenScope], dict[str, str]]:
    """The Authorization header of a new token with this scope."""

    def build(scope: TokenScope) -> dict[str, str]:
        admin = make_user(role=Role.ADMIN, display_name="Ada Admin")
        created = api_tokens.create_token(admin, name=f"CRM {scope.value}", scope=scope)
        db.session.commit()
        return {"Authorization": f"Bearer {created.plain}"}

    return build


def _through_catalog(words: str, people_data: list[str]) -> None:
    assert OPEN in words, words
    assert words_outside_the_catalog(words, people_data) == [], words


def _error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    error: dict[str, Any] = answer.get_json()["error"]
    return error


def _new_item(category_slug: str, **changes: Any) -> dict[str, Any]:
    return {
        "email": "nia.owen@example.com",
        "name": "Nia Okafor",
        "kind": "complaint",
        "category": category_slug,
        "title": "Parcel left in the rain again",
        "body": "The courier left it by the bins in the rain.",
        **changes,
    }


def test_a_refused_body_says_what_is_wrong_with_each_field_through_the_catalog(
    pseudo_site: Flask, people_data: list[str], token: Callable[..., dict[str, str]]
) -> None:
    api = pseudo_site.test_client()
    body = {"email": "not an address", "kind": "rant", "title": "x", "colour": "red"}
    error = _error(
        api.post(f"{API}/items", json=body, headers={**ACCEPT, **token(TokenScope.WRITE)}), 422
    )
    _through_catalog(error["message"], people_data)
    assert set(error["fields"]) >= {"email", "name", "kind", "title", "colour"}
    for problem in error["fields"].values():
        _through_catalog(problem, people_data)


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        pytest.param(("GET", f"{API}/items/999999", None), 404, id="no such item"),
        pytest.param(("GET", f"{API}/nothing-here", None), 404, id="no such address"),
        pytest.param(("DELETE", f"{API}/items", None), 405, id="method not allowed"),
        pytest.param(("GET", f"{API}/items?per_page=500", None), 400, id="bad parameter"),
        pytest.param(("POST", f"{API}/items", None), 401, id="no token"),
        pytest.param(("POST", f"{API}/items", TokenScope.READ), 403, id="read-only token"),
    ],
)
def test_an_api_refusal_comes_in_the_language_asked_for(
    pseudo_site: Flask,
    people_data: list[str],
    token: Callable[..., dict[str, str]],
    request_args: tuple[str, str, TokenScope | None],
    status: int,
) -> None:
    method, path, scope = request_args
    headers = {**ACCEPT, **(token(scope) if scope else {})}
    answer = pseudo_site.test_client().open(path, method=method, json={}, headers=headers)
    _through_catalog(_error(answer, status)["message"], people_data)
    assert "Accept-Language" in answer.headers.get("Vary", "")


def test_a_body_that_is_not_json_is_refused_through_the_catalog(
    pseudo_site: Flask, people_data: list[str], token: Callable[..., dict[str, str]]
) -> None:
    answer = pseudo_site.test_client().post(
        f"{API}/items",
        data="{not json",
        headers={**ACCEPT, **token(TokenScope.WRITE), "Content-Type": "application/json"},
    )
    _through_catalog(_error(answer, 400)["message"], people_data)


def test_a_move_the_workflow_refuses_is_a_conflict_said_through_the_catalog(
    pseudo_site: Flask,
    people_data: list[str],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    token: Callable[..., dict[str, str]],
) -> None:
    item = make_feedback(title="Parcel left in the rain again")
    staff = make_user(role=Role.STAFF, display_name="Nia Okafor")
    workflow.decline(item.id, staff, "Sorry, Nia: the road is the county's.", post_anyway=True)
    db.session.commit()
    # Not planned is final: the workflow says so with both states' names.
    answer = pseudo_site.test_client().post(
        f"{API}/items/{item.id}/transitions",
        json={
            "to_state": "in_progress",
            "acting_as": staff.email,
            "message": "On it",
            "post_anyway": True,
        },
        headers={**ACCEPT, **token(TokenScope.WRITE)},
    )
    error = _error(answer, 409)
    _through_catalog(error["message"], people_data)


def test_a_request_without_a_language_is_answered_in_the_sites_default(
    pseudo_site: Flask,
) -> None:
    error = _error(pseudo_site.test_client().get(f"{API}/items/999999"), 404)
    assert error["message"].startswith("We could not find that feedback.")


def test_the_api_follows_accept_language_not_the_language_cookie(pseudo_site: Flask) -> None:
    api = pseudo_site.test_client()
    api.set_cookie("lang", PSEUDO_LANGUAGE)
    error = _error(api.get(f"{API}/items/999999", headers={"Accept-Language": "en"}), 404)
    assert error["message"].startswith("We could not find that feedback.")


def _words_of(part: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every title, summary and description string in the document, with where it is."""
    if isinstance(part, dict):
        for name, value in part.items():
            if name in ("title", "summary", "description") and isinstance(value, str):
                yield name, value
            else:
                yield from _words_of(value, name)
    elif isinstance(part, list):
        for value in part:
            yield from _words_of(value, key)


def test_the_openapi_document_has_no_words_outside_the_catalog(
    pseudo_site: Flask, people_data: list[str]
) -> None:
    answer = pseudo_site.test_client().get(f"{API}/openapi.json", headers=ACCEPT)
    assert answer.status_code == 200
    words = list(_words_of(answer.get_json()))
    assert len(words) > 60
    for _key, text in words:
        assert text.startswith(OPEN) and text.endswith(CLOSE), text
        assert words_outside_the_catalog(text, people_data) == [], text


def test_the_index_names_the_api_in_the_language_asked_for(pseudo_site: Flask) -> None:
    index = pseudo_site.test_client().get(f"{API}/", headers=ACCEPT).get_json()
    assert index["name"].startswith(OPEN)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_rule_refused_on_a_page_says_why_through_the_catalog(
    pseudo_site: Flask,
    people_data: list[str],
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    htmx: bool,
) -> None:
    item = make_feedback(title="Parcel left in the rain again")  # still open: not Done
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    login(browser, make_user(display_name="Nia Okafor", preferred_name="Nia").email)
    refused = post(browser, f"/feedback/{item.id}/still-happens", htmx=htmx)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "\u201c" in html  # the refusal names the item's state
    assert words_outside_the_catalog(html, people_data) == []


# What language an item submitted through the API is written in ---------------------------


def _submitted_language(api: FlaskClient, headers: dict[str, str], slug: str) -> str | None:
    # Words too few to tell their language: the one Content-Language names is recorded.
    answer = api.post(
        f"{API}/items", json=_new_item(slug, title="Wet!!", body="Wet again."), headers=headers
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    db.session.expire_all()
    item = db.session.get(Feedback, answer.get_json()["id"])
    assert item is not None
    return item.language


@pytest.mark.parametrize(
    ("content_language", "recorded"),
    [
        pytest.param(PSEUDO_LANGUAGE, PSEUDO_LANGUAGE, id="an offered language"),
        pytest.param(f"{PSEUDO_LANGUAGE}-XX", PSEUDO_LANGUAGE, id="a regional variant"),
        pytest.param(f"xx, {PSEUDO_LANGUAGE}", PSEUDO_LANGUAGE, id="the first offered"),
        pytest.param("xx", "en", id="none offered: the site's default"),
        pytest.param(None, "en", id="not said: the site's default"),
    ],
)
def test_an_api_submission_records_the_language_of_its_content_language(
    pseudo_site: Flask,
    people_data: list[str],
    make_category: Callable[..., Any],
    token: Callable[..., dict[str, str]],
    content_language: str | None,
    recorded: str,
) -> None:
    slug = make_category(name="Deliveries").slug
    headers = {**token(TokenScope.WRITE)}
    if content_language is not None:
        headers["Content-Language"] = content_language
    assert _submitted_language(pseudo_site.test_client(), headers, slug) == recorded


def test_an_api_submission_without_content_language_takes_the_sites_default_language(
    pseudo_site: Flask,
    make_category: Callable[..., Any],
    token: Callable[..., dict[str, str]],
) -> None:
    slug = make_category(name="Deliveries").slug
    headers = {**token(TokenScope.WRITE)}
    with pseudo_site.app_context():
        settings = db.session.get(SiteSettings, SETTINGS_ID) or SiteSettings(id=SETTINGS_ID)
        settings.default_language = PSEUDO_LANGUAGE
        db.session.add(settings)
        db.session.commit()
    assert _submitted_language(pseudo_site.test_client(), headers, slug) == PSEUDO_LANGUAGE


@pytest.mark.parametrize("path", ["/feedback/1/still-happens", "/feedback/new?x=%00"])
def test_an_error_page_says_what_happened_through_the_catalog(
    pseudo_site: Flask, people_data: list[str], path: str
) -> None:
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    answer = browser.get(path, headers=ACCEPT)  # a POST-only address (405); a NUL (400)
    assert answer.status_code in (400, 405)
    assert words_outside_the_catalog(answer.get_data(as_text=True), people_data) == []
