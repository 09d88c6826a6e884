"""Account security: spam checks on public forms, password reset, sessions that end when they
should, safe redirects, cookie settings, and the data-rights pages (export and delete)."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import itsdangerous
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db
from portal.forms import HUMAN_CHECK_MESSAGE, _stamps
from portal.models import Comment, Feedback, OutboxMessage, Role, User, Vote
from portal.services import workflow
from portal.services.accounts import find_user_by_email
from portal.services.feedback import add_comment
from portal.services.outbox import deliver_pending
from portal.services.tokens import make_reset_token, read_reset_token
from portal.services.votes import set_vote
from tests.conftest import TEST_PASSWORD, track_app
from tests.helpers import finish_registration, login, post

NEW_PASSWORD = "a brand new long password"
REGISTRATION = {
    "email": "nia@example.com",
    "password": TEST_PASSWORD,
    "confirm": TEST_PASSWORD,
    "display_name": "Nia",
    "preferred_name": "Nia J.",
}


def _form_started(html: str) -> str:
    match = re.search(r'<input[^>]*name="form_started"[^>]*>', html)
    assert match, "the form carries its start stamp"
    value = re.search(r'value="([^"]*)"', match.group(0))
    assert value and value.group(1)
    return value.group(1)


def _outbox_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0


# The honeypot and the minimum fill time --------------------------------------------------


def test_a_filled_honeypot_refuses_registration_with_the_neutral_message(client) -> None:
    response = post(client, "/account/register", {**REGISTRATION, "website": "http://spam.example"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert str(HUMAN_CHECK_MESSAGE) in page
    assert find_user_by_email(REGISTRATION["email"]) is None


def test_a_filled_honeypot_refuses_feedback_comments_and_reset_requests(
    client, make_user, make_category, make_feedback, make_verified_user
) -> None:
    author = make_user()
    category = make_category()
    item = make_feedback(category=category)
    login(client, author.email)
    feedback_before = db.session.scalar(sa.select(sa.func.count()).select_from(Feedback))
    response = post(
        client,
        "/feedback/new",
        {
            "kind": "idea",
            "category_id": str(category.id),
            "title": "Cheap watches here",
            "body": "Visit my shop for cheap watches.",
            "visibility": "public",
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 200
    assert str(HUMAN_CHECK_MESSAGE) in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == feedback_before

    response = post(
        client,
        f"/feedback/{item.id}/comments",
        {"body": "Cheap watches at my shop", "website": "spam"},
    )
    assert response.status_code == 400
    assert str(HUMAN_CHECK_MESSAGE) in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0

    verified = make_verified_user()
    before = _outbox_count()
    stranger = client.application.test_client()
    response = post(stranger, "/account/reset", {"email": verified.email, "website": "spam"})
    assert response.status_code == 200
    assert str(HUMAN_CHECK_MESSAGE) in response.get_data(as_text=True)
    assert _outbox_count() == before


def test_a_form_posted_faster_than_a_person_types_is_refused(
    app: Flask, client, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "FORM_MIN_FILL_SECONDS", 2)
    stamp = _form_started(client.get("/account/register").get_data(as_text=True))
    response = post(client, "/account/register", {**REGISTRATION, "form_started": stamp})
    assert response.status_code == 200
    assert str(HUMAN_CHECK_MESSAGE) in response.get_data(as_text=True)
    assert find_user_by_email(REGISTRATION["email"]) is None
    # No stamp, or one we did not sign, is refused the same way.
    for forged in ("", "12345", stamp[:-2] + "xx"):
        response = post(client, "/account/register", {**REGISTRATION, "form_started": forged})
        assert str(HUMAN_CHECK_MESSAGE) in response.get_data(as_text=True), forged
    assert find_user_by_email(REGISTRATION["email"]) is None


def test_a_form_that_took_a_person_long_enough_is_accepted(app: Flask, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "FORM_MIN_FILL_SECONDS", 2)
    stamp = _stamps().dumps(int(time.time()) - 10)
    response = post(client, "/account/register", {**REGISTRATION, "form_started": stamp})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert str(HUMAN_CHECK_MESSAGE) not in response.get_data(as_text=True)
    assert _outbox_count() == 1  # the link that finishes it


def test_a_real_stamp_is_accepted_once_the_minimum_time_has_passed(
    app: Flask, client, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "FORM_MIN_FILL_SECONDS", 2)
    stamp = _form_started(client.get("/account/register").get_data(as_text=True))
    later = time.time() + 5
    monkeypatch.setattr("portal.forms.time.time", lambda: later)
    response = post(client, "/account/register", {**REGISTRATION, "form_started": stamp})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert str(HUMAN_CHECK_MESSAGE) not in response.get_data(as_text=True)
    assert _outbox_count() == 1  # the link that finishes it


# Password reset -----------------------------------------------------------------------------


_CSRF_VALUES = re.compile(
    r'(name="csrf-token" content="|name="csrf_token" type="hidden" value=")'
    r'[^"]+'
)


def _reset_answer(client: FlaskClient, email: str) -> tuple[int, str, str]:
    response = post(client, "/account/reset", {"email": email})
    location = response.headers.get("Location", "")
    page = client.get(location).get_data(as_text=True) if location else ""
    page = _CSRF_VALUES.sub(r"\1TOKEN", page).replace(email, "EMAIL")
    return response.status_code, location, page


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(
    make_client, make_verified_user
) -> None:
    user = make_verified_user(email="known@example.com")
    known = _reset_answer(make_client(), user.email)
    unknown = _reset_answer(make_client(), "nobody-here@example.com")
    assert known[0] == unknown[0] == 302
    assert known[1] == unknown[1]
    assert "EMAIL" in known[2]
    assert known[2] == unknown[2]
    # Only the known address was sent a link.
    sent = db.session.scalars(
        sa.select(OutboxMessage.to_email).where(OutboxMessage.kind == "password_reset")
    ).all()
    assert sent == [user.email]


def _reset_link(smtp_server, email: str) -> str:
    deliver_pending()
    [message] = [m for m in smtp_server.to(email) if "password" in str(m["Subject"]).lower()]
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S+/account/reset/\S+", text)
    assert match, text
    return urlsplit(match.group(0)).path


def test_the_reset_link_sets_a_new_password_once(
    client, make_client, make_verified_user, smtp_server
) -> None:
    user = make_verified_user()
    assert post(client, "/account/reset", {"email": user.email}).status_code == 302
    path = _reset_link(smtp_server, user.email)

    browser = make_client()
    assert browser.get(path).status_code == 200
    response = post(browser, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"
    login(make_client(), user.email, NEW_PASSWORD)

    again = make_client()
    response = again.get(path)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/reset"
    assert "expired or has already been used" in again.get("/account/reset").get_data(as_text=True)
    response = post(again, path, {"password": "yet another password", "confirm": "x"})
    assert response.status_code == 302
    response = post(
        again, path, {"password": "yet another password", "confirm": "yet another password"}
    )
    assert urlsplit(response.headers["Location"]).path == "/account/reset"
    # The second use changed nothing: the first new password still works.
    login(make_client(), user.email, NEW_PASSWORD)
    refused = post(
        make_client(), "/account/login", {"email": user.email, "password": "yet another password"}
    )
    assert refused.status_code == 200


def test_an_expired_reset_link_is_refused(client, make_verified_user, monkeypatch) -> None:
    user = make_verified_user()
    with monkeypatch.context() as patch:
        hour_and_more_ago = int(time.time()) - 3_700
        patch.setattr(
            itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: hour_and_more_ago
        )
        old = make_reset_token(user.id, user.password_hash)
    fresh = make_reset_token(user.id, user.password_hash)
    assert read_reset_token(old) is None
    assert read_reset_token(fresh) is not None
    assert read_reset_token(fresh, max_age=-1) is None

    response = client.get(f"/account/reset/{old}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/reset"
    response = post(
        client, f"/account/reset/{old}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert urlsplit(response.headers["Location"]).path == "/account/reset"
    login(client, user.email)  # the old password still works


# Sessions that must end --------------------------------------------------------------------


def _signed_in(client: FlaskClient, *, remember_only: bool = False) -> bool:
    if remember_only:
        client.delete_cookie("session")
    response = client.get("/account/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"
    return False


def _browsers(make_client, email: str) -> tuple[FlaskClient, FlaskClient]:
    """A browser with a session, and one that keeps only its remember-me cookie."""
    with_session = make_client()
    login(with_session, email)
    remembered = make_client()
    post(remembered, "/account/login", {"email": email, "password": TEST_PASSWORD, "remember": "y"})
    assert remembered.get_cookie("remember_token") is not None
    assert _signed_in(with_session)
    assert _signed_in(remembered, remember_only=True), "the remember-me cookie signs back in"
    return with_session, remembered


def _by_reset(user: User, actor: FlaskClient, make_client) -> None:
    path = f"/account/reset/{make_reset_token(user.id, user.password_hash)}"
    response = post(make_client(), path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302


def _by_password_change(user: User, actor: FlaskClient, make_client) -> None:
    response = post(
        actor,
        "/account/password",
        {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(actor), "the browser that changed the password stays signed in"


def _by_signing_out_everywhere(user: User, actor: FlaskClient, make_client) -> None:
    assert post(actor, "/account/sign-out-everywhere").status_code == 302
    assert not _signed_in(actor)


def _by_deactivation(user: User, actor: FlaskClient, make_client) -> None:
    admin_client = make_client()
    login(admin_client, _ADMIN_EMAIL)
    response = post(admin_client, f"/admin/users/{user.id}", {"role": "customer", "active": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).active


_ADMIN_EMAIL = "the-admin@example.com"


@pytest.mark.parametrize(
    "end_sessions",
    [_by_reset, _by_password_change, _by_signing_out_everywhere, _by_deactivation],
    ids=["password-reset", "password-change", "sign-out-everywhere", "deactivation"],
)
def test_other_sessions_end(
    end_sessions: Callable[..., None], make_client, make_user, make_verified_user
) -> None:
    make_user(email=_ADMIN_EMAIL, role=Role.ADMIN)
    user = make_verified_user()
    actor = make_client()
    login(actor, user.email)
    with_session, remembered = _browsers(make_client, user.email)
    end_sessions(user, actor, make_client)
    assert not _signed_in(with_session), "a signed-in browser kept its session"
    assert not _signed_in(remembered, remember_only=True), "a remember-me cookie still works"


# Where sign-in sends people ----------------------------------------------------------------


OFFSITE = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "https:evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    " //evil.example",
    "http://localhost.evil.example/",
]


def _stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return (
        parts.scheme in ("", "http")
        and parts.netloc in ("", "localhost")
        and (parts.path.startswith("/") and not parts.path.startswith("//"))
    )


@pytest.mark.parametrize("target", OFFSITE)
def test_sign_in_never_sends_people_off_site(make_client, make_user, target: str) -> None:
    user = make_user()
    browser = make_client()
    response = post(
        browser,
        "/account/login",
        {"email": user.email, "password": TEST_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]
    # Signed in already, the next of a sign-in link is checked the same way.
    again = browser.get("/account/login", query_string={"next": target})
    assert again.status_code == 302
    assert _stays_on_site(again.headers["Location"]), again.headers["Location"]
    registering = make_client()
    address = f"new-{abs(hash(target))}@example.com"
    post(registering, f"/account/register?next={target}", {**REGISTRATION, "email": address})
    response = finish_registration(registering, address)
    assert response.status_code == 302
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]


# Cookies and transport ---------------------------------------------------------------------


def _set_cookie(response, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def _attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")[1:]]
    pairs = [(*p.split("=", 1), "") for p in parts]
    return {pair[0].lower(): pair[1] for pair in pairs}


def test_the_remember_cookie_is_http_only_and_short_lived(app: Flask, client, make_user) -> None:
    duration = app.config["REMEMBER_COOKIE_DURATION"]
    assert duration <= timedelta(days=90), "far below a year"
    user = make_user()
    response = post(
        client, "/account/login", {"email": user.email, "password": TEST_PASSWORD, "remember": "y"}
    )
    attributes = _attributes(_set_cookie(response, "remember_token"))
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    expires = parsedate_to_datetime(attributes["expires"])
    lifetime = expires - datetime.now(UTC)
    assert lifetime <= duration + timedelta(minutes=1)
    assert lifetime < timedelta(days=365) / 4


def test_the_session_cookie_is_http_only_and_same_site_lax(client, make_user) -> None:
    user = make_user()
    response = login(client, user.email)
    attributes = _attributes(_set_cookie(response, "session"))
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"


def _production_app(tmp_path: Path, monkeypatch, database_uri: str, **overrides) -> Flask:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    config = {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SERVER_NAME": "localhost",
        "PORTAL_BASE_URL": "https://localhost",
        # One app per process in production; here the worker would listen to every app's commits.
        "OUTBOX_DELIVER_AFTER_COMMIT": False,
        "RATELIMIT_ENABLED": False,
        **overrides,
    }
    return track_app(create_app("production", config))


def test_production_cookies_are_secure(tmp_path: Path, monkeypatch, database_uri: str) -> None:
    app = _production_app(tmp_path, monkeypatch, database_uri, SECRET_KEY=secrets.token_hex(32))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/account/login", base_url="https://localhost")
    assert response.status_code == 200
    attributes = _attributes(_set_cookie(response, "session"))
    assert "secure" in attributes and "httponly" in attributes
    with app.app_context():
        db.engine.dispose()


def test_production_refuses_to_start_without_a_secret_key(
    tmp_path: Path, monkeypatch, database_uri: str
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _production_app(tmp_path, monkeypatch, database_uri, SECRET_KEY="")
    assert not (tmp_path / "secret_key").exists(), "no key was generated for production"


def test_hsts_is_sent_over_https_only(client) -> None:
    secure = client.get("/", base_url="https://localhost")
    assert secure.status_code == 200
    assert "max-age=" in secure.headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/").headers


# Export and delete ---------------------------------------------------------------------------


def test_export_gives_the_person_their_own_items_comments_and_votes(
    client, make_user, make_category, make_feedback
) -> None:
    me, other = make_user(), make_user()
    staff = make_user(role=Role.STAFF)
    category = make_category()
    mine = make_feedback(author=me, category=category, title="Bins missed on Tuesday")
    private = make_feedback(
        author=me, category=category, title="My neighbour's dog", visibility="private"
    )
    theirs = make_feedback(author=other, category=category, title="Street lights out")
    add_comment(me, theirs.id, "Same on my road.")
    add_comment(other, theirs.id, "Someone else's words.")
    workflow.add_internal_note(mine.id, staff, "Staff-only remark")
    set_vote(me, theirs.id, want=True)
    db.session.commit()

    login(client, me.email)
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in response.headers.get("Cache-Control", "")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == me.email
    assert {i["title"] for i in data["feedback"]} == {mine.title, private.title}
    assert [c["body"] for c in data["comments"]] == ["Same on my road."]
    assert {v["feedback_id"] for v in data["votes"]} == {mine.id, private.id, theirs.id}
    text = response.get_data(as_text=True)
    assert "Someone else's words." not in text and "Staff-only remark" not in text
    assert other.email not in text


def test_deleting_an_account_needs_the_password_and_anonymises_the_person(
    client, make_client, make_user, make_category, make_feedback
) -> None:
    me = make_user(display_name="Gwen Tregarthen")
    other = make_user()
    staff = make_user(role=Role.STAFF)
    category = make_category()
    mine = make_feedback(author=me, category=category, title="Ferry timetable is wrong")
    theirs = make_feedback(author=other, category=category)
    set_vote(me, theirs.id, want=True)
    db.session.commit()
    email = me.email
    login(client, email)

    refused = post(client, "/account/delete", {"password": "not my password"})
    assert refused.status_code == 200
    assert "not right" in refused.get_data(as_text=True)
    assert find_user_by_email(email) is not None

    response = post(client, "/account/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert find_user_by_email(email) is None
    rows = db.session.scalars(
        sa.select(User).where(
            sa.or_(
                sa.func.lower(User.email) == email.lower(),
                User.display_name == "Gwen Tregarthen",
            )
        )
    ).all()
    assert rows == [], "the address and name are gone from the users table"

    page = make_client().get(f"/feedback/{mine.id}").get_data(as_text=True)
    assert "a former customer" in page
    assert email not in page and "Gwen Tregarthen" not in page
    staff_client = make_client()
    login(staff_client, staff.email)
    admin_page = staff_client.get(f"/admin/feedback/{mine.id}").get_data(as_text=True)
    assert email not in admin_page and "Gwen Tregarthen" not in admin_page

    # Their votes still count.
    assert db.session.get(Feedback, theirs.id).vote_count == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Vote).where(Vote.feedback_id == theirs.id)
        )
        == 2
    )
    # They are signed out and cannot sign in again.
    assert not _signed_in(client)
    again = post(make_client(), "/account/login", {"email": email, "password": TEST_PASSWORD})
    assert again.status_code == 200
    assert "do not match an account" in again.get_data(as_text=True)
