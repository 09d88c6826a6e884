"""Who a single sign-on token names (portal/services/sso.py): the organisation's own id for the
customer (`external_id`, else `sub`) is kept as an Identity and finds them first, so their
address may change at the organisation; `plan`, `monthly_value` and `segment` set what they
are worth to staff, all checked before anything changes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import SITE_SSO_ISSUER, AuditEntry, Identity, Role, SsoTokenUse, User
from portal.services import sso
from portal.services.accounts import delete_account, hash_password
from portal.services.errors import NotAllowed

AUDIENCE = "https://feedback.example.org"


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "email": f"ada{secrets.token_hex(3)}@example.com",
        "name": "Ada Lovelace",
        "aud": AUDIENCE,
        "exp": now + timedelta(minutes=5),
        "jti": secrets.token_hex(16),
    }
    values.update(changes)
    return values


@pytest.fixture
def sign_in(make_user: Callable[..., User]) -> Callable[..., tuple[User, bool]]:
    """Sign in with a token carrying these claims, committed as a request would be."""
    secret = sso.use_shared_secret(make_user(role=Role.ADMIN), audience=AUDIENCE).secret
    db.session.commit()

    def go(**changes: Any) -> tuple[User, bool]:
        result = sso.sign_in_with_token(jwt.encode(claims(**changes), secret, "HS256"))
        db.session.commit()
        return result

    return go


def identities() -> list[Identity]:
    return list(db.session.scalars(sa.select(Identity).order_by(Identity.id)))


def users_named(email: str) -> int:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email))
        or 0
    )


def test_an_external_id_is_kept_as_the_customers_identity_with_the_sites_issuer(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    user, created = sign_in(email="ada@example.com", external_id="cus_123")
    assert created
    [identity] = identities()
    assert (identity.user_id, identity.issuer, identity.subject, identity.provider_key) == (
        user.id,
        SITE_SSO_ISSUER,
        "cus_123",
        "sso",
    )
    assert identity.email == "ada@example.com"
    assert identity.last_used_at is not None


def test_sub_stands_in_for_a_missing_external_id_and_numbers_count_as_text(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    sign_in(sub="user-7")
    sign_in(external_id=42)
    assert [identity.subject for identity in identities()] == ["user-7", "42"]


def test_a_returning_customer_is_found_by_external_id_and_their_new_address_follows(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    first, _ = sign_in(email="ada@old.example", external_id="cus_1")
    again, created = sign_in(email="Ada@New.example", external_id="cus_1")
    assert (again.id, created) == (first.id, False)
    db.session.expire_all()
    assert db.session.get(User, first.id).email == "ada@new.example"
    assert users_named("ada@old.example") == 0
    moved = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.email_changed_by_sso")
    )
    assert moved is not None
    assert (moved.detail["old"], moved.detail["new"]) == ("ada@old.example", "ada@new.example")
    assert len(identities()) == 1


def test_a_new_address_another_account_has_is_refused_and_nothing_changes(
    sign_in: Callable[..., tuple[User, bool]], make_user: Callable[..., User]
) -> None:
    first, _ = sign_in(email="ada@old.example", external_id="cus_1", plan="Pro")
    make_user(email="taken@example.com")
    token_count = db.session.scalar(sa.select(sa.func.count()).select_from(SsoTokenUse))
    with pytest.raises(sso.SsoRefused, match="another account here already has"):
        sign_in(email="taken@example.com", external_id="cus_1", plan="Enterprise")
    db.session.rollback()
    db.session.expire_all()
    kept = db.session.get(User, first.id)
    assert (kept.email, kept.plan) == ("ada@old.example", "Pro")
    # The refused token was not even spent: the request's work was rolled back whole.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SsoTokenUse)) == token_count


def test_an_existing_customer_found_by_address_gets_the_external_id_linked(
    sign_in: Callable[..., tuple[User, bool]], make_user: Callable[..., User]
) -> None:
    customer = make_user(email="grace@example.com")
    user, created = sign_in(email="grace@example.com", external_id="cus_9")
    assert (user.id, created) == (customer.id, False)
    [identity] = identities()
    assert (identity.user_id, identity.subject) == (customer.id, "cus_9")
    # And next time the id finds them whatever address the organisation gives.
    again, _ = sign_in(email="grace.hopper@example.com", external_id="cus_9")
    assert again.id == customer.id


def test_an_address_whose_account_belongs_to_another_external_id_is_refused(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    owner, _ = sign_in(email="shared@example.com", external_id="cus_1")
    with pytest.raises(sso.SsoRefused, match="belongs to another person"):
        sign_in(email="shared@example.com", external_id="cus_2")
    db.session.rollback()
    assert [(i.user_id, i.subject) for i in identities()] == [(owner.id, "cus_1")]


def test_a_token_without_an_external_id_still_finds_the_customer_by_address(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    first, _ = sign_in(email="ada@example.com", external_id="cus_1")
    again, created = sign_in(email="ada@example.com")
    assert (again.id, created) == (first.id, False)


def test_an_identity_whose_account_became_staff_never_signs_staff_in(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    user, _ = sign_in(email="ada@example.com", external_id="cus_1")
    user.role = Role.STAFF
    db.session.commit()
    with pytest.raises(sso.SsoNotForStaff):
        sign_in(email="someone.else@example.com", external_id="cus_1")


def test_an_identity_whose_account_is_closed_signs_nobody_in(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    user, _ = sign_in(external_id="cus_1")
    user.active = False
    db.session.commit()
    with pytest.raises(NotAllowed):
        sign_in(external_id="cus_1")


@pytest.mark.parametrize("external_id", ["", "   ", "x" * 256, ["cus_1"], {"id": 1}, True])
def test_an_external_id_that_is_not_short_text_is_refused(
    sign_in: Callable[..., tuple[User, bool]], external_id: object
) -> None:
    wanted = f"x{secrets.token_hex(3)}@example.com"
    with pytest.raises(sso.SsoRefused, match="external_id"):
        sign_in(email=wanted, external_id=external_id)
    db.session.rollback()
    assert users_named(wanted) == 0


# Attributes --------------------------------------------------------------------------------


def test_plan_monthly_value_and_segment_set_the_customers_value(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    user, _ = sign_in(plan=" Enterprise ", monthly_value=1234.56, segment="EMEA")
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.plan, user.monthly_value_cents, user.segment) == ("Enterprise", 123456, "EMEA")
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.created_by_sso")
    )
    assert entry is not None
    assert entry.detail["attributes"] == "monthly_value, plan, segment"


def test_claims_left_out_keep_their_values_and_null_clears_one(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    user, _ = sign_in(email="ada@example.com", plan="Pro", monthly_value=99, segment="SMB")
    sign_in(email="ada@example.com", segment=None)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.plan, user.monthly_value_cents, user.segment) == ("Pro", 9900, None)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("plan", "P" * 81),
        ("plan", 3),
        ("plan", "Pro\nEnterprise"),
        ("segment", "EMEA\u202e"),
        ("segment", ["EMEA"]),
        ("monthly_value", -1),
        ("monthly_value", "99"),
        ("monthly_value", True),
        ("monthly_value", 1e12),
        ("monthly_value", float("inf")),
    ],
)
def test_a_bad_attribute_refuses_the_token_and_changes_nothing(
    sign_in: Callable[..., tuple[User, bool]], claim: str, value: object
) -> None:
    user, _ = sign_in(email="ada@example.com", external_id="cus_1", plan="Pro", segment="SMB")
    with pytest.raises(sso.SsoRefused, match=claim):
        # Good values beside the bad one are not applied either.
        sign_in(
            email="ada@new.example",
            external_id="cus_1",
            **{"plan": "Enterprise", "segment": "EMEA", claim: value},
        )
    db.session.rollback()
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.email, user.plan, user.segment) == ("ada@example.com", "Pro", "SMB")


def test_a_staff_address_stays_refused_whatever_the_attributes(
    sign_in: Callable[..., tuple[User, bool]], make_user: Callable[..., User]
) -> None:
    staff = make_user(email="staff@example.com", role=Role.STAFF)
    with pytest.raises(sso.SsoNotForStaff):
        sign_in(email="staff@example.com", external_id="emp_1", plan="Enterprise")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(User, staff.id).plan is None
    assert identities() == []


def test_a_customer_who_deleted_their_account_comes_back_as_a_new_account(
    sign_in: Callable[..., tuple[User, bool]],
) -> None:
    first, _ = sign_in(email="ada@example.com", external_id="cus_1")
    first.password_hash = hash_password("correct horse battery")
    db.session.commit()
    delete_account(first, "correct horse battery")
    db.session.commit()
    again, created = sign_in(email="ada@example.com", external_id="cus_1")
    assert created and again.id != first.id
    assert [(i.user_id, i.subject) for i in identities()] == [(again.id, "cus_1")]
