"""Digest pages: subscribe with double opt-in from the email actually received, confirm,
one-click unsubscribe (RFC 8058) without a session or CSRF token, and the send command."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    Category,
    DigestDelivery,
    DigestFrequency,
    DigestSubscription,
    OutboxMessage,
    Resolution,
    Role,
    Unsubscribe,
    User,
)
from portal.security import CSRF_EXEMPT_ENDPOINTS
from portal.services import digests, workflow
from portal.services.outbox import deliver_pending
from portal.services.tokens import make_digest_change_token
from tests.helpers import login, post

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def publish(
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Any],
) -> Callable[..., Resolution]:
    """Publish a resolution in the last complete week (as of now), or when the test says."""
    staff = make_user(role=Role.STAFF)

    def build(
        *, published_at: datetime | None = None, category: Category | None = None
    ) -> Resolution:
        item = make_feedback(category=category or make_category())
        resolution = workflow.resolve(
            item.id,
            staff,
            "We rewrote the invoice so the total comes first.",
            "Invoices confuse",
            post_anyway=True,
        )
        last_week = digests.period_for(DigestFrequency.WEEKLY, datetime.now(UTC))
        resolution.published_at = published_at or last_week.start + timedelta(days=1)
        db.session.commit()
        return resolution

    return build


def _subscription(email: str) -> DigestSubscription | None:
    db.session.expire_all()
    return digests.find_subscription(email)


def _confirmed(email: str) -> DigestSubscription:
    subscription = digests.subscribe(email, DigestFrequency.WEEKLY, []).subscription
    digests.confirm(subscription.confirm_token)
    db.session.commit()
    return subscription


def _deliver() -> None:
    db.session.commit()
    deliver_pending()


def _text(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _one_click(client: FlaskClient, url: str) -> Any:
    """The POST a mail client sends for RFC 8058: no cookies, no CSRF token."""
    return client.post(url, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")


def _unsubscribes() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Unsubscribe)) or 0


# Subscribing -------------------------------------------------------------------------------


def test_subscribe_page_offers_frequency_and_category_checkboxes(client, make_category) -> None:
    billing = make_category(name="Billing")
    response = client.get("/digest/subscribe")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'type="email"' in html and 'name="email"' in html
    assert 'type="radio"' in html and 'value="weekly"' in html and 'value="monthly"' in html
    assert re.search(rf'<input[^>]*type="checkbox"[^>]*value="{billing.id}"', html)
    assert "<legend>Only these categories</legend>" in html


def test_the_digest_is_offered_in_the_footer_and_on_the_resolutions_board(client) -> None:
    for page in ("/", "/you-said-we-did"):
        assert 'href="/digest/subscribe"' in client.get(page).get_data(as_text=True)
    assert "Get these by email" in client.get("/you-said-we-did").get_data(as_text=True)


def test_double_opt_in_from_the_received_email_starts_the_digest(
    client, make_client, smtp_server, make_category, publish
) -> None:
    billing = make_category(name="Billing")
    response = post(
        client,
        "/digest/subscribe",
        {"email": "Nia@Example.com", "frequency": "weekly", "categories": [str(billing.id)]},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "we have sent a link to nia@example.com" in page

    subscription = _subscription("nia@example.com")
    assert subscription is not None and subscription.confirmed_at is None
    publish(category=billing)
    assert digests.send_digest(DigestFrequency.WEEKLY).delivered == 0  # not confirmed yet
    _deliver()
    [confirmation] = smtp_server.to("nia@example.com")
    match = re.search(r"https?://\S+/digest/confirm/[\w-]+", _text(confirmation))
    assert match, _text(confirmation)

    path = urlsplit(match.group(0)).path
    stranger = make_client()  # the link works in any browser, signed in or not
    asked = stranger.get(path)
    assert asked.status_code == 200
    assert f'method="post" action="{path}"' in asked.get_data(as_text=True)
    assert _subscription("nia@example.com").confirmed_at is None  # opening it changes nothing
    confirmed = post(stranger, path)
    assert confirmed.status_code == 200
    assert "you are subscribed" in confirmed.get_data(as_text=True)
    words = " ".join(confirmed.get_data(as_text=True).split())
    assert "weekly digest of what we changed because customers told us, in Billing." in words
    again = stranger.get(path)
    assert again.status_code == 200 and "already subscribed" in again.get_data(as_text=True)
    assert "<button" not in again.get_data(as_text=True).split("<main", 1)[-1].split("</main>")[0]
    assert _subscription("nia@example.com").confirmed_at is not None

    # A later run of the same week mails the newly confirmed subscriber.
    assert digests.send_digest(DigestFrequency.WEEKLY).delivered == 1
    _deliver()
    assert [m for m in smtp_server.to("nia@example.com") if "You said" in str(m["Subject"])]


def test_only_the_newest_link_confirms_and_it_confirms_what_its_email_showed(
    client, make_client, smtp_server, make_category
) -> None:
    """The owner asks for monthly news of Products; before they confirm, someone else types
    the same address with other choices. The owner's first link must not confirm those."""
    products, billing = make_category(name="Products"), make_category(name="Billing")
    post(
        client,
        "/digest/subscribe",
        {"email": "nia@example.com", "frequency": "monthly", "categories": [str(products.id)]},
    )
    post(
        make_client(),
        "/digest/subscribe",
        {"email": "nia@example.com", "frequency": "weekly", "categories": [str(billing.id)]},
    )
    _deliver()
    first, second = smtp_server.to("nia@example.com")
    assert "How often: monthly" in _text(first) and "Categories: Products" in _text(first)
    assert "How often: weekly" in _text(second) and "Categories: Billing" in _text(second)

    def link(mail) -> str:
        match = re.search(r"https?://\S+/digest/confirm/[\w-]+", _text(mail))
        assert match, _text(mail)
        return urlsplit(match.group(0)).path

    owner = make_client()
    assert owner.get(link(first)).status_code == 404
    assert post(owner, link(first)).status_code == 404
    assert _subscription("nia@example.com").confirmed_at is None
    asked = owner.get(link(second)).get_data(as_text=True)
    assert "Weekly" in asked and "Billing" in asked  # what pressing Confirm agrees to
    assert post(owner, link(second)).status_code == 200
    confirmed = _subscription("nia@example.com")
    assert confirmed.confirmed_at is not None
    assert confirmed.frequency is DigestFrequency.WEEKLY
    assert digests.subscription_category_ids(confirmed.id) == [billing.id]


def test_subscribe_form_errors_keep_the_typed_email_and_say_what_is_wrong(
    client, make_category
) -> None:
    make_category(name="Billing")
    response = post(client, "/digest/subscribe", {"email": "nia@example", "frequency": "weekly"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="nia@example"' in html
    assert "That does not look like an email address" in html
    assert 'aria-invalid="true"' in html

    response = post(client, "/digest/subscribe", {"email": "nia@example.com"})
    html = response.get_data(as_text=True)
    assert 'value="nia@example.com"' in html and "Please choose weekly or monthly." in html

    response = post(
        client,
        "/digest/subscribe",
        {"email": "nia@example.com", "frequency": "weekly", "categories": ["999999"]},
    )
    html = response.get_data(as_text=True)
    assert 'value="nia@example.com"' in html
    assert "Please choose from the categories listed." in html
    assert _subscription("nia@example.com") is None


def test_a_visitor_changing_a_confirmed_subscription_is_asked_to_confirm_by_email(
    client, make_client, smtp_server, make_category
) -> None:
    billing = make_category(name="Billing")
    _confirmed("nia@example.com")
    response = post(
        client,
        "/digest/subscribe",
        {"email": "nia@example.com", "frequency": "monthly", "categories": [str(billing.id)]},
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "we have sent a link to nia@example.com" in page
    assert "nothing starts or changes until you do" in page
    assert _subscription("nia@example.com").frequency is DigestFrequency.WEEKLY

    _deliver()
    [mail] = [m for m in smtp_server.to("nia@example.com") if "change" in str(m["Subject"])]
    match = re.search(r"https?://\S+/digest/change/\S+", _text(mail))
    assert match, _text(mail)
    path = urlsplit(match.group(0)).path
    owner = make_client()  # opened in the owner's mail, in another browser
    asked = owner.get(path).get_data(as_text=True)
    assert "Confirm the change to your digest" in asked and "Billing" in asked
    assert ">Confirm</button>" in asked
    assert _subscription("nia@example.com").frequency is DigestFrequency.WEEKLY
    done = post(owner, path)
    assert done.status_code == 200
    assert "your digest is changed" in done.get_data(as_text=True)
    changed = _subscription("nia@example.com")
    assert changed.frequency is DigestFrequency.MONTHLY
    assert digests.subscription_category_ids(changed.id) == [billing.id]
    # Opened again later, the used link says so instead of asking to confirm once more.
    used = owner.get(path).get_data(as_text=True)
    assert "Your digest already has these choices" in used and ">Confirm</button>" not in used


def test_the_page_does_not_tell_a_visitor_whether_an_address_gets_the_digest(
    client, make_client
) -> None:
    """Typing someone's address must not reveal that they subscribe: the answer for a
    confirmed address is the answer for a new one (only the email to it differs)."""
    _confirmed("nia@example.com")

    def answer(browser, email: str) -> str:
        response = post(browser, "/digest/subscribe", {"email": email, "frequency": "weekly"})
        page = browser.get(response.headers["Location"]).get_data(as_text=True)
        flashed = re.search(r'<p class="flash[^"]*">.*?</p>', page, re.S)
        assert flashed, page
        return flashed.group(0).replace(email, "<address>")

    assert answer(client, "nia@example.com") == answer(make_client(), "new@example.com")


def test_the_signed_in_verified_owner_changes_their_choices_at_once(
    client, make_verified_user
) -> None:
    nia = make_verified_user(email="nia@example.com")
    _confirmed("nia@example.com")
    login(client, nia.email)
    form = client.get("/digest/subscribe").get_data(as_text=True)
    assert "Save my choices</button>" in form and "Subscribe</button>" not in form
    response = post(
        client, "/digest/subscribe", {"email": "nia@example.com", "frequency": "monthly"}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "already gets the digest: we have saved your choices" in page
    assert _subscription("nia@example.com").frequency is DigestFrequency.MONTHLY
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "digest_change")
        )
        == 0
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_change_link_is_a_friendly_404_and_changes_nothing(client, method: str) -> None:
    subscription = _confirmed("nia@example.com")
    forged = make_digest_change_token(
        subscription.id, "nia@example.com", "a-guessed-confirm-token", "monthly", []
    )
    for token in (forged, "not-a-real-token"):
        url = f"/digest/change/{token}"
        response = client.get(url) if method == "GET" else post(client, url)
        assert response.status_code == 404
        assert "expired or is not valid" in response.get_data(as_text=True)
    assert _subscription("nia@example.com").frequency is DigestFrequency.WEEKLY


def test_subscribing_needs_a_csrf_token(client) -> None:
    response = client.post(
        "/digest/subscribe", data={"email": "nia@example.com", "frequency": "weekly"}
    )
    assert response.status_code == 400
    assert _subscription("nia@example.com") is None


def test_a_signed_in_person_starts_from_their_address_and_is_linked(client, make_user) -> None:
    nia = make_user(email="nia@example.com")
    login(client, nia.email)
    assert 'value="nia@example.com"' in client.get("/digest/subscribe").get_data(as_text=True)
    post(client, "/digest/subscribe", {"email": "nia@example.com", "frequency": "weekly"})
    assert _subscription("nia@example.com").user_id == nia.id


def test_opening_the_confirmation_link_confirms_nothing_until_the_button_is_pressed(
    client, make_client
) -> None:
    """Mail scanners open every link in a message to check it: a GET must change nothing."""
    subscription = digests.subscribe("nia@example.com", DigestFrequency.MONTHLY, []).subscription
    db.session.commit()
    path = f"/digest/confirm/{subscription.confirm_token}"
    for scanner in (make_client(), make_client()):
        page = scanner.get(path).get_data(as_text=True)
        assert "Confirm the digest" in page and "Monthly" in page
        assert 'name="csrf_token"' in page and ">Confirm</button>" in page
    assert scanner.head(path).status_code == 200
    assert _subscription("nia@example.com").confirmed_at is None
    assert client.post(path).status_code == 400  # the button's POST needs its CSRF token
    assert _subscription("nia@example.com").confirmed_at is None
    assert "you are subscribed" in post(client, path).get_data(as_text=True)
    assert _subscription("nia@example.com").confirmed_at is not None


def test_a_confirmation_link_from_before_an_unsubscribe_shows_no_button(client) -> None:
    subscription = _confirmed("nia@example.com")
    digests.unsubscribe(subscription.unsubscribe_token)
    db.session.commit()
    page = client.get(f"/digest/confirm/{subscription.confirm_token}").get_data(as_text=True)
    assert "You unsubscribed from the digest" in page and ">Confirm</button>" not in page
    assert "You unsubscribed" in post(
        client, f"/digest/confirm/{subscription.confirm_token}"
    ).get_data(as_text=True)
    assert _subscription("nia@example.com").unsubscribed_at is not None


def test_unknown_links_get_a_friendly_not_found(client) -> None:
    response = client.get("/digest/confirm/not-a-real-token")
    assert response.status_code == 404
    assert "subscribe again" in response.get_data(as_text=True)
    assert post(client, "/digest/confirm/not-a-real-token").status_code == 404
    assert client.get("/digest/unsubscribe/not-a-real-token").status_code == 404
    assert _one_click(client, "/digest/unsubscribe/not-a-real-token").status_code == 404


# Unsubscribing -----------------------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_session_or_csrf_and_is_idempotent(
    make_client: Callable[[], FlaskClient],
) -> None:
    subscription = _confirmed("nia@example.com")
    url = f"/digest/unsubscribe/{subscription.unsubscribe_token}"
    mail_client = make_client()  # no cookies, no CSRF token: what a mail provider sends

    first = _one_click(mail_client, url)
    assert first.status_code == 200 and "Location" not in first.headers
    assert "We have stopped the digest" in first.get_data(as_text=True)
    assert _subscription("nia@example.com").unsubscribed_at is not None

    second = _one_click(mail_client, url)
    assert second.status_code == 200 and "Location" not in second.headers
    assert "already stopped" in second.get_data(as_text=True)
    rows = list(db.session.scalars(sa.select(Unsubscribe)))
    assert [(r.scope, r.subscription_id) for r in rows] == [("digest", subscription.id)]


def test_unsubscribe_page_by_get_shows_a_button_and_unsubscribes_nobody(client) -> None:
    subscription = _confirmed("nia@example.com")
    url = f"/digest/unsubscribe/{subscription.unsubscribe_token}"
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'method="post" action="{url}"' in html and "<button" in html
    assert client.head(url).status_code == 200  # link checkers send HEAD: it is a GET too
    assert _subscription("nia@example.com").unsubscribed_at is None
    assert _unsubscribes() == 0


def test_unsubscribed_addresses_get_no_more_digests(client, smtp_server, publish) -> None:
    subscription = _confirmed("nia@example.com")
    publish()
    _one_click(client, f"/digest/unsubscribe/{subscription.unsubscribe_token}")
    assert digests.send_digest(DigestFrequency.WEEKLY).delivered == 0
    _deliver()
    assert [m for m in smtp_server.to("nia@example.com") if "You said" in str(m["Subject"])] == []


def test_the_one_click_endpoint_is_on_the_csrf_exemption_list() -> None:
    assert "digests.unsubscribe" in CSRF_EXEMPT_ENDPOINTS


# The command -------------------------------------------------------------------------------


def test_digest_send_command_reports_and_mails_nobody_twice(
    app: Flask, smtp_server, publish
) -> None:
    _confirmed("nia@example.com")
    publish()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["digest", "send", "--period", "weekly"])
    second = runner.invoke(args=["digest", "send", "--period", "weekly"])

    assert first.exit_code == 0, first.output
    key = digests.period_for(DigestFrequency.WEEKLY, datetime.now(UTC)).key
    assert first.output.strip().startswith(f"Digest {key}: 1 resolutions, 1 queued, 0 skipped")
    assert "0 queued, 1 skipped" in second.output
    assert len(first.output.strip().splitlines()) == 1
    _deliver()
    assert len([m for m in smtp_server.to("nia@example.com") if "You said" in m["Subject"]]) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == 1


def test_digest_send_command_with_an_empty_period_sends_nothing(app: Flask) -> None:
    _confirmed("nia@example.com")
    result = app.test_cli_runner().invoke(args=["digest", "send", "--period", "monthly"])
    assert result.exit_code == 0, result.output
    assert "no resolutions in the period; nothing sent" in result.output


def test_digest_send_command_refuses_an_unknown_period(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["digest", "send", "--period", "daily"])
    assert result.exit_code != 0
