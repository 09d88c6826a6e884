"""Registration tells nobody whether an address has an account: every address gets the same
"check your email" page, and what happens next waits for the link sent to it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import OutboxMessage, User
from portal.services import accounts
from portal.services.accounts import authenticate, find_user_by_email
from portal.services.api import customer_for_email
from tests.helpers import emailed_token, finish_registration, newest_email_body, post

PASSWORD = "a long enough password"
FORM = {
    "email": "nia@example.com",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "display_name": "Nia",
    "preferred_name": "Nia J.",
}


def _register(client: FlaskClient, email: str, **changes: str) -> TestResponse:
    return post(client, "/account/register", {**FORM, "email": email, **changes})


def _emails_to(address: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_email == address))
    )


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account/").status_code == 200


def _set_cookie_names(response: TestResponse) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")}


def test_a_new_and_a_known_address_get_the_same_answer_and_nobody_is_signed_in(
    make_client, make_user, make_verified_user
) -> None:
    make_verified_user(email="known@example.com")
    customer_for_email("contact@example.com", "Cora Contact")
    db.session.commit()
    answers = {}
    for address in ("new@example.com", "known@example.com", "contact@example.com"):
        client = make_client()
        response = _register(client, address)
        answers[address] = (
            response.status_code,
            response.get_data(as_text=True).replace(address, "ADDRESS"),
            _set_cookie_names(response),
            _signed_in(client),
        )
    new, known, contact = answers.values()
    assert new == known == contact
    status, page, _, signed_in = new
    assert status == 200 and not signed_in
    assert "Check your email" in page and "already exists" not in page
    assert find_user_by_email("new@example.com") is None


def test_a_known_address_costs_the_same_password_hashing_as_a_new_one(
    client, make_verified_user, monkeypatch
) -> None:
    # The same work either way, so the time to answer does not tell them apart either.
    make_verified_user(email="known@example.com")
    hashed: list[str] = []
    real = accounts.hash_password
    monkeypatch.setattr(accounts, "hash_password", lambda pw: hashed.append(pw) or real(pw))
    _register(client, "known@example.com")
    _register(client, "new@example.com")
    assert hashed == [PASSWORD, PASSWORD]


def test_the_emailed_link_creates_a_verified_account_with_the_names_typed_and_signs_in(
    client, make_client
) -> None:
    _register(client, "Nia@Example.com")
    body = newest_email_body("registration", "nia@example.com")
    assert "Dear Nia J." in body and PASSWORD not in body
    token = emailed_token("registration", "nia@example.com", "/account/register/")

    # Opening the link (as a mail scanner does) only shows the button.
    scanner = make_client()
    page = scanner.get(f"/account/register/{token}")
    assert page.status_code == 200 and "Create my account" in page.get_data(as_text=True)
    assert find_user_by_email("nia@example.com") is None

    response = finish_registration(client, "nia@example.com")
    assert response.status_code == 302
    db.session.expire_all()
    user = find_user_by_email("nia@example.com")
    assert user is not None
    assert (user.display_name, user.preferred_name) == ("Nia", "Nia J.")
    assert user.verified_at is not None
    assert authenticate("nia@example.com", PASSWORD) == user
    account = client.get("/account/").get_data(as_text=True)
    assert "Hello, Nia J." in account
    assert not _signed_in(scanner)


def test_the_link_goes_on_to_the_page_registration_was_asked_from(client) -> None:
    post(client, "/account/register?next=/feedback/new", FORM)
    response = finish_registration(client, FORM["email"])
    assert urlsplit(response.headers["Location"]).path == "/feedback/new"


def test_the_link_works_once(client, make_client) -> None:
    _register(client, FORM["email"])
    assert finish_registration(client, FORM["email"]).status_code == 302

    again = make_client()
    response = finish_registration(again, FORM["email"])
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"
    assert not _signed_in(again)
    assert "That account exists already. Please sign in." in again.get("/account/login").get_data(
        as_text=True
    )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    assert count == 1


def test_an_address_registered_meanwhile_keeps_its_first_account(make_client) -> None:
    first, second = make_client(), make_client()
    _register(first, FORM["email"], display_name="Nia")
    late = emailed_token("registration", FORM["email"], "/account/register/")
    _register(second, FORM["email"], display_name="Mallory", preferred_name="")
    assert finish_registration(second, FORM["email"]).status_code == 302  # the newest link
    response = post(make_client(), f"/account/register/{late}")
    assert urlsplit(response.headers["Location"]).path == "/account/login"
    db.session.expire_all()
    assert find_user_by_email(FORM["email"]).display_name == "Mallory"


def test_a_forged_or_expired_link_makes_nothing(client) -> None:
    _register(client, FORM["email"])
    token = emailed_token("registration", FORM["email"], "/account/register/")
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for response in (
        client.get(f"/account/register/{forged}"),
        post(client, f"/account/register/{forged}"),
    ):
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/account/register"
    assert find_user_by_email(FORM["email"]) is None


def test_the_owner_of_a_known_address_is_told_someone_tried(client, make_verified_user) -> None:
    owner = make_verified_user(email="known@example.com", preferred_name="Owen")
    hash_before = owner.password_hash
    _register(client, "known@example.com", display_name="Mallory")
    [email] = _emails_to("known@example.com")
    assert email.kind == "signup_attempt"
    assert "Dear Owen" in email.text_body
    assert "tried to register" in email.text_body
    assert "/account/login" in email.text_body and "/account/reset" in email.text_body
    db.session.expire_all()
    unchanged = db.session.get(User, owner.id)
    assert unchanged.password_hash == hash_before and unchanged.display_name != "Mallory"


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "unverified"])
def test_an_unverified_or_verified_owner_is_told_alike(
    client, make_user, make_verified_user, verified: bool
) -> None:
    # The email answers something done with the address now: it goes whether or not the
    # address was ever confirmed, like a reset or claim link.
    (make_verified_user if verified else make_user)(email="known@example.com")
    _register(client, "known@example.com")
    assert [m.kind for m in _emails_to("known@example.com")] == ["signup_attempt"]


def test_a_passwordless_account_gets_the_claim_link(client) -> None:
    customer_for_email("contact@example.com", "Cora Contact")
    db.session.commit()
    response = _register(client, "contact@example.com")
    assert "Check your email" in response.get_data(as_text=True)
    [email] = _emails_to("contact@example.com")
    assert email.kind == "account_claim"
    assert "/account/claim/" in email.text_body
