"""The identity providers people may sign in through: those from the environment
(PORTAL_IDENTITY_PROVIDERS, JSON) and those an admin set up (IdentityProvider rows), each by
its key. A key from the environment wins over a row with the same key, so a deployment's own
settings cannot be overridden from the admin pages."""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.database import begin_write
from portal.extensions import db
from portal.models import IdentityProvider, SiteSettings, User
from portal.services import addresses, environment, events, pinned_http
from portal.services.admin import require_active_admin
from portal.services.errors import DomainError, NotFound
from portal.services.wording import Text, t
from portal.validation import name_problem

KINDS = ("oidc", "github")


@dataclass(frozen=True)
class ProviderConfig:
    """One provider as the sign-in code needs it."""

    key: str
    name: str
    kind: str
    discovery_url: str | None
    client_id: str
    client_secret: str
    scopes: str
    # From the environment: shown to admins, but changed only where it is set.
    from_environment: bool = False


class ProvidersMisconfigured(ValueError):
    """PORTAL_IDENTITY_PROVIDERS cannot be read: said when the app starts, not at sign-in."""


def from_environment(raw: str) -> list[ProviderConfig]:
    """The providers a JSON list describes (see portal/config.py); raises
    ProvidersMisconfigured naming what is wrong."""
    if not raw.strip():
        return []
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise ProvidersMisconfigured(f"PORTAL_IDENTITY_PROVIDERS is not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise ProvidersMisconfigured("PORTAL_IDENTITY_PROVIDERS must be a JSON list")
    providers = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ProvidersMisconfigured(f"provider {number} is not an object")
        missing = [k for k in ("key", "name", "client_id", "client_secret") if not entry.get(k)]
        kind = str(entry.get("kind") or "oidc")
        if kind == "oidc" and not entry.get("discovery_url"):
            missing.append("discovery_url")
        if missing:
            raise ProvidersMisconfigured(f"provider {number} lacks {', '.join(missing)}")
        if kind not in KINDS:
            raise ProvidersMisconfigured(f"provider {number}: kind must be one of {KINDS}")
        providers.append(
            ProviderConfig(
                key=str(entry["key"]),
                name=str(entry["name"]),
                kind=kind,
                discovery_url=entry.get("discovery_url"),
                client_id=str(entry["client_id"]),
                client_secret=str(entry["client_secret"]),
                scopes=str(
                    entry.get("scopes") or ("read:user user:email" if kind == "github" else "")
                )
                or "openid email profile",
                from_environment=True,
            )
        )
    return providers


def _from_row(row: IdentityProvider) -> ProviderConfig:
    return ProviderConfig(
        key=row.key,
        name=row.name,
        kind=row.kind,
        discovery_url=row.discovery_url,
        client_id=row.client_id,
        client_secret=row.client_secret,
        scopes=row.scopes,
    )


def enabled_providers() -> list[ProviderConfig]:
    """Every provider people may sign in through now: the environment's, then the admin's
    enabled ones by name."""
    configured = from_environment(environment.current().settings.identity_providers_json)
    taken = {provider.key for provider in configured}
    rows = db.session.scalars(
        sa.select(IdentityProvider)
        .where(IdentityProvider.enabled.is_(True))
        .order_by(IdentityProvider.name)
    )
    return configured + [_from_row(row) for row in rows if row.key not in taken]


def get_provider(key: str) -> ProviderConfig | None:
    """The enabled provider with this key, or None."""
    return next((p for p in enabled_providers() if p.key == key), None)


# The admin pages: providers as rows, each change a command ---------------------------------

# A key names the provider in addresses (/sign-in/<key>), so it is a slug, and never changes.
KEY_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# "sso" is what identities vouched for by the organisation's own site are recorded under.
RESERVED_KEYS = frozenset({"sso"})
DEFAULT_SCOPES = {"oidc": "openid email profile", "github": "read:user user:email"}
# RFC 6749's scope-token: printable ASCII but space, double quote and backslash.
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
# The discovery document: fetched once when an admin saves, with a short timeout and a cap.
DISCOVERY_TIMEOUT_SECONDS = 5.0
DISCOVERY_MAX_BYTES = 256 * 1024
DISCOVERY_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
USER_AGENT = "portal-sign-in/1"


class ProviderRefused(DomainError):
    """A provider's settings are not ones people could sign in through."""

    status_code = 422


class DiscoveryRefused(ProviderRefused):
    """The discovery URL may not be fetched, or did not answer with a discovery document."""


def _require_admin(actor: User) -> None:
    require_active_admin(actor, t("Only admins set up identity providers."))


def check_environment(raw: str) -> list[ProviderConfig]:
    """PORTAL_IDENTITY_PROVIDERS as the app checks it when it starts: what from_environment
    reads, with keys that can name a provider in an address (slugs, each once, not "sso").
    ProvidersMisconfigured says what is wrong."""
    providers = from_environment(raw)
    seen: set[str] = set()
    for number, provider in enumerate(providers, start=1):
        if not KEY_PATTERN.match(provider.key) or provider.key in RESERVED_KEYS:
            raise ProvidersMisconfigured(
                f"provider {number}: key {provider.key!r} must be 1 to 40 lower-case letters, "
                'digits and hyphens, and not "sso"'
            )
        if provider.key in seen:
            raise ProvidersMisconfigured(f"provider {number}: key {provider.key!r} is used twice")
        seen.add(provider.key)
    return providers


def environment_providers() -> list[ProviderConfig]:
    """The providers PORTAL_IDENTITY_PROVIDERS sets (shown to admins, changed only there)."""
    return from_environment(environment.current().settings.identity_providers_json)


def provider_rows() -> list[IdentityProvider]:
    """Every provider an admin set up, enabled or not, by name."""
    return list(db.session.scalars(sa.select(IdentityProvider).order_by(IdentityProvider.name)))


def get_provider_row(provider_id: int) -> IdentityProvider:
    """An admin's provider by its id, or NotFound."""
    row = db.session.get(IdentityProvider, provider_id)
    if row is None:
        raise NotFound(t("There is no such identity provider."))
    return row


def provider_names() -> dict[str, str]:
    """Every provider's name by its key, disabled ones included (the users page names the
    providers people linked, whether or not they are enabled now)."""
    names = {row.key: row.name for row in provider_rows()}
    names.update({p.key: p.name for p in environment_providers()})
    return names


# Addresses the server fetches ----------------------------------------------------------------


def _host_trusted(host: str) -> bool:
    return addresses.is_trusted_host(host, environment.current().settings.trusted_private_hosts)


def check_provider_url(url: str, *, what: Text | None = None) -> str:
    """The URL, trimmed, if the server may call it on an admin's say-so: https (plain http only
    for a host the operator trusts), no password in it, and not an internal address unless the
    host is one the operator trusts (PORTAL_TRUSTED_PRIVATE_HOSTS). Names are resolved and
    checked again when it is fetched. DiscoveryRefused otherwise."""
    url = url.strip()
    what = what or t("The discovery URL")
    if not url or len(url) > 500:
        raise DiscoveryRefused(t("%(what)s must be a URL of up to 500 characters.", what=what))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DiscoveryRefused(t("%(what)s is not a URL the portal can fetch.", what=what)) from exc
    host = parts.hostname or ""
    if not host:
        raise DiscoveryRefused(t("%(what)s needs a host name.", what=what))
    trusted = _host_trusted(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and trusted):
        raise DiscoveryRefused(t("%(what)s must start with https://.", what=what))
    if parts.username or parts.password:
        raise DiscoveryRefused(t("Leave passwords out of %(what)s.", what=what))
    if port == 0:
        raise DiscoveryRefused(t("%(what)s names a port nothing can answer on.", what=what))
    literal = addresses.parse_address(host)
    private_name = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    if not trusted and (private_name or (literal is not None and not addresses.is_public(literal))):
        raise DiscoveryRefused(
            t(
                "%(what)s points inside the network: the portal fetches only public "
                "addresses, unless the operator trusts the host (PORTAL_TRUSTED_PRIVATE_HOSTS).",
                what=what,
            )
        )
    return url


def _resolve(host: str, port: int) -> str:
    """The first address the name resolves to, if every one of them may be called."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DiscoveryRefused(
            t("The discovery URL's host, %(host)s, could not be found.", host=host)
        ) from exc
    found = [str(info[4][0]) for info in infos]
    if not _host_trusted(host) and any(not addresses.is_public(a) for a in found):
        # All, not any: a name that also points inside must not be usable to reach inside.
        raise DiscoveryRefused(
            t(
                "The discovery URL's host, %(host)s, resolves to an address inside the network.",
                host=host,
            )
        )
    return found[0]


def fetch_discovery(url: str) -> dict[str, Any]:
    """Fetch an OpenID Connect discovery document once and check it: JSON naming `issuer`,
    `authorization_endpoint`, `token_endpoint` and `jwks_uri`, the last two (which the server
    calls) passing the same address rules. DiscoveryRefused, saying what is wrong, otherwise."""
    url = check_provider_url(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    address = _resolve(host, port)
    connection = pinned_http.connection(https, host, port, address, DISCOVERY_TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise DiscoveryRefused(
                t(
                    "The discovery URL answered HTTP %(status)d, not the discovery document.",
                    status=response.status,
                )
            )
        body = response.read(DISCOVERY_MAX_BYTES + 1)
    except TimeoutError as exc:
        raise DiscoveryRefused(
            t(
                "The discovery URL did not answer within %(seconds)d seconds.",
                seconds=int(DISCOVERY_TIMEOUT_SECONDS),
            )
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DiscoveryRefused(
            t("The discovery URL could not be reached (%(problem)s).", problem=type(exc).__name__)
        ) from exc
    finally:
        connection.close()
    if len(body) > DISCOVERY_MAX_BYTES:
        raise DiscoveryRefused(
            t(
                "The discovery URL answered more than %(size)d KB: that is not a discovery "
                "document.",
                size=DISCOVERY_MAX_BYTES // 1024,
            )
        )
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise DiscoveryRefused(
            t(
                "The discovery URL did not answer JSON: is it the address ending "
                "/.well-known/openid-configuration?"
            )
        ) from exc
    if not isinstance(document, dict):
        raise DiscoveryRefused(t("The discovery URL's JSON is not a discovery document."))
    missing = [
        f for f in DISCOVERY_FIELDS if not isinstance(document.get(f), str) or not document[f]
    ]
    if missing:
        raise DiscoveryRefused(
            t("The discovery document lacks %(fields)s.", fields=", ".join(missing))
        )
    for field in ("token_endpoint", "jwks_uri"):
        check_provider_url(
            document[field], what=t("The discovery document's %(field)s", field=field)
        )
    return document


# Commands ----------------------------------------------------------------------------------


def _checked_key(key: str) -> str:
    key = key.strip().lower()
    if not KEY_PATTERN.match(key):
        raise ProviderRefused(
            t(
                "A key is 1 to 40 lower-case letters, digits and hyphens, such as "
                "\u201cgoogle\u201d or \u201cacme-okta\u201d: it names the provider in addresses."
            )
        )
    if key in RESERVED_KEYS:
        raise ProviderRefused(
            t("\u201c%(key)s\u201d is taken by single sign-on: choose another key.", key=key)
        )
    if key in {p.key for p in environment_providers()}:
        raise ProviderRefused(
            t("The environment already sets a provider with the key \u201c%(key)s\u201d.", key=key)
        )
    return key


def _refuse_a_taken_key(key: str) -> None:
    taken = db.session.scalar(sa.select(IdentityProvider.id).where(IdentityProvider.key == key))
    if taken is not None:
        raise ProviderRefused(t("Another provider has the key \u201c%(key)s\u201d.", key=key))


def _checked_fields(
    *, name: str, kind: str, discovery_url: str, client_id: str, scopes: str
) -> dict[str, Any]:
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise ProviderRefused(
            t("Give the provider a name of up to 80 characters, shown on its button.")
        )
    problem = name_problem(name)
    if problem:
        raise ProviderRefused(problem)
    if kind not in KINDS:
        raise ProviderRefused(t("Choose OpenID Connect or GitHub."))
    client_id = client_id.strip()
    if not client_id or len(client_id) > 255:
        raise ProviderRefused(
            t("Enter the client id the provider gave you (up to 255 characters).")
        )
    tokens = scopes.split() or DEFAULT_SCOPES[kind].split()
    if any(not _SCOPE_TOKEN.match(token) for token in tokens) or len(" ".join(tokens)) > 255:
        raise ProviderRefused(
            t("Scopes are words separated by spaces, such as \u201copenid email profile\u201d.")
        )
    if kind == "oidc" and "openid" not in tokens:
        raise ProviderRefused(t("OpenID Connect needs the \u201copenid\u201d scope."))
    checked_url: str | None = None
    if kind == "oidc":
        if not discovery_url.strip():
            raise ProviderRefused(t("Enter the provider's discovery URL."))
        checked_url = check_provider_url(discovery_url)
    return {
        "name": name,
        "kind": kind,
        "discovery_url": checked_url,
        "client_id": client_id,
        "scopes": " ".join(dict.fromkeys(tokens)),
    }


def create_provider(
    actor: User,
    *,
    key: str,
    name: str,
    kind: str,
    discovery_url: str,
    client_id: str,
    client_secret: str,
    scopes: str = "",
) -> IdentityProvider:
    """Add an identity provider, enabled. An OpenID Connect provider's discovery document is
    fetched once and checked first, so a mistyped address is said now, not at sign-in."""
    _require_admin(actor)
    key = _checked_key(key)
    fields = _checked_fields(
        name=name, kind=kind, discovery_url=discovery_url, client_id=client_id, scopes=scopes
    )
    secret = client_secret.strip()
    if not secret or len(secret) > 500:
        raise ProviderRefused(
            t("Enter the client secret the provider gave you (up to 500 characters).")
        )
    if fields["discovery_url"]:
        fetch_discovery(fields["discovery_url"])
    # Only now the write lock (on SQLite): never held while the provider is asked. The key's
    # uniqueness is checked under it, and the unique index holds whatever races.
    begin_write(db.session)
    _refuse_a_taken_key(key)
    provider = IdentityProvider(key=key, client_secret=secret, enabled=True, **fields)
    db.session.add(provider)
    try:
        # A savepoint, so two admins adding the same key at once fail cleanly on the index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise ProviderRefused(
            t("Another provider has the key \u201c%(key)s\u201d.", key=key)
        ) from exc
    events.emit(
        events.IdentityProviderSaved(provider, actor, True, {**fields, "client_secret_set": True})
    )
    return provider


def update_provider(
    actor: User,
    provider_id: int,
    *,
    name: str,
    kind: str,
    discovery_url: str,
    client_id: str,
    client_secret: str = "",
    scopes: str = "",
) -> IdentityProvider:
    """Change a provider's name, kind, discovery URL, client id, scopes or secret (blank
    keeps the saved one). Its key stays: people's identities and the provider's own
    redirect URI name it. The discovery document is fetched again."""
    _require_admin(actor)
    provider = get_provider_row(provider_id)
    fields = _checked_fields(
        name=name, kind=kind, discovery_url=discovery_url, client_id=client_id, scopes=scopes
    )
    secret = client_secret.strip()
    if len(secret) > 500:
        raise ProviderRefused(t("A client secret is at most 500 characters."))
    if fields["discovery_url"]:
        fetch_discovery(fields["discovery_url"])
    begin_write(db.session)  # only now the write lock: never held while the provider is asked
    changes: dict[str, Any] = {
        column: value for column, value in fields.items() if getattr(provider, column) != value
    }
    for column, value in changes.items():
        setattr(provider, column, value)
    if secret and secret != provider.client_secret:
        provider.client_secret = secret
        changes["client_secret_changed"] = True
    if changes:
        db.session.flush()
        events.emit(events.IdentityProviderSaved(provider, actor, False, changes))
    return provider


def set_provider_enabled(actor: User, provider_id: int, enabled: bool) -> IdentityProvider:
    """Disable a provider (nobody signs in through it; identities linked to it stay, for when
    it is enabled again), or enable it. The provider staff must sign in through cannot be
    disabled: staff would be locked out."""
    _require_admin(actor)
    provider = get_provider_row(provider_id)
    if provider.enabled == enabled:
        return provider
    if not enabled:
        required = db.session.scalar(sa.select(SiteSettings.staff_identity_provider))
        if required == provider.key:
            raise ProviderRefused(
                t(
                    "Staff must sign in through %(name)s: choose another way for staff in the "
                    "sign-in policy before disabling it.",
                    name=provider.name,
                )
            )
    provider.enabled = enabled
    db.session.flush()
    events.emit(events.IdentityProviderEnabledChanged(provider, actor, enabled))
    return provider
