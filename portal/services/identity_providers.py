"""The identity providers people may sign in through: those from the environment
(PORTAL_IDENTITY_PROVIDERS, JSON) and those an admin set up (IdentityProvider rows), each by
its key. A key from the environment wins over a row with the same key, so a deployment's own
settings cannot be overridden from the admin pages."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.models import IdentityProvider
from portal.services import environment

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
