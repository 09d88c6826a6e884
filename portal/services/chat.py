"""Chat notifications for staff: Slack, Microsoft Teams and Discord channels hear of new items,
reopen requests, acknowledgements about to be late, promises due in two days and promises
missed, each message naming the item, the event and its owner, with a link to its admin page.

New items and reopen requests follow their domain events (consumers queue the messages in the
change's transaction); the timed notices come from `sweep()` (`flask chat sweep`, from cron
every ten minutes), which records a notice per item, event and day (unique) before queueing,
so each goes out once a day however often it runs. Reopen requests share that record: many
customers saying "This still happens to me" on one day make one message, not one each.

Messages are outbox rows sent with retries and backoff by the same deliverers as webhooks,
through the same checked, pinned POST (webhooks.post_json). A channel's URL passes the
address classifier when it is saved and again at every attempt. The URL is the credential
(whoever holds it can post to the room), so pages show it masked once saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.database import insert_if_absent
from portal.extensions import db
from portal.models import (
    CHAT_EVENTS,
    OPEN_STATES,
    Category,
    ChatChannel,
    ChatEvent,
    ChatKind,
    ChatMessage,
    ChatMessageStatus,
    ChatNotice,
    Feedback,
    FeedbackState,
    SignalKind,
    User,
    Visibility,
)
from portal.services import environment, webhooks
from portal.services import events as domain_events
from portal.services.admin import require_active_admin
from portal.services.chat_messages import Notice, payload
from portal.services.errors import DomainError, NotFound
from portal.services.outbox import DeliveryReport, claim_due, mark_claimed
from portal.services.site import get_site_settings
from portal.services.visibility import is_public, words_withheld
from portal.services.wording import Text, t

USER_AGENT = "portal-chat/1"
MAX_URL_LENGTH = 2000
# How long before its acknowledgement target an unacknowledged item is announced.
ACK_WARNING = timedelta(hours=2)
# How many days before a promised date it is announced.
PROMISE_WARNING_DAYS = 2


class ChatUrlRefused(DomainError):
    """The URL is not one the portal will post to."""

    status_code = 422


def _now() -> datetime:
    return datetime.now(UTC)


def _require_admin(actor: User) -> None:
    require_active_admin(actor, t("Only admins manage chat notifications."))


# Addresses ---------------------------------------------------------------------------------


CHAT_URL_WORDS = webhooks.UrlWords(
    empty=t("Enter the channel's incoming-webhook URL (up to 2,000 characters)."),
    unreadable=t("That is not a URL the portal can post to."),
    credentials=t("Leave passwords out of the URL: paste it as the service gives it."),
    port=t("That port cannot receive messages."),
    internal=t("Messages go only to public addresses, not to internal ones."),
)


def check_url(url: str) -> str:
    """The incoming-webhook URL, trimmed, if the portal may post to it; ChatUrlRefused
    otherwise: the webhooks' rule (webhooks.check_receiver_url), in a chat room's words."""
    return webhooks.check_receiver_url(url, ChatUrlRefused, CHAT_URL_WORDS)


def mask_url(url: str) -> str:
    """The URL as pages show it once saved: its host and the last four characters, enough to
    tell two channels apart, too little to post with."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/\u2026{url[-4:]}"


# Channels (admin) --------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())[:80]
    if not cleaned:
        raise DomainError(t("Name the channel, such as \u201c#support on Slack\u201d."))
    return cleaned


def _clean_events(events: Iterable[str]) -> list[str]:
    allowed = {e.value for e in CHAT_EVENTS}
    chosen = [e for e in dict.fromkeys(events) if e in allowed]
    if not chosen:
        raise DomainError(t("Choose at least one event to send."))
    return chosen


def _clean_categories(all_categories: bool, category_ids: Iterable[int]) -> list[Category]:
    if all_categories:
        return []
    ids = list(dict.fromkeys(category_ids))
    found = list(db.session.scalars(sa.select(Category).where(Category.id.in_(ids)))) if ids else []
    if not found or len(found) != len(ids):
        raise DomainError(t("Choose every category, or at least one category."))
    return found


def _clean_kind(kind: str) -> ChatKind:
    try:
        return ChatKind(kind)
    except ValueError as exc:
        raise DomainError(t("Choose Slack, Microsoft Teams or Discord.")) from exc


def _refuse_twin(url: str, channel_id: int | None = None) -> None:
    """Two channels with one URL would post every message to the room twice (a reloaded
    form posts it again)."""
    twin = db.session.scalar(
        sa.select(ChatChannel.name).where(
            ChatChannel.url == url,
            ChatChannel.deleted_at.is_(None),
            ChatChannel.id != (channel_id or 0),
        )
    )
    if twin is not None:
        raise DomainError(
            t(
                "%(name)s already posts to this URL: change its events or categories instead.",
                name=twin,
            )
        )


def _changed(channel: ChatChannel, actor: User, action: str, **details: object) -> None:
    domain_events.emit(domain_events.ChatChannelChanged(channel, actor, action, details))


def create_channel(
    actor: User,
    *,
    name: str,
    kind: str,
    url: str,
    events: Iterable[str],
    all_categories: bool = True,
    category_ids: Iterable[int] = (),
) -> ChatChannel:
    """Add a chat channel that gets these events for every category, or for those chosen."""
    _require_admin(actor)
    checked_url = check_url(url)
    _refuse_twin(checked_url)
    channel = ChatChannel(
        name=_clean_name(name),
        kind=_clean_kind(kind),
        url=checked_url,
        events=_clean_events(events),
        all_categories=all_categories,
        categories=_clean_categories(all_categories, category_ids),
        created_by_id=actor.id,
    )
    db.session.add(channel)
    db.session.flush()
    _changed(channel, actor, "chat.created", name=channel.name, kind=channel.kind)
    return channel


def change_channel(
    actor: User,
    channel_id: int,
    *,
    name: str,
    kind: str,
    url: str,
    events: Iterable[str],
    all_categories: bool,
    category_ids: Iterable[int] = (),
    active: bool = True,
) -> ChatChannel:
    """Change a channel; a blank URL keeps the one saved (pages never show it again).
    Messages already queued still go to the URL of their channel."""
    _require_admin(actor)
    channel = get_channel(channel_id)
    # Every value checked before any is changed: a refusal leaves the channel as it was.
    new_url = check_url(url) if url.strip() else channel.url
    new_name, new_kind = _clean_name(name), _clean_kind(kind)
    new_events = _clean_events(events)
    new_categories = _clean_categories(all_categories, category_ids)
    url_changed = new_url != channel.url
    if url_changed:
        _refuse_twin(new_url, channel.id)
    channel.name, channel.kind, channel.url = new_name, new_kind, new_url
    channel.events, channel.categories = new_events, new_categories
    channel.all_categories = all_categories
    channel.active = active
    db.session.flush()
    _changed(
        channel,
        actor,
        "chat.changed",
        name=channel.name,
        kind=channel.kind,
        events=channel.events,
        categories="all" if all_categories else [c.id for c in channel.categories],
        active=active,
        url_changed=url_changed,
    )
    return channel


def get_channel(channel_id: int) -> ChatChannel:
    """A channel that was not removed, or NotFound."""
    channel = db.session.get(ChatChannel, channel_id)
    if channel is None or channel.deleted_at is not None:
        raise NotFound(t("There is no such chat channel."))
    return channel


def list_channels() -> list[ChatChannel]:
    """Every channel, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ChatChannel).where(ChatChannel.deleted_at.is_(None)).order_by(ChatChannel.id)
        )
    )


def delete_channel(actor: User, channel_id: int) -> ChatChannel:
    """Remove a channel: nothing more is sent to it, queued messages included."""
    _require_admin(actor)
    channel = get_channel(channel_id)
    channel.deleted_at = _now()
    channel.active = False
    webhooks.give_up_waiting(
        ChatMessage.channel_id == channel.id,
        ChatMessage.status,
        pending=ChatMessageStatus.PENDING,
        failed=ChatMessageStatus.FAILED,
        reason="channel removed",
    )
    _changed(channel, actor, "chat.deleted", name=channel.name)
    db.session.flush()
    return channel


def recent_messages(channel: ChatChannel, limit: int = 30) -> list[ChatMessage]:
    """The channel's latest messages, newest first."""
    return list(
        db.session.scalars(
            sa.select(ChatMessage)
            .where(ChatMessage.channel_id == channel.id)
            .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
            .limit(limit)
        )
    )


def get_message(channel_id: int, message_id: int) -> ChatMessage:
    """One message of a channel (for the test's result), or NotFound."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.channel_id != channel_id:
        raise NotFound(t("There is no such message."))
    return message


# Messages ----------------------------------------------------------------------------------


def _words(text: Text | str) -> str:
    """Words in the site's language: a message is read by the whole room, not by whoever
    happened to cause it."""
    if isinstance(text, str):
        return text
    language = get_site_settings().default_language
    return environment.current().presenter.translate(text, language=language)


def item_label(item: Feedback) -> str:
    """The item as a message names it: its number, and its title when the item is public and
    its words are not withheld. A private item's title may carry what its customer wanted kept
    between them and staff, and a chat room is not the portal."""
    if words_withheld(item):
        return _words(t("#%(id)d (words withheld)", id=item.id))
    if item.awaiting_review and item.visibility is Visibility.PUBLIC:
        # Not approved yet: its words may be what pre-moderation is there to stop.
        return _words(t("#%(id)d (awaiting review)", id=item.id))
    if not is_public(item):
        return _words(t("#%(id)d (private item)", id=item.id))
    return f"#{item.id} {item.title}"


def _site_time(moment: datetime) -> str:
    zone = ZoneInfo(get_site_settings().time_zone or "UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _notice(item: Feedback, headline: Text, extra: Sequence[tuple[Text, str]] = ()) -> Notice:
    owner = db.session.get(User, item.owner_id) if item.owner_id else None
    category = db.session.get(Category, item.category_id)
    facts: list[tuple[str, str]] = [
        (_words(t("Owner")), owner.display_name if owner is not None else _words(t("nobody yet"))),
        (_words(t("Category")), category.name if category is not None else ""),
        (_words(t("State")), _words(t(item.state.label))),
    ]
    facts.extend((_words(name), value) for name, value in extra)
    return Notice(
        headline=_words(headline),
        item_label=item_label(item),
        facts=tuple(facts),
        link=environment.current().presenter.url("admin.item", item_id=item.id),
        link_label=_words(t("Open it in the portal")),
    )


def _queue(
    channels: Iterable[ChatChannel], event: ChatEvent, item: Feedback | None, notice: Notice
) -> list[ChatMessage]:
    messages = [
        ChatMessage(
            channel_id=channel.id,
            event=event.value,
            feedback_id=item.id if item is not None else None,
            body=json.dumps(payload(channel.kind, notice), ensure_ascii=False),
        )
        for channel in channels
    ]
    if messages:
        db.session.add_all(messages)
        db.session.flush()
        # Sent at once after the commit (the outbox worker), or by `flask outbox deliver`.
        db.session.info["outbox_pending"] = True
    return messages


def _channels_for(event: ChatEvent, category_id: int) -> list[ChatChannel]:
    return [c for c in _active_channels() if c.wants(event.value, category_id)]


def _active_channels() -> list[ChatChannel]:
    return list(
        db.session.scalars(
            sa.select(ChatChannel).where(
                ChatChannel.active.is_(True), ChatChannel.deleted_at.is_(None)
            )
        )
    )


def _once_today(item: Feedback, event: ChatEvent, day: date) -> bool:
    """Record that this item's notice of this event went out today; False if one had."""
    return insert_if_absent(
        db.session, ChatNotice, feedback_id=item.id, event=event.value, day=day, created_at=_now()
    )


def item_created(item: Feedback) -> int:
    """A new item: the channels that get new items in its category are told."""
    channels = _channels_for(ChatEvent.NEW_ITEM, item.category_id)
    if not channels:
        return 0
    extra: list[tuple[Text, str]] = [(t("Kind"), _words(t(item.kind.label)))]
    if item.ack_due_at is not None:
        extra.append((t("Acknowledge by"), _site_time(item.ack_due_at)))
    notice = _notice(item, t("New item"), extra)
    return len(_queue(channels, ChatEvent.NEW_ITEM, item, notice))


def reopen_requested(item: Feedback, kind: SignalKind, count: int | None = None) -> int:
    """A customer says a Done item still happens, or still wants a Not planned one: the
    channels are told once that day (later voices that day are counted on the item's page)."""
    channels = _channels_for(ChatEvent.REOPEN_REQUESTED, item.category_id)
    if not channels or not _once_today(item, ChatEvent.REOPEN_REQUESTED, _now().date()):
        return 0
    headline = (
        t("A customer says \u201cThis still happens to me\u201d")
        if kind is SignalKind.STILL_HAPPENS
        else t("A customer says \u201cI still want this\u201d")
    )
    extra: list[tuple[Text, str]] = []
    if count:
        extra.append((t("People saying it"), str(count)))
    notice = _notice(item, headline, extra)
    return len(_queue(channels, ChatEvent.REOPEN_REQUESTED, item, notice))


def send_test(actor: User, channel_id: int) -> ChatMessage:
    """Queue a test message to one channel, so an admin can see it arrive."""
    _require_admin(actor)
    channel = get_channel(channel_id)
    notice = Notice(
        headline=_words(
            t(
                "A test from %(organisation)s: chat notifications reach this channel.",
                organisation=get_site_settings().organisation_name,
            )
        ),
        item_label=_words(t("Test message")),
        facts=((_words(t("Channel")), channel.name),),
        link=environment.current().presenter.url("admin.chat_channel", channel_id=channel.id),
        link_label=_words(t("Open the channel's settings")),
    )
    (message,) = _queue([channel], ChatEvent.TEST, None, notice)
    _changed(channel, actor, "chat.tested", message=message.id)
    return message


# The sweep ---------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What one sweep queued: notices per event, and messages in all."""

    notices: dict[str, int] = field(default_factory=dict)
    messages: int = 0


def _due(event: ChatEvent, now: datetime) -> sa.Select[Feedback]:
    today = now.date()
    query = sa.select(Feedback).options(selectinload(Feedback.owner))
    if event is ChatEvent.ACK_DUE_SOON:
        return query.where(
            Feedback.state == FeedbackState.RECEIVED,
            Feedback.ack_due_at > now,
            Feedback.ack_due_at <= now + ACK_WARNING,
        )
    if event is ChatEvent.PROMISE_DUE_SOON:
        return query.where(
            Feedback.state.in_(OPEN_STATES),
            Feedback.target_date == today + timedelta(days=PROMISE_WARNING_DAYS),
        )
    return query.where(Feedback.state.in_(OPEN_STATES), Feedback.target_date < today)


def _timed_notice(event: ChatEvent, item: Feedback, now: datetime) -> Notice:
    if event is ChatEvent.ACK_DUE_SOON:
        assert item.ack_due_at is not None  # the query asked for it
        return _notice(
            item,
            t("About to miss its acknowledgement target"),
            [(t("Acknowledge by"), _site_time(item.ack_due_at))],
        )
    assert item.target_date is not None
    promised = [(t("Promised for"), item.target_date.isoformat())]
    if item.promise_outcome:
        promised.append((t("Promised outcome"), item.promise_outcome))
    if event is ChatEvent.PROMISE_DUE_SOON:
        return _notice(item, t("A promise is due in two days"), promised)
    late = (now.date() - item.target_date).days
    return _notice(item, t("A promise was missed"), [*promised, (t("Days late"), str(late))])


def sweep(now: datetime | None = None) -> SweepReport:
    """Queue the timed notices that are due: an unacknowledged item within two hours of its
    target, a promise two days away, a promise missed (every day it stays missed). Each item
    gets each at most once a day (UTC), however often this runs, and never when no channel
    wants it (a channel added later that day still gets it)."""
    now = now or _now()
    report = SweepReport()
    channels = _active_channels()
    for event in (ChatEvent.ACK_DUE_SOON, ChatEvent.PROMISE_DUE_SOON, ChatEvent.PROMISE_MISSED):
        if not any(event.value in (c.events or []) for c in channels):
            continue
        sent = 0
        for item in db.session.scalars(_due(event, now).order_by(Feedback.id)):
            wanting = [c for c in channels if c.wants(event.value, item.category_id)]
            if not wanting or not _once_today(item, event, now.date()):
                continue
            report.messages += len(_queue(wanting, event, item, _timed_notice(event, item, now)))
            sent += 1
        report.notices[event.value] = sent
    return report


# Delivery ----------------------------------------------------------------------------------


def _permanent(status_code: int | None) -> bool:
    """A refusal that trying again cannot fix: the services answer 4xx for a removed webhook
    or a body they will never take (Slack's 404 no_service and 410 channel_is_archived,
    Discord's 401 and 404), but 408 and 429 only ask to wait."""
    return status_code is not None and 400 <= status_code < 500 and status_code not in (408, 429)


def deliver_chat_messages(batch_size: int = 20, max_batches: int = 50) -> DeliveryReport:
    """Send the chat messages that are due, claimed a batch at a time like webhook deliveries
    (retries with backoff, the same attempt and timeout settings). Commits as it goes."""
    report = DeliveryReport()
    settings = environment.current().settings
    for _ in range(max_batches):
        token, batch = claim_due(
            ChatMessage,
            pending=ChatMessageStatus.PENDING,
            sending=ChatMessageStatus.SENDING,
            limit=batch_size,
        )
        if not batch:
            break
        channels = {
            c.id: c
            for c in db.session.scalars(
                sa.select(ChatChannel).where(ChatChannel.id.in_({m.channel_id for m in batch}))
            )
        }
        for message in batch:
            channel = channels[message.channel_id]
            if channel.deleted_at is not None:
                result = webhooks.PostResult(None, "refused: the channel was removed", 0)
            else:
                result = webhooks.post_json(
                    channel.url,
                    message.body.encode("utf-8"),
                    {"Content-Type": "application/json", "User-Agent": USER_AGENT},
                    settings.webhook_timeout_seconds,
                )
            if result.ok:
                mark_claimed(
                    ChatMessage,
                    message.id,
                    token,
                    status=ChatMessageStatus.DELIVERED,
                    delivered_at=_now(),
                    attempts=message.attempts + 1,
                    last_status_code=result.status_code,
                    last_error="",
                )
                report.sent += 1
            else:
                webhooks.give_up_or_retry(
                    ChatMessage,
                    message,
                    token,
                    result,
                    report,
                    failed=ChatMessageStatus.FAILED,
                    pending=ChatMessageStatus.PENDING,
                    what="chat: message",
                    permanent=_permanent(result.status_code),
                )
        if len(batch) < batch_size:
            break
    return report


def pending_count() -> int:
    """How many chat messages wait to be sent."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ChatMessage)
            .where(ChatMessage.status.in_([ChatMessageStatus.PENDING, ChatMessageStatus.SENDING]))
        )
        or 0
    )
