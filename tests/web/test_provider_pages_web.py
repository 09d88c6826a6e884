"""The sign-in provider pages that need no provider answering: the buttons on the sign-in and
register pages, and the refusals that come before any provider is asked."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from portal.services.environment import Settings

CORP = {
    "key": "corp",
    "name": "Corp ID",
    "kind": "oidc",
    "discovery_url": "https://10.1.2.3/.well-known/openid-configuration",
    "client_id": "portal",
    "client_secret": "s3cret",
}


@pytest.fixture
def corp(change_settings: Callable[..., Settings]) -> None:
    change_settings(identity_providers_json=json.dumps([CORP]))


@pytest.mark.parametrize("page", ["/account/login", "/account/register"])
def test_no_provider_no_button(client: FlaskClient, page: str) -> None:
    html = client.get(page).get_data(as_text=True)
    assert "Continue with" not in html


@pytest.mark.usefixtures("corp")
@pytest.mark.parametrize("page", ["/account/login", "/account/register"])
def test_each_enabled_provider_has_a_button_keeping_next(client: FlaskClient, page: str) -> None:
    html = client.get(page + "?next=/roadmap").get_data(as_text=True)
    assert "Continue with Corp ID" in html
    assert 'href="/sign-in/corp?next=/roadmap"' in html


def test_an_unknown_provider_is_a_clear_refusal_offering_other_ways(client: FlaskClient) -> None:
    response = client.get("/sign-in/nobody")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is no sign-in provider by that name" in html
    assert "/account/login" in html and "/account/sign-in-link" in html


@pytest.mark.usefixtures("corp")
def test_an_answer_nobody_started_signs_nobody_in(client: FlaskClient) -> None:
    response = client.get("/sign-in/corp/callback?code=abc&state=forged")
    assert response.status_code == 400
    assert "was not started in this browser" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302  # still signed out


@pytest.mark.usefixtures("corp")
def test_a_provider_at_an_internal_address_is_never_called(client: FlaskClient) -> None:
    response = client.get("/sign-in/corp")
    assert response.status_code == 400
    assert "could not talk to that sign-in provider" in response.get_data(as_text=True)
