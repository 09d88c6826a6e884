"""The outbox: emails are written here in the same transaction as the change that causes
them, then delivered with retries and backoff. Webhook deliveries (services/webhooks.py) share
the claiming and backoff below.

Delivery is at least once with a stable Message-ID: only a crash between sending a message and
marking it sent can repeat it. Deliverers claim rows before sending (FOR UPDATE SKIP LOCKED on
PostgreSQL, an atomic claiming UPDATE under SQLite's write lock), so several can run at once
without sending anything twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formataddr
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa

from portal.extensions import db
from portal.models import OutboxMessage, OutboxStatus
from portal.services import environment
from portal.services.environment import OutgoingEmail
from portal.services.site import get_site_settings
from portal.services.wording import t


def _now() -> datetime:
    return datetime.now(UTC)


def sender_domain() -> str:
    """The domain of the address the portal sends from (Message-IDs and List-Ids live there)."""
    sender = environment.current().settings.mail_default_sender
    return sender.rpartition("@")[2] or "portal.localhost"


def new_message_id(kind: str) -> str:
    """A Message-ID unique to this email. From the operating system's randomness, not the
    random module (email.utils.make_msgid): code that seeds that module, as Hypothesis does
    for each example, gave two emails queued in the same hundredth of a second the same id,
    and the second failed the outbox's unique constraint."""
    return f"<{secrets.token_hex(16)}.{kind.replace('_', '-')}@{sender_domain()}>"


def queue_email(
    *,
    kind: str,
    to_email: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    to_name: str = "",
    from_name: str = "",
    headers: dict[str, str] | None = None,
    user_id: int | None = None,
    feedback_id: int | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    send_after: datetime | None = None,
) -> OutboxMessage:
    """Write an email to the outbox (flushed with the caller's change, never sent directly)."""
    message = OutboxMessage(
        message_id=new_message_id(kind),
        kind=kind,
        to_email=to_email,
        to_name=to_name,
        from_name=from_name,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=headers or {},
        user_id=user_id,
        feedback_id=feedback_id,
        status=status,
        next_attempt_at=send_after or _now(),
    )
    db.session.add(message)
    db.session.flush()
    # Tells the after-commit hook that there is something to deliver.
    db.session.info["outbox_pending"] = True
    return message


def list_unsubscribe_headers(link: str, mailbox: str, subject: str) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe with RFC 8058 one-click, for mail someone can stop.

    RFC 8058 lets List-Unsubscribe-Post go only with an https link (mail providers POST to it
    without asking the reader). When the site is not served over https (development; production
    refuses an http PORTAL_BASE_URL) the link is left out with the one-click header, and the
    mailto stays: rewriting the link to https could point at a port nothing answers, and the
    reader would believe they had stopped emails that keep coming."""
    mailto = f"<mailto:{mailbox}?subject={quote(subject)}>"
    if urlsplit(link).scheme != "https":
        return {"List-Unsubscribe": mailto}
    return {
        "List-Unsubscribe": f"<{link}>, {mailto}",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    withdrawn: int = 0  # notifications the person stopped while they waited


def claim_due(
    model: type[Any],
    *,
    pending: StrEnum,
    sending: StrEnum,
    limit: int,
    only: sa.ColumnElement[bool] | None = None,
) -> tuple[str, list[Any]]:
    """Claim up to `limit` due rows of an outbox-shaped table and commit the claim.

    Used for emails and webhook deliveries alike: the model needs `id`, `status`,
    `next_attempt_at`, `claimed_at` and `claim_token` columns. `only` narrows what may be
    claimed (rows it leaves out wait, untouched)."""
    now = _now()
    lease = timedelta(seconds=environment.current().settings.outbox_lease_seconds)
    token = secrets.token_hex(16)
    due = sa.or_(
        sa.and_(model.status == pending, model.next_attempt_at <= now),
        # A claim that outlived its lease belongs to a deliverer that died mid-way.
        sa.and_(model.status == sending, model.claimed_at < now - lease),
    )
    if only is not None:
        due = sa.and_(due, only)
    candidates = sa.select(model.id).where(due).order_by(model.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        # Rows another deliverer has locked are skipped, not waited for.
        candidates = candidates.with_for_update(skip_locked=True)
    db.session.execute(
        sa.update(model)
        # Re-checking "due" makes the claim safe even if the subquery saw an older snapshot.
        .where(model.id.in_(candidates.scalar_subquery()), due)
        .values(status=sending, claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    claimed = list(
        db.session.scalars(
            sa.select(model)
            .where(model.claim_token == token, model.status == sending)
            .order_by(model.id)
        )
    )
    return token, claimed


def claim_batch(limit: int = 50) -> tuple[str, list[OutboxMessage]]:
    """Claim up to `limit` due messages for this deliverer and commit the claim."""
    return claim_due(
        OutboxMessage, pending=OutboxStatus.PENDING, sending=OutboxStatus.SENDING, limit=limit
    )


def mark_claimed(model: type[Any], row_id: int, token: str, **values: Any) -> None:
    """Record the result of sending a claimed row, if this deliverer still holds the claim."""
    db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def backoff_seconds(base: int, attempts: int) -> int:
    """Exponential backoff after the given number of failed attempts, capped at six hours."""
    doubling: int = 2 ** (attempts - 1)  # a whole number: attempts start at 1
    return min(base * doubling, 6 * 3600)


def _as_email(message: OutboxMessage) -> OutgoingEmail:
    organisation = get_site_settings().organisation_name
    sender_name = organisation
    if message.from_name:
        # "Priya at Our organisation", in the language the email is written in.
        sender_name = environment.current().presenter.translate(
            t("%(name)s at %(organisation)s", name=message.from_name, organisation=organisation),
            language=(message.headers or {}).get("Content-Language") or None,
        )
    sender = environment.current().settings.mail_default_sender
    return OutgoingEmail(
        from_address=formataddr((sender_name, sender)),
        to_address=(
            formataddr((message.to_name, message.to_email)) if message.to_name else message.to_email
        ),
        subject=message.subject,
        text=message.text_body,
        html=message.html_body,
        headers={
            "Message-ID": message.message_id,
            # UTC as +0000: the transport's default, -0000, means "zone unknown" (RFC 5322 3.3).
            "Date": format_datetime(_now()),
            # Every email the portal sends is written by it, not by a person at a keyboard
            # (RFC 3834), so auto-responders leave it alone. A queued message may say
            # otherwise: the receipt of an emailed item is "auto-replied".
            "Auto-Submitted": "auto-generated",
            **message.headers,
        },
    )


def _mark(message_id: int, token: str, **values: Any) -> None:
    mark_claimed(OutboxMessage, message_id, token, **values)


# Whether a queued email is still wanted when its turn comes (its reader unfollowed, or can no
# longer see the item). Notifications knows, and sits above this module (it queues its emails
# here), so it registers its check on import rather than being imported here.
_still_wanted: Callable[[OutboxMessage], bool] | None = None


def withdraw_unwanted_with(check: Callable[[OutboxMessage], bool]) -> None:
    """Register the check deliver_pending asks before sending each email."""
    global _still_wanted
    _still_wanted = check


def deliver_pending(batch_size: int = 50, max_batches: int = 100) -> DeliveryReport:
    """Send what is due, one claimed batch at a time. It commits as it goes (claims and
    results), because a send cannot be rolled back: this runs in the CLI and the worker."""
    still_wanted = _still_wanted
    if still_wanted is None:
        # Sending without the check would mail people who have stopped these emails.
        raise RuntimeError("portal.services.notifications is not loaded: create the app first")
    report = DeliveryReport()
    for _ in range(max_batches):
        token, batch = claim_batch(batch_size)
        if not batch:
            break
        try:
            connection = environment.current().mailer.connect()
        except Exception as exc:  # the server is down: every claimed message waits for later
            for message in batch:
                _retry_later(message, token, exc, report)
            break
        try:
            for message in batch:
                if not still_wanted(message):
                    _mark(
                        message.id,
                        token,
                        status=OutboxStatus.WITHDRAWN,
                        last_error="Not sent: the person stopped these emails.",
                    )
                    report.withdrawn += 1
                    continue
                try:
                    connection.send(_as_email(message))
                except Exception as exc:
                    db.session.rollback()  # whatever failed, the session must be usable again
                    _retry_later(message, token, exc, report)
                else:
                    _mark(
                        message.id,
                        token,
                        status=OutboxStatus.SENT,
                        sent_at=_now(),
                        attempts=message.attempts + 1,
                        last_error="",
                    )
                    report.sent += 1
        finally:
            connection.close()
        if len(batch) < batch_size:
            break
    return report


def _retry_later(
    message: OutboxMessage, token: str, exc: Exception, report: DeliveryReport
) -> None:
    current = environment.current()
    attempts = message.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:1000]
    if attempts >= current.settings.outbox_max_attempts:
        _mark(message.id, token, status=OutboxStatus.FAILED, attempts=attempts, last_error=error)
        report.failed += 1
        current.log.error("outbox: gave up on message %s: %s", message.id, error)
        return
    delay = backoff_seconds(current.settings.outbox_backoff_seconds, attempts)
    _mark(
        message.id,
        token,
        status=OutboxStatus.PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=_now() + timedelta(seconds=delay),
        claim_token=None,
        claimed_at=None,
    )
    report.retried += 1
    current.log.warning("outbox: message %s will be retried: %s", message.id, error)


def pending_count() -> int:
    """How many messages wait to be sent."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
        or 0
    )
