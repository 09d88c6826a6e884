"""Signing in with an emailed link: the link works once and for 15 minutes, the page answers
the same for every address (in words and in time), it doubles as registration for a new
address with a name, and asking is rate-limited."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous.timed import TimestampSigner
from werkzeug.test import TestResponse

from portal.extensions import db, limiter
from portal.models import OutboxMessage, User
from portal.services import accounts
from portal.services.tokens import SIGN_IN_LINK_MAX_AGE
from tests.conftest import make_test_app
from tests.helpers import emailed_token, finish_registration, post

LINK_PATH = "/account/sign-in-link/"


def _ask(client: FlaskClient, email: str, **names: str) -> TestResponse:
    return post(client, "/account/sign-in-link", {"email": email, **names})


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account/").status_code == 200


def _emails_to(address: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_email == address))
    )


@contextmanager
def _clock_set_back(seconds: int) -> Iterator[None]:
    """Links made inside are dated `seconds` ago (itsdangerous reads the time when signing)."""
    real = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time()) - seconds  # type: ignore[method-assign]
    try:
        yield
    finally:
        TimestampSigner.get_timestamp = real  # type: ignore[method-assign]


def test_the_sign_in_page_offers_an_email_link(client) -> None:
    page = client.get("/account/login").get_data(as_text=True)
    assert 'href="/account/sign-in-link"' in page
    assert "Email me a sign-in link" in page


def test_a_sign_in_link_signs_in_once_and_its_get_changes_nothing(
    make_client, make_verified_user
) -> None:
    person = make_verified_user(email="nia@example.com")
    asking = make_client()
    assert _ask(asking, person.email).status_code == 200
    assert not _signed_in(asking)
    token = emailed_token("sign_in_link", person.email, LINK_PATH)

    browser = make_client()
    shown = browser.get(LINK_PATH + token)
    assert shown.status_code == 200 and "Sign me in" in shown.get_data(as_text=True)
    assert not _signed_in(browser)  # a mail scanner's GET signs nobody in
    assert browser.get(LINK_PATH + token).status_code == 200  # nor spends the link

    pressed = post(browser, LINK_PATH + token)
    assert pressed.status_code == 302
    assert _signed_in(browser)

    # The same link, a second time, from anywhere: refused, nobody signed in.
    other = make_client()
    again = post(other, LINK_PATH + token)
    assert again.status_code == 302 and again.location.endswith("/account/sign-in-link")
    assert not _signed_in(other)
    assert "expired or has been used" in other.get("/account/sign-in-link").get_data(as_text=True)
    assert make_client().get(LINK_PATH + token).status_code == 302
    # Opened again in the browser it signed in: no error, no form promised "below".
    reopened = browser.get(LINK_PATH + token)
    assert reopened.status_code == 302 and reopened.location.endswith("/account/")
    account = browser.get("/account/").get_data(as_text=True)
    assert "not valid any more, and you are signed in already" in account
    assert "Ask for a new one below" not in account


def test_a_sign_in_link_older_than_15_minutes_is_refused(make_client, make_verified_user) -> None:
    person = make_verified_user(email="old@example.com")
    with _clock_set_back(SIGN_IN_LINK_MAX_AGE + 60):
        _ask(make_client(), person.email)
    token = emailed_token("sign_in_link", person.email, LINK_PATH)
    browser = make_client()
    assert browser.get(LINK_PATH + token).status_code == 302
    assert post(browser, LINK_PATH + token).status_code == 302
    assert not _signed_in(browser)


def test_a_sign_in_link_just_inside_15_minutes_still_works(make_client, make_verified_user) -> None:
    person = make_verified_user(email="young@example.com")
    with _clock_set_back(SIGN_IN_LINK_MAX_AGE - 60):
        _ask(make_client(), person.email)
    token = emailed_token("sign_in_link", person.email, LINK_PATH)
    browser = make_client()
    post(browser, LINK_PATH + token)
    assert _signed_in(browser)


def test_a_known_and_an_unknown_address_get_the_same_page(make_client, make_verified_user) -> None:
    make_verified_user(email="known@example.com")
    pages = {}
    for address in ("known@example.com", "nobody@example.com"):
        client = make_client()
        response = _ask(client, address)
        pages[address] = (
            response.status_code,
            response.get_data(as_text=True).replace(address, "ADDRESS"),
            _signed_in(client),
        )
    assert pages["known@example.com"] == pages["nobody@example.com"]
    assert "Check your email" in pages["known@example.com"][1]
    assert len(_emails_to("known@example.com")) == 1
    assert _emails_to("nobody@example.com") == []


def test_known_and_unknown_addresses_take_the_same_time_to_answer(
    make_client, make_verified_user
) -> None:
    """Median response times over 20 requests each are within 50 ms: the email is written to
    the outbox (the worker sends it later), never sent while the person waits."""
    make_verified_user(email="timed@example.com")
    client = make_client()
    _ask(client, "warm-up@example.com")  # the first request compiles templates
    _ask(client, "timed@example.com")
    known: list[float] = []
    unknown: list[float] = []
    for n in range(20):
        for address, times in (("timed@example.com", known), (f"stranger{n}@example.com", unknown)):
            started = time.perf_counter()
            assert _ask(client, address).status_code == 200
            times.append(time.perf_counter() - started)
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.050
    assert len(_emails_to("timed@example.com")) == 21


def test_a_new_address_with_a_name_gets_a_registration_link_that_makes_a_verified_account(
    make_client,
) -> None:
    asking = make_client()
    answer = _ask(asking, "new@example.com", display_name="Nia J", preferred_name="Nia")
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    assert accounts.find_user_by_email("new@example.com") is None  # nothing until the click

    browser = make_client()
    assert finish_registration(browser, "new@example.com").status_code == 302
    assert _signed_in(browser)
    person = accounts.find_user_by_email("new@example.com")
    assert person is not None and person.verified_at is not None
    assert (person.display_name, person.preferred_name) == ("Nia J", "Nia")
    # No password was chosen: it signs in with links, and a reset offers a first password.
    assert not accounts.has_usable_password(person)
    assert accounts.authenticate("new@example.com", "") is None


def test_a_new_address_without_a_name_gets_nothing_but_the_same_page(client) -> None:
    answer = _ask(client, "quiet@example.com")
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    assert _emails_to("quiet@example.com") == []


def test_a_name_breaking_the_registration_rule_is_refused_for_every_address_alike(
    make_client, make_verified_user
) -> None:
    make_verified_user(email="known2@example.com")
    pages = []
    for address in ("known2@example.com", "fresh@example.com"):
        response = _ask(make_client(), address, display_name="Nia\u202eevil")
        page = response.get_data(as_text=True)
        assert "Check your email" not in page
        assert f'value="{address}"' in page  # what was typed is kept
        pages.append(page.replace(address, "ADDRESS"))
        assert _emails_to(address) == []
    assert (
        pages[0].split("<main")[1].split("csrf")[0] == pages[1].split("<main")[1].split("csrf")[0]
    )


def test_an_unconfirmed_address_is_confirmed_by_signing_in_with_its_link(
    make_client, make_user
) -> None:
    person = make_user(email="unconfirmed@example.com")
    assert person.verified_at is None
    _ask(make_client(), person.email)
    browser = make_client()
    post(browser, LINK_PATH + emailed_token("sign_in_link", person.email, LINK_PATH))
    assert _signed_in(browser)
    db.session.expire_all()
    assert db.session.get(User, person.id).verified_at is not None


def test_a_closed_account_gets_no_link(client, make_verified_user) -> None:
    person = make_verified_user(email="closed@example.com")
    person.active = False
    db.session.commit()
    assert _ask(client, person.email).status_code == 200
    assert _emails_to(person.email) == []


def test_asking_for_links_is_rate_limited(
    database_uri: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    """Five requests an hour per client: a sixth is refused, so nobody floods an inbox."""
    person = make_user()
    limited = make_test_app(database_uri, tmp_path, RATELIMIT_ENABLED=True)
    try:
        browser = limited.test_client()
        for n in range(5):
            assert _ask(browser, person.email).status_code == 200, n
        assert _ask(browser, person.email).status_code == 429
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("bad", ["not-a-token", "a" * 40])
def test_a_forged_link_signs_nobody_in(client, bad: str) -> None:
    assert client.get(LINK_PATH + bad).status_code == 302
    assert post(client, LINK_PATH + bad).status_code == 302
    assert not _signed_in(client)


def test_a_sign_in_link_opens_the_page_it_was_asked_from(make_client, make_verified_user) -> None:
    person = make_verified_user(email="going@example.com")
    post(make_client(), "/account/sign-in-link?next=/feedback/new", {"email": person.email})
    browser = make_client()
    pressed = post(browser, LINK_PATH + emailed_token("sign_in_link", person.email, LINK_PATH))
    assert pressed.location.endswith("/feedback/new")


def test_a_next_page_off_the_site_is_not_followed(make_client, make_verified_user) -> None:
    person = make_verified_user(email="staying@example.com")
    post(make_client(), "/account/sign-in-link?next=//evil.example", {"email": person.email})
    pressed = post(
        make_client(), LINK_PATH + emailed_token("sign_in_link", person.email, LINK_PATH)
    )
    assert "evil.example" not in pressed.location
