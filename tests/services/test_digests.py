"""The digest of resolutions: double opt-in, the last complete period, categories, exactly once
per subscriber per period (reruns, two senders at once, interrupted runs), streaming in
batches, and one-click unsubscribe headers. Mail is read from a real SMTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import (
    Category,
    DigestDelivery,
    DigestFrequency,
    DigestRun,
    DigestSubscription,
    OutboxMessage,
    Resolution,
    Role,
    Unsubscribe,
    User,
)
from portal.services import digests, workflow
from portal.services.errors import DomainError, NotFound
from portal.services.outbox import deliver_pending
from portal.services.tokens import (
    DIGEST_CHANGE_MAX_AGE,
    make_digest_change_token,
    read_digest_change_token,
)
from tests.helpers import count_queries, emailed_token, resolve_together

# A Wednesday: the last complete week is Monday 16 to Monday 23 November 2026 (ISO week 47).
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)
WEEK_END = datetime(2026, 11, 23, tzinfo=UTC)
IN_THE_WEEK = WEEK_START + timedelta(days=2, hours=10)
WEEKLY = DigestFrequency.WEEKLY
MONTHLY = DigestFrequency.MONTHLY


# Helpers -----------------------------------------------------------------------------------


@pytest.fixture
def publish(
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Any],
) -> Callable[..., Resolution]:
    """Publish a resolution through the workflow, then date it where the test needs it."""
    staff = make_user(role=Role.STAFF)

    def build(
        published_at: datetime, *, category: Category | None = None, you_said: str = ""
    ) -> Resolution:
        item = make_feedback(category=category or make_category())
        resolution = workflow.resolve(
            item.id, staff, "We fixed it and **checked** it twice.", you_said, post_anyway=True
        )
        resolution.published_at = published_at
        db.session.commit()
        return resolution

    return build


def _subscriber(
    email: str,
    frequency: DigestFrequency = WEEKLY,
    categories: Iterable[Category] = (),
    *,
    confirmed: bool = True,
) -> DigestSubscription:
    result = digests.subscribe(email, frequency, [c.id for c in categories])
    if confirmed:
        digests.confirm(result.subscription.confirm_token)
    db.session.commit()
    return result.subscription


def _digests_to(smtp_server: Any, address: str) -> list[Any]:
    return [m for m in smtp_server.to(address) if str(m["Subject"]).startswith("You said, we")]


def _text(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message: Any) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _count(model: type) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _deliver() -> None:
    db.session.commit()  # the test's own snapshot ends, so it sees what the senders wrote
    deliver_pending(batch_size=200)


# Periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "key", "start"),
    [
        (NOW, "weekly:2026-W47", WEEK_START),
        # Exactly Monday midnight: the week that just ended is complete.
        (datetime(2026, 11, 23, tzinfo=UTC), "weekly:2026-W47", WEEK_START),
        (
            datetime(2026, 11, 22, 23, 59, tzinfo=UTC),
            "weekly:2026-W46",
            datetime(2026, 11, 9, tzinfo=UTC),
        ),
        # Across the new year: ISO week 53 of 2026 ends in January 2027.
        (datetime(2027, 1, 6, tzinfo=UTC), "weekly:2026-W53", datetime(2026, 12, 28, tzinfo=UTC)),
        (datetime(2027, 1, 12, tzinfo=UTC), "weekly:2027-W01", datetime(2027, 1, 4, tzinfo=UTC)),
    ],
)
def test_weekly_period_is_the_last_complete_iso_week_in_utc(
    now: datetime, key: str, start: datetime
) -> None:
    period = digests.period_for(WEEKLY, now)
    assert (period.key, period.start, period.end) == (key, start, start + timedelta(days=7))
    assert period.start.weekday() == 0 and period.start.tzinfo is UTC


def test_weekly_period_follows_utc_not_the_callers_zone() -> None:
    from zoneinfo import ZoneInfo

    # Monday 00:30 in Berlin is still Sunday in UTC: the week has not ended there yet.
    now = datetime(2026, 11, 23, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert digests.period_for(WEEKLY, now).key == "weekly:2026-W46"


@pytest.mark.parametrize(
    ("now", "key", "start", "end"),
    [
        (
            NOW,
            "monthly:2026-10",
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
        ),
        (
            datetime(2027, 1, 1, tzinfo=UTC),
            "monthly:2026-12",
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        ),
        (
            datetime(2028, 3, 31, 23, 59, tzinfo=UTC),
            "monthly:2028-02",
            datetime(2028, 2, 1, tzinfo=UTC),
            datetime(2028, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_monthly_period_is_the_last_calendar_month(
    now: datetime, key: str, start: datetime, end: datetime
) -> None:
    period = digests.period_for(MONTHLY, now)
    assert (period.key, period.start, period.end) == (key, start, end)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        digests.period_for(WEEKLY, datetime(2026, 11, 25))


# Subscribing -------------------------------------------------------------------------------


def test_subscribing_queues_a_confirmation_and_nothing_else(smtp_server, make_category) -> None:
    billing = make_category(name="Billing")
    result = digests.subscribe("  Nia@Example.COM ", "monthly", [billing.id])
    db.session.commit()

    assert result.outcome is digests.SubscribeOutcome.CONFIRMATION_SENT
    subscription = result.subscription
    assert subscription.email == "nia@example.com"
    assert subscription.frequency is MONTHLY
    assert subscription.confirmed_at is None
    assert digests.subscription_category_ids(subscription.id) == [billing.id]
    _deliver()
    [mail] = smtp_server.to("nia@example.com")
    assert "confirm" in str(mail["Subject"]).lower()
    assert f"/digest/confirm/{subscription.confirm_token}" in _text(mail)


def _change_token(address: str) -> str:
    """The token in the newest "confirm the change" email to an address."""
    return emailed_token("digest_change", address, "/digest/change/")


def _expired_change_token(app: Flask, payload: dict[str, Any]) -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - DIGEST_CHANGE_MAX_AGE - 60

    return URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="digest-change", signer=LongAgo
    ).dumps(payload)


def _preferences(subscription_id: int) -> tuple[DigestFrequency, list[int]]:
    db.session.expire_all()
    subscription = db.session.get(DigestSubscription, subscription_id)
    return subscription.frequency, digests.subscription_category_ids(subscription_id)


def test_changing_a_confirmed_subscription_waits_for_the_link_emailed_to_it(
    make_category,
) -> None:
    billing = make_category(name="Billing")
    subscription = _subscriber("nia@example.com", WEEKLY)

    result = digests.subscribe("NIA@example.com", MONTHLY, [billing.id])
    db.session.commit()

    assert result.outcome is digests.SubscribeOutcome.CHANGE_CONFIRMATION_SENT
    assert _preferences(subscription.id) == (WEEKLY, [])  # nothing changed yet
    [change] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "digest_change")
    )
    assert change.to_email == "nia@example.com"
    assert "monthly" in change.text_body and "Billing" in change.text_body
    token = _change_token("nia@example.com")

    pending = digests.pending_change(token)
    assert (pending.frequency, pending.category_ids) == (MONTHLY, [billing.id])
    assert _preferences(subscription.id) == (WEEKLY, [])  # reading the link changes nothing
    digests.apply_change(token)
    db.session.commit()
    assert _preferences(subscription.id) == (MONTHLY, [billing.id])
    digests.apply_change(token)  # a second click changes nothing more
    db.session.commit()
    assert _preferences(subscription.id) == (MONTHLY, [billing.id])
    assert _count(DigestSubscription) == 1


def test_the_signed_in_verified_owner_changes_their_subscription_at_once(
    make_verified_user, make_category
) -> None:
    billing = make_category(name="Billing")
    nia = make_verified_user(email="nia@example.com")
    subscription = _subscriber("nia@example.com", WEEKLY)
    outbox_before = _count(OutboxMessage)

    result = digests.subscribe("nia@example.com", MONTHLY, [billing.id], user=nia)
    db.session.commit()

    assert result.outcome is digests.SubscribeOutcome.UPDATED
    assert _preferences(subscription.id) == (MONTHLY, [billing.id])
    assert result.subscription.user_id == nia.id
    assert _count(OutboxMessage) == outbox_before  # no email needed
    same = digests.subscribe("nia@example.com", MONTHLY, [billing.id], user=nia)
    assert same.outcome is digests.SubscribeOutcome.UNCHANGED


@pytest.mark.parametrize("who", ["unverified owner", "someone else"])
def test_other_signed_in_people_must_confirm_by_email_too(
    make_user, make_verified_user, who: str
) -> None:
    if who == "unverified owner":
        # Registering with an address is not owning it until the link is followed.
        person = make_user(email="nia@example.com")
    else:
        person = make_verified_user(email="mallory@example.com")
    subscription = _subscriber("nia@example.com", WEEKLY)
    result = digests.subscribe("nia@example.com", MONTHLY, [], user=person)
    db.session.commit()
    assert result.outcome is digests.SubscribeOutcome.CHANGE_CONFIRMATION_SENT
    assert _preferences(subscription.id) == (WEEKLY, [])


def test_a_pending_subscription_takes_new_choices_with_a_new_confirmation() -> None:
    subscription = _subscriber("nia@example.com", WEEKLY, confirmed=False)
    result = digests.subscribe("nia@example.com", MONTHLY, [])
    db.session.commit()
    assert result.outcome is digests.SubscribeOutcome.CONFIRMATION_SENT
    assert _preferences(subscription.id) == (MONTHLY, [])
    assert _count(OutboxMessage) == 2  # the first link, and one stating the new choices


def test_forged_expired_and_outdated_change_links_change_nothing(app: Flask, make_category) -> None:
    billing = make_category(name="Billing")
    subscription = _subscriber("nia@example.com", WEEKLY)
    digests.subscribe("nia@example.com", MONTHLY, [billing.id])
    db.session.commit()
    token = _change_token("nia@example.com")
    payload = read_digest_change_token(token)
    assert payload is not None
    bad = {
        "garbled": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        "other key": URLSafeTimedSerializer("not our key", salt="digest-change").dumps(payload),
        "expired": _expired_change_token(app, payload),
        "another subscription": make_digest_change_token(
            subscription.id + 1, "nia@example.com", subscription.confirm_token, "monthly", []
        ),
        "another address": make_digest_change_token(
            subscription.id, "mallory@example.com", subscription.confirm_token, "monthly", []
        ),
        "not a frequency": make_digest_change_token(
            subscription.id, "nia@example.com", subscription.confirm_token, "daily", []
        ),
    }
    for name, forged in bad.items():
        with pytest.raises(NotFound):
            digests.apply_change(forged)
        db.session.rollback()
        assert _preferences(subscription.id) == (WEEKLY, []), name

    # Opting out ends the link; opting back in is a new consent, with a new confirm token.
    digests.unsubscribe(subscription.unsubscribe_token)
    db.session.commit()
    with pytest.raises(NotFound):
        digests.pending_change(token)
    renewed = digests.subscribe("nia@example.com", WEEKLY, []).subscription
    digests.confirm(renewed.confirm_token)
    db.session.commit()
    with pytest.raises(NotFound):
        digests.apply_change(token)
    db.session.rollback()
    assert _preferences(subscription.id) == (WEEKLY, [])


def test_resubscribing_after_unsubscribing_starts_a_new_double_opt_in() -> None:
    subscription = _subscriber("nia@example.com")
    old_confirm_token = subscription.confirm_token
    digests.unsubscribe(subscription.unsubscribe_token)
    db.session.commit()

    result = digests.subscribe("nia@example.com", WEEKLY, [])
    db.session.commit()

    assert result.outcome is digests.SubscribeOutcome.CONFIRMATION_SENT
    renewed = result.subscription
    assert renewed.id == subscription.id
    assert renewed.confirmed_at is None and renewed.unsubscribed_at is None
    assert renewed.confirm_token != old_confirm_token
    with pytest.raises(NotFound):
        digests.confirm(old_confirm_token)


def test_confirming_is_idempotent() -> None:
    subscription = _subscriber("nia@example.com", confirmed=False)
    first = digests.confirm(subscription.confirm_token)
    db.session.commit()
    confirmed_at = first.subscription.confirmed_at
    second = digests.confirm(subscription.confirm_token)
    db.session.commit()

    assert first.confirmed_now and not second.confirmed_now
    assert confirmed_at is not None and second.subscription.confirmed_at == confirmed_at


def test_a_confirmation_link_does_not_restart_an_unsubscribed_digest() -> None:
    subscription = _subscriber("nia@example.com", confirmed=False)
    digests.unsubscribe(subscription.unsubscribe_token)
    result = digests.confirm(subscription.confirm_token)
    db.session.commit()
    assert not result.confirmed_now
    assert result.subscription.confirmed_at is None


def test_unknown_tokens_are_not_found() -> None:
    with pytest.raises(NotFound):
        digests.confirm("no-such-token")
    with pytest.raises(NotFound):
        digests.unsubscribe("no-such-token")


def test_subscribing_to_a_category_that_does_not_exist_is_refused() -> None:
    with pytest.raises(DomainError):
        digests.subscribe("nia@example.com", WEEKLY, [999_999])


def test_a_signed_in_person_is_linked_only_to_their_own_address(make_user) -> None:
    nia = make_user(email="nia@example.com")
    own = digests.subscribe("NIA@example.com", WEEKLY, [], user=nia).subscription
    other = digests.subscribe("someone.else@example.com", WEEKLY, [], user=nia).subscription
    assert own.user_id == nia.id
    assert other.user_id is None


def test_unsubscribing_is_idempotent_and_recorded_once() -> None:
    subscription = _subscriber("nia@example.com")
    assert digests.unsubscribe(subscription.unsubscribe_token) is True
    assert digests.unsubscribe(subscription.unsubscribe_token) is False
    db.session.commit()
    rows = list(db.session.scalars(sa.select(Unsubscribe)))
    assert [(r.scope, r.subscription_id) for r in rows] == [("digest", subscription.id)]


# Who gets what -----------------------------------------------------------------------------


def test_unconfirmed_and_unsubscribed_addresses_get_nothing(smtp_server, publish) -> None:
    publish(IN_THE_WEEK)
    _subscriber("pending@example.com", confirmed=False)
    gone = _subscriber("gone@example.com")
    digests.unsubscribe(gone.unsubscribe_token)
    _subscriber("nia@example.com")
    db.session.commit()

    report = digests.send_digest(WEEKLY, now=NOW)
    _deliver()

    assert report.delivered == 1
    assert len(_digests_to(smtp_server, "nia@example.com")) == 1
    assert _digests_to(smtp_server, "pending@example.com") == []
    assert _digests_to(smtp_server, "gone@example.com") == []


def test_a_weekly_subscriber_gets_the_last_complete_weeks_resolutions_only(
    smtp_server, publish
) -> None:
    first = publish(WEEK_START, you_said="Monday midnight is in")
    last = publish(WEEK_END - timedelta(seconds=1), you_said="Sunday night is in")
    publish(WEEK_START - timedelta(seconds=1), you_said="The week before is out")
    publish(WEEK_END, you_said="This week is out")
    _subscriber("nia@example.com", WEEKLY)
    _subscriber("monthly@example.com", MONTHLY)

    report = digests.send_digest(WEEKLY, now=NOW)
    _deliver()

    assert (report.run_key, report.resolutions, report.delivered) == ("weekly:2026-W47", 2, 1)
    [mail] = _digests_to(smtp_server, "nia@example.com")
    text, html = _text(mail), _html(mail)
    assert "Monday midnight is in" in text and "Sunday night is in" in text
    for outside in ("The week before is out", "This week is out"):
        assert outside not in text and outside not in html
    assert "16 November 2026" in str(mail["Subject"])
    # The "we did" text: its source in the text part, its sanitised HTML in the HTML part.
    assert "**checked**" in text and "<strong>checked</strong>" in html
    # Indented under its "We did:", like the rest of the entry.
    assert "   We did:\r\n   We fixed it and **checked** it twice.\r\n" in text
    # Each links to its permanent page, which outlives the board's first page.
    for resolution in (first, last):
        assert f"/you-said-we-did/{resolution.id}\r\n" in text
        assert f'/you-said-we-did/{resolution.id}" ' in html
    assert "#r" not in text and "#r" not in html
    assert _digests_to(smtp_server, "monthly@example.com") == []


def test_a_monthly_subscriber_gets_the_last_calendar_month(smtp_server, publish) -> None:
    publish(datetime(2026, 10, 31, 23, 0, tzinfo=UTC), you_said="Late October")
    publish(datetime(2026, 11, 2, tzinfo=UTC), you_said="Early November")
    _subscriber("monthly@example.com", MONTHLY)
    _subscriber("weekly@example.com", WEEKLY)

    report = digests.send_digest(MONTHLY, now=NOW)
    _deliver()

    assert (report.run_key, report.resolutions, report.delivered) == ("monthly:2026-10", 1, 1)
    [mail] = _digests_to(smtp_server, "monthly@example.com")
    assert "Late October" in _text(mail) and "Early November" not in _text(mail)
    assert "October 2026" in str(mail["Subject"])
    assert _digests_to(smtp_server, "weekly@example.com") == []


def test_categories_limit_what_a_subscriber_gets_and_an_empty_selection_sends_nothing(
    smtp_server, publish, make_category
) -> None:
    billing, delivery, parking = (make_category(name=n) for n in ("Billing", "Delivery", "Parking"))
    publish(IN_THE_WEEK, category=billing, you_said="Invoices are clearer")
    publish(IN_THE_WEEK, category=delivery, you_said="Parcels arrive on time")
    _subscriber("billing@example.com", categories=[billing])
    _subscriber("both@example.com", categories=[billing, delivery])
    _subscriber("everything@example.com")
    _subscriber("parking@example.com", categories=[parking])

    report = digests.send_digest(WEEKLY, now=NOW)
    _deliver()

    assert (report.delivered, report.skipped) == (3, 1)
    [billing_mail] = _digests_to(smtp_server, "billing@example.com")
    assert "Invoices are clearer" in _text(billing_mail)
    assert "Parcels arrive on time" not in _text(billing_mail)
    assert "Billing" in _text(billing_mail)
    for address in ("both@example.com", "everything@example.com"):
        [mail] = _digests_to(smtp_server, address)
        assert "Invoices are clearer" in _text(mail) and "Parcels arrive on time" in _text(mail)
    assert _digests_to(smtp_server, "parking@example.com") == []
    assert _count(DigestDelivery) == 3


def test_a_subscriber_who_joined_after_the_period_still_gets_it(smtp_server, publish) -> None:
    publish(IN_THE_WEEK)
    late = _subscriber("late@example.com")
    late.created_at = NOW - timedelta(hours=1)
    db.session.commit()

    digests.send_digest(WEEKLY, now=NOW)
    _deliver()
    assert len(_digests_to(smtp_server, "late@example.com")) == 1


def test_a_period_without_resolutions_sends_nothing_and_records_nothing(
    smtp_server, publish
) -> None:
    publish(WEEK_START - timedelta(days=1))  # the week before
    _subscriber("nia@example.com")

    report = digests.send_digest(WEEKLY, now=NOW)
    _deliver()

    assert (report.resolutions, report.delivered) == (0, 0)
    assert _count(DigestRun) == 0 and _count(DigestDelivery) == 0
    assert _digests_to(smtp_server, "nia@example.com") == []


def test_every_digest_carries_one_click_unsubscribe_headers(
    app: Flask, monkeypatch: pytest.MonkeyPatch, smtp_server, publish
) -> None:
    # One-click needs an https link (RFC 8058); the site in production is served over https.
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://feedback.example.org")
    publish(IN_THE_WEEK)
    subscription = _subscriber("nia@example.com")

    digests.send_digest(WEEKLY, now=NOW)
    _deliver()

    [mail] = _digests_to(smtp_server, "nia@example.com")
    header = str(mail["List-Unsubscribe"]).strip()
    link = f"/digest/unsubscribe/{subscription.unsubscribe_token}>"
    assert header.startswith("<https://") and link in header
    assert "<mailto:" in header
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert link.rstrip(">") in _text(mail) and link.rstrip(">") in _html(mail)


# Exactly once ------------------------------------------------------------------------------


def test_running_the_same_period_twice_mails_each_subscriber_once(smtp_server, publish) -> None:
    publish(IN_THE_WEEK)
    addresses = [f"reader{i}@example.com" for i in range(4)]
    for address in addresses:
        _subscriber(address)

    first = digests.send_digest(WEEKLY, now=NOW)
    second = digests.send_digest(WEEKLY, now=NOW + timedelta(days=2))  # same week, later
    _deliver()

    assert (first.delivered, second.delivered, second.skipped) == (4, 0, 4)
    assert first.run_key == second.run_key
    for address in addresses:
        assert len(_digests_to(smtp_server, address)) == 1, address
        assert len(smtp_server.to(address)) == 2  # the confirmation and one digest
    run = db.session.scalar(sa.select(DigestRun))
    assert run.delivered == 4 and run.finished_at is not None
    assert _count(DigestRun) == 1


def test_two_runs_at_the_same_time_mail_each_subscriber_once(
    app: Flask, smtp_server, publish
) -> None:
    publish(IN_THE_WEEK)
    addresses = [f"reader{i}@example.com" for i in range(9)]
    for address in addresses:
        _subscriber(address)
    db.session.commit()

    barrier = threading.Barrier(2)
    reports: list[digests.DigestReport] = []
    errors: list[BaseException] = []

    def machine() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                reports.append(digests.send_digest(WEEKLY, now=NOW, batch_size=2))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=machine) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.delivered for r in reports) == len(addresses)
    _deliver()
    for address in addresses:
        assert len(_digests_to(smtp_server, address)) == 1, address
    assert _count(DigestRun) == 1
    assert _count(DigestDelivery) == len(addresses)


def test_an_interrupted_run_resumes_where_it_stopped(
    smtp_server, publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(IN_THE_WEEK)
    addresses = [f"reader{i}@example.com" for i in range(5)]
    for address in addresses:
        _subscriber(address)
    real_queue = digests.queue_email
    calls = 0

    def crash_on_the_fourth(**kwargs: Any) -> OutboxMessage:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("the machine went away")
        return real_queue(**kwargs)

    monkeypatch.setattr(digests, "queue_email", crash_on_the_fourth)
    with pytest.raises(RuntimeError):
        digests.send_digest(WEEKLY, now=NOW, batch_size=2)
    # Two batches of two were committed; the third subscriber's copy went with the crash.
    assert _count(DigestDelivery) == 2
    run = db.session.scalar(sa.select(DigestRun))
    assert run.finished_at is None

    monkeypatch.setattr(digests, "queue_email", real_queue)
    report = digests.send_digest(WEEKLY, now=NOW, batch_size=2)
    _deliver()

    assert (report.delivered, report.skipped) == (3, 2)
    for address in addresses:
        assert len(_digests_to(smtp_server, address)) == 1, address
    run = db.session.scalar(sa.select(DigestRun))
    assert run.delivered == 5 and run.finished_at is not None


def test_subscribers_are_read_in_batches_never_all_at_once(
    smtp_server, publish, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(IN_THE_WEEK)
    for i in range(5):
        _subscriber(f"reader{i}@example.com")
    real_batch = digests._subscriber_batch
    sizes: list[int] = []

    def spy(frequency: DigestFrequency, after_id: int, limit: int) -> list[DigestSubscription]:
        rows = real_batch(frequency, after_id, limit)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(digests, "_subscriber_batch", spy)
    with count_queries(db.engine) as log:
        report = digests.send_digest(WEEKLY, now=NOW, batch_size=2)
    _deliver()

    assert report.delivered == 5
    assert sizes == [2, 2, 1]
    reads = [s for s in log.statements if s.lstrip().upper().startswith("SELECT")]
    subscriber_reads = [s for s in reads if "FROM digest_subscriptions" in s]
    assert len(subscriber_reads) == 3
    assert all("LIMIT" in s.upper() for s in subscriber_reads)
    assert len(smtp_server.messages) == 10  # five confirmations, five digests


def test_a_theme_resolved_across_two_categories_reaches_each_categorys_readers(
    smtp_server, client, make_user, make_category, make_feedback
) -> None:
    """Checkout (Website) and a promo code (Billing) fixed by one change, resolved together:
    a Billing reader finds it on the board's Billing filter, in the Billing feed, and in a
    Billing-only digest, though the resolution is filed under the first item's category."""
    website, billing = make_category(name="Website and app"), make_category(name="Billing")
    staff = make_user(role=Role.STAFF)
    items = [
        make_feedback(category=website, title="Checkout times out"),
        make_feedback(category=billing, title="Promo code not applied"),
    ]
    resolution = resolve_together(items, staff, "One fix to the payment step.", "Checkout problems")
    resolution.published_at = IN_THE_WEEK
    db.session.commit()
    assert resolution.category_id == website.id

    for url in (
        f"/you-said-we-did?category={billing.slug}",
        f"/feeds/categories/{billing.slug}.atom",
    ):
        assert "One fix to the payment step." in client.get(url).get_data(as_text=True), url
    _subscriber("billing@example.com", categories=[billing])
    digests.send_digest(WEEKLY, now=NOW)
    _deliver()
    [mail] = _digests_to(smtp_server, "billing@example.com")
    assert "Checkout problems" in _text(mail)
