"""Invitations: an admin invites an address with a role; the emailed link makes (or upgrades)
the account once, within a week, and only while it is the latest link and not revoked. Every
step is audited, and the database never holds a working link."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Invitation, InvitationStatus, OutboxMessage, Role, User
from portal.services import invitations
from portal.services.accounts import authenticate, delete_account, find_user_by_email
from portal.services.api import customer_for_email
from portal.services.errors import DomainError, NotAllowed
from portal.services.invitations import InvitationNotValid
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


def _link_token(address: str) -> str:
    db.session.expire_all()
    body = db.session.scalar(
        sa.select(OutboxMessage.text_body)
        .where(OutboxMessage.kind == "invitation", OutboxMessage.to_email == address)
        .order_by(OutboxMessage.id.desc())
    )
    assert body, f"no invitation email to {address}"
    match = re.search(r"/account/invitation/(\S+)", body)
    assert match, body
    return match.group(1)


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def _invite(admin: User, address: str = "sam@example.com", role: Role = Role.STAFF) -> str:
    invitations.invite(admin, email=address, role=role)
    db.session.commit()
    return _link_token(address.lower())


def test_the_emailed_link_makes_a_verified_account_with_the_invited_role(admin: User) -> None:
    token = _invite(admin, "Sam@Example.com")
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert message.to_email == "sam@example.com"
    assert "Ada Admin invites you to join" in message.subject and "as staff" in message.subject
    user = invitations.accept(token, password=NEW_PASSWORD, display_name="Sam", preferred_name="")
    db.session.commit()
    assert user.role is Role.STAFF and user.verified_at is not None
    assert authenticate("sam@example.com", NEW_PASSWORD) is not None
    assert _actions() == ["invitation.sent", "invitation.accepted"]
    accepted = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "invitation.accepted")
    )
    assert accepted.actor_id == user.id and accepted.detail["account_created"] is True


def test_the_database_keeps_only_a_hash_of_the_links_secret(admin: User) -> None:
    token = _invite(admin)
    invitation = db.session.scalar(sa.select(Invitation))
    assert invitation.secret_hash and invitation.secret_hash not in token
    # Nothing stored is the link, or can be made into it without the secret key and the secret.
    stored = " ".join(
        str(v) for v in db.session.execute(sa.select(Invitation)).scalar_one().__dict__.values()
    )
    assert token not in stored


def test_the_link_works_once(admin: User) -> None:
    token = _invite(admin)
    invitations.accept(token, password=NEW_PASSWORD, display_name="Sam")
    db.session.commit()
    assert invitations.invitation_for_token(token) is None
    with pytest.raises(InvitationNotValid):
        invitations.accept(token, password="another password!", display_name="Mallory")
    db.session.rollback()
    assert authenticate("sam@example.com", NEW_PASSWORD) is not None


def test_sending_again_ends_the_earlier_link_and_gives_another_week(admin: User) -> None:
    first = _invite(admin)
    invitation = db.session.scalar(sa.select(Invitation))
    invitation.expires_at = datetime.now(UTC) + timedelta(hours=1)
    db.session.commit()
    invitations.resend(admin, invitation.id)
    db.session.commit()
    second = _link_token("sam@example.com")
    assert second != first
    assert invitations.invitation_for_token(first) is None
    assert invitations.invitation_for_token(second) is not None
    assert invitation.expires_at > datetime.now(UTC) + timedelta(days=6)
    assert _actions() == ["invitation.sent", "invitation.sent_again"]


def test_a_revoked_invitation_cannot_be_accepted(admin: User) -> None:
    token = _invite(admin)
    invitation = db.session.scalar(sa.select(Invitation))
    invitations.revoke(admin, invitation.id)
    db.session.commit()
    with pytest.raises(InvitationNotValid):
        invitations.accept(token, password=NEW_PASSWORD, display_name="Sam")
    db.session.rollback()
    assert find_user_by_email("sam@example.com") is None
    assert _actions() == ["invitation.sent", "invitation.revoked"]
    with pytest.raises(DomainError):
        invitations.resend(admin, invitation.id)


def test_an_expired_invitation_cannot_be_accepted_but_can_be_sent_again(admin: User) -> None:
    token = _invite(admin)
    invitation = db.session.scalar(sa.select(Invitation))
    invitation.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    assert invitation.status_at(datetime.now(UTC)) is InvitationStatus.EXPIRED
    with pytest.raises(InvitationNotValid):
        invitations.accept(token, password=NEW_PASSWORD, display_name="Sam")
    db.session.rollback()
    invitations.resend(admin, invitation.id)
    db.session.commit()
    user = invitations.accept(
        _link_token("sam@example.com"), password=NEW_PASSWORD, display_name="Sam"
    )
    assert user.role is Role.STAFF


def test_an_existing_customer_takes_the_role_after_confirming_their_password(
    admin: User, make_user: Callable[..., User]
) -> None:
    customer = make_user(email="jo@example.com")
    token = _invite(admin, "jo@example.com", Role.ADMIN)
    with pytest.raises(DomainError, match="not the password"):
        invitations.accept(token, password="not my password")
    db.session.rollback()
    assert db.session.get(User, customer.id).role is Role.CUSTOMER
    user = invitations.accept(token, password=TEST_PASSWORD)
    db.session.commit()
    assert user.id == customer.id and user.role is Role.ADMIN
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "invitation.accepted")
    )
    assert entry.detail["before"] == "customer" and entry.detail["account_created"] is False


def test_a_contact_without_a_password_sets_one_by_accepting(admin: User) -> None:
    contact, _ = customer_for_email("cora@example.com", "Cora")
    db.session.commit()
    token = _invite(admin, "cora@example.com")
    user = invitations.accept(token, password=NEW_PASSWORD)
    db.session.commit()
    assert user.id == contact.id and user.role is Role.STAFF
    assert authenticate("cora@example.com", NEW_PASSWORD) is not None


def test_inviting_someone_who_has_the_role_already_is_refused(
    admin: User, make_user: Callable[..., User]
) -> None:
    make_user(email="staff@example.com", role=Role.STAFF)
    with pytest.raises(DomainError, match="already has that role"):
        invitations.invite(admin, email="staff@example.com", role=Role.STAFF)
    db.session.rollback()
    # A step up is an invitation worth sending.
    invitations.invite(admin, email="staff@example.com", role=Role.ADMIN)


def test_a_second_invitation_to_a_waiting_address_is_refused(admin: User) -> None:
    _invite(admin)
    with pytest.raises(DomainError, match="invited already"):
        invitations.invite(admin, email="SAM@example.com", role=Role.ADMIN)


def test_only_staff_or_admin_can_be_invited_and_only_by_admins(
    admin: User, make_user: Callable[..., User]
) -> None:
    with pytest.raises(DomainError, match="Choose staff or admin"):
        invitations.invite(admin, email="a@example.com", role=Role.CUSTOMER)
    staff = make_user(role=Role.STAFF)
    with pytest.raises(NotAllowed):
        invitations.invite(staff, email="a@example.com", role=Role.STAFF)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_a_forged_link_finds_nothing(admin: User) -> None:
    token = _invite(admin)
    assert invitations.invitation_for_token(token[:-2] + "xx") is None
    assert invitations.invitation_for_token("not-a-token") is None


def test_a_deleted_account_leaves_no_address_on_its_invitation(admin: User) -> None:
    token = _invite(admin)
    user = invitations.accept(token, password=NEW_PASSWORD, display_name="Sam")
    db.session.commit()
    delete_account(user, NEW_PASSWORD)
    db.session.commit()
    stored = db.session.scalars(sa.select(Invitation.email)).all()
    assert stored == [user.email] and "sam@example.com" not in stored
