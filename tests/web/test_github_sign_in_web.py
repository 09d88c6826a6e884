"""Signing in through GitHub (OAuth 2, no OpenID Connect), against a stand-in for GitHub's
endpoints on loopback (tests/github_standin.py): the person is GitHub's numeric user id, their
address the verified primary one from /user/emails; PKCE and state as for OpenID Connect."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import Identity, User
from portal.services import oidc
from portal.services.environment import Settings
from tests.github_standin import GitHubStandIn, run_github_standin

BASE_URL = "http://localhost"


@pytest.fixture
def github(
    app: Flask, change_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[GitHubStandIn]:
    with run_github_standin() as standin:
        monkeypatch.setattr(oidc, "GITHUB_AUTHORIZE", f"{standin.url}/login/oauth/authorize")
        monkeypatch.setattr(oidc, "GITHUB_TOKEN", f"{standin.url}/login/oauth/access_token")
        monkeypatch.setattr(oidc, "GITHUB_API", standin.url)
        monkeypatch.setitem(app.config, "PORTAL_BASE_URL", BASE_URL)
        change_settings(
            trusted_private_hosts=frozenset({"127.0.0.1"}),
            identity_providers_json=json.dumps(
                [
                    {
                        "key": "github",
                        "name": "GitHub",
                        "kind": "github",
                        "client_id": standin.client_id,
                        "client_secret": standin.client_secret,
                    }
                ]
            ),
        )
        yield standin


def sign_in(client: FlaskClient) -> TestResponse:
    started = client.get("/sign-in/github")
    assert started.status_code == 302
    query = parse_qs(urlsplit(started.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"]
    at_github = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(at_github.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_a_verified_primary_address_signs_in_as_the_numeric_user_id(
    client: FlaskClient, github: GitHubStandIn
) -> None:
    github.user = {"id": 583231, "login": "octocat", "name": "The Octocat"}
    github.emails = [
        {"email": "old@example.com", "primary": False, "verified": True},
        {"email": "octo@example.com", "primary": True, "verified": True},
    ]
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.email == "octo@example.com"))
    assert user is not None and user.display_name == "The Octocat"
    identity = db.session.scalar(sa.select(Identity).where(Identity.user_id == user.id))
    assert identity is not None
    assert (identity.issuer, identity.subject) == ("https://github.com", "583231")


def test_an_unverified_primary_address_is_refused(
    client: FlaskClient, github: GitHubStandIn
) -> None:
    github.user = {"id": 7, "login": "newbie", "name": None}
    github.emails = [
        {"email": "verified-secondary@example.com", "primary": False, "verified": True},
        {"email": "newbie@example.com", "primary": True, "verified": False},
    ]
    response = sign_in(client)
    assert response.status_code == 400
    assert "has not confirmed that newbie@example.com" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_wrong_pkce_verifier_is_refused_at_the_token_endpoint(
    client: FlaskClient, github: GitHubStandIn
) -> None:
    github.user = {"id": 8, "login": "x"}
    github.emails = [{"email": "x@example.com", "primary": True, "verified": True}]
    started = client.get("/sign-in/github")
    with client.session_transaction() as session:
        pending = dict(session["provider_pending"])
        pending["verifier"] = "not-the-verifier-" + "y" * 40
        session["provider_pending"] = pending
    at_github = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(at_github.headers["Location"])
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 400
    assert "invalid_grant" in response.get_data(as_text=True)
