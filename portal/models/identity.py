"""Ways in from outside: the identity providers a site trusts (OpenID Connect issuers and
GitHub), and the identities linked to each account.

An identity is a provider's issuer and its subject for the person (`iss` + `sub`), never an
email address alone: an address can change hands at a provider, a subject cannot.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow

# The issuer recorded for identities vouched for by the organisation's own site through
# single sign-on (portal/services/sso.py): its `sub` or external id is the subject.
SITE_SSO_ISSUER = "urn:portal:site-sso"


class IdentityProvider(Base):
    """A provider set up in the admin pages (those from the environment are not rows).

    `key` names it in addresses (/sign-in/<key>) and never changes; `kind` is "oidc" (found
    by its discovery document) or "github" (OAuth 2 without OpenID Connect). The client
    secret is kept as webhook secrets are: it must be sent to the provider as it is."""

    __tablename__ = "identity_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(10), default="oidc")
    # The issuer's discovery document (…/.well-known/openid-configuration); None for GitHub.
    discovery_url: Mapped[str | None] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    client_secret: Mapped[str] = mapped_column(sa.String(500))
    scopes: Mapped[str] = mapped_column(sa.String(255), default="openid email profile")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    """One account's link to one identity at a provider."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The provider's key when it signed in through one (for the account page's name of it);
    # "sso" for the organisation's own site.
    provider_key: Mapped[str] = mapped_column(sa.String(40))
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # The address the provider gave when the link was made, shown to the person beside it.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
