"""After submitting: the thank-you page gives the reference, when a person will answer (in
the site's time zone, in the reader's words) and what happens next; the receipt email says the
same time; who will answer is shown once someone owns the item."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel import dates
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Category, Feedback, OutboxMessage, Role, User
from portal.services import workflow
from portal.services.site import settings_for_update
from tests.helpers import login, post


def _submit(client: FlaskClient, category: Category, **changes: str) -> tuple[Feedback, str]:
    form = {
        "kind": "complaint",
        "category_id": str(category.id),
        "title": "Courier left my parcel in the rain",
        "body": "The box was soaked through and the book inside is ruined.",
        "visibility": "public",
        **changes,
    }
    response = post(client, "/feedback/new", form)
    assert response.status_code == 302
    item = db.session.scalar(sa.select(Feedback).order_by(Feedback.id.desc()))
    assert item is not None
    return item, response.headers["Location"]


def _said_answer_time(item: Feedback, zone: str) -> str:
    """The time a person will answer as an English reader is told it: the due time in the
    site's zone, on the next whole hour, "Tuesday 8 December, 2 pm"."""
    assert item.ack_due_at is not None
    local = item.ack_due_at.astimezone(ZoneInfo(zone))
    if local.minute or local.second or local.microsecond:
        local = (local + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return str(dates.format_datetime(local, "EEEE d MMMM, h a", locale="en_GB"))


def _next_step(page: str) -> str:
    match = re.search(r'<p class="next-step">(.*?)</p>', page, re.S)
    assert match, page
    return unescape(re.sub(r"<[^>]+>", "", match.group(1)))


def test_the_thank_you_page_gives_the_reference_the_answer_time_and_what_happens_next(
    client: FlaskClient, make_verified_user: Callable[..., User], make_category
) -> None:
    login(client, make_verified_user(preferred_name="Jo").email)
    item, location = _submit(client, make_category(name="Delivery", ack_target_hours=24))
    assert location.endswith(f"/feedback/{item.id}/submitted")
    page = client.get(location).get_data(as_text=True)
    assert "Thank you, Jo. We have received it." in page
    assert f"#{item.id}</strong>" in page
    step = _next_step(page)
    assert step == (
        "A person on our team will read it and answer you personally within 24 hours: by "
        f"{_said_answer_time(item, 'UTC')}."
    )
    assert "What happens next" in page
    assert "one person looks after it and tells you each time it moves on" in page
    assert "We have emailed you the same" in page
    assert f'href="/feedback/{item.id}"' in page


def test_the_answer_time_is_said_in_the_sites_time_zone_on_the_hour(
    client: FlaskClient, make_user, make_category
) -> None:
    settings = settings_for_update()
    settings.time_zone = "Asia/Kolkata"  # +05:30: a UTC hour is never a whole hour there
    db.session.commit()
    login(client, make_user().email)
    item, location = _submit(client, make_category(ack_target_hours=72))
    item.ack_due_at = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # 13:30 in Kolkata
    item.created_at = item.ack_due_at - timedelta(hours=72)
    db.session.commit()
    step = _next_step(client.get(location).get_data(as_text=True))
    assert "within 72 hours (3 days): by Tuesday 8 December, 2 pm." in step
    assert _said_answer_time(item, "Asia/Kolkata") == "Tuesday 8 December, 2 pm"


def test_the_receipt_email_says_the_same_time_as_the_page(
    client: FlaskClient, make_verified_user: Callable[..., User], make_category
) -> None:
    person = make_verified_user()
    login(client, person.email)
    item, location = _submit(client, make_category(ack_target_hours=48))
    page = client.get(location).get_data(as_text=True)
    shown = re.search(r"<time datetime=\"[^\"]+\">([^<]+)</time>", page)
    assert shown, page
    receipt = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "receipt", OutboxMessage.to_email == person.email
        )
    )
    assert receipt is not None
    assert f"within 48 hours (2 days), by {shown.group(1)}." in receipt.text_body
    assert f"<strong>{shown.group(1)}</strong>" in receipt.html_body
    assert f"#{item.id}" in receipt.subject


def test_who_will_answer_is_shown_once_someone_owns_the_item(
    client: FlaskClient, make_user, make_category
) -> None:
    author = make_user()
    staff = make_user(role=Role.STAFF, display_name="Priya")
    login(client, author.email)
    item, location = _submit(client, make_category())
    assert "Priya" not in _next_step(client.get(location).get_data(as_text=True))
    workflow.take(item.id, staff)
    db.session.commit()
    for address in (location, f"/feedback/{item.id}"):
        step = _next_step(client.get(address).get_data(as_text=True))
        assert step.startswith("Priya will read it and answer you personally within "), address


def test_a_time_that_has_passed_is_said_with_an_apology(
    client: FlaskClient, make_user, make_category
) -> None:
    login(client, make_user().email)
    item, location = _submit(client, make_category())
    item.ack_due_at = datetime.now(UTC) - timedelta(hours=3)
    db.session.commit()
    for address in (location, f"/feedback/{item.id}"):
        step = _next_step(client.get(address).get_data(as_text=True))
        assert step.startswith("A person on our team should have answered you by "), address
        assert "We are sorry it is taking longer" in step


def test_the_answer_time_leaves_the_item_page_once_a_person_has_answered(
    client: FlaskClient, make_user, make_category
) -> None:
    author = make_user()
    login(client, author.email)
    item, _ = _submit(client, make_category())
    workflow.acknowledge(
        item.id,
        make_user(role=Role.STAFF),
        "Sorry about the parcel, I will call the courier.",
        post_anyway=True,
    )
    db.session.commit()
    assert 'class="next-step"' not in client.get(f"/feedback/{item.id}").get_data(as_text=True)
    # The thank-you page, come back to later, says the answer is there.
    step = _next_step(client.get(f"/feedback/{item.id}/submitted").get_data(as_text=True))
    assert step.endswith("has answered you: see what they said on its page.")


def test_the_thank_you_page_is_its_authors_alone(
    client: FlaskClient, make_client, make_user, make_category
) -> None:
    login(client, make_user().email)
    _, location = _submit(client, make_category(), visibility="private")
    other = make_client()
    login(other, make_user().email)
    assert other.get(location).status_code == 404  # a private item stays unknown
    staff = make_client()
    login(staff, make_user(role=Role.STAFF).email)
    assert staff.get(location).status_code == 403
    page = client.get(location).get_data(as_text=True)
    assert "It is private: only you and our staff can see it." in page
