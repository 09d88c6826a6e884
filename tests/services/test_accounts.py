"""Accounts: registration rules, sign-in that never tells, and the safe-redirect guard."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import User
from portal.services.accounts import authenticate, is_safe_next, register_user
from portal.services.errors import EmailTaken


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
