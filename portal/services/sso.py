"""Single sign-on from the organisation's own site: its server signs a short-lived JWT naming
a customer (email, name, optional external id and attributes); posted to /sso, it signs them
in, making their account the first time. Only the one configured algorithm is accepted (so
`alg: none` and an RS256 public key used as an HS256 secret are refused), the audience must be
ours, a token lives at most ten minutes and signs in once (its `jti` is kept until it expires).
The key is a shared secret, a pasted public key, or the organisation's key set (JWKS) at a URL,
of which the token's `kid` names one (portal/services/jwks.py fetches and caches it).

The token's `external_id` (or else its `sub`) is kept as the account's Identity with the
site's issuer: a returning customer is found by it first, so their address may change at the
organisation and follows here; then by address. `plan`, `monthly_value` and `segment` set the
customer's value for staff. Every claim is checked before anything changes.

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
from portal.models import SITE_SSO_ISSUER, Identity, Role, SsoSettings, SsoTokenUse, User
from portal.services import customer_value, events, jwks
from portal.services.accounts import (
    find_user_by_email,
    new_verified_account,
    normalise_email,
)
from portal.services.errors import DomainError, NotAllowed
from portal.services.wording import t

# The longest a token may live: the organisation signs it just before the browser posts it.
LONGEST_LIFETIME = timedelta(minutes=10)
# Clocks differ a little between the organisation's server and ours.
LEEWAY = timedelta(seconds=30)
SECRET_PREFIX = "ssosec_"
# The provider key an Identity made by single sign-on carries.
PROVIDER_KEY = "sso"


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


def use_jwks_url(
    actor: User, *, algorithm: SsoAlgorithm, jwks_url: str, audience: str
) -> SsoSettings:
    """Turn single sign-on on with RS256 or ES256 and the key set the organisation publishes
    at a URL (fetched now, once: a URL that does not answer a key set holding a key for the
    algorithm is refused, saying why)."""
    _require_admin(actor)
    if algorithm is SsoAlgorithm.HS256:
        raise DomainError(t("HS256 uses a shared secret, not published keys."))
    audience = _checked_audience(audience)
    url = jwks.check_url(jwks_url)
    keys = jwks.fetch_keys(url, algorithm)
    settings = _replace_settings(SsoSettings(algorithm=algorithm, jwks_url=url, audience=audience))
    jwks.remember(url, algorithm, keys)
    events.emit(events.SsoConfigured(settings, actor))
    return settings


def _checked_audience(audience: str) -> str:
    audience = audience.strip()
    if not audience or len(audience) > 200:
        raise DomainError(t("Give the audience your tokens will name, up to 200 characters."))
    return audience


def _published_key(settings: SsoSettings, header: dict[str, Any]) -> jwt.PyJWK:
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 200:
        raise SsoRefused(t("That sign-in token does not name its key (kid)."))
    try:
        return jwks.signing_key(settings.jwks_url or "", settings.algorithm, kid)
    except jwks.KeyNotFound as exc:
        raise SsoRefused(
            t("That sign-in token names a key (kid) your organisation does not publish.")
        ) from exc
    except jwks.JwksRefused as exc:
        raise SsoRefused(
            t("We could not fetch your organisation's keys to check the token just now.")
        ) from exc


def _claims(token: str, settings: SsoSettings, now: datetime) -> dict[str, Any]:
    key: str | jwt.PyJWK | None = (
        settings.secret if settings.algorithm == SsoAlgorithm.HS256 else settings.public_key
    )
    if not key and not settings.jwks_url:
        raise SsoRefused(t("Single sign-on is not turned on for this site."))
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise SsoRefused(t("That sign-in token is not one we can read.")) from exc
    # Only the configured algorithm: a token saying "none", or HS256 signed with our public
    # key as its secret, is refused before any key is used.
    if header.get("alg") != settings.algorithm:
        raise SsoRefused(t("That sign-in token is not signed the way this site expects."))
    if settings.jwks_url and settings.algorithm != SsoAlgorithm.HS256:
        key = _published_key(settings, header)
    assert key is not None
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


def _attributes(claims: dict[str, Any]) -> dict[str, object]:
    """The customer-value claims the token carries (plan, monthly_value, segment; only those
    present change anything), checked before any is applied, by customer value's one rule
    (services/customer_value.py), so a bad one refuses the token rather than half-applying."""
    changes = {name: claims[name] for name in customer_value.FIELDS if name in claims}
    for name, value in changes.items():
        # JSON's own types: a number is no text, text no number (the pages take typed text).
        wanted = (int, float) if name == "monthly_value" else (str,)
        if value is not None and (isinstance(value, bool) or not isinstance(value, wanted)):
            raise SsoRefused(
                t(
                    "That sign-in token's %(claim)s must be %(kind)s.",
                    claim=name,
                    kind=t("a number") if name == "monthly_value" else t("text"),
                )
            )
    try:
        customer_value.checked_value(
            changes.get("plan"), changes.get("monthly_value"), changes.get("segment")
        )
    except customer_value.InvalidCustomerValue as exc:
        claim, problem = next(iter(exc.fields.items()))
        raise SsoRefused(
            t(
                "That sign-in token's %(claim)s cannot be kept: %(problem)s",
                claim=claim,
                problem=problem,
            )
        ) from exc
    return changes


def _external_id(claims: dict[str, Any]) -> str | None:
    """The organisation's own id for the customer: `external_id`, else `sub`, else None."""
    value = claims.get("external_id")
    if value is None:
        value = claims.get("sub")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 255:
        raise SsoRefused(t("That sign-in token's external_id must be text of 1 to 255 characters."))
    return value.strip()


def _identity(external_id: str) -> Identity | None:
    return db.session.scalar(
        sa.select(Identity).where(
            Identity.issuer == SITE_SSO_ISSUER, Identity.subject == external_id
        )
    )


def _site_identity_of(user: User) -> Identity | None:
    return db.session.scalar(
        sa.select(Identity).where(Identity.issuer == SITE_SSO_ISSUER, Identity.user_id == user.id)
    )


def _refuse_staff_or_closed(user: User) -> None:
    if user.role is not Role.CUSTOMER:
        raise SsoNotForStaff(
            t(
                "This address belongs to a member of staff, who signs in here with "
                "their password, never through the organisation's site."
            )
        )
    if not user.is_active:
        raise NotAllowed(t("This account is closed."))


def _flush_or_refuse() -> None:
    try:
        # A savepoint, so two first sign-ins at once fail cleanly on a unique index.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise SsoRefused(t("Please try signing in again.")) from exc


def sign_in_with_token(token: str, now: datetime | None = None) -> tuple[User, bool]:
    """The customer a genuine, fresh, unused token names, made the first time (their address
    verified: the organisation vouches for it), and whether the account is new. Found by the
    token's external id first (their address follows the organisation's), then by address.
    Raises SsoRefused for any token that fails a check, SsoNotForStaff for a staff address."""
    now = now or datetime.now(UTC)
    settings = current_settings()
    if settings is None:
        raise SsoRefused(t("Single sign-on is not turned on for this site."))
    claims = _claims(token, settings, now)
    email = claims["email"]
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SsoRefused(t("That sign-in token does not carry an email address."))
    email = normalise_email(email)
    external_id = _external_id(claims)
    attributes = _attributes(claims)
    _remember_use(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))

    identity = _identity(external_id) if external_id is not None else None
    user = db.session.get(User, identity.user_id) if identity is not None else None
    if identity is not None and (user is None or user.deleted_at is not None):
        # The customer deleted their account here: the link went with it, and coming back
        # makes a new account, as it would for their (anonymised) address.
        db.session.delete(identity)
        db.session.flush()
        identity = user = None
    old_email: str | None = None
    if user is not None:
        _refuse_staff_or_closed(user)
        if normalise_email(user.email) != email:
            holder = find_user_by_email(email)
            if holder is not None and holder.id != user.id:
                raise SsoRefused(
                    t(
                        "Your organisation now gives you an address another account here "
                        "already has, so we cannot move your account to it. Please ask "
                        "the organisation for help."
                    )
                )
            old_email, user.email = user.email, email
    else:
        user = find_user_by_email(email)
        if user is not None:
            _refuse_staff_or_closed(user)
            linked = _site_identity_of(user) if external_id is not None else None
            if linked is not None:
                # The address's account is someone else at the organisation (another id):
                # linking it to this id too would hand one person's account to another.
                raise SsoRefused(
                    t(
                        "The account with this address belongs to another person at your "
                        "organisation. Please ask the organisation for help."
                    )
                )
    created = user is None
    if user is None:
        name = claims.get("name")
        user = new_verified_account(
            email, name if isinstance(name, str) else "", Role.CUSTOMER, now
        )
    if user.verified_at is None or old_email is not None:
        user.verified_at = now
    _flush_or_refuse()
    if attributes:
        customer_value.change_customer_value(None, user, attributes, via="sso")
    if external_id is not None:
        if identity is None:
            identity = Identity(
                user_id=user.id,
                provider_key=PROVIDER_KEY,
                issuer=SITE_SSO_ISSUER,
                subject=external_id,
                email=email,
                created_at=now,
            )
            db.session.add(identity)
        identity.last_used_at = now
        _flush_or_refuse()
    events.emit(
        events.SignedInWithSso(
            user,
            created=created,
            old_email=old_email,
            attributes=tuple(sorted(attributes)),
        )
    )
    return user, created


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
