"""Email verification through the pages: an account made before its address was confirmed (by
the operator's console, or before registration was finished by an emailed link) gets the link,
the received link verifies the account, bad links are explained kindly, the link can be sent
again, and the email preferences on /account/."""

from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import NotificationPreference, OutboxMessage, OutboxStatus, User
from portal.services import notifications
from portal.services.accounts import find_user_by_email, register_user
from portal.services.outbox import deliver_pending
from portal.services.tokens import VERIFY_MAX_AGE, make_verify_token
from tests.helpers import finish_registration, login, post

ADDRESS = "nia@example.com"
REGISTRATION = {
    "email": ADDRESS,
    "password": "a long enough password",
    "confirm": "a long enough password",
    "display_name": "Nia Jones",
    "preferred_name": "Nia",
}
VERIFY_LINK = re.compile(r"https?://\S+/account/verify/[A-Za-z0-9_.\-]+")
BANNER = "Please confirm your email address."
BAD_LINK = "That confirmation link has expired or is not valid."


def _user() -> User:
    db.session.expire_all()
    user = find_user_by_email(ADDRESS)
    assert user is not None
    return user


def _register(client: FlaskClient) -> None:
    """An account whose address is not confirmed yet, signed in, with its link queued."""
    user = register_user(
        email=ADDRESS,
        password=REGISTRATION["password"],
        display_name=REGISTRATION["display_name"],
        preferred_name=REGISTRATION["preferred_name"],
    )
    notifications.send_verification(user)
    db.session.commit()
    login(client, ADDRESS, REGISTRATION["password"])


def _received_link(smtp_server) -> str:
    """The verification link from the newest mail to the address, as a path."""
    mail = smtp_server.to(ADDRESS)[-1]
    match = VERIFY_LINK.search(mail.get_body(("plain",)).get_content())
    assert match, "the verification mail carries the link"
    return urlsplit(match.group(0)).path


def test_an_account_made_by_the_registration_link_has_nothing_left_to_confirm(client) -> None:
    post(client, "/account/register", REGISTRATION)
    finish_registration(client, ADDRESS)
    assert _user().verified_at is not None
    kinds = db.session.scalars(sa.select(OutboxMessage.kind)).all()
    assert kinds == ["registration"]
    page = client.get("/account/").get_data(as_text=True)
    assert "Hello, Nia" in page and BANNER not in page


def test_the_verification_email_goes_to_the_unverified_address(client) -> None:
    _register(client)
    assert _user().verified_at is None
    (message,) = db.session.scalars(sa.select(OutboxMessage))
    assert message.kind == "verification"
    assert message.to_email == ADDRESS
    assert message.status is OutboxStatus.PENDING


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_the_link_in_the_received_email_verifies_the_account(
    smtp_server, client, make_client, signed_in: bool
) -> None:
    _register(client)
    assert deliver_pending().sent == 1
    (mail,) = smtp_server.to(ADDRESS)
    assert "Dear Nia" in mail.get_body(("plain",)).get_content()
    html_link = VERIFY_LINK.search(unescape(mail.get_body(("html",)).get_content()))
    assert html_link and urlsplit(html_link.group(0)).path == _received_link(smtp_server)

    browser = client if signed_in else make_client()
    link = _received_link(smtp_server)
    asked = browser.get(link)
    assert asked.status_code == 200
    assert f'method="post" action="{link}"' in asked.get_data(as_text=True)
    assert _user().verified_at is None  # opening the link changes nothing
    response = post(browser, link, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "your email address is confirmed" in page
    assert _user().verified_at is not None
    if signed_in:
        assert BANNER not in page


def test_a_mail_scanner_opening_the_link_verifies_nothing(client, make_client) -> None:
    """Mail scanners open every link in a message to check it: only the button confirms."""
    _register(client)
    link = f"/account/verify/{make_verify_token(_user().id, ADDRESS)}"
    scanner = make_client()
    page = scanner.get(link).get_data(as_text=True)
    assert "Confirm your email address" in page and ">Confirm</button>" in page
    assert 'name="csrf_token"' in page
    assert scanner.head(link).status_code == 200
    assert scanner.post(link).status_code == 400  # no CSRF token: refused
    assert _user().verified_at is None
    post(scanner, link)
    assert _user().verified_at is not None
    again = scanner.get(link).get_data(as_text=True)
    assert "is already confirmed" in again and ">Confirm</button>" not in again


def _expired_token(app: Flask, user: User) -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - VERIFY_MAX_AGE - 3600

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="verify-email", signer=LongAgo
    )
    return serializer.dumps({"u": user.id, "e": user.email})


@pytest.mark.parametrize("kind", ["expired", "garbled", "other-key", "changed-address"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_an_expired_or_forged_link_is_explained_and_verifies_nothing(
    app: Flask, client, make_client, kind: str, signed_in: bool
) -> None:
    _register(client)
    user = _user()
    token = {
        "expired": lambda: _expired_token(app, user),
        "garbled": lambda: make_verify_token(user.id, user.email)[:-4] + "AAAA",
        "other-key": lambda: URLSafeTimedSerializer("not our key", salt="verify-email").dumps(
            {"u": user.id, "e": user.email}
        ),
        "changed-address": lambda: make_verify_token(user.id, "someone.else@example.com"),
    }[kind]()
    browser = client if signed_in else make_client()
    for method in ("GET", "POST"):
        if method == "GET":
            response = browser.get(f"/account/verify/{token}", follow_redirects=True)
        else:
            response = post(browser, f"/account/verify/{token}", follow_redirects=True)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert BAD_LINK in page
        assert "Traceback" not in page
        assert _user().verified_at is None


def test_send_the_link_again_sends_another_that_works(smtp_server, client) -> None:
    _register(client)
    deliver_pending()
    page = client.get("/account/").get_data(as_text=True)
    assert BANNER in page and "Send the link again" in page
    response = post(client, "/account/verify/resend")
    assert response.status_code == 302
    assert "We have sent a new link" in client.get("/account/").get_data(as_text=True)
    assert deliver_pending().sent == 1
    assert len(smtp_server.to(ADDRESS)) == 2
    post(client, _received_link(smtp_server))
    assert _user().verified_at is not None


def test_a_verified_users_account_page_shows_no_banner(client, make_verified_user) -> None:
    user = make_verified_user()
    login(client, user.email)
    page = client.get("/account/").get_data(as_text=True)
    assert "Hello," in page
    assert BANNER not in page
    assert "Send the link again" not in page


def test_resending_for_a_verified_user_sends_nothing(client, make_verified_user) -> None:
    user = make_verified_user()
    login(client, user.email)
    assert post(client, "/account/verify/resend").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def _radio(page: str, value: str) -> str | None:
    """The notification-preference radio button with this value, as markup."""
    for tag in re.findall(r"<input[^>]*>", page):
        if 'name="notification_preference"' in tag and f'value="{value}"' in tag:
            return tag
    return None


@pytest.mark.parametrize("choice", list(NotificationPreference))
def test_the_preferences_form_on_the_account_page_changes_the_notification_preference(
    client, make_verified_user, choice: NotificationPreference
) -> None:
    user = make_verified_user()
    if choice is NotificationPreference.ALL:
        user.notification_preference = NotificationPreference.NONE
        db.session.commit()
    login(client, user.email)
    assert _radio(client.get("/account/").get_data(as_text=True), choice.value) is not None
    response = post(client, "/account/preferences", {"notification_preference": choice.value})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/#preferences")
    db.session.expire_all()
    assert db.session.get(User, user.id).notification_preference is choice
    # The page shows the saved choice.
    assert "checked" in _radio(client.get("/account/").get_data(as_text=True), choice.value)
