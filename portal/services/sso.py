"""Single sign-on from the organisation's own site: its server signs a short-lived JWT naming
a customer (email, name, optional external id); posted to /sso, it signs them in, making their
account the first time. Only the one configured algorithm is accepted (so `alg: none` and an
RS256 public key used as an HS256 secret are refused), the audience must be ours, a token
lives at most ten minutes and signs in once (its `jti` is kept until it expires).

PyJWT checks the signature, `exp`, `nbf` and `aud`; the rules that are ours are here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.database import rows_changed
from portal.extensions import db
from portal.models import Role, SsoSettings, SsoTokenUse, User
from portal.services import events
from portal.services.accounts import (
    UNUSABLE_PASSWORD_PREFIX,
    _checked_name,
    find_user_by_email,
    normalise_email,
)
from portal.services.errors import DomainError, NotAllowed
from portal.services.wording import t

# The longest a token may live: the organisation signs it just before the browser posts it.
LONGEST_LIFETIME = timedelta(minutes=10)
# Clocks differ a little between the organisation's server and ours.
LEEWAY = timedelta(seconds=30)
SECRET_PREFIX = "ssosec_"


class SsoAlgorithm(StrEnum):
    """The algorithms the organisation may sign with: one shared secret, or a key pair."""

    HS256 = "HS256"
    RS256 = "RS256"
    ES256 = "ES256"


class SsoRefused(DomainError):
    """A token that does not sign anyone in: forged, expired, used, or not for us."""

    status_code = 400


class SsoNotForStaff(NotAllowed):
    """The token names a member of staff: they sign in with their password, never by SSO."""


@dataclass(frozen=True)
class NewSsoSecret:
    """The settings with the shared secret just made for them (shown to the admin this once)."""

    settings: SsoSettings
    secret: str


def current_settings() -> SsoSettings | None:
    """The single sign-on settings, or None while it is off."""
    return db.session.scalar(sa.select(SsoSettings).order_by(SsoSettings.id).limit(1))


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed(t("Only an admin can change single sign-on."))


def _replace_settings(settings: SsoSettings) -> SsoSettings:
    db.session.execute(sa.delete(SsoSettings))
    db.session.add(settings)
    db.session.flush()
    return settings


def use_shared_secret(actor: User, *, audience: str) -> NewSsoSecret:
    """Turn single sign-on on with HS256 and a new shared secret, returned once; a secret
    made before stops working."""
    _require_admin(actor)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    settings = _replace_settings(
        SsoSettings(
            algorithm=SsoAlgorithm.HS256, secret=secret, audience=_checked_audience(audience)
        )
    )
    events.emit(events.SsoConfigured(settings, actor))
    return NewSsoSecret(settings, secret)


def use_public_key(
    actor: User, *, algorithm: SsoAlgorithm, public_key: str, audience: str
) -> SsoSettings:
    """Turn single sign-on on with RS256 or ES256 and the organisation's public key (PEM)."""
    _require_admin(actor)
    if algorithm is SsoAlgorithm.HS256:
        raise DomainError(t("HS256 uses a shared secret, not a public key."))
    key = public_key.strip()
    try:
        jwt.get_algorithm_by_name(algorithm).prepare_key(key)
    except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise DomainError(
            t("That is not a public key for %(algorithm)s in PEM form.", algorithm=algorithm)
        ) from exc
    if "PRIVATE KEY" in key:
        raise DomainError(t("Paste the public key only; the private key stays with you."))
    settings = _replace_settings(
        SsoSettings(algorithm=algorithm, public_key=key, audience=_checked_audience(audience))
    )
    events.emit(events.SsoConfigured(settings, actor))
    return settings


def _checked_audience(audience: str) -> str:
    audience = audience.strip()
    if not audience or len(audience) > 200:
        raise DomainError(t("Give the audience your tokens will name, up to 200 characters."))
    return audience


def _claims(token: str, settings: SsoSettings, now: datetime) -> dict[str, Any]:
    key = settings.secret if settings.algorithm == SsoAlgorithm.HS256 else settings.public_key
    if not key:
        raise SsoRefused(t("Single sign-on is not turned on for this site."))
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise SsoRefused(t("That sign-in token is not one we can read.")) from exc
    # Only the configured algorithm: a token saying "none", or HS256 signed with our public
    # key as its secret, is refused before any key is used.
    if header.get("alg") != settings.algorithm:
        raise SsoRefused(t("That sign-in token is not signed the way this site expects."))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[settings.algorithm],
            audience=settings.audience,
            leeway=LEEWAY,
            options={"require": ["exp", "jti", "aud", "email"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise SsoRefused(t("That sign-in token has expired. Please sign in again.")) from exc
    except jwt.ImmatureSignatureError as exc:
        raise SsoRefused(t("That sign-in token is not valid yet.")) from exc
    except jwt.InvalidAudienceError as exc:
        raise SsoRefused(t("That sign-in token is meant for another site.")) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise SsoRefused(t("That sign-in token lacks something it needs.")) from exc
    except jwt.InvalidSignatureError as exc:
        raise SsoRefused(t("That sign-in token's signature is wrong.")) from exc
    except jwt.InvalidTokenError as exc:
        raise SsoRefused(t("That sign-in token is not one we can read.")) from exc
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    if expires - now > LONGEST_LIFETIME + LEEWAY:
        raise SsoRefused(t("That sign-in token lives too long: at most ten minutes."))
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 200:
        raise SsoRefused(t("That sign-in token lacks something it needs."))
    return claims


def _remember_use(jti: str, expires: datetime) -> None:
    db.session.add(SsoTokenUse(jti=jti, expires_at=expires))
    try:
        # A savepoint, so the same token posted twice at once fails cleanly on the unique jti.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise SsoRefused(t("That sign-in token has been used already.")) from exc


def sign_in_with_token(token: str, now: datetime | None = None) -> tuple[User, bool]:
    """The customer a genuine, fresh, unused token names, made the first time (their address
    verified: the organisation vouches for it), and whether the account is new. Raises
    SsoRefused for any token that fails a check, SsoNotForStaff for a staff address."""
    now = now or datetime.now(UTC)
    settings = current_settings()
    if settings is None:
        raise SsoRefused(t("Single sign-on is not turned on for this site."))
    claims = _claims(token, settings, now)
    email = claims["email"]
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SsoRefused(t("That sign-in token does not carry an email address."))
    email = normalise_email(email)
    _remember_use(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    user = find_user_by_email(email)
    if user is not None:
        if user.role is not Role.CUSTOMER:
            raise SsoNotForStaff(
                t(
                    "This address belongs to a member of staff, who signs in here with "
                    "their password, never through the organisation's site."
                )
            )
        if not user.is_active:
            raise NotAllowed(t("This account is closed."))
        if user.verified_at is None:
            user.verified_at = now
        db.session.flush()
        events.emit(events.SignedInWithSso(user, created=False))
        return user, False
    name = claims.get("name")
    # The same name rule as registration; an address's first part when the token names no one.
    name = name.strip() if isinstance(name, str) else ""
    display_name = _checked_name((name or email.split("@")[0])[:80], "")
    user = User(
        email=email,
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16),
        display_name=display_name,
        preferred_name=display_name,
        role=Role.CUSTOMER,
        verified_at=now,
    )
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise SsoRefused(t("Please try signing in again.")) from exc
    events.emit(events.SignedInWithSso(user, created=True))
    return user, True


def prune_used_tokens(now: datetime | None = None) -> int:
    """Forget used tokens past their expiry (they would be refused as expired anyway)."""
    cutoff = (now or datetime.now(UTC)) - LEEWAY
    return rows_changed(
        db.session.execute(
            sa.delete(SsoTokenUse)
            .where(SsoTokenUse.expires_at < cutoff)
            .execution_options(synchronize_session="fetch")
        )
    )
