"""Identities at sign-in providers (portal/services/identities.py): who a provider's sign-in
signs in, when a new identity links to an existing account, and that an account keeps a
way in."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Identity, Invitation, OutboxMessage, Role, User
from portal.services import identities, invitations
from portal.services.accounts import has_usable_password, set_password
from portal.services.environment import Settings
from portal.services.errors import DomainError, NotAllowed
from portal.services.oidc import Assertion, SignInRefused
from portal.services.site import get_site_settings
from tests.conftest import TEST_PASSWORD

ISSUER = "https://id.example.org"


def said(**changes: object) -> Assertion:
    """What a provider says of someone: a new subject, a verified address."""
    values: dict[str, object] = {
        "provider_key": "corp",
        "issuer": ISSUER,
        "subject": secrets.token_hex(8),
        "email": f"sam{secrets.token_hex(3)}@example.com",
        "email_verified": True,
        "name": "Sam Provider",
    }
    values.update(changes)
    return Assertion(**values)  # type: ignore[arg-type]


def actions() -> set[str]:
    return set(db.session.scalars(sa.select(AuditEntry.action)))


def test_a_new_identity_with_a_verified_address_makes_a_verified_customer_without_password() -> (
    None
):
    assertion = said()
    outcome = identities.sign_in_with_identity(assertion)
    assert isinstance(outcome, identities.SignedIn)
    assert outcome.created
    user = outcome.user
    assert user.email == assertion.email
    assert user.display_name == "Sam Provider"
    assert user.role is Role.CUSTOMER
    assert user.verified_at is not None
    assert not has_usable_password(user)
    (linked,) = identities.identities_of(user)
    assert (linked.issuer, linked.subject) == (ISSUER, assertion.subject)
    assert {"user.created_by_provider", "user.identity_linked"} <= actions()


def test_a_known_identity_signs_its_account_in_whatever_address_it_now_gives() -> None:
    first = said()
    user = identities.sign_in_with_identity(first)
    assert isinstance(user, identities.SignedIn)
    db.session.commit()
    # The address changed at the provider (and is not even verified there now): the subject
    # is who it is.
    again = said(subject=first.subject, email="someone.else@example.com", email_verified=False)
    outcome = identities.sign_in_with_identity(again)
    assert isinstance(outcome, identities.SignedIn)
    assert outcome.user.id == user.user.id
    assert not outcome.created
    assert "user.signed_in_by_provider" in actions()


def test_the_same_subject_at_another_issuer_is_another_identity() -> None:
    first = identities.sign_in_with_identity(said(subject="42"))
    other = identities.sign_in_with_identity(said(subject="42", issuer="https://other.example"))
    assert isinstance(first, identities.SignedIn) and isinstance(other, identities.SignedIn)
    assert first.user.id != other.user.id


def test_a_new_identity_links_to_the_customer_with_its_verified_address(
    make_user: Callable[..., User],
) -> None:
    customer = make_user(email="kim@example.com")
    outcome = identities.sign_in_with_identity(said(email="Kim@Example.com"))
    assert isinstance(outcome, identities.SignedIn)
    assert outcome.user.id == customer.id
    assert not outcome.created
    assert customer.verified_at is not None
    assert [i.email for i in identities.identities_of(customer)] == ["kim@example.com"]


def test_an_unverified_address_neither_links_nor_makes_an_account(
    make_user: Callable[..., User],
) -> None:
    customer = make_user(email="kim@example.com")
    with pytest.raises(SignInRefused, match="not confirmed"):
        identities.sign_in_with_identity(said(email="kim@example.com", email_verified=False))
    with pytest.raises(SignInRefused, match="not confirmed"):
        identities.sign_in_with_identity(said(email="new@example.com", email_verified=False))
    db.session.rollback()
    assert identities.identities_of(customer) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_no_address_at_all_is_refused_for_a_new_identity() -> None:
    with pytest.raises(SignInRefused, match="email address"):
        identities.sign_in_with_identity(said(email=None))


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_a_staff_address_is_never_linked_silently(
    make_user: Callable[..., User], role: Role
) -> None:
    staff = make_user(email="lee@example.com", role=role)
    outcome = identities.sign_in_with_identity(said(email="lee@example.com"))
    assert isinstance(outcome, identities.NeedsConfirmation)
    assert outcome.user.id == staff.id
    assert identities.identities_of(staff) == []


def test_staff_confirm_a_link_with_their_password_and_not_without(
    make_user: Callable[..., User],
) -> None:
    staff = make_user(email="lee@example.com", role=Role.STAFF)
    assertion = said(email="lee@example.com")
    with pytest.raises(DomainError, match="not the password"):
        identities.confirm_link(staff.id, assertion, password="wrong password")
    assert identities.identities_of(staff) == []
    user = identities.confirm_link(staff.id, assertion, password=TEST_PASSWORD)
    assert user.id == staff.id
    assert len(identities.identities_of(staff)) == 1
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.identity_linked")
    )
    assert entry is not None and entry.detail["confirmed_with"] == "password"


def test_staff_signed_in_already_confirm_without_a_password(
    make_user: Callable[..., User],
) -> None:
    staff = make_user(email="lee@example.com", role=Role.STAFF)
    someone_else = make_user()
    assertion = said(email="lee@example.com")
    with pytest.raises(DomainError):
        identities.confirm_link(staff.id, assertion, signed_in_as=someone_else)
    identities.confirm_link(staff.id, assertion, signed_in_as=staff)
    assert len(identities.identities_of(staff)) == 1


def test_a_closed_account_is_not_signed_in_by_its_identity(
    make_user: Callable[..., User],
) -> None:
    assertion = said()
    outcome = identities.sign_in_with_identity(assertion)
    assert isinstance(outcome, identities.SignedIn)
    outcome.user.active = False
    db.session.commit()
    with pytest.raises(NotAllowed, match="closed"):
        identities.sign_in_with_identity(assertion)


def test_a_name_breaking_the_name_rule_is_refused_as_registration_refuses_it() -> None:
    with pytest.raises(DomainError):
        identities.sign_in_with_identity(said(name="Sam\u202eevil"))


def test_no_name_uses_the_address_first_part() -> None:
    outcome = identities.sign_in_with_identity(said(name="", email="quiet.one@example.com"))
    assert isinstance(outcome, identities.SignedIn)
    assert outcome.user.display_name == "quiet.one"


# Ways in ---------------------------------------------------------------------------------


def _staff_with_identity(make_user: Callable[..., User]) -> tuple[User, Identity]:
    staff = make_user(role=Role.STAFF)
    identities.confirm_link(staff.id, said(email=staff.email), signed_in_as=staff)
    (identity,) = identities.identities_of(staff)
    return staff, identity


def test_the_last_way_in_of_staff_without_a_password_cannot_be_removed(
    make_user: Callable[..., User],
) -> None:
    staff, identity = _staff_with_identity(make_user)
    staff.password_hash = "!no-password"
    with pytest.raises(DomainError, match="last way"):
        identities.remove_identity(staff, identity.id)
    assert identities.identities_of(staff) == [identity]


def test_an_identity_goes_when_a_password_or_another_identity_remains(
    make_user: Callable[..., User],
) -> None:
    staff, identity = _staff_with_identity(make_user)
    identities.link_to(staff, said(provider_key="hub", issuer="https://github.com"))
    staff.password_hash = "!no-password"
    identities.remove_identity(staff, identity.id)  # the other identity remains
    assert [i.provider_key for i in identities.identities_of(staff)] == ["hub"]
    set_password(staff, "a new good password")
    (last,) = identities.identities_of(staff)
    identities.remove_identity(staff, last.id)  # the password remains
    assert identities.identities_of(staff) == []
    assert "user.identity_removed" in actions()


def test_a_verified_customer_may_remove_their_only_identity_as_email_links_still_work() -> None:
    outcome = identities.sign_in_with_identity(said())
    assert isinstance(outcome, identities.SignedIn)
    (identity,) = identities.identities_of(outcome.user)
    assert identities.other_ways_in(outcome.user, without=identity) == ["email link"]
    identities.remove_identity(outcome.user, identity.id)
    assert identities.identities_of(outcome.user) == []


def test_nobody_removes_someone_elses_identity(make_user: Callable[..., User]) -> None:
    staff, identity = _staff_with_identity(make_user)
    other = make_user()
    with pytest.raises(DomainError):
        identities.remove_identity(other, identity.id)
    assert identities.identities_of(staff) == [identity]


def test_linking_an_identity_another_account_has_is_refused(
    make_user: Callable[..., User],
) -> None:
    assertion = said()
    identities.sign_in_with_identity(assertion)
    other = make_user()
    with pytest.raises(SignInRefused, match="another account"):
        identities.link_to(other, assertion)


# Invitations ------------------------------------------------------------------------------


def _invite(make_user: Callable[..., User], email: str) -> tuple[Invitation, str]:
    """Invite an address as staff; the invitation and its emailed link's token."""
    admin = make_user(role=Role.ADMIN)
    invitation = invitations.invite(admin, email=email, role=Role.STAFF)
    db.session.commit()
    body = db.session.scalar(
        sa.select(OutboxMessage.text_body).where(
            OutboxMessage.kind == "invitation", OutboxMessage.to_email == email
        )
    )
    match = re.search(r"/account/invitation/(\S+)", body or "")
    assert match, body
    return invitation, match.group(1)


def test_an_invitation_accepted_through_a_provider_makes_staff_with_that_identity(
    make_user: Callable[..., User],
) -> None:
    invitation, token = _invite(make_user, "new.staff@example.com")
    # The provider's address need not be the invited one: the invitation's link is the proof.
    assertion = said(email="personal@example.net", email_verified=False)
    user = identities.accept_invitation(token, assertion)
    assert user.email == "new.staff@example.com"
    assert user.role is Role.STAFF
    assert user.verified_at is not None
    assert identities.find_identity(ISSUER, assertion.subject) is not None
    assert invitation.accepted_at is not None
    with pytest.raises(invitations.InvitationNotValid):
        identities.accept_invitation(token, said())


def test_an_invitation_for_an_existing_customer_gives_them_the_role_and_identity(
    make_user: Callable[..., User],
) -> None:
    customer = make_user(email="c@example.com")
    _, token = _invite(make_user, "c@example.com")
    user = identities.accept_invitation(token, said())
    assert user.id == customer.id and user.role is Role.STAFF
    assert len(identities.identities_of(customer)) == 1


def test_an_invitation_cannot_take_an_identity_another_account_has(
    make_user: Callable[..., User],
) -> None:
    assertion = said()
    identities.sign_in_with_identity(assertion)
    db.session.commit()
    _, token = _invite(make_user, "invited@example.com")
    with pytest.raises(SignInRefused, match="another account"):
        identities.accept_invitation(token, assertion)


def test_last_used_is_kept(make_user: Callable[..., User]) -> None:
    assertion = said()
    identities.sign_in_with_identity(assertion, now=datetime(2026, 1, 1, tzinfo=UTC))
    identities.sign_in_with_identity(assertion, now=datetime(2026, 2, 1, tzinfo=UTC))
    identity = identities.find_identity(ISSUER, assertion.subject)
    assert identity is not None and identity.last_used_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_staff_who_must_use_another_provider_are_refused_this_one(
    make_user: Callable[..., User], change_settings: Callable[..., Settings]
) -> None:
    change_settings(
        identity_providers_json=json.dumps(
            [
                {
                    "key": "okta",
                    "name": "Okta",
                    "discovery_url": "https://okta.example/.well-known/openid-configuration",
                    "client_id": "portal",
                    "client_secret": "secret",
                }
            ]
        )
    )
    settings = get_site_settings()
    settings.staff_identity_provider = "okta"
    db.session.add(settings)
    staff = make_user(role=Role.STAFF)
    assertion = said(email=staff.email)  # through "corp", not Okta
    with pytest.raises(DomainError, match="Okta"):
        identities.confirm_link(staff.id, assertion, signed_in_as=staff)
    identities.link_to(staff, assertion)  # linked from their account page earlier, say
    with pytest.raises(DomainError, match="Okta"):
        identities.sign_in_with_identity(assertion)
    customer = identities.sign_in_with_identity(said())  # customers are not bound
    assert isinstance(customer, identities.SignedIn)
