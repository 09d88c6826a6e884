"""API tokens: create one (its plain text is shown once), check a presented one, revoke, list.

Only a sha256 hash of each token is stored. Tokens are long random strings, so a fast hash is
enough (there is nothing to brute-force); lookup is by hash, then compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import ApiToken, TokenScope, User
from portal.services import events
from portal.services.admin import require_active_admin
from portal.services.errors import DomainError, NotFound
from portal.services.wording import t, tn

TOKEN_PREFIX = "pt_"
PREFIX_LENGTH = 8
MAX_NAME_LENGTH = 80
# last_used_at is bookkeeping: writing it on every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just created: the stored row and the plain text, which is never shown again."""

    token: ApiToken
    plain: str


def hash_token(plain: str) -> str:
    """The sha256 hex digest stored for a token."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _require_admin(actor: User) -> None:
    require_active_admin(actor, t("Only admins manage API tokens."))


def create_token(actor: User, *, name: str, scope: TokenScope | str) -> NewToken:
    """Create a token for an integration; the plain token is returned once and never stored."""
    _require_admin(actor)
    name = " ".join(name.split())
    if not name:
        raise DomainError(t("Give the token a name that says which system uses it."))
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            tn(
                "Keep the name to %(num)d character.",
                "Keep the name to %(num)d characters.",
                MAX_NAME_LENGTH,
            )
        )
    try:
        scope = TokenScope(scope)
    except ValueError as exc:
        raise DomainError(t("Choose read or write access.")) from exc
    # One live token per name: the list stays readable, and reloading the page that showed a
    # new token (which sends its form again) does not leave a second, unseen one behind.
    in_use = db.session.scalar(
        sa.select(ApiToken.id).where(
            sa.func.lower(ApiToken.name) == name.lower(), ApiToken.revoked_at.is_(None)
        )
    )
    if in_use is not None:
        raise DomainError(
            t(
                "A token called \u201c%(name)s\u201d is already in use. Give this one another "
                "name, or revoke that one first.",
                name=name,
            )
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        prefix=plain[:PREFIX_LENGTH],
        token_hash=hash_token(plain),
        scope=scope,
        created_by_id=actor.id,
    )
    db.session.add(token)
    db.session.flush()
    events.emit(events.ApiTokenCreated(token, actor))
    return NewToken(token=token, plain=plain)


def authenticate(presented: str) -> ApiToken | None:
    """The active token matching what a caller presented, or None (unknown or revoked)."""
    if not presented or len(presented) > 200:
        return None
    digest = hash_token(presented)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup already matched; the constant-time comparison keeps the check itself free of
    # timing differences whatever the database's index does.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if not token.active:
        return None
    return token


def touch(token: ApiToken) -> bool:
    """Record that a token was used (at most once a minute). True when the row changed."""
    now = datetime.now(UTC)
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    db.session.flush()
    return True


def revoke(actor: User, token_id: int) -> ApiToken:
    """Revoke a token for good: requests presenting it are refused from now on."""
    _require_admin(actor)
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(t("There is no such API token."))
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        events.emit(events.ApiTokenRevoked(token, actor))
        db.session.flush()
    return token


def list_tokens() -> list[ApiToken]:
    """Every token, active ones first, newest first, with who created it."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .options(joinedload(ApiToken.created_by))
            .order_by(
                ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()
            )
        )
    )
