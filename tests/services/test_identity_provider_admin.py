"""Identity providers an admin sets up: the address rules for the discovery URL (functions),
the discovery document fetched once from a real server on loopback, and the commands that add,
change, disable and enable a provider, each audited without its secret."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, IdentityProvider, Role, User
from portal.services import identity_providers, sign_in_policy
from portal.services.errors import NotAllowed
from portal.services.identity_providers import DiscoveryRefused, ProviderRefused
from tests.discovery_server import Issuer, run_issuer

GOOGLE = "https://accounts.google.com/.well-known/openid-configuration"


@pytest.fixture
def issuer(change_settings: Callable[..., object]) -> Iterator[Issuer]:
    """A discovery server on loopback, which the operator trusts to be private."""
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))
    with run_issuer() as running:
        yield running


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


def _add(admin: User, issuer: Issuer, **changes: str) -> IdentityProvider:
    fields = {
        "key": "keycloak",
        "name": "Staff Keycloak",
        "kind": "oidc",
        "discovery_url": issuer.discovery_url,
        "client_id": "portal",
        "client_secret": "s3cret-value",
        "scopes": "",
    }
    fields.update(changes)
    provider = identity_providers.create_provider(admin, **fields)
    db.session.commit()
    return provider


# The address rules, as functions --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://accounts.example.com/.well-known/openid-configuration",  # not https
        "https://127.0.0.1/.well-known/openid-configuration",  # loopback
        "https://10.1.2.3/.well-known/openid-configuration",  # private
        "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata address
        "https://[::ffff:127.0.0.1]/.well-known/openid-configuration",  # loopback inside IPv6
        "https://2130706433/.well-known/openid-configuration",  # 127.0.0.1 as a number
        "https://localhost/.well-known/openid-configuration",
        "https://sso.corp.internal/.well-known/openid-configuration",
        "https://admin:pw@accounts.example.com/.well-known/openid-configuration",
        "https://accounts.example.com:0/.well-known/openid-configuration",
        "not a url",
        "",
    ],
)
def test_a_discovery_url_the_server_must_not_call_is_refused(url: str) -> None:
    with pytest.raises(DiscoveryRefused):
        identity_providers.check_provider_url(url)


def test_a_public_https_discovery_url_passes() -> None:
    assert identity_providers.check_provider_url(f"  {GOOGLE} ") == GOOGLE


def test_a_trusted_private_host_may_be_plain_http(change_settings) -> None:
    url = "http://127.0.0.1:8080/realms/staff/.well-known/openid-configuration"
    with pytest.raises(DiscoveryRefused):
        identity_providers.check_provider_url(url)
    change_settings(trusted_private_hosts=frozenset({"127.0.0.1"}))
    assert identity_providers.check_provider_url(url) == url
    # Trusting one host trusts no other.
    with pytest.raises(DiscoveryRefused):
        identity_providers.check_provider_url("http://127.0.0.2/.well-known/openid-configuration")


# The discovery document, from a real server ---------------------------------------------------


def test_a_good_discovery_document_is_fetched_and_checked(issuer: Issuer) -> None:
    document = identity_providers.fetch_discovery(issuer.discovery_url)
    assert document["issuer"] == issuer.base + "/realms/staff"
    assert issuer.requests == ["/realms/staff/.well-known/openid-configuration"]


def test_an_untrusted_loopback_server_is_never_asked(change_settings) -> None:
    with run_issuer() as issuer:
        with pytest.raises(DiscoveryRefused):
            identity_providers.fetch_discovery(issuer.discovery_url)
        with pytest.raises(DiscoveryRefused, match="inside the network"):
            identity_providers.fetch_discovery(issuer.discovery_url.replace("http:", "https:"))
        assert issuer.requests == []


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((200, b"<html>Sign in</html>"), "did not answer JSON"),
        ((200, b"[1, 2]"), "not a discovery document"),
        ((404, b"{}"), "answered HTTP 404"),
        ((200, json.dumps({"issuer": "https://x"}).encode()), "lacks authorization_endpoint"),
        ((200, b" " * (300 * 1024)), "more than 256 KB"),
    ],
)
def test_a_broken_discovery_answer_is_refused_saying_why(
    issuer: Issuer, answer: tuple[int, bytes], said: str
) -> None:
    issuer.serve(answer)
    with pytest.raises(DiscoveryRefused, match=said):
        identity_providers.fetch_discovery(issuer.discovery_url)


def test_a_document_whose_token_endpoint_points_inside_is_refused(issuer: Issuer) -> None:
    issuer.serve(issuer.document(token_endpoint="https://169.254.169.254/token"))
    with pytest.raises(DiscoveryRefused, match="token_endpoint points inside the network"):
        identity_providers.fetch_discovery(issuer.discovery_url)


def test_a_silent_discovery_server_times_out(
    issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_providers, "DISCOVERY_TIMEOUT_SECONDS", 0.5)
    issuer.serve("sleep")
    with pytest.raises(DiscoveryRefused, match="did not answer within"):
        identity_providers.fetch_discovery(issuer.discovery_url)


# The commands -----------------------------------------------------------------------------------


def test_an_admin_adds_a_provider_people_can_then_sign_in_through(
    admin: User, issuer: Issuer
) -> None:
    provider = _add(admin, issuer)
    found = identity_providers.get_provider("keycloak")
    assert found is not None and found.name == "Staff Keycloak"
    assert found.scopes == "openid email profile" and found.client_secret == "s3cret-value"
    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.target_id, entry.actor_id) == (
        "identity_provider.created",
        provider.id,
        admin.id,
    )
    assert entry.detail["key"] == "keycloak" and entry.detail["client_secret_set"] is True
    assert "s3cret-value" not in json.dumps(entry.detail)


def test_a_provider_whose_discovery_fails_is_not_added(admin: User, issuer: Issuer) -> None:
    issuer.serve((500, b"down"))
    with pytest.raises(DiscoveryRefused):
        _add(admin, issuer)
    db.session.rollback()
    assert identity_providers.provider_rows() == []


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("Bad Key!", "lower-case letters"),
        ("-google", "lower-case letters"),
        ("sso", "taken by single sign-on"),
        ("x" * 41, "lower-case letters"),
    ],
)
def test_a_key_that_cannot_name_a_provider_is_refused(admin: User, key: str, said: str) -> None:
    with pytest.raises(ProviderRefused, match=said):
        identity_providers.create_provider(
            admin,
            key=key,
            name="GitHub",
            kind="github",
            discovery_url="",
            client_id="id",
            client_secret="secret",
        )


def test_keys_are_unique_among_rows_and_the_environment(
    admin: User, change_settings: Callable[..., object]
) -> None:
    github = {
        "name": "GitHub",
        "kind": "github",
        "discovery_url": "",
        "client_id": "id",
        "client_secret": "secret",
    }
    identity_providers.create_provider(admin, key="github", **github)
    db.session.commit()
    with pytest.raises(ProviderRefused, match="Another provider has the key"):
        identity_providers.create_provider(admin, key="GitHub", **github)
    change_settings(
        identity_providers_json=json.dumps(
            [
                {
                    "key": "google",
                    "name": "Google",
                    "discovery_url": GOOGLE,
                    "client_id": "a",
                    "client_secret": "b",
                }
            ]
        )
    )
    with pytest.raises(ProviderRefused, match="environment already sets"):
        identity_providers.create_provider(admin, key="google", **github)


def test_an_oidc_provider_needs_the_openid_scope_and_a_discovery_url(admin: User) -> None:
    base = {
        "key": "okta",
        "name": "Okta",
        "kind": "oidc",
        "client_id": "id",
        "client_secret": "secret",
    }
    with pytest.raises(ProviderRefused, match="discovery URL"):
        identity_providers.create_provider(admin, discovery_url="", **base)
    with pytest.raises(ProviderRefused, match="openid"):
        identity_providers.create_provider(
            admin, discovery_url=GOOGLE, scopes="email profile", **base
        )


def test_only_admins_set_up_providers(make_user: Callable[..., User]) -> None:
    staff = make_user(role=Role.STAFF)
    with pytest.raises(NotAllowed):
        identity_providers.create_provider(
            staff,
            key="github",
            name="GitHub",
            kind="github",
            discovery_url="",
            client_id="id",
            client_secret="secret",
        )


def test_changing_a_provider_keeps_its_key_and_a_blank_secret_keeps_the_saved_one(
    admin: User, issuer: Issuer
) -> None:
    provider = _add(admin, issuer)
    identity_providers.update_provider(
        admin,
        provider.id,
        name="Keycloak",
        kind="oidc",
        discovery_url=issuer.discovery_url,
        client_id="portal-2",
        client_secret="",
        scopes="openid email",
    )
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(IdentityProvider, provider.id)
    assert row is not None
    assert (row.key, row.name, row.client_id, row.client_secret, row.scopes) == (
        "keycloak",
        "Keycloak",
        "portal-2",
        "s3cret-value",
        "openid email",
    )
    changed = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "identity_provider.changed")
    ).one()
    assert changed.detail == {
        "key": "keycloak",
        "name": "Keycloak",
        "client_id": "portal-2",
        "scopes": "openid email",
    }
    identity_providers.update_provider(
        admin,
        provider.id,
        name="Keycloak",
        kind="oidc",
        discovery_url=issuer.discovery_url,
        client_id="portal-2",
        client_secret="new-secret",
        scopes="openid email",
    )
    db.session.commit()
    assert row.client_secret == "new-secret"
    last = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None and last.detail == {"key": "keycloak", "client_secret_changed": True}


def test_a_disabled_provider_is_no_way_in_until_enabled(admin: User, issuer: Issuer) -> None:
    provider = _add(admin, issuer)
    identity_providers.set_provider_enabled(admin, provider.id, False)
    db.session.commit()
    assert identity_providers.get_provider("keycloak") is None
    assert [p.key for p in identity_providers.provider_rows()] == ["keycloak"]
    identity_providers.set_provider_enabled(admin, provider.id, True)
    db.session.commit()
    assert identity_providers.get_provider("keycloak") is not None
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["identity_provider.disabled", "identity_provider.enabled"]


def test_the_provider_staff_must_use_cannot_be_disabled(admin: User, issuer: Issuer) -> None:
    provider = _add(admin, issuer)
    sign_in_policy.set_policy(admin, staff_provider="keycloak", customer_passwords=True)
    db.session.commit()
    with pytest.raises(ProviderRefused, match="Staff must sign in through Staff Keycloak"):
        identity_providers.set_provider_enabled(admin, provider.id, False)
