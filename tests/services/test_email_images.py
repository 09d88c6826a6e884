"""Emails about an item or a reply with images say how many go with it and link to the item's
page: they never attach or embed an image, nor link to an image's own address (which answers
only a signed-in reader of a private item), and they count only the images their reader may
see."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from portal.extensions import db
from portal.models import Category, CategoryFollow, Feedback, OutboxMessage, Role, User
from portal.services import attachments, notifications, workflow
from portal.services.outbox import deliver_pending
from portal.services.votes import set_vote

SITE = "https://feedback.example.org"


def png(colour: tuple[int, int, int] = (30, 140, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 40), colour).save(out, "PNG")
    return out.getvalue()


def uploads(person: User, count: int) -> list[str]:
    return [attachments.upload_image(person, png((n * 40, 0, 0))).public_id for n in range(count)]


def received(smtp_server: Any) -> list[tuple[OutboxMessage, EmailMessage]]:
    """Deliver what is queued; each message as a careful mail program parses it (strictly),
    with the outbox row it came from."""
    db.session.commit()
    report = deliver_pending(batch_size=200)
    assert report.failed == report.retried == 0
    rows = {row.message_id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    found = []
    for raw in smtp_server.raw:
        message = BytesParser(policy=policy.strict).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        found.append((rows[str(message["Message-ID"])], message))
    return found


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def assert_no_image_carried(message: EmailMessage) -> None:
    """Nothing but the text and its HTML: no attachment, no inline picture, no image link."""
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    text, html = bodies(message)
    assert "/attachments/" not in text and "/attachments/" not in html
    assert "<img" not in html.lower()


@pytest.fixture
def site(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", SITE)


@pytest.fixture
def staff(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user(role=Role.STAFF, display_name="Sam Okafor", preferred_name="Sam")


def test_a_new_item_with_images_tells_staff_how_many_with_a_link_to_its_page(
    site: None,
    smtp_server: Any,
    staff: User,
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
) -> None:
    category = make_category()
    db.session.add(CategoryFollow(user_id=staff.id, category_id=category.id))
    author = make_verified_user(preferred_name="Nia")
    db.session.commit()

    item = make_feedback(author=author, category=category, images=uploads(author, 2))

    mail = dict((row.kind, message) for row, message in received(smtp_server))
    text, html = bodies(mail["new_item"])
    assert f"2 images go with it. See them on the item's page: {SITE}/admin/feedback/{item.id}" in (
        " ".join(text.split())
    )
    assert "2 images go with it." in html
    # The author's own receipt says so too, with the public page.
    receipt_text, _html = bodies(mail["receipt"])
    assert f"See them on the item's page: {SITE}/feedback/{item.id}" in " ".join(
        receipt_text.split()
    )
    for message in mail.values():
        assert_no_image_carried(message)


def test_a_reply_with_images_tells_followers_how_many_and_links_to_the_page(
    site: None,
    smtp_server: Any,
    staff: User,
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, "Thank you, Nia, we are on it.", post_anyway=True)
    db.session.commit()

    workflow.reply(
        item.id, staff, "Here is the new part, Nia.", post_anyway=True, images=uploads(staff, 3)
    )

    [reply] = [m for row, m in received(smtp_server) if row.kind == "reply"]
    text, html = bodies(reply)
    assert "The reply comes with 3 images." in text and "The reply comes with 3 images." in html
    assert f"{SITE}/feedback/{item.id}" in text
    assert re.search(rf'href="{re.escape(SITE)}/feedback/{item.id}"', html)
    assert_no_image_carried(reply)


def test_an_email_counts_only_the_images_its_reader_may_see(
    site: None,
    smtp_server: Any,
    staff: User,
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    # A redacted item's images are for staff only (attachments.can_see): its readers are not
    # told of images they could not open. Another item's images are counted as usual.
    author = make_verified_user(preferred_name="Nia")
    voter = make_verified_user(preferred_name="Mr Owen")
    item = make_feedback(author=author, images=uploads(author, 1))
    set_vote(voter, item.id, want=True)
    notifications.follow(voter, item)
    workflow.acknowledge(item.id, staff, "Thank you, Nia, we are on it.", post_anyway=True)
    workflow.redact(item.id, staff, "It named a neighbour.")
    db.session.commit()

    other = make_feedback(author=author, images=uploads(author, 1))
    set_vote(voter, other.id, want=True)
    notifications.follow(voter, other)
    workflow.acknowledge(other.id, staff, "Thank you, Nia, we are on it.", post_anyway=True)
    db.session.commit()

    workflow.resolve(item.id, staff, "We mended the fence.", post_anyway=True)
    workflow.resolve(other.id, staff, "We painted the gate.", post_anyway=True)

    told = {
        (row.feedback_id, row.user_id): message
        for row, message in received(smtp_server)
        if row.kind == "resolution"
    }
    for reader in (author, voter):
        assert "image" not in bodies(told[(item.id, reader.id)])[0].lower()
        assert "1 image goes with it." in bodies(told[(other.id, reader.id)])[0]
    for message in told.values():
        assert_no_image_carried(message)


def test_an_image_staff_removed_is_not_counted(
    site: None,
    smtp_server: Any,
    staff: User,
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    author = make_verified_user(preferred_name="Nia")
    kept, removed = uploads(author, 2)
    item = make_feedback(author=author, images=[kept, removed])
    attachments.remove_attachment(staff, removed, "A car's number plate.")
    workflow.acknowledge(item.id, staff, "Thank you, Nia, we are on it.", post_anyway=True)
    db.session.commit()

    workflow.resolve(item.id, staff, "We mended the fence.", post_anyway=True)

    [done] = [m for row, m in received(smtp_server) if row.kind == "resolution"]
    assert "1 image goes with it." in bodies(done)[0]
