"""The rules of sign-in links and address changes, driven through the services: what spends
a link, which names are refused, and what a change leaves behind."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import OutboxMessage, UserSession
from portal.services import accounts, email_change, sign_in_links
from portal.services.errors import DomainError
from portal.services.tokens import make_sign_in_token
from tests.conftest import TEST_PASSWORD
from tests.helpers import emailed_token, login


def _link_for(email: str, next_url: str = "") -> str:
    sign_in_links.request_sign_in_link(email=email, next_url=next_url)
    db.session.flush()
    return emailed_token("sign_in_link", email, "/account/sign-in-link/")


def test_following_a_link_starts_one_session_and_the_second_press_finds_it_spent(
    make_verified_user,
) -> None:
    person = make_verified_user()
    token = _link_for(person.email, next_url="/feedback/new")
    assert sign_in_links.sign_in_with_link(token, "Firefox/1 Linux") == (person, "/feedback/new")
    assert sign_in_links.sign_in_with_link(token, "Firefox/1 Linux") is None
    sessions = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == person.id))
    assert len(list(sessions)) == 1


def test_a_password_sign_in_after_the_link_was_sent_spends_it_too(
    client, make_verified_user
) -> None:
    person = make_verified_user()
    token = _link_for(person.email)
    db.session.commit()
    login(client, person.email, TEST_PASSWORD)
    assert sign_in_links.user_for_sign_in_token(token) is None


def test_a_link_made_with_another_secret_is_refused(make_verified_user) -> None:
    person = make_verified_user()
    forged = make_sign_in_token(person.id, person.email, "not the newest session")
    assert sign_in_links.sign_in_with_link(forged, "") is None


@pytest.mark.parametrize("bad", ["Nia\u202eevil", "Nia\nJones"])
def test_registering_by_link_checks_names_by_the_registration_rule(bad: str) -> None:
    with pytest.raises(DomainError):
        sign_in_links.request_sign_in_link(email="someone@example.com", display_name=bad)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_account_without_a_password_changes_address_without_one(make_verified_user) -> None:
    person = make_verified_user()
    person.password_hash = accounts.UNUSABLE_PASSWORD_PREFIX + "none"
    email_change.request_email_change(person, "moved@example.com")
    db.session.flush()
    assert emailed_token("email_change", "moved@example.com", "/account/email/")


def test_changing_to_the_same_address_is_refused(make_verified_user) -> None:
    person = make_verified_user(email="same@example.com")
    with pytest.raises(DomainError):
        email_change.request_email_change(person, "SAME@example.com", TEST_PASSWORD)
