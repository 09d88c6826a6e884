"""Images beyond the item page: webhooks describe a public item's images and nothing of a
private, redacted or removed one; feeds carry resolutions, which hold none; a customer's data
export holds the files they uploaded (never an internal note's)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image

from portal.extensions import db
from portal.models import Feedback, Role, User, Visibility, WebhookDelivery
from portal.services import attachments, webhooks, workflow
from portal.services.feedback import add_comment
from portal.services.personal_data import export_data
from tests.helpers import login


def png(size: tuple[int, int] = (48, 36), colour: tuple[int, int, int] = (0, 90, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.STAFF)


@pytest.fixture
def endpoint(admin: User) -> None:
    webhooks.create_endpoint(
        admin,
        url="https://hooks.example.com/portal",
        events=["item.created", "item.state_changed"],
        description="Helpdesk",
    )
    db.session.commit()


def sent_items() -> list[dict]:
    """The item of each webhook delivery queued so far, oldest first."""
    bodies = db.session.scalars(sa.select(WebhookDelivery.body).order_by(WebhookDelivery.id))
    return [json.loads(body)["data"]["item"] for body in bodies]


def with_image(make_feedback, make_user, **choices) -> tuple[Feedback, str]:
    author = make_user()
    upload = attachments.upload_image(author, png(), alt_text="The broken lift")
    return make_feedback(author=author, images=[upload.public_id], **choices), upload.public_id


# Webhooks ----------------------------------------------------------------------------------


def test_a_public_items_webhook_describes_its_images_with_their_addresses(
    endpoint: None, make_feedback, make_user
) -> None:
    item, public_id = with_image(make_feedback, make_user)

    [sent] = sent_items()

    assert sent["id"] == item.id
    [image] = sent["images"]
    assert image["id"] == public_id and image["alt_text"] == "The broken lift"
    assert image["url"].endswith(f"/attachments/{public_id}")
    assert image["thumbnail_url"].endswith(f"/attachments/{public_id}/thumbnail")
    assert (image["width"], image["height"], image["content_type"]) == (48, 36, "image/png")


def test_a_private_items_webhook_names_no_image(endpoint: None, make_feedback, make_user) -> None:
    item, public_id = with_image(make_feedback, make_user, visibility=Visibility.PRIVATE)

    [sent] = sent_items()

    assert sent["id"] == item.id and "images" not in sent
    assert public_id not in json.dumps(sent)


def test_after_redaction_or_removal_webhooks_name_the_image_no_more(
    endpoint: None, make_feedback, make_user, staff: User
) -> None:
    redacted, redacted_image = with_image(make_feedback, make_user)
    workflow.redact(redacted.id, staff, "It named a neighbour.")
    kept, removed_image = with_image(make_feedback, make_user)
    attachments.remove_attachment(staff, removed_image, "A car's number plate.")
    for item in (redacted, kept):
        workflow.acknowledge(item.id, staff, "Thank you, we are on it.", post_anyway=True)
    db.session.commit()

    moved = sent_items()[2:]

    assert [m["id"] for m in moved] == [redacted.id, kept.id]
    assert "images" not in moved[0] and moved[1]["images"] == []
    assert redacted_image not in json.dumps(moved) and removed_image not in json.dumps(moved)


# Feeds -------------------------------------------------------------------------------------


def test_feeds_carry_resolutions_and_no_image(
    client: FlaskClient, make_feedback, make_user, staff: User
) -> None:
    item, public_id = with_image(make_feedback, make_user)
    workflow.resolve(item.id, staff, "We replaced the lift's motor.", post_anyway=True)
    db.session.commit()

    for url in ("/feeds/resolutions.atom", "/feeds/resolutions.rss"):
        feed = client.get(url).get_data(as_text=True)
        assert "replaced the lift" in feed
        assert public_id not in feed and "/attachments/" not in feed


# The customer's export ---------------------------------------------------------------------


def test_the_export_holds_the_files_a_customer_uploaded(
    client: FlaskClient, make_feedback, make_user, staff: User
) -> None:
    me = make_user()
    on_item = attachments.upload_image(me, png((60, 40)), alt_text="The stairs")
    item = make_feedback(author=me, images=[on_item.public_id])
    on_comment = attachments.upload_image(me, png((30, 20), (200, 0, 0)))
    add_comment(me, item.id, "And the landing.", images=[on_comment.public_id])
    attachments.remove_attachment(staff, on_comment.public_id, "A neighbour's face.")
    # Staff's picture on an internal note is neither theirs to take nor the customer's.
    staff_note = attachments.upload_image(staff, png())
    workflow.add_internal_note(item.id, staff, "See the photo.", images=[staff_note.public_id])
    db.session.commit()
    login(client, me.email)

    response = client.get("/account/export")

    exported = json.loads(response.get_data(as_text=True))
    by_id = {image["id"]: image for image in exported["images"]}
    assert set(by_id) == {on_item.public_id, on_comment.public_id}
    first = by_id[on_item.public_id]
    assert (first["feedback_id"], first["comment_id"]) == (item.id, None)
    assert first["alt_text"] == "The stairs" and first["file_name"].endswith(".png")
    opened = Image.open(io.BytesIO(base64.b64decode(first["data_base64"])))
    assert (opened.format, opened.size) == ("PNG", (60, 40))
    # Theirs, though staff took it out of view: marked, as their redacted words are.
    second = by_id[on_comment.public_id]
    assert second["removed_by_staff"] is True and second["comment_id"] is not None
    assert Image.open(io.BytesIO(base64.b64decode(second["data_base64"]))).size == (30, 20)
    assert staff_note.public_id not in response.get_data(as_text=True)
    assert staff_note.public_id not in json.dumps(export_data(staff))
