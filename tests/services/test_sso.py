"""Single sign-on tokens (portal/services/sso.py): who they sign in, the rules a token must
keep, and the used tokens forgotten once they expire."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from portal.extensions import db
from portal.models import AuditEntry, Role, SsoTokenUse, User
from portal.services import sso
from portal.services.accounts import has_usable_password
from portal.services.errors import DomainError, NotAllowed

AUDIENCE = "https://feedback.example.org"


def claims(**changes: Any) -> dict[str, Any]:
    """What the organisation's server signs: a customer, for us, for a few minutes."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "email": f"ada{secrets.token_hex(3)}@example.com",
        "name": "Ada Lovelace",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": secrets.token_hex(16),
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


@pytest.fixture
def shared_secret(make_user: Callable[..., User]) -> str:
    admin = make_user(role=Role.ADMIN)
    made = sso.use_shared_secret(admin, audience=AUDIENCE)
    db.session.commit()
    return made.secret


def test_a_good_token_makes_a_verified_customer_without_a_password(shared_secret: str) -> None:
    wanted = claims()
    user, created = sso.sign_in_with_token(jwt.encode(wanted, shared_secret, "HS256"))
    assert created
    assert user.email == wanted["email"]
    assert user.display_name == wanted["name"]
    assert user.role is Role.CUSTOMER
    assert user.verified_at is not None
    assert not has_usable_password(user)
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert "user.created_by_sso" in actions


def test_a_token_for_a_known_customer_signs_them_in_and_verifies_their_address(
    shared_secret: str, make_user: Callable[..., User]
) -> None:
    customer = make_user(email="grace@example.com")
    assert customer.verified_at is None
    user, created = sso.sign_in_with_token(
        jwt.encode(claims(email="Grace@Example.com"), shared_secret, "HS256")
    )
    assert (user.id, created) == (customer.id, False)
    assert user.verified_at is not None


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_a_token_for_a_staff_address_never_signs_staff_in(
    shared_secret: str, make_user: Callable[..., User], role: Role
) -> None:
    make_user(email="staff@example.com", role=role)
    with pytest.raises(sso.SsoNotForStaff):
        sso.sign_in_with_token(
            jwt.encode(claims(email="staff@example.com"), shared_secret, "HS256")
        )


def test_a_name_breaking_the_name_rule_is_refused_as_registration_refuses_it(
    shared_secret: str,
) -> None:
    with pytest.raises(DomainError):
        sso.sign_in_with_token(jwt.encode(claims(name="Ada\u202eLovelace"), shared_secret, "HS256"))


def test_a_token_living_longer_than_ten_minutes_is_refused(shared_secret: str) -> None:
    later = datetime.now(UTC) + sso.LONGEST_LIFETIME + timedelta(minutes=5)
    with pytest.raises(sso.SsoRefused):
        sso.sign_in_with_token(jwt.encode(claims(exp=later), shared_secret, "HS256"))


@pytest.mark.parametrize("missing", ["jti", "exp", "aud", "email"])
def test_a_token_without_a_required_claim_is_refused(shared_secret: str, missing: str) -> None:
    token = jwt.encode({k: v for k, v in claims().items() if k != missing}, shared_secret)
    with pytest.raises(sso.SsoRefused):
        sso.sign_in_with_token(token)


def test_nothing_signs_in_while_single_sign_on_is_off() -> None:
    with pytest.raises(sso.SsoRefused):
        sso.sign_in_with_token(jwt.encode(claims(), "whatever-secret-of-32-bytes-long!"))


def test_es256_with_a_pasted_public_key_signs_in(make_user: Callable[..., User]) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sso.use_public_key(
        make_user(role=Role.ADMIN),
        algorithm=sso.SsoAlgorithm.ES256,
        public_key=public_pem,
        audience=AUDIENCE,
    )
    user, created = sso.sign_in_with_token(jwt.encode(claims(), private, "ES256"))
    assert created and user.verified_at is not None


def test_only_an_admin_turns_single_sign_on_on(make_user: Callable[..., User]) -> None:
    with pytest.raises(NotAllowed):
        sso.use_shared_secret(make_user(role=Role.STAFF), audience=AUDIENCE)


def test_a_private_key_or_nonsense_is_refused_as_the_public_key(
    make_user: Callable[..., User],
) -> None:
    admin = make_user(role=Role.ADMIN)
    private_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    for pasted in (private_pem, "not a key"):
        with pytest.raises(DomainError):
            sso.use_public_key(
                admin, algorithm=sso.SsoAlgorithm.ES256, public_key=pasted, audience=AUDIENCE
            )


def test_used_tokens_are_forgotten_once_expired_and_not_before() -> None:
    now = datetime.now(UTC)
    for minutes in (-5, 5):
        db.session.add(
            SsoTokenUse(
                jti=hashlib.sha256(str(minutes).encode()).hexdigest(),
                expires_at=now + timedelta(minutes=minutes),
            )
        )
    db.session.commit()
    assert sso.prune_used_tokens(now) == 1
    left = list(db.session.scalars(sa.select(SsoTokenUse)))
    assert len(left) == 1
    assert left[0].expires_at > now


def test_the_prune_sessions_command_forgets_expired_sign_on_tokens_too(app) -> None:
    now = datetime.now(UTC)
    db.session.add(SsoTokenUse(jti="gone", expires_at=now - timedelta(minutes=5)))
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["prune-sessions"]).output
    assert "Used sign-on tokens forgotten (expired): 1." in output
    db.session.expire_all()
    assert db.session.scalars(sa.select(SsoTokenUse)).all() == []


def test_a_token_for_a_closed_account_signs_nobody_in(
    shared_secret: str, make_user: Callable[..., User]
) -> None:
    closed = make_user(email="gone@example.com")
    closed.active = False
    db.session.commit()
    with pytest.raises(NotAllowed):
        sso.sign_in_with_token(jwt.encode(claims(email="gone@example.com"), shared_secret))


def test_a_token_signed_with_another_algorithm_than_the_chosen_one_is_refused(
    shared_secret: str,
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(sso.SsoRefused):
        sso.sign_in_with_token(jwt.encode(claims(), private, "ES256"))
