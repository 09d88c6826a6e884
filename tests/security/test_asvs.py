"""OWASP ASVS 5.0 requirements the portal meets that no other test showed: each test names
the requirement it backs, and SECURITY.md lists it (tests/test_security_doc.py checks that
every test named there exists)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.test import TestResponse

from portal import create_app
from portal.extensions import db, limiter
from portal.logging_setup import JsonFormatter
from portal.models import Feedback, Role, TokenScope, User, UserSession
from portal.services import api_tokens, tokens
from portal.services.accounts import authenticate, register_user
from portal.services.errors import DomainError
from tests.conftest import TEST_PASSWORD, make_test_app, track_app
from tests.helpers import database_independent, login, post

ELSEWHERE = "https://elsewhere.example"


def _answers(client: FlaskClient, item: Feedback) -> dict[str, TestResponse]:
    """One answer of each kind the site gives: page, fragment, item, JSON, feeds, static
    files, an error page and the health check."""
    paths = [
        "/",
        f"/feedback/{item.id}",
        "/api/v1/items",
        f"/api/v1/items/{item.id}",
        "/feeds/resolutions.atom",
        "/feeds/resolutions.rss",
        "/static/js/app.js",
        "/static/css/site.css",
        "/no-such-page",
        "/healthz",
    ]
    answers = {}
    for path in paths:
        answers[path] = response = client.get(path, headers={"Origin": ELSEWHERE})
        response.close()  # static files come as open files; the headers are what counts
    return answers


# V1 Encoding and Sanitization ---------------------------------------------------------------


def test_text_people_write_is_never_run_as_a_template(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    """V1.3.7: titles and bodies are data for the templates, never part of one."""
    item = make_feedback(title="{{ 7*7 }} and {{ config }}", body="{{ config.SECRET_KEY }}")
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "{{ 7*7 }} and {{ config }}" in page and "{{ config.SECRET_KEY }}" in page
    assert "49 and" not in page
    assert client.application.config["SECRET_KEY"] not in page


# V3 Web Frontend Security -------------------------------------------------------------------


def test_every_answer_forbids_plugins_base_changes_framing_and_sniffing(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    """V3.4.3, V3.4.4, V3.4.5, V3.4.6: the same policy on pages, JSON, feeds, static files
    and errors."""
    for path, response in _answers(client, make_feedback()).items():
        csp = {part.strip() for part in response.headers["Content-Security-Policy"].split(";")}
        assert {"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} <= csp, path
        assert "script-src 'self'" in csp and not any("unsafe" in part for part in csp), path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path


def test_no_answer_lets_another_site_read_it(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    """V3.4.2: no Access-Control-Allow-Origin at all, so browsers keep every answer from
    other sites' scripts; a preflight for an API write is granted nothing either."""
    for path, response in _answers(client, make_feedback()).items():
        assert not any(name.startswith("Access-Control-") for name, _ in response.headers), path
    preflight = client.options(
        "/api/v1/items",
        headers={
            "Origin": ELSEWHERE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert not any(name.startswith("Access-Control-") for name, _ in preflight.headers)


# V4 API and Web Service ---------------------------------------------------------------------


def test_every_text_answer_names_its_character_set(
    client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    """V4.1.1: HTML, feeds, scripts and styles say charset=utf-8; JSON is application/json
    (always UTF-8, RFC 8259, which defines no charset parameter)."""
    for path, response in _answers(client, make_feedback()).items():
        mimetype = response.mimetype
        if mimetype.startswith("text/") or mimetype.endswith("xml"):
            assert response.mimetype_params.get("charset") == "utf-8", path
        else:
            assert mimetype == "application/json", path


# V6 Authentication --------------------------------------------------------------------------


def test_a_password_shorter_than_ten_characters_is_refused_everywhere(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """V6.2.1: at least 10 characters (ASVS asks 8), by the service whatever the way in."""
    with pytest.raises(DomainError, match="at least 10 characters"):
        register_user(email="short@example.com", password="nine char", display_name="Short")
    person = make_user()
    login(client, person.email)
    refused = post(
        client,
        "/account/password",
        {"current_password": TEST_PASSWORD, "password": "nine char", "confirm": "nine char"},
    )
    assert refused.status_code != 302
    db.session.expire_all()
    assert authenticate(person.email, TEST_PASSWORD) is not None


def test_a_password_is_checked_exactly_as_it_was_typed() -> None:
    """V6.2.8: no trimming, case folding or truncation before the check."""
    typed = "  Ein Kaffee, bitte, mit Hafermilch  "
    register_user(email="exact@example.com", password=typed, display_name="Exact")
    assert authenticate("exact@example.com", typed) is not None
    for near in (typed.strip(), typed.lower(), typed.upper(), typed[:-1], typed[:20]):
        assert authenticate("exact@example.com", near) is None, near


@pytest.mark.parametrize(
    "password",
    ["only lower case words", "8302749158375", "ÑANDÚ ÜBER 🦜🦜🦜🦜", "no-digits-NO-symbols"],
)
def test_passwords_of_any_composition_are_accepted(password: str) -> None:
    """V6.2.5: length is the only rule; no required mix of cases, digits or symbols."""
    register_user(email="any@example.com", password=password, display_name="Any")
    assert authenticate("any@example.com", password) is not None


def test_a_password_of_150_characters_can_be_chosen_and_used(
    client: FlaskClient, make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    """V6.2.9: at least 64 characters are allowed (the forms take up to 200)."""
    person = make_user()
    login(client, person.email)
    long_one = "a sentence that goes on " * 6 + "and on"
    assert len(long_one) == 150
    changed = post(
        client,
        "/account/password",
        {"current_password": TEST_PASSWORD, "password": long_one, "confirm": long_one},
    )
    assert changed.status_code == 302
    login(make_client(), person.email, long_one)


def test_changing_the_password_needs_the_current_one(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """V6.2.3 (and V7.5.1: the password is the only authentication attribute that can be
    changed; the email address cannot be)."""
    person = make_user()
    login(client, person.email)
    refused = post(
        client,
        "/account/password",
        {"current_password": "not my password", "password": "x" * 12, "confirm": "x" * 12},
    )
    assert refused.status_code != 302
    assert "Your current password is not right." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert authenticate(person.email, TEST_PASSWORD) is not None
    assert authenticate(person.email, "x" * 12) is None


_PASSWORD_INPUT = re.compile(r'<input[^>]*\bname="(?:password|confirm|current_password)"[^>]*>')


def test_password_fields_are_masked_and_open_to_password_managers(
    client: FlaskClient, make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    """V6.2.6, V6.2.7: type=password, never autocomplete=off, nothing that blocks pasting
    (and the CSP allows no inline handler that could)."""
    person = make_user()
    reset = f"/account/reset/{tokens.make_reset_token(person.id, person.password_hash)}"
    visitor_pages = ["/account/login", "/account/register", reset]
    signed_in = make_client()
    login(signed_in, person.email)
    pages = [(client, p) for p in visitor_pages] + [
        (signed_in, p) for p in ("/account/password", "/account/delete")
    ]
    for browser, path in pages:
        html = browser.get(path).get_data(as_text=True)
        inputs = _PASSWORD_INPUT.findall(html)
        assert inputs, path
        for tag in inputs:
            assert 'type="password"' in tag, (path, tag)
            assert 'autocomplete="off"' not in tag and "onpaste" not in tag, (path, tag)


def test_sign_in_is_limited_per_client_whatever_x_forwarded_for_claims(
    database_uri: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    """V6.3.1, V15.3.4: ten sign-in attempts a minute per client address. Without
    PROXY_FIX_HOPS the address is the connection's: a forged X-Forwarded-For is no new
    client. There is no lockout of the account, so nobody can lock someone else out."""
    person = make_user()
    limited = make_test_app(database_uri, tmp_path, RATELIMIT_ENABLED=True)
    try:
        browser = limited.test_client()
        for n in range(10):
            wrong = {"email": person.email, "password": f"guess {n}"}
            answer = post(
                browser, "/account/login", wrong, headers={"X-Forwarded-For": f"10.0.0.{n}"}
            )
            assert answer.status_code == 200, n
        right = {"email": person.email, "password": TEST_PASSWORD}
        eleventh = post(browser, "/account/login", right, headers={"X-Forwarded-For": "10.9.9.9"})
        assert eleventh.status_code == 429
        # The person is not locked out: another client signs in at once.
        other = limited.test_client()
        signed_in = post(other, "/account/login", right, environ_base={"REMOTE_ADDR": "127.0.0.2"})
        assert signed_in.status_code == 302
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


@database_independent
def test_a_new_database_holds_no_accounts(tmp_path: Path) -> None:
    """V6.3.2: the migrations make no default account; the first admin is made at the console
    (`flask create-admin`) with a password of their own."""
    fresh = make_test_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    with fresh.app_context():
        upgrade()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        db.session.remove()
        db.engine.dispose()


# V7 Session Management ----------------------------------------------------------------------


def test_signing_in_gives_a_new_session_and_a_planted_cookie_opens_nothing(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> None:
    """V7.2.4 (session fixation), V7.2.3: a cookie someone planted before sign-in is not
    signed in by it; each sign-in starts its own server session, 256 random bits."""
    person = make_user()
    victim = make_client()
    victim.get("/account/login")
    planted = victim.get_cookie("session")
    assert planted is not None
    attacker = make_client()
    attacker.set_cookie("session", planted.value)
    login(victim, person.email)
    assert victim.get_cookie("session").value != planted.value  # type: ignore[union-attr]
    assert attacker.get("/account/").status_code == 302
    login(make_client(), person.email)
    ids = db.session.scalars(sa.select(UserSession.id).where(UserSession.user_id == person.id))
    started = list(ids)
    assert len(set(started)) == 2
    assert all(len(one) >= 43 for one in started)  # secrets.token_urlsafe(32)


def test_every_signed_in_page_has_the_sign_out_button(
    client: FlaskClient,
    make_client: Callable[[], FlaskClient],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    """V7.4.4: the header of every page offers "Sign out" to whoever is signed in."""
    item = make_feedback()
    login(client, make_user().email)
    staff = make_client()
    login(staff, make_user(role=Role.ADMIN).email)
    pages = [(client, p) for p in ("/", f"/feedback/{item.id}", "/feedback/new", "/account/")]
    pages += [(staff, p) for p in ("/admin/", "/admin/users", f"/admin/feedback/{item.id}")]
    for browser, path in pages:
        response = browser.get(path)
        assert response.status_code == 200, path
        assert 'action="/account/logout"' in response.get_data(as_text=True), path


# V9 Self-contained Tokens -------------------------------------------------------------------


def test_a_link_token_made_for_one_purpose_is_refused_for_every_other() -> None:
    """V9.2.2, V9.2.3: every emailed link's token is signed for one purpose (its own salt),
    so a verification link cannot be replayed as a reset, claim or registration link."""
    made = {
        "verify": tokens.make_verify_token(1, "a@example.com"),
        "reset": tokens.make_reset_token(1, "hash"),
        "claim": tokens.make_claim_token(1, "a@example.com", "hash"),
        "register": tokens.make_registration_token("a@example.com", "A", "A", "hash", ""),
        "unsubscribe": tokens.make_unsubscribe_token(1, None),
        "digest change": tokens.make_digest_change_token(1, "a@example.com", "k", "weekly", [1]),
    }
    readers = {
        "verify": tokens.read_verify_token,
        "reset": tokens.read_reset_token,
        "claim": tokens.read_claim_token,
        "register": tokens.read_registration_token,
        "unsubscribe": tokens.read_unsubscribe_token,
        "digest change": tokens.read_digest_change_token,
    }
    for purpose, read in readers.items():
        assert read(made[purpose]) is not None, purpose
        for other, token in made.items():
            if other != purpose:
                assert read(token) is None, (other, "read as", purpose)


# V13 Configuration --------------------------------------------------------------------------


def test_source_files_directory_listings_and_trace_are_not_served(client: FlaskClient) -> None:
    """V13.4.1, V13.4.3, V13.4.4."""
    for path in (
        "/.git/HEAD",
        "/.git/config",
        "/.env",
        "/static/",
        "/static/../pyproject.toml",
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2fportal/config.py",
    ):
        assert client.get(path).status_code == 404, path
    for path in ("/", "/api/v1/items"):
        assert client.open(path, method="TRACE").status_code == 405, path


def test_production_runs_without_the_debugger_and_hides_what_went_wrong(
    database_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """V13.4.2, V16.5.1: no debug mode in production; an unexpected error is answered with
    the site's own 500 page, which names nothing of the error."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    config = {
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": "k3y-0123456789abcdefghijklmnopqrstuvwxyz",
        "PORTAL_BASE_URL": "https://feedback.example.org",
        "OUTBOX_DELIVER_AFTER_COMMIT": False,
        "RATELIMIT_ENABLED": False,
        "LOG_JSON": False,
    }
    production = track_app(create_app("production", config))
    assert production.debug is False and production.testing is False

    def fails() -> str:
        raise RuntimeError("connection to postgresql://portal:s3cret@db:5432 failed")

    production.add_url_rule("/fails", "fails", fails)
    response = production.test_client().get("/fails", base_url="https://feedback.example.org")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    for detail in ("Traceback", "RuntimeError", "s3cret", "postgresql://", "fails()"):
        assert detail not in page, detail


# V14 Data Protection ------------------------------------------------------------------------


def test_an_api_token_is_taken_from_the_authorization_header_only(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    """V14.2.1: a token in the address (logged by proxies, kept in histories) is not taken."""
    admin = make_user(role=Role.ADMIN)
    plain = api_tokens.create_token(admin, name="CRM", scope=TokenScope.WRITE).plain
    db.session.commit()
    for query in ("access_token", "token", "api_key", "Authorization"):
        in_address = client.post(f"/api/v1/items?{query}={plain}", json={})
        assert in_address.status_code == 401, query
    in_header = client.post("/api/v1/items", json={}, headers={"Authorization": f"Bearer {plain}"})
    assert in_header.status_code == 422  # authenticated; the empty body is what is refused


# V16 Security Logging and Error Handling ----------------------------------------------------


def test_a_log_line_stays_one_json_line_in_utc_whatever_it_quotes() -> None:
    """V16.4.1, V16.2.2, V16.2.4: line breaks and quotes in logged text cannot forge a second
    entry; times are UTC."""
    forged = 'eve\r\n{"level": "INFO", "message": "admin signed in"}'
    record = logging.LogRecord(
        "portal", logging.WARNING, __file__, 1, "refused %s", (forged,), None
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    entry = json.loads(line)
    assert entry["message"] == f"refused {forged}" and entry["level"] == "WARNING"
    assert entry["time"].endswith("+00:00")
