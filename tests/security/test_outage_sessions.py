"""A database outage shows as an outage to everyone: signed in or not, by page, htmx or API,
each request gets the 503 and keeps its cookies, and nobody is signed out by it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Role, TokenScope, User
from portal.services import api_tokens
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, login, post

FRIENDLY = "We cannot reach our records for a moment"
REMEMBER = "remember_token"


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every statement fails as a lost or refused connection does."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", None, ConnectionRefusedError("connection refused"))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)


def _assert_outage_page(response: Any, where: str) -> None:
    assert response.status_code == 503, f"{where} -> {response.status_code}"
    assert FRIENDLY in response.get_data(as_text=True), where
    assert response.headers.get("Retry-After", "").isdigit(), where
    assert "HX-Redirect" not in response.headers, where
    assert response.headers.getlist("Set-Cookie") == [], f"{where} changed a cookie"


def test_the_outage_simulation_itself_takes_the_site_down(client: FlaskClient) -> None:
    with database_unreachable():
        _assert_outage_page(client.get("/"), "GET / as a visitor")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_signed_in_person_gets_the_outage_page_and_stays_signed_in(
    client: FlaskClient, make_user: Callable[..., User], htmx: bool
) -> None:
    person = make_user()
    login(client, person.email, TEST_PASSWORD)
    token = csrf_token(client)
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    with database_unreachable():
        for path in ("/account/", "/", "/you-said-we-did"):
            _assert_outage_page(client.get(path, headers=headers), f"GET {path}")
        form = {} if htmx else {"csrf_token": token}
        sent = client.post("/account/preferences", data={**form, "notify": "y"}, headers=headers)
        _assert_outage_page(sent, "POST /account/preferences")
        if htmx:
            assert sent.headers["HX-Retarget"] == "#htmx-messages"
    back = client.get("/account/")
    assert back.status_code == 200, "still signed in once the database is back"
    assert person.email in back.get_data(as_text=True)


def test_a_remembered_person_keeps_the_cookie_through_an_outage(
    client: FlaskClient, make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    person = make_user()
    post(
        client,
        "/account/login",
        {"email": person.email, "password": TEST_PASSWORD, "remember": "y"},
    )
    remembered = client.get_cookie(REMEMBER)
    assert remembered is not None
    browser = make_client()
    browser.set_cookie(REMEMBER, remembered.value)
    with database_unreachable():
        for path in ("/account/", "/"):
            _assert_outage_page(browser.get(path), f"GET {path} by remember-me cookie")
    assert browser.get_cookie(REMEMBER) is not None
    for _ in range(2):
        assert browser.get("/account/").status_code == 200, "signed in again by the cookie"


def test_a_visitor_gets_the_outage_page_without_new_cookies(
    client: FlaskClient, make_feedback: Callable[..., Any]
) -> None:
    item_page = f"/feedback/{make_feedback().id}"
    client.get("/account/login")  # a session with a CSRF token
    with database_unreachable():
        # (A page that needs no database, the sign-in form, still shows; sending it cannot.)
        for path in ("/", item_page, "/you-said-we-did"):
            _assert_outage_page(client.get(path), f"GET {path} as a visitor")


def test_the_api_answers_its_json_503_during_an_outage(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    admin = make_user(role=Role.ADMIN)
    token = api_tokens.create_token(admin, name="CRM sync", scope=TokenScope.READ).plain
    db.session.commit()
    with database_unreachable():
        response = client.get("/api/v1/items", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.get_json()["error"]["status"] == 503
    assert response.headers.getlist("Set-Cookie") == []
