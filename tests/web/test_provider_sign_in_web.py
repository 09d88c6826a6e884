"""Signing in through a real OpenID Provider (tests/oidc_provider.py: the certified npm
package `oidc-provider` on loopback): the portal's pages in the test client, the provider's
pages through a plain HTTP client, the code redeemed at the provider's real /token with the
PKCE verifier, the ID token checked against its real keys.

Each refusal (tampered state, a wrong nonce, a missing or wrong PKCE verifier, an error from
the provider, an unverified address, an issuer mix-up) is a 400 page saying what happened,
and nobody is signed in."""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal import ENVIRONMENT_KEY
from portal.extensions import db
from portal.models import AuditEntry, Identity, OutboxMessage, Role, User
from portal.services import identities, invitations
from portal.services.accounts import hash_password, live_sessions
from portal.services.environment import Settings
from portal.services.site import get_site_settings
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.helpers import login, post
from tests.oidc_provider import OidcProvider, browse_to

BASE_URL = "http://localhost"
KEY = "corp"
CALLBACK = f"{BASE_URL}/sign-in/{KEY}/callback"


@pytest.fixture
def corp(
    app: Flask,
    oidc_provider: OidcProvider,
    change_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[OidcProvider]:
    """The run's provider as the portal's "Corp ID", with a client registered for it."""
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", BASE_URL)
    client_id, secret = oidc_provider.register_client([CALLBACK], [f"{BASE_URL}/"])
    change_settings(
        trusted_private_hosts=frozenset({"127.0.0.1"}),
        identity_providers_json=json.dumps(
            [
                {
                    "key": KEY,
                    "name": "Corp ID",
                    "discovery_url": oidc_provider.discovery_url,
                    "client_id": client_id,
                    "client_secret": secret,
                }
            ]
        ),
    )
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


def person(provider: OidcProvider, email: str | None = None, **kw: object) -> str:
    """Add an account at the provider and make it the next to sign in; its subject."""
    sub = "sub-" + secrets.token_hex(6)
    provider.add_account(sub, email or f"{sub}@example.com", **kw)  # type: ignore[arg-type]
    provider.next_login(sub)
    return sub


def start(client: FlaskClient, query: str = "") -> str:
    """Press "Continue with Corp ID": the provider's authorization address it leads to."""
    response = client.get(f"/sign-in/{KEY}{query}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def at_provider(authorization_url: str) -> str:
    """The person signs in at the provider: the callback address it sends them back to."""
    with requests.Session() as http:
        return browse_to(http, authorization_url, stop_at=CALLBACK)


def come_back(client: FlaskClient, callback_url: str) -> TestResponse:
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, query: str = "") -> TestResponse:
    return come_back(client, at_provider(start(client, query)))


def assert_refused(response: TestResponse, words: str, client: FlaskClient) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert words in html
    assert "Other ways in" in html
    assert client.get("/account/").status_code == 302  # nobody signed in


def test_the_code_and_pkce_flow_makes_a_customer_and_lands_them_where_they_asked(
    client: FlaskClient, corp: OidcProvider
) -> None:
    sub = person(corp, "robin@example.com", name="Robin Reed")
    authorization = start(client, "?next=/roadmap")
    query = parse_qs(urlsplit(authorization).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    assert query["redirect_uri"] == [CALLBACK]
    response = come_back(client, at_provider(authorization))
    assert response.status_code == 302
    assert response.headers["Location"] == "/roadmap"
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.email == "robin@example.com"))
    assert user is not None and user.display_name == "Robin Reed" and user.verified_at
    identity = db.session.scalar(sa.select(Identity).where(Identity.user_id == user.id))
    assert identity is not None
    assert (identity.issuer, identity.subject) == (corp.issuer, sub)
    page = client.get("/account/").get_data(as_text=True)
    assert "Robin Reed" in page and "Corp ID" in page and "robin@example.com" in page
    # No token is kept anywhere: the session holds no sign-in under way.
    with client.session_transaction() as session:
        assert "provider_pending" not in session


def test_a_known_identity_signs_in_again(client: FlaskClient, make_client, corp) -> None:
    sub = person(corp)
    assert sign_in(client).status_code == 302
    corp.next_login(sub)
    other_browser = make_client()
    response = sign_in(other_browser)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert "Welcome back" in other_browser.get("/").get_data(as_text=True)


def test_tampered_state_is_refused(client: FlaskClient, corp: OidcProvider) -> None:
    person(corp)
    callback = at_provider(start(client))
    response = come_back(client, callback.replace("state=", "state=x"))
    assert_refused(response, "state", client)


def test_an_answer_is_good_once(client: FlaskClient, corp: OidcProvider) -> None:
    person(corp)
    callback = at_provider(start(client))
    assert come_back(client, callback).status_code == 302
    replayed = come_back(client, callback)
    assert replayed.status_code == 400
    assert "was not started in this browser" in replayed.get_data(as_text=True)


def test_a_wrong_nonce_is_refused(client: FlaskClient, corp: OidcProvider) -> None:
    person(corp)
    callback = at_provider(start(client))
    # The ID token the provider issues names the nonce this sign-in sent; the browser's
    # session now expects another (as for a code injected from another sign-in).
    with client.session_transaction() as session:
        session["provider_pending"] = {**session["provider_pending"], "nonce": "not-the-one-sent"}
    assert_refused(come_back(client, callback), "nonce", client)


@pytest.mark.parametrize("verifier", [None, "a-wrong-verifier-" + "x" * 40])
def test_a_missing_or_wrong_pkce_verifier_is_refused_by_the_token_endpoint(
    client: FlaskClient, corp: OidcProvider, verifier: str | None
) -> None:
    person(corp)
    callback = at_provider(start(client))
    with client.session_transaction() as session:
        pending = dict(session["provider_pending"])
        if verifier is None:
            del pending["verifier"]
        else:
            pending["verifier"] = verifier
        session["provider_pending"] = pending
    assert_refused(come_back(client, callback), "would not confirm this sign-in", client)


def test_an_error_from_the_provider_is_shown(client: FlaskClient, corp: OidcProvider) -> None:
    corp.refuse_next_login("access_denied", "The person cancelled.")
    assert_refused(sign_in(client), "The person cancelled.", client)


def test_an_unverified_address_is_refused(client: FlaskClient, corp: OidcProvider) -> None:
    person(corp, "unsure@example.com", email_verified=False)
    assert_refused(sign_in(client), "has not confirmed that unsure@example.com", client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_an_answer_from_another_provider_is_refused_as_an_issuer_mix_up(
    client: FlaskClient, corp: OidcProvider, make_oidc_provider: Callable[..., OidcProvider]
) -> None:
    other = make_oidc_provider()
    client_id, _ = other.register_client([CALLBACK])
    sub = "mallory"
    other.add_account(sub, "mallory@example.com")
    other.next_login(sub)
    ours = parse_qs(urlsplit(start(client)).query)
    # The other provider answers at our callback, with our sign-in's state.
    theirs = (
        other.metadata["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": "openid email",
                "state": ours["state"][0],
                "nonce": ours["nonce"][0],
                "code_challenge": ours["code_challenge"][0],
                "code_challenge_method": "S256",
            }
        )
    )
    callback = at_provider(theirs)
    assert parse_qs(urlsplit(callback).query)["iss"] == [other.issuer]
    assert_refused(come_back(client, callback), "issuer mix-up", client)


def test_a_customer_with_the_verified_address_is_linked(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    customer = make_user(email="kim@example.com")
    person(corp, "kim@example.com")
    assert sign_in(client).status_code == 302
    db.session.expire_all()
    assert [i.provider_key for i in identities.identities_of(customer)] == [KEY]
    assert "kim@example.com" in client.get("/account/").get_data(as_text=True)


def test_staff_confirm_with_their_password_before_the_link_is_made(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    staff = make_user(email="lee@example.com", role=Role.STAFF)
    person(corp, "lee@example.com")
    response = sign_in(client)
    assert response.headers["Location"] == "/sign-in/confirm"
    assert client.get("/account/").status_code == 302  # not signed in yet
    assert identities.identities_of(staff) == []
    page = client.get("/sign-in/confirm").get_data(as_text=True)
    assert "lee@example.com" in page and "staff account" in page
    wrong = post(client, "/sign-in/confirm", {"password": "not my password"})
    assert wrong.status_code == 400
    assert "not the password" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert identities.identities_of(staff) == []
    right = post(client, "/sign-in/confirm", {"password": TEST_PASSWORD})
    assert right.status_code == 302
    db.session.expire_all()
    assert len(identities.identities_of(staff)) == 1
    assert "Ways you sign in" in client.get("/account/").get_data(as_text=True)


def test_staff_signed_in_with_an_email_link_confirm_with_a_button(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    staff = make_user(email="lee@example.com", role=Role.STAFF)
    person(corp, "lee@example.com")
    assert sign_in(client).headers["Location"] == "/sign-in/confirm"
    login(client, "lee@example.com")  # any way in; the page then asks for no password
    page = client.get("/sign-in/confirm").get_data(as_text=True)
    assert "You are signed in to this account" in page
    assert post(client, "/sign-in/confirm").status_code == 302
    db.session.expire_all()
    assert len(identities.identities_of(staff)) == 1


def test_removing_identities_keeps_a_way_in(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    staff = make_user(email="lee@example.com", role=Role.STAFF)
    person(corp, "lee@example.com")
    sign_in(client)
    post(client, "/sign-in/confirm", {"password": TEST_PASSWORD})
    staff.password_hash = "!none"
    db.session.commit()
    (identity,) = identities.identities_of(staff)
    refused = post(client, f"/account/identities/{identity.id}/remove", follow_redirects=True)
    assert "last way to sign in" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert len(identities.identities_of(staff)) == 1
    staff = db.session.get(User, staff.id)
    assert staff is not None
    staff.password_hash = hash_password("a password again")
    db.session.commit()
    removed = post(client, f"/account/identities/{identity.id}/remove", follow_redirects=True)
    assert "no longer signs you in" in removed.get_data(as_text=True)
    assert identities.identities_of(staff) == []


def test_link_from_the_account_page_joins_the_identity_to_the_signed_in_account(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    # The provider's address differs from the account's: being signed in is the proof.
    me = make_user(email="me@example.com")
    login(client, "me@example.com")
    assert "Link Corp ID" in client.get("/account/").get_data(as_text=True)
    person(corp, "me@elsewhere.example")
    response = sign_in(client, "?link=1")
    assert response.headers["Location"] == "/account/#identities"
    db.session.expire_all()
    assert [i.email for i in identities.identities_of(me)] == ["me@elsewhere.example"]


def test_a_browser_signed_in_as_someone_else_is_signed_out_of_that_session_first(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    before = make_user(email="first@example.com")
    login(client, "first@example.com")
    person(corp, "second@example.com")
    sign_in(client)
    assert "second@example.com" in client.get("/account/").get_data(as_text=True)
    db.session.expire_all()
    assert live_sessions(before) == []


def test_an_invitation_leads_to_the_staff_provider_and_its_answer_accepts_it(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    settings = get_site_settings()
    settings.staff_identity_provider = KEY
    db.session.add(settings)
    admin = make_user(role=Role.ADMIN)
    invitations.invite(admin, email="new.staff@example.com", role=Role.STAFF)
    db.session.commit()
    body = db.session.scalar(
        sa.select(OutboxMessage.text_body).where(OutboxMessage.kind == "invitation")
    )
    token = (body or "").split("/account/invitation/")[1].split()[0]
    page = client.get(f"/account/invitation/{token}").get_data(as_text=True)
    assert "Continue with Corp ID" in page
    assert 'name="password"' not in page
    # Their own account at the provider has another address: the invitation is the proof.
    person(corp, "me@personal.example", name="New Staff")
    response = sign_in(client, f"?invitation={token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.email == "new.staff@example.com"))
    assert user is not None and user.role is Role.STAFF
    assert len(identities.identities_of(user)) == 1
    assert client.get("/admin/").status_code == 200


def test_signing_out_sends_the_browser_to_the_providers_sign_out(
    client: FlaskClient, corp: OidcProvider
) -> None:
    person(corp)
    sign_in(client)
    response = post(client, "/account/logout")
    assert response.status_code == 302
    # Our page first (the form may post only to this site), which moves on by itself.
    assert response.headers["Location"] == "/sign-out/provider"
    page = client.get("/sign-out/provider").get_data(as_text=True)
    found = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', page)
    assert found, page
    location = html.unescape(found.group(1))
    assert location.startswith(corp.metadata["end_session_endpoint"])
    assert f'href="{found.group(1)}"' in page  # and a link, should the refresh not run
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == [f"{BASE_URL}/"]
    assert query["client_id"]
    assert client.get("/account/").status_code == 302
    # The provider accepts it: its sign-out page, then back to the board.
    with requests.Session() as http:
        assert browse_to(http, location, stop_at=f"{BASE_URL}/").startswith(BASE_URL)


def test_signing_out_everywhere_ends_provider_sessions_too(
    client: FlaskClient, make_client: Callable[[], FlaskClient], corp: OidcProvider
) -> None:
    sub = person(corp)
    sign_in(client)
    corp.next_login(sub)
    laptop = make_client()
    sign_in(laptop)
    assert laptop.get("/account/").status_code == 200
    assert post(client, "/account/sign-out-everywhere").status_code == 302
    assert client.get("/account/").status_code == 302
    assert laptop.get("/account/").status_code == 302


def test_a_password_sign_out_goes_nowhere_else(
    client: FlaskClient, corp: OidcProvider, make_user: Callable[..., User]
) -> None:
    make_user(email="pw@example.com")
    login(client, "pw@example.com")
    assert post(client, "/account/logout").headers["Location"] == "/"


def test_sign_in_started_on_one_instance_finishes_on_another(
    client: FlaskClient,
    corp: OidcProvider,
    app: Flask,
    database_uri: str,
    tmp_path: Path,
) -> None:
    # Another process: the same database and SECRET_KEY, its own memory.
    second = make_test_app(
        database_uri,
        tmp_path,
        PORTAL_BASE_URL=BASE_URL,
        PORTAL_TRUSTED_PRIVATE_HOSTS="127.0.0.1",
        PORTAL_IDENTITY_PROVIDERS=app.extensions[ENVIRONMENT_KEY].settings.identity_providers_json,
    )
    person(corp, "roaming@example.com")
    callback = at_provider(start(client))
    other = second.test_client()
    other.set_cookie("session", client.get_cookie("session").value, domain="localhost")  # type: ignore[union-attr]
    with second.app_context():
        response = come_back(other, callback)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert "roaming@example.com" in other.get("/account/").get_data(as_text=True)


def test_sign_ins_and_links_are_audited(client: FlaskClient, corp: OidcProvider) -> None:
    person(corp)
    sign_in(client)
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"user.created_by_provider", "user.identity_linked"} <= actions


def test_an_account_without_a_password_is_deleted_by_typing_its_address_and_can_come_back(
    client: FlaskClient, corp: OidcProvider
) -> None:
    sub = person(corp, "wren@example.com", name="Wren Hale")
    assert sign_in(client).status_code == 302
    page = client.get("/account/delete").get_data(as_text=True)
    assert "Your email address, to confirm" in page and "Your password" not in page

    wrong = post(client, "/account/delete", {"address": "someone@example.com"})
    assert wrong.status_code == 200
    assert "not this account's email address" in html.unescape(wrong.get_data(as_text=True))
    assert db.session.scalar(sa.select(User).where(User.email == "wren@example.com"))

    gone = post(client, "/account/delete", {"address": " Wren@Example.com "})
    assert gone.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(User).where(User.email == "wren@example.com")) is None
    # The link to the provider went with the account: nothing of it signs anyone in now...
    assert db.session.scalar(sa.select(Identity).where(Identity.subject == sub)) is None

    # ...and coming back through the provider makes a new account, not a closed one.
    corp.next_login(sub)
    back = sign_in(client)
    assert back.status_code == 302
    db.session.expire_all()
    again = db.session.scalar(sa.select(User).where(User.email == "wren@example.com"))
    assert again is not None and again.is_active
