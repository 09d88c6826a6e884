"""Email intake: real-world shaped messages (tests/data/mail/) become private items or comments;
automatic, malformed and oversized mail creates nothing; exit codes follow the pipe rules."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEntry,
    Category,
    Comment,
    Feedback,
    FeedbackChannel,
    InboundEmail,
    OutboxMessage,
    Role,
    User,
    Visibility,
    WebhookDelivery,
)
from portal.services import attachments, intake, webhooks, workflow
from portal.services.environment import Settings
from portal.services.intake import (
    EX_DATAERR,
    EX_NOUSER,
    EX_OK,
    EX_TEMPFAIL,
    html_to_text,
    process_message,
    title_from,
    trim_reply,
)
from portal.services.tokens import make_reply_token, reply_address

MAIL = Path(__file__).resolve().parents[1] / "data" / "mail"
ROOT = Path(__file__).resolve().parents[2]


def eml(name: str, **fill: object) -> bytes:
    """A message from tests/data/mail, with {{PLACEHOLDERS}} filled in."""
    raw = (MAIL / name).read_bytes()
    for key, value in fill.items():
        raw = raw.replace(b"{{" + key.encode() + b"}}", str(value).encode())
    return raw


@pytest.fixture
def category(make_category: Callable[..., Category]) -> Category:
    return make_category(name="Stations", ack_target_hours=48)


@pytest.fixture
def intake_address(change_settings: Callable[..., Settings]) -> str:
    return change_settings(intake_address="feedback@portal.example").intake_address


def _run(raw: bytes, recipient: str = "") -> intake.IntakeResult:
    result = process_message(raw, recipient=recipient)
    if result.changed:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def _items() -> list[Feedback]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Feedback).order_by(Feedback.id)))


def _receipt_for(email: str) -> OutboxMessage:
    return db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.to_email == email, OutboxMessage.kind == "receipt"
        )
    ).one()


def _counts() -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Feedback, User, Comment, OutboxMessage)
    )


# New items ---------------------------------------------------------------------------------


def test_a_plain_message_from_a_stranger_becomes_a_private_email_item_and_a_contact(
    category: Category,
) -> None:
    result = _run(eml("plain.eml"))

    assert (result.outcome, result.exit_code) == ("created", EX_OK)
    [item] = _items()
    assert item.id == result.item_id
    assert item.channel is FeedbackChannel.EMAIL
    assert item.visibility is Visibility.PRIVATE
    assert item.category_id == category.id
    assert item.title == "The lift at Station Road is broken again"
    assert "I use a\nwheelchair" in item.body_source
    # The signature is trimmed, the sign-off kept.
    assert item.body_source.endswith("Thanks,\nNia")
    assert "07700" not in item.body_source
    author = db.session.get(User, item.author_id)
    assert author.email == "nia.owen@example.com"
    assert author.display_name == "Nia Owen" and author.role is Role.CUSTOMER
    assert author.verified_at is None
    # The contact is answered: a receipt that threads under their message and asks them to
    # confirm the address for later updates; marked automatic so auto-responders stay quiet.
    receipt = _receipt_for("nia.owen@example.com")
    assert receipt.headers["In-Reply-To"] == "<CAF3k9x1-plain-0001@mail.example.com>"
    assert receipt.headers["Auto-Submitted"] == "auto-replied"
    assert "/account/verify/" in receipt.text_body
    assert f"#{item.id}" in receipt.subject
    assert "attachments" not in receipt.text_body
    # Recorded once, with an audit trail.
    assert db.session.scalar(sa.select(InboundEmail.feedback_id)) == item.id
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"intake.customer_created", "intake.item_submitted"} <= actions


def test_a_known_customer_is_matched_by_email_whatever_its_case(
    category: Category, make_verified_user: Callable[..., User]
) -> None:
    customer = make_verified_user(email="Nia.Owen@Example.com", display_name="Nia")
    result = _run(eml("plain.eml"))

    [item] = _items()
    assert item.author_id == customer.id and result.outcome == "created"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    # Follows, vote and the acknowledgement target work as for a web item.
    assert item.vote_count == 1
    assert item.ack_due_at is not None
    receipt = _receipt_for(customer.email)
    assert "/account/verify/" not in receipt.text_body


def test_an_html_only_message_is_cleaned_to_text(category: Category) -> None:
    _run(eml("html_only.eml"))
    [item] = _items()
    body = item.body_source
    assert "The recycling bins on Elm Street were not collected this week & last week." in body
    assert "- Wednesday: missed" in body and "- Thursday: missed again" in body
    assert "collection calendar (https://council.example/bins)" in body
    assert "Regards,\nGareth" in body
    for gone in ("alert", "<", "color: red", "ignored", "old quoted text", "wrote:"):
        assert gone not in body
    assert "<script" not in item.body_html
    author = db.session.get(User, item.author_id)
    assert author.display_name == "Mr Owen"


def test_multipart_alternative_uses_the_text_part(category: Category) -> None:
    _run(eml("alternative.eml"))
    [item] = _items()
    assert "next bus really arrives \u2014 the printed timetable" in item.body_source
    assert "HTML PART" not in item.body_source
    assert item.title == "Idea: real-time bus arrival screens"


def test_a_format_flowed_message_keeps_its_paragraphs_not_its_soft_wraps(
    category: Category,
) -> None:
    """Line breaks are shown as typed, so the soft wraps of format=flowed (RFC 3676) must go:
    they would break every sentence at the sender's 72 columns."""
    _run(eml("flowed.eml"))
    [item] = _items()
    assert (
        "The bins on Mill Lane were not collected on Tuesday, and the lids blew off again in "
        "the wind. This is the third week running.\n\nFrom now on I will take photos."
    ) in item.body_source


def test_an_email_keeps_no_file_that_is_not_an_image_and_the_receipt_says_why(
    category: Category,
) -> None:
    # A signature logo (inline), a PDF statement and a JPEG cut off in transit.
    result = _run(eml("attachment.eml"))
    [item] = _items()
    assert result.outcome == "created" and "2 attachment(s) not kept" in result.reason
    assert item.title == "Invoice charged twice"  # "Fwd:" is not part of the title
    assert "charged twice for my November season ticket" in item.body_source
    assert "PDF" not in item.body_source
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    receipt = _receipt_for("tom.baker@example.com")
    for body in (receipt.text_body, receipt.html_body):
        assert "We did not keep “statement.pdf”. That file is a PDF document." in body
        assert "We did not keep “receipt.jpg”. That image seems to be damaged" in body
        assert "We kept" not in body
    assert db.session.scalar(sa.select(InboundEmail.attachments_refused)) == 2


def png_bytes(colour: tuple[int, int, int] = (10, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def with_files(
    files: list[tuple[bytes, str, str]], message_id: str = "<files-1@example.com>"
) -> bytes:
    """A message from a new customer with these files attached: (bytes, name, the type the
    sender's mail program claimed)."""
    message = EmailMessage()
    message["From"] = "Ada Jones <ada.jones@example.com>"
    message["To"] = "feedback@portal.example"
    message["Subject"] = "The bus shelter glass is smashed"
    message["Message-ID"] = message_id
    message.set_content("The glass at the Mill Lane shelter is all over the pavement.\n")
    for data, name, claimed in files:
        maintype, subtype = claimed.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_images_sent_by_email_are_kept_on_the_item_told_by_their_bytes(
    category: Category,
) -> None:
    raw = with_files(
        [
            (png_bytes(), "shelter.png", "application/octet-stream"),  # a type that says nothing
            (b"<html><script>alert(1)</script></html>", "photo.png", "image/png"),  # a lie
            (jpeg_with_gps(), "IMG_0042.JPG", "image/jpeg"),
            (b"PK\x03\x04" + b"\x00" * 40, "notes.docx", "application/octet-stream"),
            (b"%PDF-1.7\n%%EOF\n", "report.pdf", "application/pdf"),
        ]
    )

    result = _run(raw)

    [item] = _items()
    assert result.outcome == "created" and "2 image(s) kept" in result.reason
    kept = list(
        db.session.scalars(
            sa.select(Attachment).filter_by(feedback_id=item.id).order_by(Attachment.id)
        )
    )
    assert [a.content_type for a in kept] == ["image/png", "image/jpeg"]
    assert {a.uploader_id for a in kept} == {item.author_id} and kept[0].comment_id is None
    # Kept as the pipeline keeps every image: re-encoded, the location left behind.
    stored = attachments.image_bytes(kept[1])
    assert Image.open(io.BytesIO(stored)).getexif().get(0x8825) is None
    receipt = _receipt_for("ada.jones@example.com")
    for body in (receipt.text_body, receipt.html_body):
        assert "We kept the 2 images you sent with it" in body
        assert "We did not keep “report.pdf”. That file is a PDF document." in body
        assert "we did not keep the 2 other files you sent" in body
        assert "photo.png" not in body and "notes.docx" not in body
    assert db.session.scalar(sa.select(InboundEmail.attachments_refused)) == 3


def test_past_five_images_the_rest_are_counted_not_kept_and_the_receipt_says_so(
    category: Category,
) -> None:
    raw = with_files([(png_bytes((n * 30, 0, 0)), f"photo-{n}.png", "image/png") for n in range(7)])

    result = _run(raw)

    [item] = _items()
    assert result.outcome == "created"
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Attachment).filter_by(feedback_id=item.id)
        )
        == 5
    )
    receipt = _receipt_for("ada.jones@example.com")
    assert "We kept the 5 images you sent with it" in receipt.text_body
    assert "so we did not keep 2 more images you sent" in receipt.text_body
    assert "other file" not in receipt.text_body


def test_an_image_too_large_is_refused_with_its_reason_and_the_rest_kept(
    category: Category, change_settings: Callable[..., Settings]
) -> None:
    change_settings(attachment_max_pixels=5_000)
    big = io.BytesIO()
    Image.new("RGB", (100, 100), (0, 0, 0)).save(big, "PNG")

    _run(
        with_files([(big.getvalue(), "wall.png", "image/png"), (png_bytes(), "a.png", "image/png")])
    )

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1
    receipt = _receipt_for("ada.jones@example.com")
    assert "We did not keep “wall.png”. That image is 100 by 100 pixels" in receipt.text_body
    assert "We kept the image you sent with it" in receipt.text_body


def test_an_image_from_a_sender_whose_mail_is_refused_is_not_kept(category: Category) -> None:
    # Automatic mail is dropped before any file is looked at.
    raw = with_files([(png_bytes(), "a.png", "image/png")]).replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1
    )

    assert _run(raw).outcome == "ignored"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


@pytest.mark.parametrize(
    ("name", "title", "body_part", "display_name"),
    [
        (
            "latin1.eml",
            "Caf\u00e9 ferm\u00e9 \u00e0 la gare",
            "Le caf\u00e9 de la gare est ferm\u00e9 depuis lundi",
            "Am\u00e9lie Dupr\u00e9",
        ),
        (
            "windows1252.eml",
            "Wi-Fi on the 07:12 is not free",
            "Your \u201cfree\u201d Wi-Fi costs \u20ac5 a day \u2013 that\u2019s not",
            "Sam Jones",
        ),
        (
            "iso2022jp.eml",
            "\u99c5\u306e\u30a8\u30ec\u30d9\u30fc\u30bf\u30fc",
            "\u99c5\u306e\u30a8\u30ec\u30d9\u30fc\u30bf\u30fc\u304c\u4e09\u65e5\u9593",
            "\u5c71\u7530 \u82b1\u5b50",
        ),
        (
            "encoded_subject.eml",
            "Pr\u00e4sentation \u2014 the ticket machine at \u0141\u00f3d\u017a Street eats coins",
            "It took two \u20ac2 coins",
            "Zo\u00eb Kowalski",
        ),
    ],
)
def test_other_charsets_and_encoded_words_decode_correctly(
    category: Category, name: str, title: str, body_part: str, display_name: str
) -> None:
    result = _run(eml(name))
    assert result.outcome == "created", result.reason
    [item] = _items()
    assert item.title == title
    assert body_part in item.body_source
    assert "\ufffd" not in item.body_source
    assert db.session.get(User, item.author_id).display_name == display_name


def test_a_long_subject_is_trimmed_to_the_title_length_at_a_word() -> None:
    sender = intake.Address("Nia", "nia", "example.com")
    title = title_from("Re: Fwd: " + "word " * 60, "", sender)
    assert len(title) <= 160 and title.endswith("\u2026")
    assert not title.startswith(("Re", "Fwd"))


def test_an_empty_subject_takes_the_first_line_of_the_message(category: Category) -> None:
    raw = eml("plain.eml").replace(
        b"Subject: The lift at Station Road is broken again", b"Subject: "
    )
    _run(raw)
    [item] = _items()
    assert item.title == "Hello,"
    assert title_from("", "", intake.Address("", "nia", "example.com")) == (
        "Email from nia@example.com"
    )


def test_an_emailed_item_queues_its_webhook_like_any_other(
    category: Category, make_user: Callable[..., User]
) -> None:
    admin = make_user(role=Role.ADMIN)
    webhooks.create_endpoint(admin, url="https://hooks.example.com/in", events=["item.created"])
    db.session.commit()
    _run(eml("plain.eml"))
    delivery = db.session.scalars(sa.select(WebhookDelivery)).one()
    assert delivery.payload["data"]["item"]["channel"] == "email"
    # A private item's words stay in the portal.
    assert "title" not in delivery.payload["data"]["item"]


# Replies -----------------------------------------------------------------------------------


@pytest.fixture
def notified_item(
    category: Category, make_verified_user: Callable[..., User], intake_address: str
) -> tuple[Feedback, User, User]:
    """A customer's item that staff moved on, so the customer got a notification email."""
    customer = make_verified_user(email="nia.owen@example.com", display_name="Nia")
    staff = make_verified_user(role=Role.STAFF, display_name="Sam at Stations")
    item = workflow_item(customer, category)
    workflow.acknowledge(item.id, staff, "Dear Nia, thank you: we are on it.", post_anyway=True)
    db.session.commit()
    return item, customer, staff


def workflow_item(customer: User, category: Category) -> Feedback:
    from portal.services.feedback import submit_feedback

    item = submit_feedback(
        customer,
        kind="complaint",
        category_id=category.id,
        title="The lift is broken",
        body="Again.",
        visibility=Visibility.PUBLIC,
    )
    db.session.commit()
    return item


def test_notifications_to_customers_carry_a_signed_reply_address(notified_item) -> None:
    item, customer, _ = notified_item
    update = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.to_email == customer.email, OutboxMessage.kind == "state"
        )
    ).one()
    token = make_reply_token(item.id, customer.email)
    assert update.headers["Reply-To"] == f"feedback+{item.id}.{token}@portal.example"
    assert reply_address(item.id, customer.email) == update.headers["Reply-To"]


def test_a_reply_to_a_notification_becomes_a_comment_with_the_quote_trimmed(
    notified_item,
) -> None:
    item, customer, _ = notified_item
    reply_to = reply_address(item.id, customer.email)
    raw = eml(
        "reply_to_notification.eml",
        FROM=customer.email,
        REPLY_TO=reply_to,
        IN_REPLY_TO="<unknown@portal.example>",
    )
    before = len(_items())

    result = _run(raw, recipient=reply_to)

    assert (result.outcome, result.exit_code, result.item_id) == ("commented", EX_OK, item.id)
    assert len(_items()) == before
    comment = db.session.get(Comment, result.comment_id)
    assert comment.author_id == customer.id and not comment.official and not comment.internal
    assert comment.body_source == (
        "Thank you. It was still broken this evening at 6pm, and the\n"
        "help point did not answer either.\n\nNia"
    )
    assert db.session.get(Feedback, item.id).comment_count == 1


def test_a_reply_by_email_keeps_its_images_on_the_comment(notified_item) -> None:
    item, customer, _ = notified_item
    reply_to = reply_address(item.id, customer.email)
    message = EmailMessage()
    message["From"] = customer.email
    message["To"] = reply_to
    message["Subject"] = f"Re: Your complaint (#{item.id})"
    message["Message-ID"] = "<reply-with-photo@example.com>"
    message.set_content("It is still broken this evening. Here is a photo.\n")
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="now.png")
    message.add_attachment(b"%PDF-1.7\n", maintype="application", subtype="pdf", filename="a.pdf")

    result = _run(message.as_bytes(), recipient=reply_to)

    assert result.outcome == "commented" and "1 image(s) kept" in result.reason
    [kept] = db.session.scalars(sa.select(Attachment).filter_by(comment_id=result.comment_id))
    assert (kept.feedback_id, kept.uploader_id) == (item.id, customer.id)
    assert db.session.scalar(sa.select(InboundEmail.attachments_refused)) == 1


def test_a_reply_that_cannot_be_a_comment_keeps_its_images_once_on_the_new_item(
    notified_item,
) -> None:
    item, customer, staff = notified_item
    workflow.set_hidden(item.id, staff, True, "Spam from a stranger.")
    db.session.commit()
    reply_to = reply_address(item.id, customer.email)
    message = EmailMessage()
    message["From"] = customer.email
    message["To"] = reply_to
    message["Subject"] = "Re: the lift"
    message["Message-ID"] = "<reply-to-hidden@example.com>"
    message.set_content("Still broken.\n")
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="now.png")

    result = _run(message.as_bytes(), recipient=reply_to)

    assert result.outcome == "created"
    [kept] = db.session.scalars(sa.select(Attachment))
    assert (kept.feedback_id, kept.comment_id) == (result.item_id, None)


def test_a_reply_with_personal_details_on_a_public_item_becomes_a_private_item(
    notified_item,
) -> None:
    """Email intake stays private: a reply the guard for personal details would hold (a phone
    number) is not put on the public item's page; staff get it as a new private item."""
    item, customer, _ = notified_item
    reply_to = reply_address(item.id, customer.email)
    raw = eml(
        "reply_to_notification.eml",
        FROM=customer.email,
        REPLY_TO=reply_to,
        IN_REPLY_TO="<unknown@portal.example>",
    ).replace(b"did not answer either.", b"did not answer. Call me: 07911 123456.", 1)

    result = _run(raw, recipient=reply_to)

    assert result.outcome == "created" and result.item_id != item.id
    assert db.session.get(Feedback, result.item_id).visibility is Visibility.PRIVATE
    assert "07911 123456" in db.session.get(Feedback, result.item_id).body_source
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_reply_proves_the_address_of_a_contact(category: Category, intake_address: str) -> None:
    _run(eml("plain.eml"))
    [item] = _items()
    contact = db.session.get(User, item.author_id)
    assert contact.verified_at is None
    receipt = _receipt_for(contact.email)
    reply_to = receipt.headers["Reply-To"]
    raw = eml(
        "reply_to_notification.eml",
        FROM=contact.email,
        REPLY_TO=reply_to,
        IN_REPLY_TO=receipt.message_id,
    )
    assert _run(raw).outcome == "commented"
    db.session.expire_all()
    assert db.session.get(User, contact.id).verified_at is not None


def test_a_reply_by_subject_reference_needs_to_answer_a_message_we_sent_that_person(
    notified_item,
) -> None:
    item, customer, _ = notified_item
    receipt = _receipt_for(customer.email)
    genuine = eml(
        "reply_by_subject.eml", FROM=customer.email, ITEM=item.id, IN_REPLY_TO=receipt.message_id
    )
    result = _run(genuine)
    assert result.outcome == "commented" and result.item_id == item.id
    comment = db.session.get(Comment, result.comment_id)
    assert comment.body_source == 'One more thing: the display said "in service" the whole time.'


def test_a_forged_reply_from_someone_else_never_becomes_a_comment(notified_item) -> None:
    item, customer, _ = notified_item
    reply_to = reply_address(item.id, customer.email)  # the customer's own reply address...
    forged = eml(
        "reply_to_notification.eml",
        FROM="mallory@example.org",  # ...used by someone else
        REPLY_TO=reply_to,
        IN_REPLY_TO="<x@y>",
    )
    result = _run(forged, recipient=reply_to)
    # Fail safe: the words are kept as the sender's own new private item, never on the
    # customer's item.
    assert result.outcome == "created" and result.item_id != item.id
    assert "could not be a comment" in result.reason
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
    new = db.session.get(Feedback, result.item_id)
    assert new.visibility is Visibility.PRIVATE
    assert db.session.get(User, new.author_id).email == "mallory@example.org"


def test_a_subject_reference_alone_is_not_enough_to_comment(notified_item) -> None:
    item, customer, _ = notified_item
    spoofed = eml("reply_by_subject.eml", FROM=customer.email, ITEM=item.id, IN_REPLY_TO="<a@b>")
    result = _run(spoofed)
    assert result.outcome == "created"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_reply_token_for_another_item_is_refused_as_a_comment(notified_item, category) -> None:
    item, customer, _ = notified_item
    other = workflow_item(customer, category)
    token = make_reply_token(other.id, customer.email)
    wrong = f"feedback+{item.id}.{token}@portal.example"  # other item's token on this item
    raw = eml("reply_to_notification.eml", FROM=customer.email, REPLY_TO=wrong, IN_REPLY_TO="<a>")
    assert _run(raw).outcome == "created"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_staff_replying_by_email_are_sent_to_the_admin_pages(notified_item) -> None:
    item, _, staff = notified_item
    raw = eml(
        "reply_to_notification.eml",
        FROM=staff.email,
        REPLY_TO=reply_address(item.id, staff.email),
        IN_REPLY_TO="<a>",
    )
    before = _counts()
    result = _run(raw)
    assert (result.outcome, result.exit_code) == ("rejected", EX_NOUSER)
    assert _counts() == before


# Refused and ignored -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "why"),
    [("auto_reply.eml", "Auto-Submitted: auto-replied"), ("bounce.eml", "Auto-Submitted")],
)
def test_automatic_mail_is_dropped_quietly_and_creates_nothing(
    category: Category, name: str, why: str
) -> None:
    before = _counts()
    result = _run(eml(name))
    # Exit 0: bouncing an automatic message would itself be an automatic answer (RFC 3834).
    assert (result.outcome, result.exit_code) == ("ignored", EX_OK)
    assert why in result.reason
    assert _counts() == before


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b"Precedence: bulk", "Precedence: bulk"),
        (b"Precedence: list", "Precedence: list"),
        (b"Precedence: junk", "Precedence: junk"),
        (b"X-Autoreply: yes", "X-Autoreply"),
        (b"X-Auto-Response-Suppress: OOF", "X-Auto-Response-Suppress"),
        (b"Auto-Submitted: auto-generated", "auto-generated"),
        (b"List-Id: <riders.lists.example.com>", "List-Id"),
    ],
)
def test_each_loop_marker_is_recognised(category: Category, header: bytes, why: str) -> None:
    raw = eml("plain.eml").replace(b"MIME-Version: 1.0", header + b"\r\nMIME-Version: 1.0")
    result = _run(raw)
    assert result.outcome == "ignored" and why in result.reason
    assert _items() == []


def test_auto_submitted_no_is_a_person_writing(category: Category) -> None:
    raw = eml("plain.eml").replace(b"MIME-Version: 1.0", b"Auto-Submitted: no\r\nMIME-Version: 1.0")
    assert _run(raw).outcome == "created"


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"Return-Path: <nia.owen@example.com>", b"Return-Path: <>", "empty Return-Path"),
        (b"From: Nia Owen <nia.owen@example.com>", b"From: noreply@example.com", "noreply"),
        (
            b"From: Nia Owen <nia.owen@example.com>",
            b"From: Mail Delivery System <MAILER-DAEMON@example.com>",
            "MAILER-DAEMON",
        ),
        (b"From: Nia Owen <nia.owen@example.com>", b"From: feedback@portal.localhost", "loop"),
    ],
)
def test_bounces_noreply_senders_and_our_own_mail_are_ignored(
    category: Category, old: bytes, new: bytes, why: str
) -> None:
    raw = eml("plain.eml").replace(old, new)
    result = _run(raw)
    assert result.outcome == "ignored" and why in result.reason
    assert _items() == []


def test_malformed_garbage_is_refused_as_a_data_error(category: Category) -> None:
    before = _counts()
    result = _run(eml("malformed.eml"))
    assert (result.outcome, result.exit_code) == ("rejected", EX_DATAERR)
    assert "malformed" in result.reason
    assert _counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"Subject: no sender\r\n\r\nHello",
        b"From: not an address\r\nSubject: x\r\n\r\nHello",
        b"From: someone@localhost\r\nSubject: x\r\n\r\nHello",
        b"just some text without any headers at all",
    ],
)
def test_messages_without_a_usable_sender_are_refused(category: Category, raw: bytes) -> None:
    result = _run(raw)
    assert (result.outcome, result.exit_code) == ("rejected", EX_DATAERR)
    assert _items() == []


def test_a_message_over_the_size_limit_is_refused_unread(app: Flask, category: Category) -> None:
    limit = app.config["INTAKE_MAX_BYTES"]
    assert limit == 25 * 1024 * 1024
    padding = b"x" * 76 + b"\r\n"
    raw = eml("plain.eml") + padding * (limit // len(padding) + 1)
    assert len(raw) > limit
    result = _run(raw)
    assert (result.outcome, result.exit_code) == ("rejected", EX_DATAERR)
    assert "larger than 26,214,400 bytes" in result.reason
    # The reader stops one byte past the limit.
    import io

    assert len(intake.read_limited(io.BytesIO(raw))) == limit + 1
    assert _items() == []


def test_the_same_message_delivered_twice_is_recorded_once(category: Category) -> None:
    first = _run(eml("plain.eml"))
    second = _run(eml("plain.eml"))
    assert (second.outcome, second.exit_code, second.item_id) == ("duplicate", EX_OK, first.item_id)
    assert len(_items()) == 1


def test_a_deactivated_account_cannot_write_in(
    category: Category, make_user: Callable[..., User]
) -> None:
    user = make_user(email="nia.owen@example.com")
    user.active = False
    db.session.commit()
    result = _run(eml("plain.eml"))
    assert (result.outcome, result.exit_code) == ("rejected", EX_NOUSER)
    assert _items() == []


def test_with_no_category_the_mail_server_is_asked_to_retry() -> None:
    result = _run(eml("plain.eml"))
    assert (result.outcome, result.exit_code) == ("rejected", EX_TEMPFAIL)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


# Text helpers ------------------------------------------------------------------------------


def test_trim_reply_cuts_quotes_in_several_mail_clients() -> None:
    assert trim_reply("New words.\n\nOn Mon, 1 Jan 2026, A <a@b> wrote:\n> old") == "New words."
    assert trim_reply("Neu.\n\nAm 01.01.2026 um 10:00 schrieb A <a@b>:\n> alt") == "Neu."
    assert trim_reply("Top.\n-----Original Message-----\nFrom: x") == "Top."
    assert trim_reply("Top.\n\nFrom: A <a@b>\nSent: Monday\nTo: x\n\nold") == "Top."
    assert trim_reply("Mine.\n\nSent from my iPhone") == "Mine."
    assert trim_reply("Mine.\n> quoted\nAlso mine.") == "Mine.\nAlso mine."
    # Everything looked quoted: keep the whole text rather than lose it.
    assert trim_reply("> only a quote") == "> only a quote"
    # "From:" in the middle of a sentence-like line is the customer's own words.
    assert trim_reply("From: the station, to the town.\nIt is far.") == (
        "From: the station, to the town.\nIt is far."
    )


def test_html_to_text_keeps_structure_and_drops_active_content() -> None:
    text = html_to_text(
        "<p>One &lt;b&gt;</p><p>Two<br>Three</p><script>x()</script>"
        '<a href="javascript:alert(1)">click</a>'
    )
    assert text == "One <b>\n\nTwo\nThree\n\nclick"


# The command line --------------------------------------------------------------------------


def test_the_cli_reads_stdin_and_exits_with_the_pipe_codes(app: Flask, category: Category) -> None:
    runner = app.test_cli_runner()
    accepted = runner.invoke(args=["intake", "email"], input=eml("plain.eml"))
    assert accepted.exit_code == EX_OK, accepted.output
    assert "intake: created #" in accepted.stderr
    db.session.expire_all()
    assert len(_items()) == 1

    refused = runner.invoke(args=["intake", "email"], input=eml("malformed.eml"))
    assert refused.exit_code == EX_DATAERR
    assert refused.stderr.startswith("intake: malformed")
    assert refused.stderr.count("\n") == 1

    ignored = runner.invoke(args=["intake", "email"], input=eml("auto_reply.eml"))
    assert ignored.exit_code == EX_OK and "ignored" in ignored.stderr


def test_the_cli_asks_for_a_retry_when_the_database_is_down(
    app: Flask, category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(intake, "process_message", down)
    result = app.test_cli_runner().invoke(args=["intake", "email"], input=eml("plain.eml"))
    assert result.exit_code == EX_TEMPFAIL
    assert "database unavailable" in result.stderr
    assert _items() == []


def test_the_cli_takes_the_envelope_recipient_from_postfix(notified_item) -> None:
    item, customer, _ = notified_item
    reply_to = reply_address(item.id, customer.email)
    # The headers name only the plain address; the envelope recipient carries the tag.
    raw = eml(
        "reply_to_notification.eml",
        FROM=customer.email,
        REPLY_TO="feedback@portal.example",
        IN_REPLY_TO="<a>",
    )
    from flask import current_app

    result = current_app.test_cli_runner().invoke(
        args=["intake", "email"], input=raw, env={"ORIGINAL_RECIPIENT": reply_to}
    )
    assert result.exit_code == EX_OK and "comment added" in result.stderr


def test_a_real_pipe_into_flask_intake_email(
    app: Flask, category: Category, database_uri: str, tmp_path: Path
) -> None:
    """What the mail server runs: the flask command, the message on its standard input."""
    db.session.commit()
    env = {
        **os.environ,
        "DATABASE_URL": database_uri,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "OUTBOX_DELIVER_AFTER_COMMIT": "false",
        "FLASK_APP": "wsgi",
    }
    flask = Path(sys.executable).with_name("flask")
    completed = subprocess.run(
        [str(flask), "--app", "wsgi", "intake", "email"],
        input=eml("latin1.eml"),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EX_OK, completed.stderr.decode()
    assert completed.stderr.decode().startswith("intake: created #")
    [item] = _items()
    assert item.title == "Caf\u00e9 ferm\u00e9 \u00e0 la gare"
    assert item.channel is FeedbackChannel.EMAIL

    garbage = subprocess.run(
        [str(flask), "--app", "wsgi", "intake", "email"],
        input=eml("malformed.eml"),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert garbage.returncode == EX_DATAERR
    assert len(_items()) == 1


def test_receipts_parse_as_mail_with_the_reply_address(category: Category, intake_address) -> None:
    """The receipt as a mail client sees it (Reply-To with the signed tag)."""
    _run(eml("plain.eml"))
    receipt = _receipt_for("nia.owen@example.com")
    headers = "".join(f"{k}: {v}\n" for k, v in receipt.headers.items())
    parsed = message_from_string(headers + "\nbody", policy=policy.default)
    assert parsed["Reply-To"].addresses[0].username.startswith("feedback+")


# Messages the parser cannot take -----------------------------------------------------------

_HEAD = (
    b"From: Nia Owen <nia.owen@example.com>\r\n"
    b"To: Feedback <feedback@portal.example>\r\n"
    b"Subject: The lift at Station Road\r\n"
    b"Message-ID: <structure@mail.example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
)
_TEXT_PART = b"Content-Type: text/plain\r\n\r\nThe lift is broken again.\r\n"


def nested_message(levels: int) -> bytes:
    """A message whose text sits inside `levels` multiparts, each inside the next."""
    body = _TEXT_PART
    for level in range(levels):
        boundary = b"level%d" % level
        body = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + body + b"--" + boundary + b"--\r\n"
        )
    return _HEAD + body


def wide_message(parts: int) -> bytes:
    """A message of `parts` text parts side by side in one multipart."""
    body = b"".join(b"--wide\r\n" + _TEXT_PART for _ in range(parts))
    return (
        _HEAD + b'Content-Type: multipart/mixed; boundary="wide"\r\n\r\n' + body + b"--wide--\r\n"
    )


def test_mail_nested_up_to_twenty_levels_or_with_500_parts_is_taken_in(
    category: Category,
) -> None:
    assert intake.parse_message(nested_message(20)).is_multipart()
    assert intake.parse_message(wide_message(500)).is_multipart()
    result = _run(nested_message(20))
    assert (result.outcome, result.exit_code) == ("created", EX_OK)
    assert _items()[0].body_source == "The lift is broken again."


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (nested_message(21), "parts nested more than 20 levels deep"),
        (wide_message(501), "more than 500 parts"),
        (nested_message(3000), "the parser cannot read it (RecursionError)"),
        # The header parser recurses once per nested comment.
        (
            b"From: " + b"(" * 2000 + b")" * 2000 + b" nia.owen@example.com\r\n"
            b"Subject: x\r\n\r\nHello\r\n",
            "the parser cannot read it (RecursionError)",
        ),
    ],
    ids=["21-levels", "501-parts", "3000-levels", "deep-header"],
)
def test_mail_the_parser_cannot_take_is_refused_for_good(
    category: Category, raw: bytes, why: str
) -> None:
    assert len(raw) < intake.max_bytes()
    with pytest.raises(intake.Refused) as refused:
        intake.parse_message(raw)
    assert refused.value.exit_code == EX_DATAERR
    assert refused.value.reason == f"malformed message: {why}"
    result = _run(raw)
    assert (result.outcome, result.exit_code) == ("rejected", EX_DATAERR)
    assert _items() == []


@pytest.mark.parametrize(
    "raw",
    [nested_message(21), wide_message(501), nested_message(3000)],
    ids=["21-levels", "501-parts", "3000-levels"],
)
def test_the_cli_bounces_mail_the_parser_cannot_take_with_one_line(
    app: Flask, category: Category, raw: bytes
) -> None:
    # 75 would have the mail server queue the message again and again, for ever.
    result = app.test_cli_runner().invoke(args=["intake", "email"], input=raw)
    assert result.exit_code == EX_DATAERR
    assert result.stderr.startswith("intake: malformed message: ")
    assert result.stderr.count("\n") == 1
    assert _items() == []


def test_the_cli_refuses_mail_that_fails_for_a_reason_other_than_the_database(
    app: Flask, category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(intake, "process_message", fails)
    result = app.test_cli_runner().invoke(args=["intake", "email"], input=eml("plain.eml"))
    assert result.exit_code == EX_DATAERR
    assert "intake: the message could not be processed (RecursionError)\n" in result.stderr


def test_the_cli_asks_for_a_retry_when_the_disk_fails(
    app: Flask, category: Category, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(intake, "process_message", disk_full)
    result = app.test_cli_runner().invoke(args=["intake", "email"], input=eml("plain.eml"))
    assert result.exit_code == EX_TEMPFAIL
    assert result.stderr == "intake: system error, try later (OSError)\n"


def test_a_senders_name_with_control_characters_is_cleaned_not_refused(
    category: Category,
) -> None:
    # Nobody typed this name into our forms: an encoded word can carry NUL, escapes, line
    # separators and direction overrides, and the sender still deserves their item.
    raw = eml("plain.eml").replace(
        b"From: Nia Owen <nia.owen@example.com>",
        b"From: =?utf-8?q?Nia=00=1B_Owen=E2=80=A8=E2=80=AEJ.?= <nia.owen@example.com>",
    )
    result = _run(raw)
    assert (result.outcome, result.exit_code) == ("created", EX_OK), result.reason
    customer = db.session.scalars(sa.select(User)).one()
    assert customer.display_name == customer.preferred_name == "Nia Owen J."
    assert _receipt_for("nia.owen@example.com").to_name == "Nia Owen J."


def test_a_sender_name_the_parser_cannot_read_is_refused_with_one_line(
    app: Flask, category: Category
) -> None:
    # The standard library refuses to build an address whose name holds CR or LF.
    raw = eml("plain.eml").replace(
        b"From: Nia Owen <nia.owen@example.com>",
        b"From: =?utf-8?q?Owen=0D=0ABcc=3A_all=40example=2Ecom?= <nia.owen@example.com>",
    )
    result = app.test_cli_runner().invoke(args=["intake", "email"], input=raw)
    assert result.exit_code == EX_DATAERR
    assert result.stderr == "intake: malformed message: the parser cannot read it (ValueError)\n"
    assert _items() == []
