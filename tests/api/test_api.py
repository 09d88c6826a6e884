"""The JSON API: public reads, token-authenticated writes through the same services as the
site, JSON errors, and private items that never appear in any answer."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db, limiter
from portal.models import (
    ApiToken,
    AuditEntry,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Role,
    TimelineEvent,
    TimelineKind,
    TokenScope,
    User,
    Visibility,
    Vote,
)
from portal.services import api_tokens, workflow
from portal.services.accounts import authenticate, find_user_by_email
from portal.services.site import settings_for_update
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.helpers import csrf_token, login, post, resolve_together

API = "/api/v1"
WRITES = [
    ("POST", f"{API}/items"),
    ("POST", f"{API}/items/{{id}}/votes"),
    ("POST", f"{API}/items/{{id}}/transitions"),
    ("POST", f"{API}/items/{{id}}/replies"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_post(
    client: FlaskClient, url: str, body: Any, token: str | None = None, **kw: Any
) -> TestResponse:
    """POST JSON to the API, with a bearer token when one is given."""
    headers = dict(kw.pop("headers", {}))
    if token:
        headers.update(bearer(token))
    return client.post(url, json=body, headers=headers, **kw)


def assert_error(response: TestResponse, status: int, fragment: str = "") -> dict[str, Any]:
    """The API's error shape, with the status in both places."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status
    assert error["message"]
    assert fragment.lower() in error["message"].lower()
    return error


def new_item_body(**changes: Any) -> dict[str, Any]:
    body = {
        "email": "Nia.Owen@Example.com",
        "name": "Nia Owen",
        "kind": "complaint",
        "category": "bins",
        "title": "Bins were not collected on Tuesday",
        "body": "Third week running; the street smells.",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def bins(make_category):
    return make_category(name="Bins")


@pytest.fixture
def staff(make_user) -> User:
    return make_user(role=Role.STAFF, display_name="Sam Staff")


# Reading -----------------------------------------------------------------------------------


def test_index_links_to_every_collection_and_the_openapi_document(client) -> None:
    response = client.get(f"{API}/")
    assert response.status_code == 200
    links = response.get_json()["links"]
    for name in ("items", "resolutions", "categories", "openapi"):
        assert client.get(links[name]).status_code == 200, name


def test_openapi_document_describes_every_api_route_and_the_bearer_scheme(
    app: Flask, client
) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]
    documented = {
        (method.upper(), API + (path if path != "/" else "/"))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API):
            path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule)
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                routes.add((method, path))
    assert {(m, p.rstrip("/") or p) for m, p in routes} == {
        (m, p.rstrip("/") or p) for m, p in documented
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "default" in operation["responses"], (method, path)
            if method == "post":
                assert operation["security"] == [{"bearerAuth": []}]
                assert "requestBody" in operation


def test_items_lists_public_items_a_page_at_a_time(client, make_feedback, bins) -> None:
    for n in range(3):
        make_feedback(category=bins, title=f"Public item number {n}")
    first = client.get(f"{API}/items?per_page=2").get_json()
    assert (first["page"], first["per_page"], first["pages"], first["total"]) == (1, 2, 2, 3)
    assert len(first["items"]) == 2
    second = client.get(f"{API}/items?per_page=2&page=2").get_json()
    assert len(second["items"]) == 1
    ids = {i["id"] for i in first["items"]} | {i["id"] for i in second["items"]}
    assert len(ids) == 3
    item = first["items"][0]
    assert item["category"] == {"id": bins.id, "slug": "bins", "name": "Bins"}
    assert item["links"]["html"].endswith(f"/feedback/{item['id']}")
    assert "email" not in str(item)


def test_items_take_the_boards_filters_sorts_and_search(
    client, make_feedback, make_category, make_user, staff
) -> None:
    bins, roads = make_category(name="Bins"), make_category(name="Roads")
    old = make_feedback(category=bins, kind=FeedbackKind.IDEA, title="Recycling boxes lids")
    popular = make_feedback(category=roads, title="Pothole on Mill Lane")
    for _ in range(2):
        db.session.add(Vote(user_id=make_user().id, feedback_id=popular.id))
    popular.vote_count = 3
    workflow.acknowledge(popular.id, staff, "Thank you, we are on it.", post_anyway=True)
    db.session.commit()
    newest = make_feedback(category=bins, title="Missed collection on Elm Road")

    def ids(query: str) -> list[int]:
        response = client.get(f"{API}/items?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [i["id"] for i in response.get_json()["items"]]

    assert ids("")[0] == popular.id  # top by votes is the default
    assert ids("sort=new")[0] == newest.id
    assert ids("state=acknowledged") == [popular.id]
    assert set(ids("category=bins")) == {old.id, newest.id}
    assert ids("category=no-such-thing") == []
    assert ids("kind=idea") == [old.id]
    assert ids("q=pothole") == [popular.id]
    assert ids("q=collection&sort=new") == [newest.id]


@pytest.mark.parametrize(
    "query",
    [
        "per_page=101",
        "per_page=0",
        "page=0",
        "page=two",
        "page=",  # empty is not "the first page"
        "per_page=",
        "page=%205",  # int() would take these three
        "page=5_0",
        "page=%D9%A5",  # an Arabic-Indic five
        "page=1&page=2",  # which one was meant?
        "per_page=5&per_page=5",
        "state=",
        "state=planned&state=planned",
        "kind=rant",
        "sort=best",
    ],
)
def test_bad_query_parameters_are_refused_with_a_400(client, query: str) -> None:
    assert_error(client.get(f"{API}/items?{query}"), 400, "parameter")


@pytest.mark.parametrize("query", ["page=", "page=x", "page=1&page=2", "category=a&category=b"])
def test_bad_query_parameters_on_resolutions_are_refused_with_a_400(client, query: str) -> None:
    assert_error(client.get(f"{API}/resolutions?{query}"), 400, "parameter")


def test_an_item_and_its_timeline_oldest_first(client, make_feedback, staff) -> None:
    item = make_feedback(title="Streetlight out on Hill Road")
    workflow.acknowledge(
        item.id, staff, "Thanks for telling us, we have reported it.", post_anyway=True
    )
    db.session.commit()
    data = client.get(f"{API}/items/{item.id}").get_json()
    assert data["title"] == "Streetlight out on Hill Road"
    assert data["state"] == "acknowledged"
    assert data["state_label"] == "Acknowledged"
    assert data["owner_name"] == "Sam Staff"
    timeline = client.get(f"{API}/items/{item.id}/timeline").get_json()
    assert timeline["item_id"] == item.id
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds[0] == "submitted"
    assert "state_changed" in kinds
    changed = next(e for e in timeline["events"] if e["kind"] == "state_changed")
    assert changed["to_state"] == "acknowledged"
    assert changed["actor_name"] == "Sam Staff"
    assert "reported it" in changed["message_html"]
    # Acknowledging took it: the owner's step names who looks after it now.
    owner_step = next(e for e in timeline["events"] if e["kind"] == "owner_changed")
    assert owner_step["new_owner_name"] == "Sam Staff"
    assert changed["new_owner_name"] is None


def test_missing_items_answer_404_in_json(client) -> None:
    for url in (f"{API}/items/999999", f"{API}/items/999999/timeline", f"{API}/items/99999999999"):
        assert_error(client.get(url), 404)


def test_a_redacted_items_text_is_not_served(client, make_feedback, staff) -> None:
    item = make_feedback(body="Call me on 07700 900123 about it.")
    workflow.redact(item.id, staff, "Phone number")
    db.session.commit()
    data = client.get(f"{API}/items/{item.id}").get_json()
    assert data["redacted"] is True
    assert data["body"] is None and data["body_html"] is None
    assert "07700" not in client.get(f"{API}/items").get_data(as_text=True)


def test_resolutions_carry_voice_counts_and_only_public_item_ids(
    client, make_feedback, make_user, bins, staff
) -> None:
    public = make_feedback(category=bins, title="Bins left open by the crew")
    private = make_feedback(category=bins, visibility=Visibility.PRIVATE, title="My bin, my road")
    db.session.add(Vote(user_id=make_user().id, feedback_id=public.id))
    db.session.commit()
    resolution = resolve_together(
        [public, private], staff, "Crews now close every lid.", "Bins were left open"
    )
    db.session.commit()
    data = client.get(f"{API}/resolutions").get_json()
    assert data["total"] == 1
    row = data["resolutions"][0]
    assert row["id"] == resolution.id
    assert row["you_said"] == "Bins were left open"
    assert row["voice_count"] == 3  # two authors and one voter
    assert row["item_ids"] == [public.id]
    assert row["category"]["slug"] == "bins"
    assert row["links"]["html"].endswith(f"/you-said-we-did/{resolution.id}")
    assert client.get(f"{API}/resolutions?category=roads").get_json()["total"] == 0
    assert_error(client.get(f"{API}/resolutions?per_page=500"), 400)


def test_categories_are_listed_without_the_staff_response_guide(client, bins) -> None:
    bins.response_guide = "Staff only: apologise, then check the round sheet."
    db.session.commit()
    data = client.get(f"{API}/categories").get_json()
    assert data["categories"] == [
        {"id": bins.id, "slug": "bins", "name": "Bins", "description": ""}
    ]
    assert "round sheet" not in client.get(f"{API}/categories").get_data(as_text=True)


def test_unknown_api_addresses_and_methods_answer_in_json_and_site_pages_stay_html(
    client,
) -> None:
    assert_error(client.get(f"{API}/nothing-here"), 404)
    assert_error(client.get("/api/v2/items"), 404)
    refused = client.delete(f"{API}/items")
    assert_error(refused, 405)
    assert "GET" in refused.headers["Allow"] and "POST" in refused.headers["Allow"]
    page = client.get("/feedback/999999")
    assert page.status_code == 404
    assert page.mimetype == "text/html"


# Private items -----------------------------------------------------------------------------


def _item_ids(data: Any) -> set[int]:
    """Every item id anywhere in an API answer: items, references and id lists."""
    found: set[int] = set()
    if isinstance(data, list):
        for value in data:
            found |= _item_ids(value)
    elif isinstance(data, dict):
        if "title" in data and isinstance(data.get("id"), int):
            found.add(data["id"])
        for key in ("item_id", "merged_into_id"):
            if isinstance(data.get(key), int):
                found.add(data[key])
        found |= set(data.get("item_ids") or [])
        for value in data.values():
            found |= _item_ids(value)
    return found


def test_private_hidden_and_unapproved_items_never_appear_in_any_api_response(
    client, make_feedback, make_user, bins, staff, write_token
) -> None:
    secrets_ = {
        "private": make_feedback(
            category=bins, visibility=Visibility.PRIVATE, title="Private: my neighbour Gary"
        ),
        "hidden": make_feedback(category=bins, title="Hidden: abusive words here"),
    }
    workflow.set_hidden(secrets_["hidden"].id, staff, True, "Abuse")
    db.session.commit()
    settings_for_update().pre_moderation = True
    db.session.commit()
    secrets_["unapproved"] = make_feedback(category=bins, title="Unapproved: my home address")
    settings_for_update().pre_moderation = False
    db.session.commit()
    resolved_private = make_feedback(
        category=bins, visibility=Visibility.PRIVATE, title="Private and resolved: my account"
    )
    workflow.resolve(
        resolved_private.id,
        staff,
        "We fixed the account page.",
        "Account page fixed",
        post_anyway=True,
    )
    public = make_feedback(category=bins, title="Public: the bins were late")
    workflow.merge(
        secrets_["private"].id,
        staff,
        public.id,
        "Handled with the public report.",
        post_anyway=True,
    )
    db.session.commit()
    secrets_["resolved"] = resolved_private

    answers = [
        client.get(f"{API}/items?per_page=100"),
        client.get(f"{API}/items?q=neighbour"),
        client.get(f"{API}/items?q=private"),
        client.get(f"{API}/items?state=duplicate"),
        client.get(f"{API}/items?state=resolved"),
        client.get(f"{API}/resolutions"),
        client.get(f"{API}/items/{public.id}"),
        client.get(f"{API}/items/{public.id}/timeline"),
        client.get(f"{API}/categories"),
    ]
    for item in secrets_.values():
        for url in (f"{API}/items/{item.id}", f"{API}/items/{item.id}/timeline"):
            answers.append(client.get(url, headers=bearer(write_token)))
        answers.append(
            api_post(
                client, f"{API}/items/{item.id}/votes", {"email": "a@example.com"}, write_token
            )
        )
        answers.append(
            api_post(
                client,
                f"{API}/items/{item.id}/transitions",
                {"to_state": "declined", "message": "No.", "acting_as": staff.email},
                write_token,
            )
        )
    texts = [a.get_data(as_text=True) for a in answers]
    shown = set().union(*(_item_ids(a.get_json()) for a in answers))
    for item in secrets_.values():
        assert item.id not in shown
        for text in texts:
            assert item.title not in text
    for answer in answers[-4 * len(secrets_) :]:
        assert answer.status_code == 404
    # The merge target does not name its private duplicate either.
    assert "#" + str(secrets_["private"].id) not in texts[7]
    # The resolution counts the private item's voices but does not list it.
    resolution = next(
        r for r in answers[5].get_json()["resolutions"] if r["you_said"] == "Account page fixed"
    )
    assert resolution["item_ids"] == []
    assert resolution["voice_count"] == 1


# Tokens ------------------------------------------------------------------------------------


def test_tokens_are_stored_only_as_a_hash_with_an_eight_character_prefix(admin, make_token) -> None:
    plain = make_token(TokenScope.READ)
    assert plain.startswith("pt_") and len(plain) > 40
    row = db.session.scalar(sa.select(ApiToken))
    assert row.prefix == plain[:8]
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    stored = [repr(tuple(r)) for r in db.session.execute(sa.select(ApiToken.__table__))]
    assert not any(plain in s for s in stored)
    assert api_tokens.authenticate(plain).id == row.id
    assert api_tokens.authenticate(plain + "x") is None
    assert api_tokens.authenticate("") is None


def test_only_admins_create_or_revoke_tokens(staff, admin) -> None:
    with pytest.raises(workflow.NotAllowed):
        api_tokens.create_token(staff, name="Sneaky", scope="write")
    created = api_tokens.create_token(admin, name="Fine", scope="read")
    with pytest.raises(workflow.NotAllowed):
        api_tokens.revoke(staff, created.token.id)
    with pytest.raises(workflow.DomainError):
        api_tokens.create_token(admin, name="  ", scope="read")
    with pytest.raises(workflow.DomainError):
        api_tokens.create_token(admin, name="Odd", scope="admin")


@pytest.mark.parametrize("method,template", WRITES)
def test_writes_without_a_token_are_401_with_a_bearer_challenge(
    client, make_feedback, method: str, template: str
) -> None:
    item = make_feedback()
    response = client.open(template.format(id=item.id), method=method, json={})
    assert_error(response, 401, "token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_does_not_authenticate_api_writes(
    make_client, make_feedback, admin, staff, bins
) -> None:
    browser = make_client()
    login(browser, admin.email)
    token = csrf_token(browser)
    item = make_feedback(category=bins)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Feedback))
    for url, body in (
        (f"{API}/items", new_item_body()),
        (f"{API}/items/{item.id}/votes", {"email": admin.email}),
        (
            f"{API}/items/{item.id}/transitions",
            {"to_state": "acknowledged", "message": "Hi", "acting_as": admin.email},
        ),
        (f"{API}/items/{item.id}/replies", {"body": "Hi", "acting_as": admin.email}),
    ):
        response = browser.post(url, json=body, headers={"X-CSRFToken": token})
        assert_error(response, 401)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == before
    assert db.session.get(Feedback, item.id).state is FeedbackState.RECEIVED


def test_unknown_malformed_and_revoked_tokens_are_401_even_on_reads(
    client, admin, make_token
) -> None:
    assert_error(client.get(f"{API}/items", headers=bearer("pt_made-up")), 401, "not valid")
    basic = client.get(f"{API}/items", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(basic, 401, "Bearer")
    assert_error(client.get(f"{API}/items", headers={"Authorization": "Bearer "}), 401)
    plain = make_token(TokenScope.WRITE)
    assert client.get(f"{API}/items", headers=bearer(plain)).status_code == 200
    row = db.session.scalar(sa.select(ApiToken))
    api_tokens.revoke(admin, row.id)
    db.session.commit()
    refused = client.get(f"{API}/items", headers=bearer(plain))
    assert_error(refused, 401, "revoked")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert_error(api_post(client, f"{API}/items", new_item_body(), plain), 401)


def test_a_read_token_reads_but_every_write_is_403(
    client, make_feedback, read_token, staff, bins
) -> None:
    item = make_feedback(category=bins)
    assert client.get(f"{API}/items/{item.id}", headers=bearer(read_token)).status_code == 200
    for url, body in (
        (f"{API}/items", new_item_body()),
        (f"{API}/items/{item.id}/votes", {"email": "a@example.com"}),
        (
            f"{API}/items/{item.id}/transitions",
            {"to_state": "acknowledged", "message": "Hello", "acting_as": staff.email},
        ),
        (f"{API}/items/{item.id}/replies", {"body": "Hello", "acting_as": staff.email}),
    ):
        assert_error(api_post(client, url, body, read_token), 403, "write scope")
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).state is FeedbackState.RECEIVED


def test_a_tokens_last_use_is_recorded(client, write_token) -> None:
    row = db.session.scalar(sa.select(ApiToken))
    assert row.last_used_at is None
    client.get(f"{API}/categories", headers=bearer(write_token))
    db.session.expire_all()
    used = db.session.scalar(sa.select(ApiToken)).last_used_at
    assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


def test_a_refused_write_still_records_the_tokens_last_use(client, write_token) -> None:
    assert_error(api_post(client, f"{API}/items", {}, write_token), 422)
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken)).last_used_at is not None


# Submitting --------------------------------------------------------------------------------


def test_submission_creates_an_unverified_customer_and_records_the_api_channel(
    client, bins, write_token
) -> None:
    response = api_post(client, f"{API}/items", new_item_body(), write_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    receipt = response.get_json()
    assert receipt["channel"] == "api"
    assert receipt["customer_created"] is True
    assert receipt["public"] is True
    assert response.headers["Location"] == receipt["links"]["self"]
    item = db.session.get(Feedback, receipt["id"])
    assert item.channel is FeedbackChannel.API
    assert item.state is FeedbackState.RECEIVED
    customer = find_user_by_email("nia.owen@example.com")
    assert item.author_id == customer.id
    assert customer.role is Role.CUSTOMER
    assert customer.display_name == "Nia Owen"
    assert customer.verified_at is None
    assert authenticate("nia.owen@example.com", "") is None
    assert authenticate("nia.owen@example.com", customer.password_hash) is None
    # The same path as the site: a "received" step, the author's own vote.
    assert client.get(receipt["links"]["self"]).get_json()["vote_count"] == 1
    kinds = [e["kind"] for e in client.get(f"{API}/items/{item.id}/timeline").get_json()["events"]]
    assert kinds == ["submitted"]
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"api.customer_created", "api.item_submitted"} <= actions


def test_submission_for_an_existing_customer_uses_their_account(
    client, make_user, bins, write_token
) -> None:
    customer = make_user(email="nia.owen@example.com", display_name="Nia O.")
    users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = api_post(client, f"{API}/items", new_item_body(), write_token)
    assert response.status_code == 201
    assert response.get_json()["customer_created"] is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before
    item = db.session.get(Feedback, response.get_json()["id"])
    assert item.author_id == customer.id
    # Their own name, not the one the request gave for a new account.
    assert db.session.get(User, customer.id).display_name == "Nia O."
    # Their password still works: the API did not touch the account.
    assert authenticate(customer.email, TEST_PASSWORD) is not None


def test_a_private_submission_is_received_but_its_text_is_not_echoed(
    client, bins, write_token
) -> None:
    body = new_item_body(visibility="private", title="My council tax reference 12345")
    response = api_post(client, f"{API}/items", body, write_token)
    assert response.status_code == 201
    assert "Location" not in response.headers
    receipt = response.get_json()
    assert receipt["visibility"] == "private" and receipt["public"] is False
    assert "12345" not in response.get_data(as_text=True)
    assert_error(client.get(f"{API}/items/{receipt['id']}"), 404)


def test_site_submissions_record_the_web_channel_and_staff_see_the_channel(
    make_client, make_user, bins, write_token, client
) -> None:
    customer = make_user()
    browser = make_client()
    login(browser, customer.email)
    response = post(
        browser,
        "/feedback/new",
        {
            "kind": "idea",
            "category_id": bins.id,
            "title": "Garden waste collections",
            "body": "Please collect garden waste fortnightly.",
            "visibility": "public",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    web_item = db.session.scalar(sa.select(Feedback).order_by(Feedback.id.desc()))
    assert web_item.channel is FeedbackChannel.WEB
    api_id = api_post(client, f"{API}/items", new_item_body(), write_token).get_json()["id"]
    admin = make_user(role=Role.ADMIN)
    desk = make_client()
    login(desk, admin.email)
    assert "via Website" in desk.get(f"/admin/feedback/{web_item.id}").get_data(as_text=True)
    assert "via API" in desk.get(f"/admin/feedback/{api_id}").get_data(as_text=True)


def test_bodies_that_are_not_json_are_415_and_malformed_json_is_400(
    client, bins, write_token
) -> None:
    url = f"{API}/items"
    as_form = client.post(url, data={"title": "x"}, headers=bearer(write_token))
    assert_error(as_form, 415, "application/json")
    broken = client.post(
        url, data="{not json", content_type="application/json", headers=bearer(write_token)
    )
    assert_error(broken, 400, "not valid JSON")
    a_list = api_post(client, url, ["email"], write_token)
    assert_error(a_list, 400, "JSON object")


NUL_BODIES = {
    "escaped in a field": new_item_body(title="Nul \x00 byte here"),
    "escaped in a key": {**new_item_body(), "ti\x00tle": "x"},
    "escaped deep down": {**new_item_body(), "extra": [{"note": "a\x00b"}]},
}


@pytest.mark.parametrize("body", NUL_BODIES.values(), ids=NUL_BODIES.keys())
def test_a_nul_in_a_json_body_is_a_400_in_json_and_stores_nothing(
    client, bins, write_token, body: dict[str, Any]
) -> None:
    error = assert_error(api_post(client, f"{API}/items", body, write_token), 400, "NUL")
    assert "JSON body" in error["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


@pytest.mark.parametrize("token", [None, "read"])
@pytest.mark.parametrize("method,url", WRITES)
def test_a_write_without_write_scope_is_refused_for_that_before_its_nul_is_named(
    client, make_feedback, read_token, token: str | None, method: str, url: str
) -> None:
    item = make_feedback()
    db.session.commit()
    body = {**new_item_body(), "title": "Nul \x00 byte here"}
    response = api_post(client, url.format(id=item.id), body, read_token if token else None)
    assert_error(response, 403 if token else 401)


def test_an_unknown_field_is_refused_by_name(client, bins, write_token) -> None:
    body = {**new_item_body(), "visiblity": "private"}
    error = assert_error(api_post(client, f"{API}/items", body, write_token), 422)
    assert error["fields"] == {"visiblity": "Unknown field."}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_the_document_lists_the_categories_to_submit_in(client, bins) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    category = spec["components"]["schemas"]["NewItem"]["properties"]["category"]
    assert category["enum"] == [bins.slug]


def test_a_raw_nul_byte_in_the_body_is_named_rather_than_called_malformed_json(
    client, bins, write_token
) -> None:
    raw = b'{"email": "nia@example.com", "title": "a\x00b"}'
    response = client.post(
        f"{API}/items", data=raw, content_type="application/json", headers=bearer(write_token)
    )
    assert "JSON body" in assert_error(response, 400, "NUL")["message"]


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client, bins, write_token) -> None:
    body = new_item_body(title="Type \\u0000 to see it")
    assert api_post(client, f"{API}/items", body, write_token).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/items?q=bins%00",
        f"{API}/items?page=1%00",
        f"{API}/items?bad%00key=1",
        f"{API}/resolutions?category=%00",
        f"{API}?q=%00",  # no route: a redirect to the trailing slash would answer
    ],
)
def test_a_nul_in_the_query_string_is_a_400_in_json(client, url: str) -> None:
    error = assert_error(client.get(url), 400, "NUL")
    assert "query string" in error["message"]


def test_a_nul_in_a_form_posted_to_the_api_is_a_400_in_json(client, write_token) -> None:
    response = client.post(f"{API}/items", data={"title": "a\x00b"}, headers=bearer(write_token))
    assert "form data" in assert_error(response, 400, "NUL")["message"]


def test_a_nul_on_a_site_page_still_gets_the_html_400(client) -> None:
    response = client.get("/?q=bins%00")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "(NUL)" in response.get_data(as_text=True)


def test_a_body_over_the_size_limit_is_413_in_json(client, bins, write_token) -> None:
    huge = new_item_body(body="x" * (1024 * 1024 + 1))
    assert_error(api_post(client, f"{API}/items", huge, write_token), 413)


def test_missing_and_invalid_fields_are_422_with_a_message_for_each(
    client, bins, write_token
) -> None:
    error = assert_error(api_post(client, f"{API}/items", {}, write_token), 422)
    assert set(error["fields"]) == {"email", "name", "kind", "category", "title", "body"}
    bad = new_item_body(
        email="not-an-address", kind="rant", title=7, body="short", visibility="secret"
    )
    error = assert_error(api_post(client, f"{API}/items", bad, write_token), 422)
    assert set(error["fields"]) == {"email", "kind", "title", "body", "visibility"}
    assert "one of" in error["fields"]["kind"]
    unknown = api_post(client, f"{API}/items", new_item_body(category="roads"), write_token)
    assert "category" in assert_error(unknown, 422)["fields"]
    no_name = api_post(client, f"{API}/items", new_item_body(name=None), write_token)
    assert_error(no_name, 422, "name")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


# Votes -------------------------------------------------------------------------------------


def test_votes_are_idempotent_and_count_once(client, make_feedback, make_user, write_token):
    item = make_feedback()
    voter = make_user(email="voter@example.com", display_name="Vee")
    url = f"{API}/items/{item.id}/votes"
    for _ in range(2):
        body = {"email": "VOTER@example.com", "name": "Someone Else"}
        response = api_post(client, url, body, write_token)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"item_id": item.id, "voted": True, "vote_count": 2}
    votes = db.session.scalars(sa.select(Vote.user_id).where(Vote.feedback_id == item.id)).all()
    assert sorted(votes) == sorted([item.author_id, voter.id])
    # An existing account keeps its own name.
    assert find_user_by_email("voter@example.com").display_name == "Vee"
    # The author's own vote is already there: still one.
    author = db.session.get(User, item.author_id)
    again = api_post(client, url, {"email": author.email, "name": "Author"}, write_token)
    assert again.get_json()["vote_count"] == 2


def test_a_vote_for_a_new_address_creates_the_customer(client, make_feedback, write_token) -> None:
    item = make_feedback()
    url = f"{API}/items/{item.id}/votes"
    named = api_post(client, url, {"email": "new@example.com", "name": "Kofi"}, write_token)
    assert named.get_json()["vote_count"] == 2
    kofi = find_user_by_email("new@example.com")
    assert kofi.display_name == "Kofi" and kofi.verified_at is None


def test_a_name_is_required_whether_or_not_the_address_has_an_account(
    client, make_feedback, make_user, write_token
) -> None:
    """As the OpenAPI document says: one shape for every address, which tells nothing about
    which addresses have accounts."""
    item = make_feedback()
    make_user(email="known@example.com")
    for email in ("known@example.com", "new@example.com"):
        for url, body in (
            (f"{API}/items/{item.id}/votes", {"email": email}),
            (f"{API}/items", new_item_body(email=email, name=None)),
        ):
            error = assert_error(api_post(client, url, body, write_token), 422)
            assert error["fields"] == {"name": "This field is required."}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Vote)) == 1
    assert find_user_by_email("new@example.com") is None


def test_votes_on_a_declined_item_are_409(client, make_feedback, staff, write_token) -> None:
    item = make_feedback()
    workflow.decline(
        item.id, staff, "We are sorry, this is the county's road, not ours.", post_anyway=True
    )
    db.session.commit()
    response = api_post(
        client, f"{API}/items/{item.id}/votes", {"email": "x@example.com", "name": "X"}, write_token
    )
    assert_error(response, 409, "closed")


# Transitions -------------------------------------------------------------------------------


def _move(client, item_id: int, token: str, **body: Any) -> TestResponse:
    return api_post(client, f"{API}/items/{item_id}/transitions", body, token)


def test_resolving_with_a_we_did_publishes_it_and_keeps_the_message_for_the_customer(
    client, make_feedback, make_user, staff, write_token
) -> None:
    jo = make_user(preferred_name="Jo")
    item = make_feedback(author=jo, title="Swings squeak")
    message = "Jo, sorry for the wait, and thank you; I checked them myself this morning."
    resolved = _move(
        client,
        item.id,
        write_token,
        to_state="resolved",
        message=message,
        we_did="New chains are on all four swings.",
        acting_as=staff.email,
    )
    assert resolved.status_code == 200, resolved.get_data(as_text=True)
    (published,) = client.get(f"{API}/resolutions").get_json()["resolutions"]
    assert published["we_did"] == "New chains are on all four swings."
    assert resolved.get_json()["event"]["message"] == message
    board = client.get("/you-said-we-did").get_data(as_text=True)
    assert "New chains" in board and "Jo, sorry" not in board


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Eve \u202egnp.exe", "direction of the text"),
        ("Owen\r\nBcc: everyone@example.com", "line breaks"),
        ("Owen\tP.", "tabs"),
        ("Ow\u200ben", "invisible characters"),
    ],
)
def test_a_new_customers_name_from_the_api_follows_the_name_rule(
    client, make_feedback, write_token, name: str, why: str
) -> None:
    item = make_feedback()
    for url, body in (
        (f"{API}/items/{item.id}/votes", {"email": "new@example.com", "name": name}),
        (f"{API}/items", new_item_body(email="new@example.com", name=name)),
    ):
        error = assert_error(api_post(client, url, body, write_token), 422)
        assert why in error["fields"]["name"]
    assert find_user_by_email("new@example.com") is None


def test_a_transition_goes_through_the_workflow_and_lands_on_the_timeline(
    client, make_feedback, make_user, staff, write_token
) -> None:
    # Words the tone check finds nothing in go straight through.
    item = make_feedback(author=make_user(preferred_name="Nia"))
    response = _move(
        client,
        item.id,
        write_token,
        to_state="acknowledged",
        message="Nia, sorry about the bins. The crew will come back for them on Friday.",
        acting_as=staff.email,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["item"]["state"] == "acknowledged"
    assert data["item"]["owner_name"] == "Sam Staff"
    assert data["event"]["to_state"] == "acknowledged"
    assert data["event"]["actor_name"] == "Sam Staff"
    db.session.expire_all()
    moved = db.session.get(Feedback, item.id)
    assert moved.state is FeedbackState.ACKNOWLEDGED
    assert moved.owner_id == staff.id
    assert moved.acknowledged_at is not None
    event = db.session.scalar(
        sa.select(TimelineEvent).where(
            TimelineEvent.feedback_id == item.id, TimelineEvent.kind == TimelineKind.STATE_CHANGED
        )
    )
    assert event.actor_id == staff.id
    assert "The crew will come back for them on Friday." in event.message
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"item.state_changed", "api.item_moved"} <= actions


def test_planning_resolving_and_merging_through_the_api(
    client, make_feedback, staff, write_token
) -> None:
    item = make_feedback(title="Swings broken in the park")
    promise = date.today() + timedelta(days=14)
    plan = {
        "to_state": "planned",
        "message": "We will replace the chains.",
        "target_date": promise.isoformat(),
        "acting_as": staff.email,
        "post_anyway": True,
    }
    # A promise is an outcome with a date: without the outcome, nothing is planned.
    unsaid = _move(client, item.id, write_token, **plan)
    assert "Say what we promise by that date" in assert_error(unsaid, 400)["message"]
    planned = _move(client, item.id, write_token, **plan, outcome="the swings safe to use")
    assert planned.status_code == 200, planned.get_data(as_text=True)
    assert planned.get_json()["item"]["target_date"] == promise.isoformat()
    assert planned.get_json()["item"]["promise_outcome"] == "the swings safe to use"
    resolved = _move(
        client,
        item.id,
        write_token,
        to_state="resolved",
        message="New chains are on all four swings.",
        acting_as=staff.email,
        post_anyway=True,
    )
    assert resolved.status_code == 200
    assert resolved.get_json()["item"]["resolution_id"] is not None
    listing = client.get(f"{API}/resolutions").get_json()["resolutions"]
    assert listing[0]["item_ids"] == [item.id]
    duplicate = make_feedback(title="Park swings are broken")
    target = make_feedback(title="Playground repairs")
    merged = _move(
        client,
        duplicate.id,
        write_token,
        to_state="duplicate",
        message="Thanks! We are handling this with the playground report.",
        duplicate_of=target.id,
        acting_as=staff.email,
        post_anyway=True,
    )
    assert merged.status_code == 200, merged.get_data(as_text=True)
    assert merged.get_json()["item"]["merged_into_id"] == target.id


def test_workflow_refusals_become_400_403_and_409(
    client, make_feedback, make_user, staff, write_token
) -> None:
    item = make_feedback()
    no_message = _move(client, item.id, write_token, to_state="acknowledged", acting_as=staff.email)
    assert_error(no_message, 400, "message")
    # Past the tone check, the move's own rules still refuse.
    no_date = _move(
        client,
        item.id,
        write_token,
        to_state="planned",
        message="Soon.",
        acting_as=staff.email,
        post_anyway=True,
    )
    assert_error(no_date, 400, "target date")
    other_staff = make_user(role=Role.STAFF, display_name="Olu Other")
    workflow.take(item.id, other_staff)
    db.session.commit()
    not_theirs = _move(
        client, item.id, write_token, to_state="acknowledged", message="Hi", acting_as=staff.email
    )
    assert_error(not_theirs, 403, "Olu Other")
    customer = make_user()
    as_customer = _move(
        client, item.id, write_token, to_state="declined", message="No", acting_as=customer.email
    )
    assert_error(as_customer, 403, "staff")
    workflow.decline(
        item.id, other_staff, "We are sorry: that road belongs to the county.", post_anyway=True
    )
    db.session.commit()
    conflict = _move(
        client,
        item.id,
        write_token,
        to_state="planned",
        message="Back on",
        target_date=(date.today() + timedelta(days=3)).isoformat(),
        acting_as=other_staff.email,
        post_anyway=True,
    )
    assert_error(conflict, 409, "cannot move")
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).state is FeedbackState.DECLINED


def test_transition_fields_are_checked(client, make_feedback, staff, write_token) -> None:
    item = make_feedback()
    error = assert_error(_move(client, item.id, write_token), 422)
    assert set(error["fields"]) == {"to_state", "acting_as"}
    bad = _move(
        client,
        item.id,
        write_token,
        to_state="received",
        acting_as=staff.email,
        target_date="next tuesday",
        outcome="x" * 121,
        duplicate_of="12",
        post_anyway="yes",
    )
    fields = assert_error(bad, 422)["fields"]
    assert set(fields) == {"to_state", "target_date", "outcome", "duplicate_of", "post_anyway"}
    assert fields["post_anyway"] == "Must be true or false."
    # Nobody with that address is no member of staff: refused as a customer's address is.
    nobody = _move(client, item.id, write_token, to_state="declined", acting_as="no@example.com")
    assert "no member of staff" in assert_error(nobody, 403)["message"]
    missing_target = _move(
        client,
        item.id,
        write_token,
        to_state="duplicate",
        duplicate_of=999999,
        acting_as=staff.email,
    )
    assert "no public item #999999" in assert_error(missing_target, 400)["message"]
    assert_error(_move(client, 999999, write_token, to_state="declined"), 404)


# Replies -----------------------------------------------------------------------------------


def _reply(client, item_id: int, token: str, **body: Any) -> TestResponse:
    return api_post(client, f"{API}/items/{item_id}/replies", body, token)


def _acknowledged(make_feedback, make_user, staff: User) -> Feedback:
    item = make_feedback(author=make_user(preferred_name="Nia"))
    workflow.acknowledge(item.id, staff, "Nia, sorry about this; I will write again tomorrow.")
    db.session.commit()
    return item


def test_a_reply_is_posted_as_the_member_of_staff_and_recorded_with_the_token(
    client, make_feedback, make_user, staff, write_token
) -> None:
    item = _acknowledged(make_feedback, make_user, staff)
    text = "Nia, sorry again: the crew comes **tomorrow** morning."
    response = _reply(client, item.id, write_token, body=text, acting_as=staff.email)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert data["event"] is None
    assert data["reply"]["body"] == text
    assert "<strong>tomorrow</strong>" in data["reply"]["body_html"]
    assert data["reply"]["author_name"] == "Sam Staff"
    assert data["item"]["comment_count"] == 1
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "<strong>tomorrow</strong>" in page
    token = db.session.scalar(sa.select(ApiToken))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "api.item_replied"))
    assert entry.actor_id == staff.id and entry.target_id == item.id
    assert entry.detail["token_id"] == token.id
    assert entry.detail["token_prefix"] == token.prefix
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert "item.replied" in actions


def test_a_reply_to_a_received_item_is_its_acknowledgement(
    client, make_feedback, make_user, staff, write_token
) -> None:
    item = make_feedback(author=make_user(preferred_name="Nia"))
    text = "Nia, sorry about the bins; I have asked the crew to come back today."
    response = _reply(client, item.id, write_token, body=text, acting_as=staff.email)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert data["reply"] is None
    assert data["event"]["to_state"] == "acknowledged"
    assert data["event"]["message"] == text
    assert data["item"]["state"] == "acknowledged"
    assert data["item"]["owner_name"] == "Sam Staff"
    assert data["item"]["comment_count"] == 0


def test_a_reply_follows_the_owner_rule_of_the_admin_page(
    client, make_feedback, make_user, staff, write_token
) -> None:
    item = _acknowledged(make_feedback, make_user, staff)
    other_staff = make_user(role=Role.STAFF, display_name="Olu Other")
    text = "Nia, sorry: I will look into it today."
    not_theirs = _reply(client, item.id, write_token, body=text, acting_as=other_staff.email)
    assert_error(not_theirs, 403)
    assert not_theirs.get_json()["error"]["message"] == (
        "Sam Staff looks after this item. Ask them, or an admin, to reassign it to you."
    )
    customer = make_user()
    assert_error(_reply(client, item.id, write_token, body=text, acting_as=customer.email), 403)
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).comment_count == 0


def test_reply_fields_are_checked_and_private_items_are_not_found(
    client, make_feedback, staff, write_token
) -> None:
    item = make_feedback()
    error = assert_error(_reply(client, item.id, write_token), 422)
    assert set(error["fields"]) == {"acting_as", "body"}
    bad = _reply(client, item.id, write_token, body="   ", acting_as=staff.email, post_anyway=1)
    assert set(assert_error(bad, 422)["fields"]) == {"body", "post_anyway"}
    nobody = _reply(client, item.id, write_token, body="Hello", acting_as="no@example.com")
    assert "no member of staff" in assert_error(nobody, 403)["message"]
    private = make_feedback(visibility=Visibility.PRIVATE)
    hidden = _reply(client, private.id, write_token, body="Hello", acting_as=staff.email)
    assert_error(hidden, 404)


# Rate limit --------------------------------------------------------------------------------


def test_api_writes_are_rate_limited_to_60_a_minute(
    database_uri: str, tmp_path, write_token
) -> None:
    # The suite's app runs without limits; a second app on the same database has them on.
    # The limiter is one shared object, so it is switched off again afterwards.
    limited = make_test_app(database_uri, tmp_path, RATELIMIT_ENABLED=True)
    try:
        client = limited.test_client()
        answers = [api_post(client, f"{API}/items", {}, write_token) for _ in range(61)]
        assert {a.status_code for a in answers[:60]} == {422}
        assert_error(answers[60], 429)
        assert client.get(f"{API}/items").status_code == 200
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


# Admin pages -------------------------------------------------------------------------------


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(make_client, client, admin) -> None:
    desk = make_client()
    login(desk, admin.email)
    created = post(desk, "/admin/tokens", {"name": "CRM sync", "scope": "write"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    match = re.search(r'value="(pt_[^"]+)"', page)
    assert match, "the new token is shown"
    plain = match.group(1)
    listing = desk.get("/admin/tokens").get_data(as_text=True)
    assert plain not in listing
    assert plain[:8] in listing and "CRM sync" in listing
    # Revoking is a second step that says what it does.
    assert "stops working at once, and it cannot be brought back" in listing
    assert "Revoke &ldquo;CRM sync&rdquo; for good</button>" in listing
    assert client.get(f"{API}/items", headers=bearer(plain)).status_code == 200
    row = db.session.scalar(sa.select(ApiToken))
    assert row.scope is TokenScope.WRITE and row.created_by_id == admin.id
    # Sent again (a reload of the page that showed it): refused, no second live token.
    again = post(desk, "/admin/tokens", {"name": "crm  SYNC", "scope": "write"})
    assert again.status_code == 400
    assert "A token called \u201ccrm SYNC\u201d is already in use." in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    revoked = post(desk, f"/admin/tokens/{row.id}/revoke")
    assert revoked.status_code == 302
    assert "Revoked" in desk.get("/admin/tokens").get_data(as_text=True)
    assert_error(client.get(f"{API}/items", headers=bearer(plain)), 401)
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"api_token.created", "api_token.revoked"} <= actions


def test_the_token_form_needs_a_name(make_client, admin) -> None:
    desk = make_client()
    login(desk, admin.email)
    response = post(desk, "/admin/tokens", {"name": "", "scope": "read"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
