"""Single sign-on from the organisation's own site: how its tokens are checked, and the tokens
already used (so a token signs in once)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, utcnow


class SsoSettings(Base):
    """One row when single sign-on is on: the algorithm the organisation signs with, and the
    key that checks it. HS256 needs the shared secret itself to verify (stored as webhook
    signing secrets are); RS256 and ES256 keep only the organisation's public key, or the URL
    of the key set (JWKS) it publishes, from which a token's `kid` picks the key."""

    __tablename__ = "sso_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "HS256", "RS256" or "ES256": the only algorithm a token may name.
    algorithm: Mapped[str] = mapped_column(sa.String(10))
    secret: Mapped[str | None] = mapped_column(sa.String(100))
    # PEM text of the organisation's public key (RS256 / ES256).
    public_key: Mapped[str | None] = mapped_column(sa.Text)
    # Where the organisation publishes its public keys as a JWKS (RS256 / ES256); fetched
    # through the address rules of portal/services/jwks.py, and cached per process.
    jwks_url: Mapped[str | None] = mapped_column(sa.String(2000))
    # The `aud` every token must name (what tells our tokens from the organisation's others).
    audience: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SsoTokenUse(Base):
    """A token's `jti`, kept until its `exp` so the same token cannot sign in twice."""

    __tablename__ = "sso_token_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(200), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
