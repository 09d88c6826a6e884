"""What a scanner reads off the responses: browser features switched off, no window shared
with other sites, nothing personal left in a cache, HSTS wherever the site is https, and no
cookie sent to someone who should not get one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.models import Feedback, Role, User
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.helpers import login, post

REMEMBER = "remember_token"


def _set_cookies(response: TestResponse) -> list[str]:
    return list(response.headers.getlist("Set-Cookie"))


def test_every_response_switches_off_unused_browser_features_and_keeps_its_window(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    for path in ("/", f"/feedback/{item.id}", "/account/login", "/no-such-page", "/healthz"):
        headers = client.get(path).headers
        policy = {part.strip() for part in headers["Permissions-Policy"].split(",")}
        for feature in (
            "camera",
            "microphone",
            "geolocation",
            "payment",
            "usb",
            "interest-cohort",
            "browsing-topics",
        ):
            assert f"{feature}=()" in policy, (path, feature)
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_signed_in_pages_are_never_stored(
    client: FlaskClient,
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    item = make_feedback()
    staff = make_user(role=Role.STAFF)
    login(client, staff.email, TEST_PASSWORD)
    for path in ("/admin/", f"/feedback/{item.id}", "/account/", "/", "/you-said-we-did"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path
    fragment = client.get("/", headers={"HX-Request": "true"})
    assert fragment.headers.get("Cache-Control") == "no-store"


def test_sign_in_and_register_pages_carry_a_token_and_are_never_stored(
    client: FlaskClient,
) -> None:
    for path in ("/account/login", "/account/register", "/account/reset"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path


def test_public_pages_for_visitors_keep_their_caching(
    client: FlaskClient, make_user: Callable[..., User], make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    for path in ("/", f"/feedback/{item.id}", "/you-said-we-did"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
    # A feed says how long it may be kept, to everyone, and still answers conditional GETs.
    customer = make_user()
    login(client, customer.email, TEST_PASSWORD)
    feed = client.get("/feeds/resolutions.atom")
    assert feed.status_code == 200
    assert (
        "public" in feed.headers["Cache-Control"]
        and "no-store" not in feed.headers["Cache-Control"]
    )
    again = client.get("/feeds/resolutions.atom", headers={"If-None-Match": feed.headers["ETag"]})
    assert again.status_code == 304


def test_a_visitor_is_never_sent_a_remember_me_cookie_deletion(client: FlaskClient) -> None:
    # Opening the sign-in form gives the visitor a session (its CSRF token).
    client.get("/account/login")
    assert client.get_cookie("session") is not None
    for path in ("/", "/you-said-we-did", "/account/login"):
        response = client.get(path)
        assert not any(c.startswith(f"{REMEMBER}=") for c in _set_cookies(response)), path
    # Nor one without any cookie at all.
    fresh = client.application.test_client()
    assert _set_cookies(fresh.get("/")) == []


def test_keep_me_signed_in_lasts_beyond_the_first_request(
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
    # Another day: the browser kept only the remember-me cookie.
    browser = make_client()
    browser.set_cookie(REMEMBER, remembered.value)
    for _ in range(3):
        response = browser.get("/account/")
        assert response.status_code == 200, "still signed in"
        assert not any(c.startswith(f"{REMEMBER}=;") for c in _set_cookies(response))


def test_a_stolen_session_cookie_used_elsewhere_is_still_refused(
    client: FlaskClient, make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    person = make_user()
    login(client, person.email, TEST_PASSWORD)
    thief = make_client()
    thief.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    response = thief.get("/account/", headers={"User-Agent": "another browser"})
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("base_url", "request_url", "sent"),
    [
        ("http://127.0.0.1:5000", "http://localhost", False),
        ("http://127.0.0.1:5000", "https://localhost", True),
        # TLS ends at a proxy the app was not told about (PROXY_FIX_HOPS unset): the public
        # address still says https, so browsers get HSTS on the https answers they see.
        ("https://feedback.example.org", "http://localhost", True),
    ],
)
def test_hsts_is_sent_wherever_the_site_is_https(
    database_uri: str, tmp_path: Path, base_url: str, request_url: str, sent: bool
) -> None:
    app: Flask = make_test_app(database_uri, tmp_path, PORTAL_BASE_URL=base_url)
    response = app.test_client().get("/healthz", base_url=request_url)
    assert ("Strict-Transport-Security" in response.headers) is sent
    if sent:
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
