"""The digest email's "Change how often or which categories" opens that subscription's own page
(a signed link per subscription): its frequency, categories and language, saved at once, and
its unsubscribe button; not a blank subscribe form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    Category,
    DigestFrequency,
    DigestSubscription,
    OutboxMessage,
    Resolution,
    Role,
    User,
)
from portal.services import digests, workflow
from tests.helpers import post


@pytest.fixture
def publish(
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Any],
) -> Callable[..., Resolution]:
    """Publish a resolution in the last complete week."""
    staff = make_user(role=Role.STAFF)

    def build(category: Category | None = None) -> Resolution:
        item = make_feedback(category=category or make_category())
        resolution = workflow.resolve(
            item.id, staff, "We rewrote the invoice.", "Invoices confuse", post_anyway=True
        )
        last_week = digests.period_for(DigestFrequency.WEEKLY, datetime.now(UTC))
        resolution.published_at = last_week.start + timedelta(days=1)
        db.session.commit()
        return resolution

    return build


def _confirmed(email: str, categories: list[int] | None = None) -> DigestSubscription:
    subscription = digests.subscribe(email, DigestFrequency.WEEKLY, categories or []).subscription
    digests.confirm(subscription.confirm_token)
    db.session.commit()
    return subscription


def _digest_link(email: str) -> tuple[str, str]:
    """The "Change how often" link of the newest digest to this address, text and HTML."""
    message = db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "digest", OutboxMessage.to_email == email)
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None
    text = re.search(r"Change how often or which categories: (\S+)", message.text_body)
    html = re.search(
        r'<a href="([^"]+)"[^>]*>Change how often or which categories</a>', message.html_body
    )
    assert text and html, message.text_body
    return text.group(1), html.group(1)


def test_the_digests_change_link_opens_the_subscriptions_own_page(
    client: FlaskClient, make_category, publish
) -> None:
    billing = make_category(name="Billing")
    _confirmed("nia@example.com", [billing.id])
    _confirmed("sam@example.com")
    publish(billing)
    digests.send_digest(DigestFrequency.WEEKLY)
    nia_text, nia_html = _digest_link("nia@example.com")
    sam_text, _ = _digest_link("sam@example.com")
    assert nia_text == nia_html and nia_text != sam_text  # each their own, in both parts
    path = urlsplit(nia_text).path
    assert path.startswith("/digest/subscription/")
    page = client.get(path).get_data(as_text=True)
    assert "nia@example.com gets the weekly digest" in page
    assert 'name="email"' not in page  # the subscription, not a blank subscribe form
    assert re.search(r'<input[^>]*checked[^>]*value="weekly"|value="weekly"[^>]*checked', page)
    assert re.search(rf'<input[^>]*checked[^>]*value="{billing.id}"', page) or re.search(
        rf'value="{billing.id}"[^>]*checked', page
    )
    assert "Unsubscribe from the digest" in page


def test_choices_saved_on_the_subscriptions_page_take_effect_at_once(
    client: FlaskClient, make_category
) -> None:
    billing = make_category(name="Billing")
    subscription = _confirmed("nia@example.com")
    path = urlsplit(digests.subscription_page_url(subscription)).path
    client.get(path)
    response = post(client, path, {"frequency": "monthly", "categories": [str(billing.id)]})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: nia@example.com gets the monthly digest." in page
    db.session.expire_all()
    assert subscription.frequency is DigestFrequency.MONTHLY
    assert digests.subscription_category_ids(subscription.id) == [billing.id]


def test_a_refused_change_on_the_subscriptions_page_changes_nothing_and_keeps_the_choices(
    client: FlaskClient, make_category
) -> None:
    subscription = _confirmed("nia@example.com")
    path = urlsplit(digests.subscription_page_url(subscription)).path
    client.get(path)
    response = post(client, path, {"frequency": "monthly", "categories": ["99999"]})
    assert response.status_code == 400
    assert "Please choose from the categories listed." in response.get_data(as_text=True)
    db.session.expire_all()
    assert subscription.frequency is DigestFrequency.WEEKLY


def test_unsubscribing_from_the_subscriptions_page_stops_the_digest(client: FlaskClient) -> None:
    subscription = _confirmed("nia@example.com")
    path = urlsplit(digests.subscription_page_url(subscription)).path
    page = client.get(path).get_data(as_text=True)
    action = re.search(r'action="(/digest/unsubscribe/[^"]+)"', page)
    assert action
    assert client.post(action.group(1)).status_code == 200
    db.session.expire_all()
    assert subscription.unsubscribed_at is not None
    again = client.get(path).get_data(as_text=True)
    assert "is already unsubscribed" in again and "Save my choices" not in again


def test_a_forged_or_outdated_subscription_link_is_a_friendly_404(client: FlaskClient) -> None:
    subscription = _confirmed("nia@example.com")
    old_link = urlsplit(digests.subscription_page_url(subscription)).path
    assert client.get("/digest/subscription/not-a-real-token").status_code == 404
    # Opting out and back in is a new consent: links from before it open nothing.
    digests.unsubscribe(subscription.unsubscribe_token)
    _confirmed("nia@example.com")
    response = client.get(old_link)
    assert response.status_code == 404
    assert "not valid any more" in response.get_data(as_text=True)
