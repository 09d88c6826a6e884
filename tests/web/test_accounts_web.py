"""Registering, signing in and out, the profile, and claiming an account made on someone's
behalf, through the pages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import OutboxMessage, Role, User
from portal.services import accounts
from portal.services.accounts import authenticate, find_user_by_email
from portal.services.api import customer_for_email
from portal.services.errors import DomainError
from portal.services.outbox import deliver_pending
from tests.helpers import csrf_token, finish_registration, login, post

NEW_PASSWORD = "a brand new long password"

GOOD = {
    "email": "nia@example.com",
    "password": "a long enough password",
    "confirm": "a long enough password",
    "display_name": "Nia",
    "preferred_name": "Nia J.",
}


def test_register_with_errors_keeps_what_was_typed(client) -> None:
    bad = dict(GOOD, email="not-an-email", confirm="something else")
    response = post(client, "/account/register", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="not-an-email"' in page
    assert 'value="Nia J."' in page
    assert "That does not look like an email address. Please check it." in page
    assert "The two passwords are not the same." in page
    assert 'aria-invalid="true"' in page
    assert find_user_by_email("not-an-email") is None


def test_form_without_csrf_token_is_refused_and_changes_nothing(client) -> None:
    response = client.post("/account/register", data=GOOD)
    assert response.status_code == 400
    assert find_user_by_email(GOOD["email"]) is None


def test_sign_in_failure_never_says_whether_the_email_exists(client, make_user) -> None:
    make_user(email="known@example.com")
    unknown = post(client, "/account/login", {"email": "nobody@example.com", "password": "x"})
    wrong = post(client, "/account/login", {"email": "known@example.com", "password": "x"})
    assert unknown.status_code == wrong.status_code == 200
    message = "That email and password do not match an account."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)
    assert 'value="nobody@example.com"' in unknown.get_data(as_text=True)


def test_sign_in_follows_a_same_site_next(client, make_user) -> None:
    user = make_user()
    response = post(
        client,
        "/account/login",
        {"email": user.email, "password": "correct horse battery", "next": "/feedback/new"},
    )
    assert response.headers["Location"].endswith("/feedback/new")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "javascript:alert(1)"]
)
def test_sign_in_ignores_an_offsite_next(client, make_user, target: str) -> None:
    user = make_user()
    response = post(
        client,
        "/account/login",
        {"email": user.email, "password": "correct horse battery", "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_remember_me_sets_a_short_lived_secure_style_cookie(client, make_user) -> None:
    user = make_user()
    post(
        client,
        "/account/login",
        {"email": user.email, "password": "correct horse battery", "remember": "y"},
    )
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only


def test_sign_out_is_a_post_and_ends_the_session(client, make_user) -> None:
    user = make_user()
    login(client, user.email)
    assert client.get("/account/logout").status_code == 405
    post(client, "/account/logout")
    assert client.get("/account/").status_code == 302


def test_ending_the_session_on_the_server_signs_the_browser_out(client, make_user) -> None:
    user = make_user()
    login(client, user.email)
    assert client.get("/account/").status_code == 200
    accounts.end_all_sessions(user)
    db.session.commit()
    assert client.get("/account/").status_code == 302


def test_profile_edit_changes_how_we_address_the_customer(client, make_user) -> None:
    user = make_user(display_name="Owen P.")
    login(client, user.email)
    response = post(client, "/account/", {"display_name": "Owen P.", "preferred_name": "Mr Owen"})
    assert response.status_code == 302
    assert "Hello, Mr Owen" in client.get("/account/").get_data(as_text=True)


def test_profile_edit_with_an_empty_display_name_keeps_the_rest(client, make_user) -> None:
    user = make_user(display_name="Owen P.")
    login(client, user.email)
    page = post(client, "/account/", {"display_name": "", "preferred_name": "Mr Owen"})
    text = page.get_data(as_text=True)
    assert "Please choose a display name." in text and 'value="Mr Owen"' in text
    db.session.expire_all()
    assert find_user_by_email(user.email).display_name == "Owen P."


@pytest.mark.parametrize("field", ["display_name", "preferred_name"])
def test_a_name_that_would_reverse_the_text_around_it_is_refused(
    client, make_user, field: str
) -> None:
    """U+202E turns "Owen\u202etxet" into what reads as "Owen" + "text" backwards beside
    every comment: refused with a reason, and the other field keeps what was typed."""
    user = make_user(display_name="Owen P.")
    login(client, user.email)
    form = {"display_name": "Owen P.", "preferred_name": "Mr Owen"}
    page = post(client, "/account/", {**form, field: "Owen \u202egnp.exe"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "cannot contain characters that change the direction of the text" in text
    other = "preferred_name" if field == "display_name" else "display_name"
    assert f'value="{form[other]}"' in text
    db.session.expire_all()
    saved = find_user_by_email(user.email)
    assert "\u202e" not in saved.display_name + saved.preferred_name
    long = post(client, "/account/", {**form, field: "N" * 81}).get_data(as_text=True)
    assert "at most 80 characters" in long
    with pytest.raises(DomainError, match="direction of the text"):
        accounts.update_profile(saved, display_name="Owen", preferred_name="\u2067Mr Owen")


@pytest.mark.parametrize(
    "name",
    ["Owen\r\nBcc: everyone@example.com", "Owen\tP.", "Ow\u200ben", "Owen\u2028P."],
    ids=["crlf-header", "tab", "zero-width-space", "line-separator"],
)
@pytest.mark.parametrize("field", ["display_name", "preferred_name"])
def test_a_name_with_line_breaks_or_invisible_characters_is_refused_everywhere(
    client, make_user, field: str, name: str
) -> None:
    # Stored, "Owen\r\nBcc: ..." broke the header of every email naming that person: they
    # stayed pending, and a customer could silence the "Not fixed yet" email to the owner.
    why = "cannot contain line breaks, tabs or other invisible characters"
    registered = post(client, "/account/register", {**GOOD, field: name})
    assert registered.status_code == 200
    assert why in registered.get_data(as_text=True)
    assert find_user_by_email(GOOD["email"]) is None

    user = make_user(display_name="Owen P.", preferred_name="Mr Owen")
    login(client, user.email)
    form = {"display_name": "Owen P.", "preferred_name": "Mr Owen"}
    page = post(client, "/account/", {**form, field: name})
    assert page.status_code == 200
    assert why in page.get_data(as_text=True)
    db.session.expire_all()
    saved = find_user_by_email(user.email)
    assert (saved.display_name, saved.preferred_name) == ("Owen P.", "Mr Owen")
    # The service holds the same rule for every other way in.
    with pytest.raises(DomainError, match=why):
        accounts.update_profile(saved, **{**form, field: name})
    with pytest.raises(DomainError, match=why):
        accounts.register_user(
            email="other@example.com",
            password="long enough pw",
            **{"display_name": "Owen", **{field: name}},
        )


def test_names_keep_the_joiners_scripts_and_emoji_need(client, make_user) -> None:
    user = make_user(display_name="Owen P.")
    login(client, user.email)
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # with a zero-width non-joiner
    coder = "Ada \U0001f469\u200d\U0001f4bb"  # woman technologist: a zero-width joiner
    response = post(client, "/account/", {"display_name": persian, "preferred_name": coder})
    assert response.status_code == 302
    db.session.expire_all()
    saved = find_user_by_email(user.email)
    assert (saved.display_name, saved.preferred_name) == (persian, coder)


def test_my_feedback_lists_my_items_including_private_ones(
    client, make_user, make_feedback
) -> None:
    me, other = make_user(), make_user()
    make_feedback(author=me, title="My public one")
    make_feedback(author=me, title="My private one", visibility="private")
    make_feedback(author=other, title="Someone else's")
    login(client, me.email)
    page = client.get("/account/").get_data(as_text=True)
    assert "My public one" in page and "My private one" in page
    assert "Someone else" not in page


def test_csrf_token_helper_reads_a_real_token(client) -> None:
    assert len(csrf_token(client)) > 20


# Claiming an account made on someone's behalf ----------------------------------------------


def _contact(email: str = "nia@example.com") -> User:
    """A customer the API (or email intake) created: no password, address not verified."""
    user, _ = customer_for_email(email, "Nia Jones")
    db.session.commit()
    return user


def _claim_emails() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "account_claim"))
    )


def test_registering_with_a_contacts_address_emails_a_set_password_link_and_says_no_more(
    make_client, make_user
) -> None:
    contact = _contact()
    make_user(email="registered@example.com")
    hash_before = contact.password_hash

    for_contact = post(make_client(), "/account/register", GOOD)
    for_registered = post(
        make_client(), "/account/register", {**GOOD, "email": "registered@example.com"}
    )
    assert for_contact.status_code == for_registered.status_code == 200
    page = for_contact.get_data(as_text=True).replace("nia@example.com", "ADDRESS")
    assert page == for_registered.get_data(as_text=True).replace(
        "registered@example.com", "ADDRESS"
    )
    assert "Check your email" in page

    [claim] = _claim_emails()
    assert claim.to_email == "nia@example.com"
    db.session.expire_all()
    unchanged = db.session.get(User, contact.id)
    assert unchanged.password_hash == hash_before and unchanged.display_name == "Nia Jones"


def test_a_password_request_for_a_contact_reads_like_one_for_an_unknown_address(
    make_client,
) -> None:
    _contact()

    def answer(email: str) -> str:
        browser = make_client()
        response = post(browser, "/account/reset", {"email": email})
        assert response.status_code == 302
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        return re.sub(
            r'(csrf-token" content="|csrf_token" type="hidden" value=")[^"]+', "", page
        ).replace(email, "EMAIL")

    assert answer("nia@example.com") == answer("nobody@example.com")
    assert [m.to_email for m in _claim_emails()] == ["nia@example.com"]


def test_the_emailed_link_sets_the_password_confirms_the_address_and_signs_in(
    client, make_client, smtp_server
) -> None:
    contact = _contact()
    post(client, "/account/reset", {"email": contact.email})
    deliver_pending()
    [mail] = smtp_server.to(contact.email)
    assert "Set your password" in str(mail["Subject"])
    match = re.search(r"https?://\S+/account/claim/\S+", mail.get_body(("plain",)).get_content())
    assert match
    link = urlsplit(match.group(0)).path

    browser = make_client()
    form = browser.get(link)
    assert form.status_code == 200
    assert "Set your password" in form.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, contact.id).verified_at is None  # opening it changes nothing

    short = post(browser, link, {"password": "short", "confirm": "short"})
    assert short.status_code == 200 and "Use at least" in short.get_data(as_text=True)
    done = post(browser, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == "/account/"
    page = browser.get("/account/").get_data(as_text=True)
    assert "Your password is set" in page and "Hello, Nia Jones" in page
    db.session.expire_all()
    claimed = db.session.get(User, contact.id)
    assert claimed.verified_at is not None
    assert authenticate(contact.email, NEW_PASSWORD) is not None
    login(make_client(), contact.email, NEW_PASSWORD)

    again = make_client()
    used = again.get(link)
    assert urlsplit(used.headers["Location"]).path == "/account/reset"
    assert "expired or has already been used" in again.get("/account/reset").get_data(as_text=True)


def test_my_feedback_says_when_staff_hid_an_item_instead_of_linking_to_a_404(
    client, make_user, make_feedback
) -> None:
    from portal.services import workflow

    author = make_user()
    item = make_feedback(author=author, title="Rude words about the driver")
    workflow.set_hidden(item.id, make_user(role=Role.STAFF), True, "Names a member of staff.")
    db.session.commit()
    login(client, author.email)
    page = client.get("/account/").get_data(as_text=True)
    assert "Rude words about the driver" in page and "Hidden by our staff" in page
    assert f'href="/feedback/{item.id}"' not in page


def test_a_registration_whose_commit_fails_signs_that_browser_in_as_no_one(
    make_client,
) -> None:
    # SQLite gives the next account the id of an insert that was rolled back: a sign-in
    # cookie written for the lost account would then open the next person's.
    def fail_the_registration(session: Session) -> None:
        if session.in_nested_transaction():  # the savepoint that inserts the account
            return
        if has_request_context() and request.path.startswith("/account/register/"):
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    first = make_client()
    post(first, "/account/register", GOOD)
    sa.event.listen(Session, "before_commit", fail_the_registration)
    try:
        lost = finish_registration(first, GOOD["email"])
    finally:
        sa.event.remove(Session, "before_commit", fail_the_registration)
    assert lost.status_code == 503
    assert "Your account is ready" not in lost.get_data(as_text=True)
    assert find_user_by_email(GOOD["email"]) is None

    other = {**GOOD, "email": "sam@example.com", "display_name": "Sam", "preferred_name": ""}
    second = make_client()
    post(second, "/account/register", other)
    assert finish_registration(second, other["email"]).status_code == 302

    account_page = first.get("/account/")
    assert account_page.status_code == 302
    assert urlsplit(account_page.headers["Location"]).path == "/account/login"
