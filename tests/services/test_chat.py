"""Chat notifications against a real local HTTP receiver, one test per service's documented
incoming-webhook shape (Slack's text and blocks, a Teams message carrying an Adaptive Card,
Discord's content and embeds); retries after a receiver's error; the sweep's once per item,
event and day; and the address classifier refusing what a channel must not post to."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Category,
    ChatChannel,
    ChatMessage,
    ChatMessageStatus,
    ChatNotice,
    Feedback,
    Role,
    SignalKind,
    User,
    Visibility,
)
from portal.services import chat, signals, workflow
from portal.services.chat import ChatUrlRefused, check_url, deliver_chat_messages, sweep
from portal.services.environment import Settings
from portal.services.errors import DomainError, NotAllowed
from portal.services.site import settings_for_update
from tests.webhook_receiver import Receiver, run_receiver

ALL_EVENTS = ["new_item", "ack_due_soon", "reopen_requested", "promise_due_soon", "promise_missed"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Priya Admin")


@pytest.fixture
def fast_retries(change_settings: Callable[..., Settings]) -> None:
    change_settings(webhook_timeout_seconds=0.5, webhook_max_attempts=3)


def _channel(admin: User, url: str, kind: str = "slack", **kw: Any) -> ChatChannel:
    channel = chat.create_channel(
        admin,
        name=kw.pop("name", "#support"),
        kind=kind,
        url=url,
        events=kw.pop("events", ALL_EVENTS),
        **kw,
    )
    db.session.commit()
    return channel


def _bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in receiver.requests]


def _messages() -> list[ChatMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ChatMessage).order_by(ChatMessage.id)))


def _make_due() -> None:
    db.session.execute(
        sa.update(ChatMessage).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()


# Each service's format ---------------------------------------------------------------------


def test_slack_gets_text_and_blocks_naming_the_item_event_owner_and_admin_link(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], make_user
) -> None:
    _channel(admin, receiver.url, "slack")
    author = make_user(email="jo.customer@example.com")
    item = make_feedback(author=author, title="The lift <is> broken & stuck")

    report = deliver_chat_messages()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [request] = receiver.requests
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert set(body) == {"text", "blocks"}
    assert "New item" in body["text"] and "The lift &lt;is&gt; broken &amp; stuck" in body["text"]
    first, facts, actions = body["blocks"]
    assert first["type"] == "section" and first["text"]["type"] == "mrkdwn"
    link = actions["elements"][0]["url"]
    assert link.startswith("http") and link.endswith(f"/admin/feedback/{item.id}")
    # Slack's control characters are escaped, so a title cannot ping a room or forge a link.
    assert "The lift &lt;is&gt; broken &amp; stuck" in first["text"]["text"]
    assert f"<{link}|#{item.id} " in first["text"]["text"]
    assert "*Owner:* nobody yet" in facts["text"]["text"]
    assert actions["type"] == "actions" and actions["elements"][0]["type"] == "button"
    # Never the customer's address, nor their name.
    assert "jo.customer@example.com" not in request.body.decode()
    assert author.display_name not in request.body.decode()
    [message] = _messages()
    assert message.status is ChatMessageStatus.DELIVERED and message.feedback_id == item.id


def test_teams_gets_a_message_with_an_adaptive_card(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], make_user
) -> None:
    _channel(admin, receiver.url, "teams")
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    item = make_feedback(title="Invoices arrive twice")
    workflow.take(item.id, staff)
    db.session.commit()
    _messages()
    signals_before = len(receiver.requests)

    deliver_chat_messages()

    assert len(receiver.requests) == signals_before + 1
    body = json.loads(receiver.requests[-1].body)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    kinds = [element["type"] for element in card["body"]]
    assert kinds == ["TextBlock", "TextBlock", "FactSet"]
    assert card["body"][0]["text"] == "New item"
    assert card["body"][1]["text"] == f"#{item.id} Invoices arrive twice"
    facts = {fact["title"]: fact["value"] for fact in card["body"][2]["facts"]}
    # Queued when the item came in, before anyone took it.
    assert facts["Owner"] == "nobody yet"
    [action] = card["actions"]
    assert action["type"] == "Action.OpenUrl"
    assert action["url"].endswith(f"/admin/feedback/{item.id}")


def test_discord_gets_content_and_an_embed_within_its_limits_and_pings_no_one(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    _channel(admin, receiver.url, "discord")
    item = make_feedback(title="@everyone the *app* crashes " + "x" * 120)

    deliver_chat_messages()

    body = json.loads(receiver.requests[0].body)
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000 and "New item" in body["content"]
    [embed] = body["embeds"]
    assert len(embed["title"]) <= 256 and embed["title"].startswith(f"#{item.id} @everyone")
    assert embed["url"].endswith(f"/admin/feedback/{item.id}")
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024 for f in embed["fields"])
    assert {"name": "Owner", "value": "nobody yet", "inline": True} in embed["fields"]


def test_the_owner_is_named_once_there_is_one(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], make_user
) -> None:
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    item = make_feedback()
    workflow.take(item.id, staff)
    workflow.plan(
        item.id,
        staff,
        date.today() + timedelta(days=2),
        "We will fix it.",
        outcome="a fix",
        post_anyway=True,
    )
    db.session.commit()
    _channel(admin, receiver.url, "slack", events=["promise_due_soon"])

    report = sweep()
    db.session.commit()
    deliver_chat_messages()

    assert report.notices == {"promise_due_soon": 1}
    body = _bodies(receiver)[0]
    facts = body["blocks"][1]["text"]["text"]
    assert "*Owner:* Sam Staff" in facts
    assert "A promise is due in two days" in body["text"]
    assert f"*Promised for:* {(date.today() + timedelta(days=2)).isoformat()}" in facts


def test_a_private_item_goes_out_without_its_title(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    _channel(admin, receiver.url, "discord")
    item = make_feedback(title="My account number is 12345", visibility=Visibility.PRIVATE)

    deliver_chat_messages()

    raw = receiver.requests[0].body.decode()
    assert "12345" not in raw
    assert json.loads(raw)["embeds"][0]["title"] == f"#{item.id} (private item)"


def test_an_item_awaiting_review_goes_out_without_its_title(
    receiver: Receiver,
    admin: User,
    make_feedback: Callable[..., Feedback],
) -> None:
    settings_for_update().pre_moderation = True
    db.session.commit()
    _channel(admin, receiver.url, "slack")
    item = make_feedback(title="Buy cheap watches here")

    deliver_chat_messages()

    raw = receiver.requests[0].body.decode()
    assert item.awaiting_review and "watches" not in raw
    assert f"#{item.id} (awaiting review)" in json.loads(raw)["text"]


# Which channels hear of what ---------------------------------------------------------------


def test_a_channel_for_chosen_categories_hears_only_of_those(
    receiver: Receiver,
    admin: User,
    make_feedback: Callable[..., Feedback],
    make_category: Callable[..., Category],
) -> None:
    billing, delivery = make_category(name="Billing"), make_category(name="Delivery")
    _channel(admin, receiver.url, all_categories=False, category_ids=[billing.id])

    make_feedback(category=delivery, title="Parcel lost")
    billed = make_feedback(category=billing, title="Charged twice")
    deliver_chat_messages()

    [body] = _bodies(receiver)
    assert f"#{billed.id} Charged twice" in body["text"]


def test_a_paused_channel_or_one_without_the_event_gets_nothing(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    _channel(admin, receiver.url, events=["promise_missed"])
    paused = _channel(admin, receiver.url + "&paused", name="#paused")
    chat.change_channel(
        admin,
        paused.id,
        name="#paused",
        kind="slack",
        url="",
        events=ALL_EVENTS,
        all_categories=True,
        active=False,
    )
    db.session.commit()

    make_feedback()

    assert _messages() == []


def test_still_happens_tells_the_room_once_a_day_however_many_say_it(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], make_user
) -> None:
    item = make_feedback()
    workflow.resolve(item.id, admin, "We replaced the lift's motor.", post_anyway=True)
    db.session.commit()
    _channel(admin, receiver.url, events=["reopen_requested"])

    for _ in range(3):
        signals.set_signal(make_user(), item.id, SignalKind.STILL_HAPPENS, True)
        db.session.commit()
    deliver_chat_messages()

    [body] = _bodies(receiver)
    assert "This still happens to me" in body["text"]
    assert "*People saying it:* 1" in body["blocks"][1]["text"]["text"]


def test_the_authors_not_yet_is_a_reopen_request_in_the_room(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], make_user
) -> None:
    author = make_user()
    item = make_feedback(author=author)
    workflow.resolve(item.id, admin, "We replaced the lift's motor.", post_anyway=True)
    db.session.commit()
    _channel(admin, receiver.url, "teams", events=["reopen_requested"])

    workflow.request_reopen(item.id, author, "It stopped again this morning.")
    db.session.commit()
    deliver_chat_messages()

    [body] = _bodies(receiver)
    card = body["attachments"][0]["content"]
    assert "This still happens to me" in card["body"][0]["text"]
    # The customer's own words stay in the portal.
    assert "stopped again" not in receiver.requests[0].body.decode()


# The sweep ---------------------------------------------------------------------------------


def test_an_acknowledgement_about_to_be_missed_is_sent_once_however_often_the_sweep_runs(
    receiver: Receiver,
    admin: User,
    make_feedback: Callable[..., Feedback],
    make_category: Callable[..., Category],
) -> None:
    soon = make_feedback(category=make_category(ack_target_hours=1), title="Due soon")
    make_feedback(category=make_category(ack_target_hours=48), title="Plenty of time")
    _channel(admin, receiver.url, "discord", events=["ack_due_soon"])

    first = sweep()
    db.session.commit()
    second = sweep(datetime.now(UTC) + timedelta(minutes=10))
    db.session.commit()
    deliver_chat_messages()

    assert (first.messages, second.messages) == (1, 0)
    [body] = _bodies(receiver)
    assert "About to miss its acknowledgement target" in body["content"]
    assert body["embeds"][0]["title"] == f"#{soon.id} Due soon"


def test_a_missed_promise_is_sent_once_a_day_while_it_stays_missed(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(title="Broken heating")
    workflow.plan(
        item.id,
        admin,
        date.today() + timedelta(days=1),
        "On it.",
        outcome="heat",
        post_anyway=True,
    )
    db.session.commit()
    slack, teams = (
        _channel(admin, receiver.url, "slack", events=["promise_missed"]),
        _channel(admin, receiver.url + "&teams", "teams", events=["promise_missed"]),
    )
    late = datetime.now(UTC) + timedelta(days=2)

    today = [sweep(late).messages for _ in range(2)]
    db.session.commit()
    tomorrow = [sweep(late + timedelta(days=1)).messages for _ in range(2)]
    db.session.commit()

    assert today == [2, 0] and tomorrow == [2, 0]
    notices = db.session.scalars(sa.select(ChatNotice).order_by(ChatNotice.day)).all()
    assert [(n.feedback_id, n.event) for n in notices] == [(item.id, "promise_missed")] * 2
    assert [n.day for n in notices] == [late.date(), (late + timedelta(days=1)).date()]
    assert {m.channel_id for m in _messages()} == {slack.id, teams.id}
    deliver_chat_messages()
    texts = [b["text"] for b in _bodies(receiver) if "text" in b]
    assert texts and all("A promise was missed" in text for text in texts)


def test_the_sweep_records_nothing_while_no_channel_wants_the_event(
    admin: User, make_feedback: Callable[..., Feedback], make_category
) -> None:
    make_feedback(category=make_category(ack_target_hours=1))

    assert sweep().messages == 0
    assert db.session.scalars(sa.select(ChatNotice)).all() == []


# Delivery ----------------------------------------------------------------------------------


def test_a_receiver_error_is_retried_with_backoff_then_delivered(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], fast_retries: None
) -> None:
    _channel(admin, receiver.url, "slack")
    make_feedback()
    receiver.answers = [500]

    first = deliver_chat_messages()
    [message] = _messages()
    assert (first.sent, first.retried) == (0, 1)
    assert message.status is ChatMessageStatus.PENDING and message.last_status_code == 500
    assert message.next_attempt_at > datetime.now(UTC)
    assert deliver_chat_messages().sent == 0  # not due yet: backoff

    _make_due()
    second = deliver_chat_messages()

    assert second.sent == 1
    [message] = _messages()
    assert message.status is ChatMessageStatus.DELIVERED and message.attempts == 2
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], fast_retries: None
) -> None:
    _channel(admin, receiver.url, "discord")
    make_feedback()
    receiver.answers = [500, 429, 503]

    for _ in range(3):
        deliver_chat_messages()
        _make_due()

    [message] = _messages()
    assert message.status is ChatMessageStatus.FAILED and message.attempts == 3
    assert "HTTP 503" in message.last_error


def test_a_removed_webhook_is_given_up_at_once_without_retrying(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback], fast_retries: None
) -> None:
    _channel(admin, receiver.url, "slack")
    make_feedback()
    receiver.answers = [404]

    report = deliver_chat_messages()

    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    [message] = _messages()
    assert message.status is ChatMessageStatus.FAILED and message.attempts == 1
    assert message.last_error.startswith("HTTP 404")


def test_a_test_message_is_queued_audited_and_sent(receiver: Receiver, admin: User) -> None:
    channel = _channel(admin, receiver.url, "teams", name="#ops")

    message = chat.send_test(admin, channel.id)
    db.session.commit()
    deliver_chat_messages()

    card = _bodies(receiver)[0]["attachments"][0]["content"]
    assert "chat notifications reach this channel" in card["body"][0]["text"]
    assert chat.get_message(channel.id, message.id).status is ChatMessageStatus.DELIVERED
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_type == "chat_channel")
    ).all()
    assert set(actions) == {"chat.created", "chat.tested"}


def test_removing_a_channel_gives_up_what_it_had_queued(
    receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    channel = _channel(admin, receiver.url)
    make_feedback()

    chat.delete_channel(admin, channel.id)
    db.session.commit()
    deliver_chat_messages()

    assert receiver.requests == []
    [message] = _messages()
    assert message.status is ChatMessageStatus.FAILED
    assert chat.list_channels() == []


# Addresses ---------------------------------------------------------------------------------


@pytest.fixture
def strict(change_settings: Callable[..., Settings]) -> None:
    change_settings(webhook_allow_http=False, webhook_allow_private_addresses=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T0/B0/x",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://[::ffff:127.0.0.1]/hook",
        "https://2130706433/hook",
        "https://localhost/hook",
        "https://chat.internal/hook",
        "https://user:pw@hooks.slack.com/services/x",
        "ftp://hooks.slack.com/x",
        "",
    ],
)
def test_the_classifier_refuses_private_and_non_https_urls(strict: None, url: str) -> None:
    with pytest.raises(ChatUrlRefused):
        check_url(url)


def test_the_classifier_takes_the_services_own_urls(strict: None) -> None:
    for url in (
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://discord.com/api/webhooks/123/abc",
        "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke",
    ):
        assert check_url(f"  {url} ") == url


def test_a_trusted_private_host_may_be_used(change_settings: Callable[..., Settings]) -> None:
    change_settings(
        webhook_allow_http=False,
        webhook_allow_private_addresses=False,
        trusted_private_hosts=frozenset({"chat.internal"}),
    )
    assert check_url("https://chat.internal/hook") == "https://chat.internal/hook"


def test_an_address_forbidden_since_saving_is_refused_at_send(
    receiver: Receiver,
    admin: User,
    make_feedback: Callable[..., Feedback],
    change_settings: Callable[..., Settings],
) -> None:
    _channel(admin, receiver.url)
    make_feedback()
    change_settings(webhook_allow_private_addresses=False)

    report = deliver_chat_messages()

    assert report.failed == 1 and receiver.requests == []
    [message] = _messages()
    assert message.status is ChatMessageStatus.FAILED
    assert message.last_error.startswith("refused:")


# Admin rules -------------------------------------------------------------------------------


def test_only_admins_manage_channels(make_user: Callable[..., User]) -> None:
    staff = make_user(role=Role.STAFF)
    with pytest.raises(NotAllowed):
        chat.create_channel(
            staff, name="#x", kind="slack", url="https://hooks.slack.com/x", events=["new_item"]
        )


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"name": "  "}, "Name the channel"),
        ({"kind": "irc"}, "Slack, Microsoft Teams or Discord"),
        ({"events": ["nonsense"]}, "at least one event"),
        ({"all_categories": False, "category_ids": []}, "at least one category"),
        ({"all_categories": False, "category_ids": [999999]}, "at least one category"),
    ],
)
def test_bad_channel_settings_are_refused_and_nothing_is_saved(
    admin: User, changes: dict[str, Any], words: str
) -> None:
    values: dict[str, Any] = {
        "name": "#support",
        "kind": "slack",
        "url": "https://hooks.slack.com/services/x",
        "events": ["new_item"],
        **changes,
    }
    with pytest.raises(DomainError, match=words):
        chat.create_channel(admin, **values)
    db.session.rollback()
    assert chat.list_channels() == []


def test_a_second_channel_to_the_same_url_is_refused(admin: User) -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    first = _channel(admin, url, name="#support")
    other = _channel(admin, url + "Y", name="#other")

    with pytest.raises(DomainError, match="#support already posts to this URL"):
        chat.create_channel(admin, name="#again", kind="slack", url=url, events=["new_item"])
    with pytest.raises(DomainError, match="#support already posts to this URL"):
        chat.change_channel(
            admin,
            other.id,
            name="#other",
            kind="slack",
            url=url,
            events=["new_item"],
            all_categories=True,
        )
    db.session.rollback()
    assert [c.id for c in chat.list_channels()] == [first.id, other.id]


def test_a_blank_url_keeps_the_saved_one_and_pages_show_it_masked(admin: User) -> None:
    url = "https://hooks.slack.com/services/T000/B000/SECRETtoken9"
    channel = _channel(admin, url)

    chat.change_channel(
        admin,
        channel.id,
        name="#renamed",
        kind="discord",
        url="   ",
        events=["promise_missed"],
        all_categories=True,
    )
    db.session.commit()

    assert channel.url == url and channel.name == "#renamed"
    assert chat.mask_url(url) == "https://hooks.slack.com/\u2026ken9"
    assert "SECRET" not in chat.mask_url(url)


# The command line --------------------------------------------------------------------------


def test_flask_chat_sweep_queues_and_sends_once_per_run_of_the_day(
    app, receiver: Receiver, admin: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(title="Boiler")
    workflow.plan(
        item.id,
        admin,
        date.today() + timedelta(days=2),
        "Booked.",
        outcome="a new boiler",
        post_anyway=True,
    )
    db.session.commit()
    _channel(admin, receiver.url, "discord", events=["promise_due_soon"])
    runner = app.test_cli_runner()

    first = runner.invoke(args=["chat", "sweep"])
    again = runner.invoke(args=["chat", "sweep"])

    assert first.exit_code == 0, first.output
    assert "Chat sweep: 1 queued (notices: promise_due_soon 1)" in first.output
    assert "Chat: 1 delivered" in first.output
    assert "Chat sweep: 0 queued" in again.output and "Chat: 0 delivered" in again.output
    [request] = receiver.requests
    assert json.loads(request.body)["embeds"][0]["title"] == f"#{item.id} Boiler"
