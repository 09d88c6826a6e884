"""POST /items with a channel, and with acting_as: feedback a member of staff took down for a
customer goes through the admin page's command (services/recording.py)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Feedback,
    FeedbackChannel,
    Role,
    StaffRecording,
    User,
)
from portal.services.accounts import find_user_by_email
from tests.api.test_api import API, api_post, assert_error, new_item_body
from tests.helpers import delivered, mail_text, mail_to


@pytest.fixture
def bins(make_category):
    return make_category(name="Bins")


@pytest.fixture
def staff(make_user) -> User:
    return make_user(role=Role.STAFF, display_name="Sam from Support", email="sam@example.com")


def test_staff_acting_through_the_api_record_for_a_new_contact_who_gets_the_claim_link(
    client, smtp_server, bins, staff, write_token
) -> None:
    response = api_post(
        client,
        f"{API}/items",
        new_item_body(channel="phone", acting_as="SAM@example.com"),
        write_token,
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    receipt = response.get_json()
    assert receipt["channel"] == "phone" and receipt["customer_created"] is True
    item = db.session.get(Feedback, receipt["id"])
    customer = find_user_by_email("nia.owen@example.com")
    assert customer is not None and item.author_id == customer.id
    row = db.session.scalars(sa.select(StaffRecording)).one()
    assert (row.recorded_by_id, row.channel) == (staff.id, FeedbackChannel.PHONE)
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"staff.customer_created", "api.item_submitted", "item.recorded_for_customer"} <= set(
        actions
    )
    (mail,) = mail_to(delivered(smtp_server), customer)
    text = mail_text(mail)
    assert "Sam from Support from our team wrote down what you told us on the phone" in text
    assert re.search(r"/account/claim/\S+", text)


def test_acting_as_without_a_channel_is_recorded_as_staff(
    client, smtp_server, bins, staff, write_token
) -> None:
    response = api_post(client, f"{API}/items", new_item_body(acting_as=staff.email), write_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["channel"] == "staff"
    customer = find_user_by_email("nia.owen@example.com")
    (mail,) = mail_to(delivered(smtp_server), customer)
    assert "Sam from Support from our team wrote down what you told us, so it" in mail_text(mail)


def test_a_channel_without_acting_as_is_the_integrations_own(client, bins, write_token) -> None:
    response = api_post(client, f"{API}/items", new_item_body(channel="chat"), write_token)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["channel"] == "chat"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecording)) == 0


def test_acting_as_a_customer_or_nobody_is_refused_and_records_nothing(
    client, bins, make_user, write_token
) -> None:
    customer = make_user(email="someone@example.com")
    assert_error(
        api_post(client, f"{API}/items", new_item_body(acting_as=customer.email), write_token),
        403,
    )
    assert_error(
        api_post(
            client, f"{API}/items", new_item_body(acting_as="nobody@example.com"), write_token
        ),
        403,
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
    assert find_user_by_email("nia.owen@example.com") is None


def test_staff_record_for_customers_only(client, bins, staff, write_token) -> None:
    body = new_item_body(email=staff.email, acting_as=staff.email, channel="chat")
    assert_error(api_post(client, f"{API}/items", body, write_token), 403, "member of staff")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_a_channel_the_api_does_not_take_is_refused(client, bins, write_token) -> None:
    error = assert_error(
        api_post(client, f"{API}/items", new_item_body(channel="web"), write_token), 422
    )
    assert "channel" in error["fields"]
