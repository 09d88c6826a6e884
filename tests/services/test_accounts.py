"""Accounts: registration rules, sign-in that never tells, the safe-redirect guard, and
claiming an account made on someone's behalf."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import OutboxMessage, User
from portal.services.accounts import (
    authenticate,
    claim_account,
    find_user_by_email,
    has_usable_password,
    is_claimable,
    is_safe_next,
    offer_claim,
    register_user,
    request_password_reset,
    start_session,
    user_for_claim_token,
)
from portal.services.api import customer_for_email
from portal.services.errors import DomainError, EmailTaken
from portal.services.tokens import (
    CLAIM_MAX_AGE,
    make_claim_token,
    make_reset_token,
    read_claim_token,
)
from portal.validation import clean_name, name_problem
from tests.helpers import emailed_token


def test_email_is_unique_whatever_its_case(make_user) -> None:
    make_user(email="Nia@Example.com")
    with pytest.raises(EmailTaken):
        register_user(email="nia@example.COM", password="long enough pw", display_name="Other")


def test_database_refuses_a_duplicate_email_even_past_the_service(make_user) -> None:
    make_user(email="dup@example.com")
    db.session.add(
        User(email="DUP@example.com", password_hash="x", display_name="Y", preferred_name="Y")
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_password_is_stored_hashed(make_user) -> None:
    user = make_user()
    assert "correct horse" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize(
    "name",
    [
        "Owen\r\nBcc: everyone@example.com",
        "Owen\x00",
        "Owen\x1b[31m",  # a terminal escape
        "Owen\x85P.",  # NEL, a C1 control that mail libraries read as a line break
        "Owen\u2029P.",
        "\ufeffOwen",
        "Owen\U000e0041",  # a tag character: invisible text
        "Owen \u202egnp.exe",
    ],
)
def test_names_with_controls_or_invisible_characters_are_refused_by_the_service(
    name: str,
) -> None:
    with pytest.raises(DomainError, match="Names cannot contain"):
        register_user(email="a@example.com", password="long enough pw", display_name=name)
    with pytest.raises(DomainError, match="Names cannot contain"):
        register_user(
            email="a@example.com",
            password="long enough pw",
            display_name="Owen",
            preferred_name=name,
        )
    assert find_user_by_email("a@example.com") is None


def test_the_name_rule_cleans_what_nobody_typed_for_us() -> None:
    assert clean_name("Owen\r\nBcc: everyone@example.com") == "Owen Bcc: everyone@example.com"
    assert clean_name(" Eve \u202egnp.exe\x00 ") == "Eve gnp.exe"
    assert clean_name("Jo\u200bhn\tSmith") == "John Smith"
    assert clean_name("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    for name in ("Owen\r\nBcc: x", "\u2066A\u2069", "a\x85b\u2028c"):
        assert name_problem(clean_name(name)) is None


def test_blank_preferred_name_falls_back_to_display_name() -> None:
    user = register_user(email="a@example.com", password="long enough pw", display_name="Owen")
    assert user.preferred_name == "Owen"


def test_authenticate_gives_the_same_answer_for_unknown_email_and_wrong_password(make_user) -> None:
    make_user(email="known@example.com")
    assert authenticate("unknown@example.com", "whatever") is None
    assert authenticate("known@example.com", "wrong password") is None
    assert authenticate("KNOWN@example.com", "correct horse battery") is not None


def test_deactivated_user_cannot_sign_in(make_user) -> None:
    user = make_user(email="gone@example.com")
    user.active = False
    db.session.commit()
    assert authenticate("gone@example.com", "correct horse battery") is None


@pytest.mark.parametrize("target", ["/", "/feedback/3", "/account/?tab=mine"])
def test_next_accepts_same_site_paths(target: str) -> None:
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "feedback/3",
        "/\t/evil.example",
        "http://localhost/feedback/1",
    ],
)
def test_next_refuses_anything_that_leaves_the_site(target: str | None) -> None:
    assert not is_safe_next(target)


# Claiming an account made on someone's behalf ----------------------------------------------


def _contact(email: str = "nia@example.com") -> User:
    """A customer the API (or email intake) created: no password, address not verified."""
    user, created = customer_for_email(email, "Nia Jones")
    assert created
    db.session.commit()
    return user


def _claim_token(email: str) -> str:
    return emailed_token("account_claim", email, "/account/claim/")


def test_an_account_made_on_someones_behalf_is_claimable_and_a_registered_one_is_not(
    make_user,
) -> None:
    contact = _contact()
    assert not has_usable_password(contact) and is_claimable(contact)
    registered = make_user()
    assert has_usable_password(registered) and not is_claimable(registered)


def test_a_password_request_for_a_contact_sends_a_set_your_password_link() -> None:
    contact = _contact()
    assert request_password_reset("NIA@example.com") is True
    db.session.commit()
    [message] = db.session.scalars(sa.select(OutboxMessage))
    assert (message.kind, message.to_email) == ("account_claim", contact.email)
    assert "Set your password" in message.subject
    assert "/account/claim/" in message.text_body and "/account/claim/" in message.html_body


def test_claiming_sets_the_password_verifies_the_address_and_works_once() -> None:
    contact = _contact()
    assert offer_claim(contact.email) is True
    db.session.commit()
    token = _claim_token(contact.email)
    elsewhere = start_session(contact, "Firefox on Linux")
    user = user_for_claim_token(token)
    assert user is not None and user.id == contact.id
    claim_account(user, "a brand new password")
    db.session.commit()

    assert authenticate(contact.email, "a brand new password") is not None
    assert user.verified_at is not None
    assert elsewhere.revoked_at is not None  # a new password signs every browser out
    assert user_for_claim_token(token) is None  # single use: the password changed
    assert offer_claim(contact.email) is False  # claimed: now it is a normal account


def test_claim_links_that_are_forged_expired_or_for_a_claimed_account_name_nobody(
    app: Flask, make_user
) -> None:
    contact = _contact()
    good = make_claim_token(contact.id, contact.email, contact.password_hash)
    payload = read_claim_token(good)
    assert payload is not None

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - CLAIM_MAX_AGE - 60

    registered = make_user()
    forged = {
        "garbled": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "other key": URLSafeTimedSerializer("not our key", salt="claim-account").dumps(payload),
        "expired": URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt="claim-account", signer=LongAgo
        ).dumps(payload),
        "another address": make_claim_token(
            contact.id, "mallory@example.com", contact.password_hash
        ),
        "a reset token": make_reset_token(contact.id, contact.password_hash),
        "an account with a password": make_claim_token(
            registered.id, registered.email, registered.password_hash
        ),
    }
    for name, token in forged.items():
        assert user_for_claim_token(token) is None, name
    assert user_for_claim_token(good) is not None
