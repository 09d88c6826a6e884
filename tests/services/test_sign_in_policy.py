"""The sign-in policy: who may sign in which way, the admin's command that sets it (refused for
a provider that is not enabled, audited), the console's break-glass, and how each person signs
in as the users page says it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Identity, Role, User
from portal.services import identity_providers, sign_in_policy
from portal.services.accounts import UNUSABLE_PASSWORD_PREFIX
from portal.services.errors import DomainError, NotAllowed
from portal.services.sign_in_policy import SignInRefused


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


def _github(admin: User) -> None:
    identity_providers.create_provider(
        admin,
        key="github",
        name="GitHub",
        kind="github",
        discovery_url="",
        client_id="id",
        client_secret="secret",
    )
    db.session.commit()


def _link(user: User, key: str, subject: str = "1") -> None:
    db.session.add(
        Identity(
            user_id=user.id, provider_key=key, issuer=f"https://{key}.example", subject=subject
        )
    )
    db.session.commit()


def test_by_default_everyone_signs_in_any_way_they_have(make_user: Callable[..., User]) -> None:
    customer, staff = make_user(), make_user(role=Role.STAFF)
    for person in (customer, staff):
        assert sign_in_policy.may_sign_in_with_password(person)
        assert sign_in_policy.may_sign_in_with_link(person)
        assert sign_in_policy.required_provider_for(person) is None
        sign_in_policy.check_password_sign_in(person)  # no refusal


def test_requiring_a_provider_refuses_staff_passwords_and_links_but_not_customers(
    admin: User, make_user: Callable[..., User]
) -> None:
    _github(admin)
    staff, customer = make_user(role=Role.STAFF), make_user()
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=True)
    db.session.commit()
    for person in (staff, admin):
        required = sign_in_policy.required_provider_for(person)
        assert required is not None and (required.key, required.name) == ("github", "GitHub")
        assert not sign_in_policy.may_sign_in_with_password(person)
        assert not sign_in_policy.may_sign_in_with_link(person)
        with pytest.raises(SignInRefused, match="Staff sign in through GitHub") as refused:
            sign_in_policy.check_password_sign_in(person)
        assert refused.value.provider == required
        with pytest.raises(SignInRefused, match="GitHub"):
            sign_in_policy.check_link_sign_in(person)
    assert sign_in_policy.may_sign_in_with_password(customer)
    assert sign_in_policy.may_sign_in_with_link(customer)


def test_staff_who_must_use_a_provider_are_refused_every_other_provider(
    admin: User, make_user: Callable[..., User]
) -> None:
    _github(admin)
    identity_providers.create_provider(
        admin,
        key="gitlab",
        name="GitLab",
        kind="github",
        discovery_url="",
        client_id="id",
        client_secret="secret",
    )
    db.session.commit()
    staff, customer = make_user(role=Role.STAFF), make_user()
    assert sign_in_policy.may_sign_in_with_provider(staff, "gitlab")
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=True)
    db.session.commit()
    assert sign_in_policy.may_sign_in_with_provider(staff, "github")
    sign_in_policy.check_provider_sign_in(staff, "github")
    assert not sign_in_policy.may_sign_in_with_provider(staff, "gitlab")
    with pytest.raises(SignInRefused, match="Staff sign in through GitHub"):
        sign_in_policy.check_provider_sign_in(staff, "gitlab")
    assert sign_in_policy.may_sign_in_with_provider(customer, "gitlab")


def test_customer_passwords_off_refuses_customers_password_but_not_staff(
    admin: User, make_user: Callable[..., User]
) -> None:
    staff, customer = make_user(role=Role.STAFF), make_user()
    sign_in_policy.set_policy(admin, staff_provider=None, customer_passwords=False)
    db.session.commit()
    assert not sign_in_policy.may_sign_in_with_password(customer)
    assert sign_in_policy.may_sign_in_with_link(customer)
    with pytest.raises(SignInRefused, match="Passwords are off for customers"):
        sign_in_policy.check_password_sign_in(customer)
    with pytest.raises(SignInRefused, match="Passwords are off for customers"):
        sign_in_policy.check_password_setting(customer)
    assert sign_in_policy.may_sign_in_with_password(staff)
    sign_in_policy.check_password_setting(staff)


def test_a_provider_that_is_not_enabled_cannot_be_required(admin: User) -> None:
    with pytest.raises(DomainError, match="“github” is not"):
        sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=True)
    _github(admin)
    row = identity_providers.provider_rows()[0]
    identity_providers.set_provider_enabled(admin, row.id, False)
    db.session.commit()
    with pytest.raises(DomainError, match="only be required to use a provider that is enabled"):
        sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=True)


def test_only_admins_set_the_policy(make_user: Callable[..., User]) -> None:
    with pytest.raises(NotAllowed):
        sign_in_policy.set_policy(
            make_user(role=Role.STAFF), staff_provider=None, customer_passwords=False
        )


def test_a_policy_change_is_audited_with_what_it_was(admin: User) -> None:
    _github(admin)
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=False)
    db.session.commit()
    # The same again changes nothing, and writes nothing.
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=False)
    db.session.commit()
    entries = list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "settings.sign_in_policy")
        )
    )
    assert len(entries) == 1
    assert entries[0].actor_id == admin.id
    assert entries[0].detail == {
        "before": {"staff_identity_provider": None, "customer_passwords": True},
        "staff_identity_provider": "github",
        "customer_passwords": False,
    }


def test_admins_without_an_identity_at_the_provider_are_named(
    admin: User, make_user: Callable[..., User]
) -> None:
    linked = make_user(role=Role.ADMIN, display_name="Lin Linked")
    _link(linked, "github")
    make_user(role=Role.STAFF)  # staff are not admins: not listed
    assert [u.display_name for u in sign_in_policy.admins_without_identity("github")] == [
        "Ada Admin"
    ]


def test_the_break_glass_clears_the_staff_provider_and_says_what_it_was(admin: User) -> None:
    _github(admin)
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=False)
    db.session.commit()
    policy, was = sign_in_policy.clear_staff_provider()
    db.session.commit()
    assert was == "github"
    assert policy.staff_provider is None and policy.customer_passwords is False
    assert sign_in_policy.may_sign_in_with_password(admin)
    last = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None and last.action == "settings.sign_in_policy"
    assert last.actor_id is None and last.detail["via"] == "command line"


def test_ways_in_name_passwords_providers_single_sign_on_and_links(
    admin: User, make_user: Callable[..., User]
) -> None:
    _github(admin)
    customer, staff = make_user(), make_user(role=Role.STAFF)
    contact = make_user()
    contact.password_hash = UNUSABLE_PASSWORD_PREFIX + "x"
    db.session.commit()
    _link(customer, "github", "7")
    _link(customer, "sso", "ext-7")
    ways = {
        k: [str(w) for w in v]
        for k, v in sign_in_policy.ways_in([customer, staff, contact]).items()
    }
    assert ways[customer.id] == ["password", "GitHub", "single sign-on", "email link"]
    assert ways[staff.id] == ["password", "email link"]
    assert ways[contact.id] == ["email link"]
    sign_in_policy.set_policy(admin, staff_provider="github", customer_passwords=False)
    db.session.commit()
    ways = {k: [str(w) for w in v] for k, v in sign_in_policy.ways_in([customer, staff]).items()}
    assert ways[customer.id] == [
        "password (off by the policy)",
        "GitHub",
        "single sign-on",
        "email link",
    ]
    assert ways[staff.id] == ["password (off by the policy)", "email link (off by the policy)"]
