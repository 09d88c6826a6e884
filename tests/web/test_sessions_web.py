"""Sessions held on the server: signing out ends the session itself, not just the browser's
copy of its cookie (OWASP ASVS 5.0 V7.4.1), and a person can see and end their sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import UserSession
from portal.services import accounts
from tests.helpers import count_queries, login, post

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def _copy_of(original, make_client, *names: str):
    """Another browser holding copies of the original's cookies (all, or those named)."""
    copy = make_client()
    for name in names or ("session", "remember_token"):
        cookie = original.get_cookie(name)
        if cookie is not None:
            copy.set_cookie(name, cookie.value)
    return copy


def _session_list(page: str) -> list[str]:
    """The entries of the account page's list of sessions."""
    section = page[page.index('id="sessions"') : page.index('id="preferences"')]
    return re.findall(r"<li>(.*?)</li>", section, re.S)


def _end_buttons(page: str) -> list[str]:
    return re.findall(r'action="(/account/sessions/[^"]+/end)"', page)


def test_a_session_cookie_copied_before_sign_out_no_longer_opens_the_account(
    client, make_client, make_user
) -> None:
    user = make_user()
    login(client, user.email)
    copy = _copy_of(client, make_client, "session")
    assert copy.get("/account/").status_code == 200

    post(client, "/account/logout")

    response = copy.get("/account/")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_remember_me_outlasts_a_browser_restart_and_sign_out_revokes_it(
    client, make_client, make_user
) -> None:
    user = make_user()
    post(
        client,
        "/account/login",
        {"email": user.email, "password": "correct horse battery", "remember": "y"},
    )
    # A restart keeps only the lasting cookie; two copies of it, taken now.
    restarted = _copy_of(client, make_client, "remember_token")
    copied = _copy_of(client, make_client, "remember_token")
    page = restarted.get("/account/")
    assert page.status_code == 200
    # The same browser, so the same session: the list shows one.
    assert len(_end_buttons(page.get_data(as_text=True))) == 1

    post(restarted, "/account/logout")

    assert copied.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 302


def test_the_account_page_lists_the_sessions_and_marks_this_one(make_client, make_user) -> None:
    user = make_user()
    laptop, phone = make_client(), make_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    phone.environ_base["HTTP_USER_AGENT"] = SAFARI
    login(laptop, user.email)
    login(phone, user.email)

    page = laptop.get("/account/").get_data(as_text=True)

    entries = _session_list(page)
    assert len(entries) == 2
    (this_one,) = [entry for entry in entries if "This browser" in entry]
    (other,) = [entry for entry in entries if entry is not this_one]
    assert "Firefox on Linux" in this_one and "Safari on iOS" in other
    assert len(_end_buttons(this_one)) == len(_end_buttons(other)) == 1


def test_ending_one_session_signs_that_browser_out_and_not_this_one(make_client, make_user) -> None:
    user = make_user()
    laptop, phone = make_client(), make_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    phone.environ_base["HTTP_USER_AGENT"] = SAFARI
    login(laptop, user.email)
    login(phone, user.email)
    page = laptop.get("/account/").get_data(as_text=True)
    (phone_entry,) = [entry for entry in _session_list(page) if "Safari on iOS" in entry]
    (phone_button,) = _end_buttons(phone_entry)

    response = post(laptop, phone_button)

    assert response.status_code == 302
    assert phone.get("/account/").status_code == 302
    page = laptop.get("/account/")
    assert page.status_code == 200
    (left,) = _session_list(page.get_data(as_text=True))
    assert "Firefox on Linux" in left and "This browser" in left


def test_ending_this_browsers_own_session_signs_it_out(client, make_user) -> None:
    user = make_user()
    login(client, user.email)
    (button,) = _end_buttons(client.get("/account/").get_data(as_text=True))

    post(client, button)

    assert client.get("/account/").status_code == 302


def test_someone_else_s_session_cannot_be_ended(make_client, make_user) -> None:
    mine, theirs = make_client(), make_client()
    login(mine, make_user().email)
    login(theirs, make_user().email)
    (their_button,) = _end_buttons(theirs.get("/account/").get_data(as_text=True))

    response = post(mine, their_button, follow_redirects=True)

    assert "We could not find that session" in response.get_data(as_text=True)
    assert theirs.get("/account/").status_code == 200


def test_ending_a_session_needs_the_csrf_token(client, make_client, make_user) -> None:
    user = make_user()
    login(client, user.email)
    (button,) = _end_buttons(client.get("/account/").get_data(as_text=True))

    assert client.post(button).status_code == 400
    assert client.get("/account/").status_code == 200


def test_sign_out_everywhere_ends_every_session(make_client, make_user) -> None:
    user = make_user()
    browsers = [make_client() for _ in range(3)]
    for browser in browsers:
        login(browser, user.email)
    copy = _copy_of(browsers[0], make_client)

    post(browsers[0], "/account/sign-out-everywhere")

    for browser in [*browsers, copy]:
        assert browser.get("/account/").status_code == 302
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    assert live == 0


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    make_client, make_user
) -> None:
    user = make_user()
    here, elsewhere = make_client(), make_client()
    login(here, user.email)
    login(elsewhere, user.email)

    response = post(
        here,
        "/account/password",
        {
            "current_password": "correct horse battery",
            "password": "a new long password",
            "confirm": "a new long password",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302


def test_a_signed_in_page_checks_its_session_within_the_user_load(client, make_user) -> None:
    """The session check costs no statement of its own: the user loader joins the session
    row. Seen less than five minutes ago, the page writes nothing either."""
    login(client, make_user().email)
    with count_queries(db.engine) as log:
        assert client.get("/account/").status_code == 200
    touching = [s for s in log.statements if "user_sessions" in s]
    # The user load (joined with the session), and the page's own list of sessions.
    assert len(touching) == 2, touching
    assert "JOIN user_sessions" in touching[0] and "FROM users" in touching[0]
    assert not [s for s in log.statements if s.lstrip().upper().startswith("UPDATE")]


def test_last_seen_is_written_at_most_every_five_minutes(make_user) -> None:
    user = make_user()
    signed_in_at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    signed_in = accounts.start_session(user, FIREFOX, now=signed_in_at)
    db.session.commit()

    accounts.user_for_session(user.id, signed_in.id, now=signed_in_at + timedelta(minutes=4))
    assert signed_in.last_seen_at == signed_in_at
    assert not db.session.dirty

    later = signed_in_at + timedelta(minutes=5)
    assert accounts.user_for_session(user.id, signed_in.id, now=later) is not None
    db.session.commit()
    assert db.session.get(UserSession, signed_in.id).last_seen_at == later


def test_devices_are_named_from_the_user_agent() -> None:
    assert accounts.describe_device(FIREFOX) == "Firefox on Linux"
    assert accounts.describe_device(SAFARI) == "Safari on iOS"
    edge = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
    )
    assert accounts.describe_device(edge) == "Edge on Windows"
    assert accounts.describe_device("") == "A browser"
