"""The outbox: a rolled-back change sends nothing, an SMTP outage loses nothing, delivery is at
least once with a stable Message-ID and never twice, also with several deliverers at once."""

from __future__ import annotations

import email
import email.policy
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import FeedbackKind, OutboxMessage, OutboxStatus
from portal.services.feedback import submit_feedback
from portal.services.outbox import DeliveryReport, deliver_pending, queue_email
from portal.services.site import settings_for_update
from tests.conftest import make_test_app


def _now() -> datetime:
    return datetime.now(UTC)


def _queue(n: int, *, kind: str = "test", to: str = "nia@example.com") -> list[OutboxMessage]:
    messages = [
        queue_email(
            kind=kind,
            to_email=to,
            to_name="Nia",
            subject=f"Message {i}",
            text_body=f"Body of message {i}.",
            html_body=f"<p>Body of message {i}.</p>",
        )
        for i in range(n)
    ]
    db.session.commit()
    return messages


def _rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _received_ids(smtp_server) -> Counter[str]:
    return Counter(str(m["Message-ID"]).strip() for m in smtp_server.messages)


def _make_due(messages: list[OutboxMessage]) -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_([m.id for m in messages]))
        .values(next_attempt_at=_now() - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_rolled_back_change_sends_nothing(smtp_server, make_verified_user, make_category) -> None:
    author = make_verified_user()
    category = make_category()
    # Submitting queues a receipt in the same transaction as the item...
    submit_feedback(
        author,
        kind=FeedbackKind.COMPLAINT,
        category_id=category.id,
        title="The lift is broken again",
        body="Third time this month.",
    )
    queue_email(kind="test", to_email="someone@example.com", subject="Hi", text_body="Hello")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2
    # ...so when the change is rolled back, so is the mail.
    db.session.rollback()
    assert _rows() == []
    report = deliver_pending()
    assert report.sent == 0
    assert smtp_server.messages == []


def test_delivery_sends_each_pending_message_once_with_its_stored_message_id(
    smtp_server,
) -> None:
    messages = _queue(3)
    stored = {m.message_id for m in messages}
    assert deliver_pending().sent == 3
    assert _received_ids(smtp_server) == Counter(stored)
    # A second run finds nothing more to send.
    assert deliver_pending().sent == 0
    assert len(smtp_server.messages) == 3
    for row in _rows():
        assert row.status is OutboxStatus.SENT
        assert row.attempts == 1
        assert row.sent_at is not None
    first = smtp_server.to("nia@example.com")[0]
    assert first["Subject"] == "Message 0"
    assert first.get_body(("plain",)).get_content().strip() == "Body of message 0."
    assert "<p>Body of message 0.</p>" in first.get_body(("html",)).get_content()


def test_smtp_outage_keeps_messages_pending_and_a_later_run_delivers_each_once(
    smtp_server, smtp_down, app: Flask
) -> None:
    # smtp_down was set up last, so the app points at the dead port.
    messages = _queue(4)
    report = deliver_pending()
    assert (report.sent, report.retried, report.failed) == (0, 4, 0)
    assert smtp_server.messages == []
    rows = _rows()
    assert len(rows) == 4  # nothing lost
    for row in rows:
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.last_error
        assert row.next_attempt_at > _now()
        assert row.claim_token is None
    # Not due yet: an immediate second run does not hammer the dead server.
    assert deliver_pending().retried == 0

    # The server is back and the retry falls due.
    app.config["MAIL_PORT"] = smtp_server.port
    _make_due(messages)
    assert deliver_pending().sent == 4
    assert deliver_pending().sent == 0
    assert _received_ids(smtp_server) == Counter(m.message_id for m in messages)
    for row in _rows():
        assert row.status is OutboxStatus.SENT
        assert row.attempts == 2
        assert row.last_error == ""


def test_a_message_that_reaches_the_maximum_attempts_is_marked_failed(
    smtp_server, smtp_down, app: Flask, change_settings
) -> None:
    change_settings(outbox_max_attempts=3)
    messages = _queue(1)
    for attempt in (1, 2):
        assert deliver_pending().retried == 1
        assert _rows()[0].attempts == attempt
        _make_due(messages)
    report = deliver_pending()
    assert (report.retried, report.failed) == (0, 1)
    (row,) = _rows()
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == 3
    assert row.last_error
    # Given up for good: even with the server back, it is not sent.
    app.config["MAIL_PORT"] = smtp_server.port
    _make_due(messages)
    assert deliver_pending().sent == 0
    assert smtp_server.messages == []


def test_two_deliverers_at_once_send_each_message_exactly_once(smtp_server, app: Flask) -> None:
    messages = _queue(40)
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def deliverer() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                reports.append(deliver_pending(batch_size=3))
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    received = _received_ids(smtp_server)
    assert max(received.values()) == 1, "a message was sent twice"
    assert received == Counter(m.message_id for m in messages)
    assert errors == []
    assert sum(r.sent for r in reports) == 40
    assert {row.status for row in _rows()} == {OutboxStatus.SENT}


def test_a_deliverer_survives_another_process_creating_the_site_settings_at_the_same_time(
    smtp_server, app: Flask
) -> None:
    # A fresh install has no settings row yet; the deliverer reads the organisation name for
    # the From header while another process (a request, another deliverer) creates the row.
    messages = _queue(2)
    ready = threading.Event()

    def other_process() -> None:
        with app.app_context():
            settings_for_update()  # creates the row, not yet committed
            ready.set()
            time.sleep(1)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=other_process)
    thread.start()
    try:
        assert ready.wait(timeout=10)
        report = deliver_pending()
    finally:
        thread.join(timeout=30)
    assert report.sent == 2
    assert _received_ids(smtp_server) == Counter(m.message_id for m in messages)
    assert {row.status for row in _rows()} == {OutboxStatus.SENT}


def test_a_claim_older_than_the_lease_is_delivered_again_and_a_fresh_claim_is_left_alone(
    smtp_server, app: Flask
) -> None:
    stale, fresh = _queue(2)
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    # One deliverer died long ago mid-way; another is sending right now.
    stale.status = fresh.status = OutboxStatus.SENDING
    stale.claim_token, stale.claimed_at = "a" * 32, _now() - 3 * lease
    fresh.claim_token, fresh.claimed_at = "b" * 32, _now() - timedelta(seconds=5)
    db.session.commit()
    stale_id, fresh_id = stale.message_id, fresh.message_id

    assert deliver_pending().sent == 1
    assert _received_ids(smtp_server) == Counter([stale_id])
    by_id = {row.message_id: row for row in _rows()}
    assert by_id[stale_id].status is OutboxStatus.SENT
    assert by_id[fresh_id].status is OutboxStatus.SENDING
    assert by_id[fresh_id].claim_token == "b" * 32
    assert by_id[fresh_id].attempts == 0


def test_two_emails_queued_at_once_get_different_ids_even_with_random_seeded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hypothesis seeds the random module for each example; email.utils.make_msgid drew from
    # it, so two password-reset requests in the same instant collided on the unique id.
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.0)  # the same instant
    random.seed(0)
    first = queue_email(
        kind="password_reset", to_email="nia@example.com", subject="a", text_body="a"
    )
    random.seed(0)
    second = queue_email(
        kind="password_reset", to_email="nia@example.com", subject="b", text_body="b"
    )
    db.session.commit()
    assert first.message_id != second.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith(">")


def test_without_a_mail_server_messages_are_written_to_the_instance_mail_folder(
    database_uri: str, tmp_path
) -> None:
    """What a newcomer's `make run` does: no MAIL_SERVER, so each email becomes an .eml file
    under instance/mail/ that any mail program opens."""
    dev = make_test_app(database_uri, tmp_path, MAIL_BACKEND="", MAIL_SERVER="")
    with dev.app_context():
        queue_email(
            kind="test", to_email="nia@example.com", subject="Your receipt", text_body="Hello."
        )
        db.session.commit()
        assert deliver_pending().sent == 1
        db.session.remove()
    [written] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["To"] == "nia@example.com" and message["Subject"] == "Your receipt"
    assert message.get_body(("plain",)).get_content().strip() == "Hello."
