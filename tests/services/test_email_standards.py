"""Every kind of email the portal sends, as a mail program receives it from a real SMTP server:
parsed with the strict policy (no defects), dated in UTC as +0000 (RFC 5322), marked as
automatic (RFC 3834), digests identified as a list (RFC 2919), and everything a person can stop
carrying one-click unsubscribe over https (RFC 8058)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from portal.extensions import db
from portal.models import (
    Category,
    CategoryFollow,
    DigestFrequency,
    Feedback,
    MergedVoice,
    OutboxMessage,
    OutboxStatus,
    Role,
    User,
)
from portal.services import (
    accounts,
    branding,
    digests,
    invitations,
    notifications,
    sign_in_links,
    workflow,
)
from portal.services.outbox import deliver_pending
from portal.services.votes import set_vote

HTTPS_SITE = "https://feedback.example.org"
BRAND_COLOUR = "#6b2d5c"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (107, 45, 92)).save(out, "PNG")
    return out.getvalue()


# A Wednesday: the digest covers Monday 16 to Monday 23 November 2026.
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
IN_THE_WEEK = datetime(2026, 11, 18, 10, tzinfo=UTC)

# Each kind of email (the receipt of an emailed item is a kind of its own: it answers a
# message; so is a resolution to someone whose voice was merged into the item: it asks them
# "Did this fix it?"), with the template it is written from.
TEMPLATE_OF = {
    "verification": "verify",
    "account_claim": "claim",
    "password_reset": "reset",
    "registration": "register",
    "signup_attempt": "register_attempt",
    "sign_in_link": "sign_in_link",
    "email_change": "email_change",
    "email_changed": "email_changed",
    "invitation": "invitation",
    "receipt": "receipt",
    "receipt_by_email": "receipt",
    "new_item": "new_item",
    "state": "item_update",
    "promise": "item_update",
    "reply": "item_update",
    "merged": "merged",
    "resolution": "resolution",
    "resolution_to_merged_voice": "resolution_merged",
    "summary": "summary",
    "reopen_request": "reopen_request",
    "digest_confirm": "digest_confirm",
    "digest_change": "digest_change",
    "digest": "digest",
}
# What a person can stop: notifications about items, their summary, and the digest. Emails
# about an account or a subscription answer something the person just did.
CAN_BE_STOPPED = {
    "receipt",
    "receipt_by_email",
    "new_item",
    "state",
    "promise",
    "reply",
    "merged",
    "resolution",
    "resolution_to_merged_voice",
    "summary",
    "reopen_request",
    "digest",
}
EMAIL_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"


def _strict(raw: bytes) -> EmailMessage:
    """Parse as a careful mail program would: the strict policy raises on any message defect."""
    message = BytesParser(policy=policy.strict).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _defects(message: EmailMessage) -> list[str]:
    """Every defect of the message, its parts and their headers."""
    found: list[str] = []
    for part in message.walk():
        found += [repr(d) for d in part.defects]
        for name, value in part.items():
            found += [f"{name}: {d!r}" for d in getattr(value, "defects", ())]
    return found


def _kind_of(row: OutboxMessage) -> str:
    if row.kind == "receipt" and "In-Reply-To" in row.headers:
        return "receipt_by_email"
    if row.kind == "resolution" and db.session.scalar(
        sa.select(MergedVoice.id).where(
            MergedVoice.feedback_id == row.feedback_id, MergedVoice.user_id == row.user_id
        )
    ):
        return "resolution_to_merged_voice"
    return row.kind


def _received(smtp_server: Any) -> dict[str, EmailMessage]:
    """Deliver what is queued; the first message of each kind, parsed strictly."""
    db.session.commit()  # the test's own snapshot ends, so it sees what the senders wrote
    report = deliver_pending(batch_size=200)
    assert report.failed == report.retried == 0
    rows = {row.message_id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    by_kind: dict[str, EmailMessage] = {}
    for raw in smtp_server.raw:
        message = _strict(raw)
        by_kind.setdefault(_kind_of(rows[str(message["Message-ID"])]), message)
    return by_kind


def _unsubscribe_targets(message: EmailMessage) -> list[str]:
    return re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))


@pytest.fixture
def every_email(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: Any,
    change_settings: Callable[..., Any],
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
) -> dict[str, EmailMessage]:
    """One email of every kind, each caused the way the portal causes it, as received."""
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", HTTPS_SITE)
    # Every email carries the site's branding (emails/_layout.html).
    admin = make_verified_user(role=Role.ADMIN)
    branding.set_logo(admin, _png())
    branding.set_accent_colour(admin, BRAND_COLOUR)
    staff = make_verified_user(role=Role.STAFF, display_name="Sam Okafor", preferred_name="Sam")
    category = make_category()
    db.session.add(CategoryFollow(user_id=staff.id, category_id=category.id))
    db.session.commit()
    author = make_verified_user(display_name="Nia Jones", preferred_name="Nia")
    # Its receipt, and the new item to the staff who follow the category.
    item = make_feedback(author=author, category=category, title="Street light out")
    duplicate = make_feedback(author=author, category=category, title="Lamp post dark")
    voter = make_verified_user(preferred_name="Mr Owen")
    notifications.follow(voter, item)
    # Said "me too" on the duplicate: merged, their voice counts on the item.
    set_vote(make_verified_user(), duplicate.id, want=True)
    db.session.commit()

    notifications.send_receipt(
        duplicate, author, by_email=True, in_reply_to="<abc.123@mail.example.net>"
    )
    notifications.send_verification(author)
    notifications.send_claim_link(author)
    notifications.send_password_reset(author)
    sign_in_links.request_sign_in_link(email=author.email)
    # Someone moves their account to a new address: a link to it, then word to the old one.
    mover = make_verified_user(display_name="Mo Mover", preferred_name="Mo")
    notifications.send_email_change_link(mover, "mo.new@example.com", "a-token")
    notifications.send_email_changed(mover, "mo.old@example.com")
    # An admin invites someone to join the staff.
    admin = make_verified_user(role=Role.ADMIN, display_name="Ada Admin")
    invitations.invite(admin, email="kofi@example.com", role=Role.STAFF)
    # Registering a new address, and the address of an account that has a password.
    for address in ("newcomer@example.com", author.email):
        accounts.request_registration(
            email=address, password="a long enough password", display_name="Noor"
        )
    db.session.commit()
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    db.session.commit()
    workflow.move_promise(
        item.id, staff, date.today() + timedelta(days=8), "", outcome="the light working again"
    )
    workflow.reply(item.id, staff, "The engineer is on the way.", post_anyway=True)
    db.session.commit()
    workflow.merge(duplicate.id, staff, item.id, "It is the same lamp.", post_anyway=True)
    resolution = workflow.resolve(item.id, staff, "We replaced the cable.", post_anyway=True)
    resolution.published_at = IN_THE_WEEK
    db.session.commit()
    workflow.request_reopen(item.id, author, "It went dark again last night.")
    db.session.commit()

    # Past the daily cap an update to a follower waits in the next day's summary.
    change_settings(notification_daily_cap=0)
    notifications.notify_item_update(item, staff, "state", "We are looking again.")
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.kind == "summary")
        .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()

    subscription = digests.subscribe("reader@example.com", DigestFrequency.WEEKLY, []).subscription
    digests.confirm(subscription.confirm_token)
    db.session.commit()
    # Anyone may type a confirmed address: the change waits for a link sent to it.
    digests.subscribe("reader@example.com", DigestFrequency.MONTHLY, [])
    db.session.commit()
    digests.send_digest(DigestFrequency.WEEKLY, now=NOW)

    received = _received(smtp_server)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        == 0
    )
    return received


def test_the_list_of_kinds_covers_every_email_template() -> None:
    templates = {p.stem for p in EMAIL_TEMPLATES.glob("*.txt") if not p.stem.startswith("_")}
    assert set(TEMPLATE_OF.values()) == templates


def test_every_kind_of_email_is_received(every_email: dict[str, EmailMessage]) -> None:
    assert set(every_email) == set(TEMPLATE_OF)


@pytest.mark.parametrize("kind", sorted(TEMPLATE_OF))
def test_every_email_parses_strictly_with_the_headers_the_standards_ask_for(
    every_email: dict[str, EmailMessage], kind: str
) -> None:
    message = every_email[kind]

    assert _defects(message) == []
    # UTC written as +0000; -0000 says the zone is unknown (RFC 5322 3.3).
    assert str(message["Date"]).endswith(" +0000")
    assert message["Date"].datetime.utcoffset() == timedelta(0)
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))
    # Automatic mail says so, so auto-responders do not answer it (RFC 3834).
    expected = "auto-replied" if kind == "receipt_by_email" else "auto-generated"
    assert str(message["Auto-Submitted"]) == expected
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and text.get_content().strip()
    assert html is not None and "</html>" in html.get_content()

    if kind in CAN_BE_STOPPED:
        targets = _unsubscribe_targets(message)
        assert [t for t in targets if not t.startswith("mailto:")] == [
            t for t in targets if t.startswith(HTTPS_SITE + "/")
        ]
        assert any(t.startswith(HTTPS_SITE + "/") for t in targets)
        assert any(t.startswith("mailto:unsubscribe@") for t in targets)
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    else:
        assert message["List-Unsubscribe"] is None
        assert message["List-Unsubscribe-Post"] is None

    # The site's logo (from the site itself, for a mail client elsewhere) and accent colour.
    logo = re.search(r'<img src="([^"]+)" alt="" width="(\d+)" height="40"', html.get_content())
    assert logo and logo.group(1).startswith(HTTPS_SITE + "/brand/logo-"), kind
    assert logo.group(2) == "120"  # 300 x 100, shown 40 high
    assert f"color:{BRAND_COLOUR}" in html.get_content()

    if kind == "digest":
        # Its "Change how often" link opens the subscription's own page, in both parts.
        for part in (text.get_content(), unescape(html.get_content())):
            assert f"{HTTPS_SITE}/digest/subscription/" in part
        # RFC 2919: a phrase and <label.domain>, so mail programs can file and filter it.
        assert re.fullmatch(r'"[^"]+" <digest\.[a-z0-9.-]+>', str(message["List-Id"]))
    else:
        assert message["List-Id"] is None


def test_without_https_the_one_click_link_is_left_out_and_the_mailto_stays(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: Any,
    make_verified_user: Callable[..., User],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    """A mail provider POSTs one-click unsubscribes only to https (RFC 8058): an http link
    would be refused or sent in the clear, and a made-up https one may answer nothing."""
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "http://127.0.0.1:5000")
    staff = make_user(role=Role.STAFF)
    author = make_verified_user()
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    resolution = workflow.resolve(item.id, staff, "We replaced the cable.", post_anyway=True)
    resolution.published_at = IN_THE_WEEK
    subscription = digests.subscribe("reader@example.com", DigestFrequency.WEEKLY, []).subscription
    digests.confirm(subscription.confirm_token)
    db.session.commit()
    digests.send_digest(DigestFrequency.WEEKLY, now=NOW)

    received = _received(smtp_server)

    assert {"receipt", "state", "resolution", "digest"} <= set(received)
    for kind in ("receipt", "state", "resolution", "digest"):
        message = received[kind]
        assert [t.split(":")[0] for t in _unsubscribe_targets(message)] == ["mailto"], kind
        assert message["List-Unsubscribe-Post"] is None, kind


# Emails that sound like a person ------------------------------------------------------------

# A digest goes to an address that asked for it, with no name given (and one digest is written
# for every reader): it says "Hello".
# An invitation to an address with no account yet knows no name either.
NAMELESS = {"digest_confirm", "digest_change", "digest", "invitation"}
# The emails about an item a person follows: who looks after it, and how to answer.
ABOUT_AN_ITEM = {"state", "promise", "reply", "merged", "resolution"}
# A quoted title standing as the subject of a sentence: `"Street light out" is now: ...`,
# `"Lamp post dark" is being handled...`, `We promise "Street light out" by...`.
QUOTED_TITLE_AS_SUBJECT = re.compile(
    r"[\"\u201c][^\"\u201c\u201d]{3,}[\"\u201d]:?\s+"
    r"(?:is|are|was|were|has|have|had|will|would|can|cannot|could|needs|got)\b",
    re.I,
)
QUOTED_TITLE_PROMISED = re.compile(r"\bpromise[sd]?\s+[\"\u201c]", re.I)


def _plain(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML part's words (tags dropped, entities read), each squeezed to
    single spaces."""
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    html = re.sub(r"<head>.*?</head>", " ", html_part.get_content(), flags=re.S)
    html = unescape(re.sub(r"<[^>]+>", " ", html))
    return " ".join(text_part.get_content().split()), " ".join(html.split())


def _first_paragraph(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n").strip().split("\n\n")[0]


@pytest.mark.parametrize("kind", sorted(TEMPLATE_OF))
def test_every_email_speaks_to_the_person_and_says_what_happens_next(
    every_email: dict[str, EmailMessage], kind: str
) -> None:
    message = every_email[kind]
    text, html = _plain(message)

    if kind in NAMELESS:
        assert _first_paragraph(message) == "Hello,"
    else:
        # Addressed by the name they chose, first: the email is to them.
        name = message["To"].addresses[0].display_name
        assert name and name in _first_paragraph(message)
    for words in (text, html):
        assert "What happens next" in words
        assert not QUOTED_TITLE_AS_SUBJECT.search(words), QUOTED_TITLE_AS_SUBJECT.search(words)
        assert not QUOTED_TITLE_PROMISED.search(words)
        assert " is now:" not in words
        if kind in ABOUT_AN_ITEM:
            assert "Sam Okafor looks after this for you." in words
            assert "To answer," in words


def test_a_promise_email_promises_an_outcome_by_a_date(
    every_email: dict[str, EmailMessage],
) -> None:
    text, html = _plain(every_email["promise"])
    when = date.today() + timedelta(days=8)
    promised = f"Sam will have the light working again by {when:%A} {when.day} {when:%B %Y}."
    assert promised in text and promised in html


def test_the_quoted_title_check_catches_the_machine_wording() -> None:
    """The check above would fail the emails this portal used to send."""
    for old in (
        '"Parcel left in the rain" is now: Acknowledged.',
        "\u201cLamp post dark\u201d is being handled together with another report",
        "\u201cLamp post dark\u201d is the same as \u201cStreet light out\u201d, so we are...",
    ):
        assert QUOTED_TITLE_AS_SUBJECT.search(old), old
    assert QUOTED_TITLE_PROMISED.search('We promise "Parcel left in the rain" by 12 December.')
    assert not QUOTED_TITLE_AS_SUBJECT.search(
        "Sam has read your complaint \u201cStreet light out\u201d and is looking after it."
    )
