"""The admin's sign-in page (/admin/sign-in) and the sign-in policy as people meet it: the
providers listed and set up (bad input kept in the form, the discovery document fetched from a
real server on loopback), the policy saved with its warning, and the sign-in, register, reset
and email-link pages following it, never telling whether an address has an account."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db
from portal.models import AuditEntry, Identity, OutboxMessage, Role, User
from portal.services import identity_providers, invitations, sign_in_policy
from portal.services.identity_providers import ProvidersMisconfigured
from portal.services.site import get_site_settings
from portal.services.tokens import (
    hash_secret,
    make_invitation_token,
    make_reset_token,
    make_sign_in_token,
)
from tests.discovery_server import Issuer, run_issuer
from tests.helpers import login, post

GOOGLE = "https://accounts.google.com/.well-known/openid-configuration"
ENV_PROVIDERS = json.dumps(
    [
        {
            "key": "google",
            "name": "Google",
            "discovery_url": GOOGLE,
            "client_id": "env-client",
            "client_secret": "env-secret-value",
        }
    ]
)
_CSRF = re.compile(r'(name="csrf-token" content="|name="csrf_token" type="hidden" value=")[^"]+')


@pytest.fixture
def issuer(change_settings: Callable[..., object]) -> Iterator[Issuer]:
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))
    with run_issuer() as running:
        yield running


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin", email="ada@example.com")


@pytest.fixture
def admin_client(make_client: Callable[[], FlaskClient], admin: User) -> FlaskClient:
    browser = make_client()
    login(browser, admin.email)
    return browser


def _github(admin: User) -> None:
    identity_providers.create_provider(
        admin,
        key="github",
        name="GitHub",
        kind="github",
        discovery_url="",
        client_id="gh-client",
        client_secret="gh-secret-value",
    )
    db.session.commit()


def _policy(admin: User, *, staff_provider: str | None, customer_passwords: bool) -> None:
    sign_in_policy.set_policy(
        admin, staff_provider=staff_provider, customer_passwords=customer_passwords
    )
    db.session.commit()


def _provider_form(issuer: Issuer, **changes: str) -> dict[str, str]:
    form = {
        "key": "keycloak",
        "name": "Staff Keycloak",
        "kind": "oidc",
        "discovery_url": issuer.discovery_url,
        "client_id": "portal-client",
        "client_secret": "typed-secret",
        "scopes": "openid email profile",
    }
    form.update(changes)
    return form


# The admin page -------------------------------------------------------------------------------


def test_the_page_lists_environment_providers_read_only_and_rows_with_redirect_uris(
    app: Flask, admin: User, admin_client: FlaskClient, change_settings
) -> None:
    change_settings(identity_providers_json=ENV_PROVIDERS)
    _github(admin)
    response = admin_client.get("/admin/sign-in")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/admin/sign-in"' in page  # in the admin nav
    base = app.config["PORTAL_BASE_URL"].rstrip("/")
    assert f"{base}/sign-in/google/callback" in page
    assert f"{base}/sign-in/github/callback" in page
    assert "set in the environment" in page
    # The environment's provider has no edit page; the row has one.
    assert "/admin/sign-in/providers/" in page
    assert page.count("/admin/sign-in/providers/") == 2  # the row's link and its toggle
    # No secret is ever in the page.
    assert "env-secret-value" not in page and "gh-secret-value" not in page


def test_a_refused_provider_keeps_everything_typed(
    admin_client: FlaskClient, issuer: Issuer
) -> None:
    response = post(admin_client, "/admin/sign-in/providers", _provider_form(issuer, key="Bad Key"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A key is 1 to 40 lower-case letters" in page
    for typed in (
        "Bad Key",
        "Staff Keycloak",
        issuer.discovery_url,
        "portal-client",
        "typed-secret",
    ):
        assert f'value="{typed}"' in page, typed
    assert identity_providers.provider_rows() == []


def test_a_discovery_url_that_does_not_answer_a_document_is_refused_in_the_form(
    admin_client: FlaskClient, issuer: Issuer
) -> None:
    issuer.serve((200, b"<html>not this</html>"))
    response = post(admin_client, "/admin/sign-in/providers", _provider_form(issuer))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "did not answer JSON" in page
    assert f'value="{issuer.discovery_url}"' in page
    assert identity_providers.provider_rows() == []


def test_an_admin_adds_a_provider_after_its_discovery_document_is_checked(
    app: Flask, admin_client: FlaskClient, issuer: Issuer
) -> None:
    response = post(admin_client, "/admin/sign-in/providers", _provider_form(issuer))
    assert response.status_code == 302
    assert issuer.requests == ["/realms/staff/.well-known/openid-configuration"]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    base = app.config["PORTAL_BASE_URL"].rstrip("/")
    said = "Staff Keycloak is added. Register this redirect URI at the provider: "
    assert f"{said}{base}/sign-in/keycloak/callback" in page
    provider = identity_providers.get_provider("keycloak")
    assert provider is not None and provider.client_secret == "typed-secret"


def test_no_write_lock_is_held_while_the_provider_is_asked(
    database_uri: str, admin_client: FlaskClient, issuer: Issuer
) -> None:
    others_wrote: list[bool] = []
    get_site_settings()  # the row another request changes (made now, if it was not there)
    db.session.commit()

    def another_writer() -> None:
        # Another request's write, while the admin's save waits for the provider: SQLite's
        # one write lock, or on PostgreSQL the site settings' row, must be free.
        if database_uri.startswith("sqlite"):
            other = sqlite3.connect(database_uri.removeprefix("sqlite:///"), timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                others_wrote.append(True)
            except sqlite3.OperationalError:
                others_wrote.append(False)
            finally:
                other.close()
            return
        engine = sa.create_engine(database_uri)
        try:
            with engine.connect() as other:
                other.exec_driver_sql("SET lock_timeout = '200ms'")
                other.exec_driver_sql("UPDATE site_settings SET time_zone = time_zone")
                other.rollback()
            others_wrote.append(True)
        except sa.exc.OperationalError:
            others_wrote.append(False)
        finally:
            engine.dispose()

    issuer.on_request = another_writer
    response = post(admin_client, "/admin/sign-in/providers", _provider_form(issuer))
    assert response.status_code == 302
    assert others_wrote == [True]


def test_editing_never_shows_the_secret_and_a_blank_one_keeps_it(
    admin: User, admin_client: FlaskClient
) -> None:
    _github(admin)
    row = identity_providers.provider_rows()[0]
    page = admin_client.get(f"/admin/sign-in/providers/{row.id}").get_data(as_text=True)
    assert "gh-secret-value" not in page
    assert 'value="gh-client"' in page
    response = post(
        admin_client,
        f"/admin/sign-in/providers/{row.id}",
        {
            "name": "GitHub.com",
            "kind": "github",
            "discovery_url": "",
            "client_id": "gh-2",
            "client_secret": "",
            "scopes": "",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    provider = identity_providers.get_provider("github")
    assert provider is not None
    assert (provider.name, provider.client_id, provider.client_secret) == (
        "GitHub.com",
        "gh-2",
        "gh-secret-value",
    )
    # A refused change keeps what was typed and changes nothing.
    refused = post(
        admin_client,
        f"/admin/sign-in/providers/{row.id}",
        {
            "name": "GitHub\u202eevil",
            "kind": "github",
            "discovery_url": "",
            "client_id": "gh-3",
            "client_secret": "",
            "scopes": "",
        },
    )
    assert refused.status_code in (400, 422)
    assert 'value="gh-3"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert identity_providers.get_provider("github").client_id == "gh-2"  # type: ignore[union-attr]


def test_disabling_and_enabling_from_the_page(admin: User, admin_client: FlaskClient) -> None:
    _github(admin)
    row = identity_providers.provider_rows()[0]
    response = post(admin_client, f"/admin/sign-in/providers/{row.id}/enabled")
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "GitHub is disabled: nobody signs in through it now." in page
    assert identity_providers.get_provider("github") is None
    post(admin_client, f"/admin/sign-in/providers/{row.id}/enabled")
    assert identity_providers.get_provider("github") is not None


def test_requiring_a_provider_warns_of_admins_without_an_identity_there(
    admin: User, admin_client: FlaskClient, make_user: Callable[..., User]
) -> None:
    _github(admin)
    linked = make_user(role=Role.ADMIN, display_name="Lin Linked")
    db.session.add(Identity(user_id=linked.id, provider_key="github", issuer="gh", subject="1"))
    db.session.commit()
    response = post(
        admin_client,
        "/admin/sign-in/policy",
        {"staff_provider": "github", "customer_passwords": "yes"},
    )
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The sign-in policy is saved." in page
    assert "will need one to sign in: Ada Admin (ada@example.com)." in page
    assert "Lin Linked (" not in page
    policy = sign_in_policy.current_policy()
    assert policy.staff_provider is not None and policy.staff_provider.key == "github"


def test_a_provider_that_is_not_enabled_cannot_be_chosen(
    admin_client: FlaskClient,
) -> None:
    response = post(
        admin_client,
        "/admin/sign-in/policy",
        {"staff_provider": "okta", "customer_passwords": "no"},
    )
    assert response.status_code == 400
    assert sign_in_policy.current_policy().customer_passwords is True


# The policy as people meet it ----------------------------------------------------------------


def test_staff_who_must_use_a_provider_are_refused_their_password_and_shown_its_button(
    admin: User, make_user: Callable[..., User], make_client: Callable[[], FlaskClient]
) -> None:
    _github(admin)
    staff, customer = make_user(role=Role.STAFF), make_user()
    _policy(admin, staff_provider="github", customer_passwords=True)
    browser = make_client()
    page = browser.get("/account/login").get_data(as_text=True)
    assert "Staff and admins sign in through GitHub." in page
    assert 'href="/sign-in/github"' in page
    response = post(
        browser, "/account/login", {"email": staff.email, "password": "correct horse battery"}
    )
    refused = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Staff sign in through GitHub here. Use the button below." in refused
    assert browser.get("/account/").status_code == 302  # not signed in
    login(make_client(), customer.email)  # customers still use their password


def test_staff_who_must_use_a_provider_are_refused_an_email_link(
    admin: User, make_user: Callable[..., User], client: FlaskClient
) -> None:
    _github(admin)
    staff = make_user(role=Role.STAFF)
    token = make_sign_in_token(staff.id, staff.email, "")
    _policy(admin, staff_provider="github", customer_passwords=True)
    for response in (
        client.get(f"/account/sign-in-link/{token}"),
        post(client, f"/account/sign-in-link/{token}"),
    ):
        page = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "Staff sign in through GitHub here." in page
        assert 'href="/sign-in/github"' in page
    assert client.get("/account/").status_code == 302


def test_with_customer_passwords_off_the_sign_in_page_offers_links_and_staff_keep_passwords(
    admin: User, make_user: Callable[..., User], make_client: Callable[[], FlaskClient]
) -> None:
    staff, customer = make_user(role=Role.STAFF), make_user()
    _policy(admin, staff_provider=None, customer_passwords=False)
    browser = make_client()
    page = browser.get("/account/login").get_data(as_text=True)
    assert "No password needed: we email you a link that signs you in." in page
    assert 'href="/account/sign-in-link"' in page
    assert "Staff: sign in with your password" in page
    response = post(
        browser, "/account/login", {"email": customer.email, "password": "correct horse battery"}
    )
    assert "Passwords are off for customers here: we email you a link" in response.get_data(
        as_text=True
    )
    assert browser.get("/account/").status_code == 302
    login(make_client(), staff.email)


def test_with_customer_passwords_off_registration_asks_no_password_and_emails_a_link(
    admin: User, client: FlaskClient
) -> None:
    _policy(admin, staff_provider=None, customer_passwords=False)
    page = client.get("/account/register").get_data(as_text=True)
    assert 'name="password"' not in page
    assert "No password needed" in page
    response = post(
        client,
        "/account/register",
        {"email": "New@Example.com", "display_name": "Noor", "preferred_name": ""},
    )
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).where(OutboxMessage.to_email == "new@example.com")
    ).all()
    assert kinds == ["registration"]
    # A missing name is said beside its field, keeping the address.
    again = post(client, "/account/register", {"email": "kept@example.com", "display_name": ""})
    assert 'value="kept@example.com"' in again.get_data(as_text=True)
    assert "Please choose a display name." in again.get_data(as_text=True)


def test_with_customer_passwords_off_reset_and_password_pages_say_so(
    admin: User,
    make_verified_user: Callable[..., User],
    make_client: Callable[[], FlaskClient],
) -> None:
    customer = make_verified_user()
    staff = make_verified_user(role=Role.STAFF)
    signed_in = make_client()
    login(signed_in, customer.email)
    _policy(admin, staff_provider=None, customer_passwords=False)
    browser = make_client()
    assert "Passwords are off for customers here" in browser.get("/account/reset").get_data(
        as_text=True
    )
    post(browser, "/account/reset", {"email": customer.email})
    post(browser, "/account/reset", {"email": staff.email})
    sent = db.session.scalars(
        sa.select(OutboxMessage.to_email).where(OutboxMessage.kind == "password_reset")
    ).all()
    assert sent == [staff.email]
    # A reset link from before the change no longer sets a customer's password.
    token = make_reset_token(customer.id, customer.password_hash)
    response = browser.get(f"/account/reset/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/sign-in-link")
    assert "Passwords are off for customers here, so there is none to choose" in browser.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert 'href="/account/password"' not in signed_in.get("/account/").get_data(as_text=True)
    changing = signed_in.get("/account/password")
    assert changing.status_code == 302
    assert "Passwords are off for customers" in signed_in.get(
        changing.headers["Location"]
    ).get_data(as_text=True)


def _answer(client: FlaskClient, email: str, password: str) -> tuple[int, str]:
    # The token from the register page, which has a form whatever the policy (the sign-in
    # page has no password form when nobody may use one, but its address still answers).
    register = client.get("/account/register").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', register)
    assert token is not None
    response = client.post(
        "/account/login", data={"email": email, "password": password, "csrf_token": token[1]}
    )
    page = _CSRF.sub(r"\1TOKEN", response.get_data(as_text=True)).replace(email, "EMAIL")
    return response.status_code, page


@pytest.mark.parametrize("customer_passwords", [True, False])
@pytest.mark.parametrize("staff_provider", [None, "github"])
def test_sign_in_never_tells_whether_an_address_has_an_account(
    admin: User,
    make_user: Callable[..., User],
    make_client: Callable[[], FlaskClient],
    customer_passwords: bool,
    staff_provider: str | None,
) -> None:
    _github(admin)
    customer, staff = make_user(), make_user(role=Role.STAFF)
    _policy(admin, staff_provider=staff_provider, customer_passwords=customer_passwords)
    unknown = _answer(make_client(), "nobody-here@example.com", "wrong password here")
    for person in (customer, staff):
        known = _answer(make_client(), person.email, "wrong password here")
        assert known == unknown
        if sign_in_policy.current_policy().password_form_useful:
            assert "That email and password do not match an account." in known[1]


def test_the_users_page_shows_how_each_person_signs_in(
    admin: User, admin_client: FlaskClient, make_user: Callable[..., User]
) -> None:
    _github(admin)
    customer = make_user(display_name="Cara Customer")
    db.session.add(Identity(user_id=customer.id, provider_key="github", issuer="gh", subject="9"))
    db.session.add(Identity(user_id=customer.id, provider_key="sso", issuer="urn", subject="c"))
    db.session.commit()
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "Signs in with" in page
    assert "password, GitHub, single sign-on, email link" in page


# Start-up and the console ----------------------------------------------------------------------


GITHUB_ENTRY = {
    "key": "github",
    "kind": "github",
    "name": "GitHub",
    "client_id": "a",
    "client_secret": "b",
}


@pytest.mark.parametrize(
    ("entries", "said"),
    [
        ("{not json", "PORTAL_IDENTITY_PROVIDERS is not JSON"),
        (
            [{"key": "k", "name": "K", "client_id": "a", "client_secret": "b"}],
            "provider 1 lacks discovery_url",
        ),
        ([{**GITHUB_ENTRY, "key": "Git Hub"}], "provider 1: key 'Git Hub' must be"),
        ([GITHUB_ENTRY, GITHUB_ENTRY], "provider 2: key 'github' is used twice"),
    ],
)
def test_a_bad_providers_setting_stops_the_app_at_start_up(
    database_uri: str, entries: object, said: str
) -> None:
    raw = entries if isinstance(entries, str) else json.dumps(entries)
    with pytest.raises(ProvidersMisconfigured, match=re.escape(said)):
        create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": database_uri,
                "SECRET_KEY": "test-secret-key-" + "x" * 32,
                "PORTAL_IDENTITY_PROVIDERS": raw,
            },
        )


def test_the_break_glass_command_lets_staff_use_their_password_again(
    app: Flask, admin: User, make_client: Callable[[], FlaskClient]
) -> None:
    _github(admin)
    _policy(admin, staff_provider="github", customer_passwords=True)
    shown = app.test_cli_runner().invoke(args=["sign-in-policy"])
    assert shown.exit_code == 0, shown.output
    assert "Staff sign in through GitHub (github) only." in shown.output
    cleared = app.test_cli_runner().invoke(args=["sign-in-policy", "--clear"])
    assert cleared.exit_code == 0, cleared.output
    assert cleared.output.startswith("Cleared: staff no longer have to sign in through github.")
    db.session.expire_all()
    assert sign_in_policy.current_policy().staff_provider is None
    login(make_client(), admin.email)
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.detail.get("via") == "command line"
    again = app.test_cli_runner().invoke(args=["sign-in-policy", "--clear"])
    assert "Staff were not required to use an identity provider." in again.output


def test_an_invitation_accepted_while_staff_must_use_a_provider_signs_in_nobody(
    admin: User, make_client: Callable[[], FlaskClient]
) -> None:
    _github(admin)
    _policy(admin, staff_provider="github", customer_passwords=True)
    invitation = invitations.invite(admin, email="sam@example.com", role="staff")
    invitation.secret_hash = hash_secret("a secret")
    db.session.commit()
    token = make_invitation_token(invitation.id, "a secret")
    sam = make_client()
    password = "a long new password"
    accepted = post(
        sam,
        f"/account/invitation/{token}",
        {"display_name": "Sam", "password": password, "confirm": password},
    )
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/account/login")
    page = sam.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "you have joined the team. Staff sign in through GitHub here." in page
    assert 'href="/sign-in/github"' in page
    assert sam.get("/admin/").status_code == 302  # signed in nowhere
    db.session.expire_all()
    joined = db.session.scalar(sa.select(User).where(User.email == "sam@example.com"))
    assert joined is not None and joined.role is Role.STAFF
