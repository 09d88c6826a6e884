"""Changing one's email address: the new address confirms by a link sent to it (the change
waits for the button behind it), the old address is told, the change is audited, and the
link works once."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import AuditEntry, OutboxMessage, User
from portal.services import accounts
from tests.conftest import TEST_PASSWORD
from tests.helpers import emailed_token, login, newest_email_body, post

CONFIRM_PATH = "/account/email/"


def _ask(client: FlaskClient, new_email: str, password: str = TEST_PASSWORD) -> TestResponse:
    return post(client, "/account/email", {"email": new_email, "password": password})


def _emails_to(address: str, kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.to_email == address, OutboxMessage.kind == kind
            )
        )
    )


def _email_of(person: User) -> str:
    db.session.expire_all()
    return db.session.get(User, person.id).email


def test_the_account_page_offers_the_change(client, make_verified_user) -> None:
    person = make_verified_user()
    login(client, person.email)
    assert 'href="/account/email"' in client.get("/account/").get_data(as_text=True)
    assert client.get("/account/email").status_code == 200


def test_the_change_page_needs_a_signed_in_person(client) -> None:
    answer = client.get("/account/email")
    assert answer.status_code == 302 and "/account/login" in answer.location


def test_a_new_address_is_confirmed_from_it_and_the_old_address_is_told(
    make_client, make_verified_user
) -> None:
    person = make_verified_user(email="old@example.com")
    client = make_client()
    login(client, person.email)
    asked = _ask(client, "New@Example.com")
    assert asked.status_code == 302
    assert _email_of(person) == "old@example.com"  # nothing changes before the click
    token = emailed_token("email_change", "new@example.com", CONFIRM_PATH)

    shown = make_client().get(CONFIRM_PATH + token)
    assert shown.status_code == 200 and "new@example.com" in shown.get_data(as_text=True)
    assert _email_of(person) == "old@example.com"  # a mail scanner's GET changes nothing

    pressed = post(client, CONFIRM_PATH + token)
    assert pressed.status_code == 302
    assert _email_of(person) == "new@example.com"
    told = newest_email_body("email_changed", "old@example.com")
    assert "new@example.com" in told
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "user.email_changed")
    )
    assert entry is not None and entry.actor_id == person.id
    assert entry.detail["old"] == "old@example.com"
    # From now on the new address signs in; the old one does not.
    assert accounts.authenticate("new@example.com", TEST_PASSWORD) is not None
    assert accounts.authenticate("old@example.com", TEST_PASSWORD) is None


def test_a_change_link_works_once(make_client, make_verified_user) -> None:
    person = make_verified_user(email="once@example.com")
    client = make_client()
    login(client, person.email)
    _ask(client, "twice@example.com")
    token = emailed_token("email_change", "twice@example.com", CONFIRM_PATH)
    post(client, CONFIRM_PATH + token)
    again = post(make_client(), CONFIRM_PATH + token)
    assert again.status_code == 302
    assert len(_emails_to("once@example.com", "email_changed")) == 1
    assert _email_of(person) == "twice@example.com"


def test_a_wrong_password_changes_nothing_and_keeps_what_was_typed(
    client, make_verified_user
) -> None:
    person = make_verified_user(email="careful@example.com")
    login(client, person.email)
    answer = _ask(client, "elsewhere@example.com", password="not the password")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "password is not right" in page
    assert 'value="elsewhere@example.com"' in page
    assert _emails_to("elsewhere@example.com", "email_change") == []


def test_an_address_another_account_has_gets_the_same_answer_and_nothing_is_sent(
    make_client, make_verified_user
) -> None:
    person = make_verified_user(email="asker@example.com")
    make_verified_user(email="taken@example.com")
    answers = {}
    for address in ("taken@example.com", "free@example.com"):
        client = make_client()
        login(client, person.email)
        answer = _ask(client, address)
        flashed = client.get(answer.location).get_data(as_text=True)
        answers[address] = (answer.status_code, "on its way" in flashed)
    assert answers["taken@example.com"] == answers["free@example.com"] == (302, True)
    assert _emails_to("taken@example.com", "email_change") == []
    assert len(_emails_to("free@example.com", "email_change")) == 1


def test_an_address_taken_between_the_link_and_the_click_is_refused(
    make_client, make_verified_user
) -> None:
    person = make_verified_user(email="slow@example.com")
    client = make_client()
    login(client, person.email)
    _ask(client, "race@example.com")
    token = emailed_token("email_change", "race@example.com", CONFIRM_PATH)
    make_verified_user(email="race@example.com")
    assert post(client, CONFIRM_PATH + token).status_code == 302
    assert _email_of(person) == "slow@example.com"
    assert _emails_to("slow@example.com", "email_changed") == []


def test_a_sign_in_link_to_the_old_address_dies_with_the_change(
    make_client, make_verified_user
) -> None:
    person = make_verified_user(email="before@example.com")
    post(make_client(), "/account/sign-in-link", {"email": person.email})
    sign_in = emailed_token("sign_in_link", person.email, "/account/sign-in-link/")
    client = make_client()
    login(client, person.email)
    _ask(client, "after@example.com")
    post(client, CONFIRM_PATH + emailed_token("email_change", "after@example.com", CONFIRM_PATH))
    stranger = make_client()
    post(stranger, "/account/sign-in-link/" + sign_in)
    assert stranger.get("/account/").status_code != 200
