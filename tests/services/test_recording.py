"""Staff take feedback for a customer (services/recording.py): a new item in the customer's
name, or their "me too", each with the channel they told staff through."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEntry,
    Category,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Follow,
    RecordedKind,
    Role,
    StaffRecording,
    User,
    Visibility,
    Vote,
)
from portal.services import accounts, attachments, recording, workflow
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.insights.queries import items_per_channel, recorded_per_channel
from portal.services.personal_details import PersonalDetailsHeld
from portal.services.recording import AlreadySaidMeToo, CustomerNeeded, StaffAddress
from portal.services.votes import ClosedForVotes, set_vote
from tests.helpers import delivered, mail_html, mail_text, mail_to


@pytest.fixture
def staff(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user(role=Role.STAFF, display_name="Sam from Support")


@pytest.fixture
def category(make_category: Callable[..., Category]) -> Category:
    return make_category(name="Trains", ack_target_hours=24)


def _record(staff: User, category: Category, **overrides: object) -> recording.Recorded:
    fields: dict[str, object] = {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "channel": FeedbackChannel.PHONE,
        "kind": FeedbackKind.COMPLAINT,
        "category_id": category.id,
        "title": "The 8:10 was cancelled again",
        "body": "Third time this week, and no announcement on the platform.",
        "visibility": Visibility.PRIVATE,
    }
    fields.update(overrides)
    recorded = recording.record_for_customer(staff, **fields)  # type: ignore[arg-type]
    db.session.commit()
    return recorded


def _users() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# A new item for a customer -------------------------------------------------------------------


def test_a_new_contact_is_made_and_emailed_the_receipt_with_the_claim_link(
    smtp_server, staff: User, category: Category
) -> None:
    recorded = _record(staff, category, email="Ada@Example.com")

    contact = recorded.customer
    assert recorded.customer_created
    assert contact.email == "ada@example.com" and contact.display_name == "Ada Lovelace"
    assert contact.role is Role.CUSTOMER and contact.verified_at is None
    assert not accounts.has_usable_password(contact)
    item = recorded.item
    assert item.author_id == contact.id and item.channel is FeedbackChannel.PHONE
    # They follow it as if they had written it, and their voice counts.
    assert db.session.scalar(
        sa.select(Follow).where(Follow.user_id == contact.id, Follow.feedback_id == item.id)
    )
    assert item.vote_count == 1

    (receipt,) = mail_to(delivered(smtp_server), contact)
    assert f"#{item.id}" in receipt["Subject"]
    for part in (mail_text(receipt), mail_html(receipt)):
        assert "Sam from Support from our team wrote down what you told us on the phone" in part
        assert "choose your password" in part
    link = re.search(r"https?://[^\s\"]+/account/claim/([^\s\"<]+)", mail_text(receipt))
    assert link, mail_text(receipt)
    # The link claims this very account (setting a password confirms the address).
    claimed = accounts.user_for_claim_token(link.group(1))
    assert claimed is not None and claimed.id == contact.id
    assert _actions()[-2:] == ["staff.customer_created", "item.recorded_for_customer"]
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.actor_id == staff.id
    assert entry.detail == {"customer": contact.id, "channel": "phone"}


def test_an_existing_customer_is_found_whatever_the_case_of_their_address(
    smtp_server, staff: User, category: Category, make_verified_user: Callable[..., User]
) -> None:
    nia = make_verified_user(email="nia@example.com", display_name="Nia Jones")
    before = _users()

    recorded = _record(staff, category, email="  NIA@Example.COM ", name="", channel="chat")

    assert not recorded.customer_created and recorded.customer.id == nia.id
    assert _users() == before
    assert recorded.item.channel is FeedbackChannel.CHAT
    (receipt,) = mail_to(delivered(smtp_server), nia)
    text = mail_text(receipt)
    assert "wrote down what you told us in a chat" in text
    assert "/account/claim/" not in text  # she has a password already


def test_a_new_address_without_a_name_is_refused_and_nothing_is_made(
    staff: User, category: Category
) -> None:
    before = _users()
    with pytest.raises(CustomerNeeded, match="give their name"):
        recording.record_for_customer(
            staff,
            email="new@example.com",
            name="  ",
            channel="phone",
            kind="idea",
            category_id=category.id,
            title="More bike racks",
            body="The racks at the north entrance are always full.",
            visibility="public",
        )
    db.session.rollback()
    assert _users() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


@pytest.mark.parametrize("channel", ["web", "api", "fax", ""])
def test_only_the_ways_customers_tell_staff_are_channels_staff_record(
    staff: User, category: Category, channel: str
) -> None:
    with pytest.raises(DomainError, match="how the customer told you"):
        _record(staff, category, channel=channel)


def test_a_customer_cannot_record_for_someone_else(
    category: Category, make_verified_user: Callable[..., User]
) -> None:
    with pytest.raises(NotAllowed):
        _record(make_verified_user(), category)


def test_staff_cannot_record_feedback_in_a_colleagues_name(
    staff: User, category: Category, make_verified_user: Callable[..., User]
) -> None:
    colleague = make_verified_user(role=Role.STAFF, email="colleague@example.com")
    with pytest.raises(StaffAddress, match="member of staff"):
        _record(staff, category, email=colleague.email)


def test_public_words_with_personal_details_are_held_as_on_the_customers_own_form(
    staff: User, category: Category
) -> None:
    body = "Please ring me back on 07911 123456 about the refund."
    with pytest.raises(PersonalDetailsHeld):
        _record(staff, category, visibility="public", body=body)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0

    recorded = _record(staff, category, visibility="public", body=body, post_anyway=True)
    assert recorded.item.visibility is Visibility.PUBLIC


def test_only_the_recording_staff_members_own_waiting_uploads_go_with_the_item(
    staff: User, category: Category, make_verified_user: Callable[..., User]
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(out, "PNG")
    someone_elses = attachments.upload_image(make_verified_user(), out.getvalue())
    own = attachments.upload_image(staff, out.getvalue())
    db.session.commit()

    with pytest.raises(NotFound):
        _record(staff, category, images=[someone_elses.public_id])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0

    item = _record(staff, category, images=[own.public_id]).item
    image = db.session.get(Attachment, own.id)
    assert image is not None
    assert (image.feedback_id, image.uploader_id) == (item.id, item.author_id)


# "Me too" for a customer -----------------------------------------------------------------------


def test_me_too_for_a_customer_counts_once_and_they_follow(
    staff: User, make_feedback: Callable[..., Feedback], make_verified_user: Callable[..., User]
) -> None:
    item = make_feedback(title="Lifts out of order at Central")
    owen = make_verified_user(email="owen@example.com", display_name="Owen Price")

    recorded = recording.me_too_for_customer(
        staff, item.id, email="Owen@example.com", channel=FeedbackChannel.IN_PERSON
    )
    db.session.commit()

    assert recorded.customer.id == owen.id and not recorded.customer_created
    assert db.session.get(Feedback, item.id).vote_count == 2  # the author's and Owen's
    assert db.session.scalar(
        sa.select(Follow).where(Follow.user_id == owen.id, Follow.feedback_id == item.id)
    )
    row = db.session.scalars(sa.select(StaffRecording)).one()
    assert (row.kind, row.channel, row.recorded_by_id) == (
        RecordedKind.ME_TOO,
        FeedbackChannel.IN_PERSON,
        staff.id,
    )
    assert _actions()[-1] == "item.me_too_recorded"

    # A second time says they already have, and changes nothing.
    with pytest.raises(AlreadySaidMeToo, match="Owen Price has already said"):
        recording.me_too_for_customer(staff, item.id, email="owen@example.com", channel="phone")
    db.session.rollback()
    assert db.session.get(Feedback, item.id).vote_count == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecording)) == 1


def test_a_me_too_taken_back_can_be_recorded_again(
    staff: User, make_feedback: Callable[..., Feedback], make_verified_user: Callable[..., User]
) -> None:
    item = make_feedback()
    owen = make_verified_user()
    recording.me_too_for_customer(staff, item.id, email=owen.email, channel="phone")
    db.session.commit()
    set_vote(owen, item.id, want=False)
    db.session.commit()

    recording.me_too_for_customer(staff, item.id, email=owen.email, channel="email")
    db.session.commit()

    assert db.session.get(Feedback, item.id).vote_count == 2
    row = db.session.scalars(sa.select(StaffRecording)).one()
    assert row.channel is FeedbackChannel.EMAIL


def test_a_customer_who_said_me_too_themselves_already_has(
    staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    author = db.session.get(User, item.author_id)
    assert author is not None
    with pytest.raises(AlreadySaidMeToo):
        recording.me_too_for_customer(staff, item.id, email=author.email, channel="chat")


def test_me_too_from_a_new_address_makes_a_contact_who_votes(
    staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    recorded = recording.me_too_for_customer(
        staff, item.id, email="bo@example.com", name="Bo Chen", channel="social"
    )
    db.session.commit()
    assert recorded.customer_created and recorded.customer.display_name == "Bo Chen"
    assert db.session.scalar(
        sa.select(Vote).where(Vote.user_id == recorded.customer.id, Vote.feedback_id == item.id)
    )
    assert _actions()[-2:] == ["staff.customer_created", "item.me_too_recorded"]


def test_nobody_else_says_me_too_to_a_private_item_and_no_contact_is_made(
    staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(visibility=Visibility.PRIVATE)
    before = _users()
    with pytest.raises(CustomerNeeded, match="private"):
        recording.me_too_for_customer(
            staff, item.id, email="bo@example.com", name="Bo Chen", channel="phone"
        )
    db.session.rollback()
    assert _users() == before


def test_a_closed_item_takes_no_me_too(
    staff: User, make_feedback: Callable[..., Feedback], make_verified_user: Callable[..., User]
) -> None:
    item = make_feedback()
    workflow.move(
        item.id, staff, FeedbackState.DECLINED, message="We will not change this.", post_anyway=True
    )
    db.session.commit()
    with pytest.raises(ClosedForVotes):
        recording.me_too_for_customer(
            staff, item.id, email=make_verified_user().email, channel="phone"
        )


# The staff view of the timeline, and insights --------------------------------------------------


def test_the_staff_timeline_says_who_recorded_what_and_how(
    staff: User, category: Category, make_verified_user: Callable[..., User]
) -> None:
    item = _record(staff, category, visibility="public", channel="phone").item
    other = make_verified_user(display_name="Owen Price")
    recording.me_too_for_customer(staff, item.id, email=other.email, channel="email")
    db.session.commit()

    steps = recording.staff_timeline(item)
    recorded = [s for s in steps if isinstance(s, StaffRecording)]
    assert [(s.kind, s.channel, s.recorded_by.display_name) for s in recorded] == [
        (RecordedKind.ITEM, FeedbackChannel.PHONE, "Sam from Support"),
        (RecordedKind.ME_TOO, FeedbackChannel.EMAIL, "Sam from Support"),
    ]
    assert recorded[1].customer.id == other.id
    # The item's own recording comes right after its "received" step.
    assert steps.index(recorded[0]) == 1


def test_insights_count_items_by_the_channel_staff_heard_them_through(
    staff: User, category: Category, make_feedback: Callable[..., Feedback]
) -> None:
    make_feedback(category=category)
    _record(staff, category, channel="phone")
    _record(staff, category, email="bo@example.com", name="Bo", channel="phone")
    _record(staff, category, email="cy@example.com", name="Cy", channel="in_person")
    now = datetime.now(UTC)

    counts = {c.channel: c.count for c in items_per_channel(now - timedelta(days=1), now)}

    assert counts[FeedbackChannel.PHONE] == 2
    assert counts[FeedbackChannel.IN_PERSON] == 1
    assert counts[FeedbackChannel.WEB] == 1
    assert counts[FeedbackChannel.CHAT] == 0


def test_insights_count_what_staff_recorded_by_channel_items_and_me_too_apart(
    staff: User, category: Category, make_verified_user: Callable[..., User]
) -> None:
    item = _record(staff, category, visibility="public", channel="phone").item
    _record(staff, category, email="bo@example.com", name="Bo", channel="chat")
    for channel in ("phone", "phone", "social"):
        recording.me_too_for_customer(
            staff, item.id, email=make_verified_user().email, channel=channel
        )
    db.session.commit()
    now = datetime.now(UTC)

    rows = recorded_per_channel(now - timedelta(days=1), now + timedelta(seconds=1))

    assert [(r.channel.value, r.items, r.me_too) for r in rows] == [
        ("phone", 1, 2),
        ("chat", 1, 0),
        ("in_person", 0, 0),
        ("social", 0, 1),
        ("email", 0, 0),
        ("staff", 0, 0),
    ]
    # Before the period: nothing.
    assert all(
        (r.items, r.me_too) == (0, 0)
        for r in recorded_per_channel(now - timedelta(days=3), now - timedelta(days=2))
    )
