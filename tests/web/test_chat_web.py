"""The admin's chat pages: add a channel (CSRF-checked form, bad input kept), see its URL only
masked once saved, change it with a blank URL keeping the saved one, send a test (in place
with htmx, by redirect without), remove it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, ChatChannel, ChatMessage, ChatMessageStatus, Role, User
from portal.services import chat
from portal.services.chat import deliver_chat_messages
from tests.helpers import browser_form, login, post
from tests.webhook_receiver import Receiver, run_receiver

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETtokenAbcd"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


@pytest.fixture
def admin_client(make_client: Callable[[], FlaskClient], admin: User) -> FlaskClient:
    client = make_client()
    login(client, admin.email)
    return client


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ChatChannel)) or 0


def test_an_admin_adds_a_channel_and_its_url_is_shown_only_masked(
    admin_client: FlaskClient, make_category
) -> None:
    billing = make_category(name="Billing")
    page = admin_client.get("/admin/chat")
    assert page.status_code == 200
    assert 'href="/admin/chat"' in page.get_data(as_text=True)  # in the admin nav

    added = post(
        admin_client,
        "/admin/chat",
        {
            "name": "#billing",
            "kind": "slack",
            "url": SLACK_URL,
            "events": ["new_item", "promise_missed"],
            "scope": "chosen",
            "categories": [str(billing.id)],
        },
    )

    assert added.status_code == 302
    channel = db.session.scalars(sa.select(ChatChannel)).one()
    assert channel.url == SLACK_URL and channel.events == ["new_item", "promise_missed"]
    assert not channel.all_categories and [c.id for c in channel.categories] == [billing.id]
    detail = admin_client.get(added.headers["Location"])
    html = detail.get_data(as_text=True)
    assert detail.headers["Cache-Control"] == "no-store"
    assert "is added" in html and "#billing" in html
    assert "SECRETtoken" not in html and "https://hooks.slack.com/\u2026Abcd" in html
    listing = admin_client.get("/admin/chat").get_data(as_text=True)
    assert "SECRETtoken" not in listing
    assert "A new item; A promised date was missed" in listing and "Billing" in listing
    assert db.session.scalar(sa.select(AuditEntry.action)) == "chat.created"
    assert "SECRETtoken" not in str(db.session.scalar(sa.select(AuditEntry.detail)))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"events": []}, "Choose at least one event."),
        ({"name": ""}, "Name the channel."),
        ({"scope": "chosen"}, "Tick at least one category"),
        ({"url": "https://127.0.0.1/hook"}, "only to public addresses"),
        ({"url": "http://hooks.slack.com/x"}, "Use an https:// URL."),
        ({"url": ""}, "Enter the channel&#39;s incoming-webhook URL"),
    ],
)
def test_bad_input_is_refused_with_what_was_typed_kept(
    admin_client: FlaskClient,
    change_settings,
    fields: dict[str, object],
    message: str,
) -> None:
    change_settings(webhook_allow_http=False, webhook_allow_private_addresses=False)
    data: dict[str, object] = {
        "name": "#support desk",
        "kind": "discord",
        "url": "https://discord.com/api/webhooks/1/typed",
        "events": ["reopen_requested"],
        "scope": "all",
        **fields,
    }

    refused = post(admin_client, "/admin/chat", data)

    assert refused.status_code in (400, 422)
    html = refused.get_data(as_text=True)
    assert message in html
    kept = dict(browser_form(html, "/admin/chat"))
    assert kept["name"] == data["name"] and kept["kind"] == "discord"
    assert kept["url"] == data["url"]
    assert ("events", "reopen_requested") in browser_form(html, "/admin/chat") or not data["events"]
    assert _count() == 0


def test_a_form_without_csrf_is_refused(admin_client: FlaskClient) -> None:
    refused = admin_client.post(
        "/admin/chat",
        data={"name": "#x", "kind": "slack", "url": SLACK_URL, "events": ["new_item"]},
    )
    assert refused.status_code == 400 and _count() == 0


def test_changing_a_channel_with_a_blank_url_keeps_the_saved_one(
    admin_client: FlaskClient, admin: User
) -> None:
    channel = chat.create_channel(
        admin, name="#ops", kind="slack", url=SLACK_URL, events=["new_item"]
    )
    db.session.commit()
    page = admin_client.get(f"/admin/chat/{channel.id}").get_data(as_text=True)
    form = dict(browser_form(page, f"/admin/chat/{channel.id}"))
    assert form["url"] == "" and form["name"] == "#ops"  # the URL is never put back in a form

    saved = post(
        admin_client,
        f"/admin/chat/{channel.id}",
        {
            "name": "#ops-room",
            "kind": "teams",
            "url": "",
            "events": ["ack_due_soon"],
            "scope": "all",
        },
    )

    assert saved.status_code == 302
    db.session.expire_all()
    channel = db.session.get(ChatChannel, channel.id)
    assert channel is not None
    assert (channel.name, channel.kind.value, channel.url) == ("#ops-room", "teams", SLACK_URL)
    assert channel.events == ["ack_due_soon"]
    assert channel.active is False  # the box was not ticked: paused


def test_a_bad_change_keeps_what_was_typed_and_changes_nothing(
    admin_client: FlaskClient, admin: User, change_settings
) -> None:
    change_settings(webhook_allow_private_addresses=False)
    channel = chat.create_channel(
        admin, name="#ops", kind="slack", url=SLACK_URL, events=["new_item"]
    )
    db.session.commit()

    refused = post(
        admin_client,
        f"/admin/chat/{channel.id}",
        {
            "name": "#new name",
            "kind": "slack",
            "url": "https://10.0.0.5/x",
            "events": ["new_item"],
            "scope": "all",
            "active": "y",
        },
    )

    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "only to public addresses" in html
    assert dict(browser_form(html, f"/admin/chat/{channel.id}"))["name"] == "#new name"
    db.session.expire_all()
    assert db.session.get(ChatChannel, channel.id).name == "#ops"  # type: ignore[union-attr]


def test_send_a_test_without_javascript_queues_it_and_says_so(
    admin_client: FlaskClient, admin: User, receiver: Receiver
) -> None:
    channel = chat.create_channel(
        admin, name="#ops", kind="discord", url=receiver.url, events=["new_item"]
    )
    db.session.commit()

    sent = post(admin_client, f"/admin/chat/{channel.id}/test")

    assert sent.status_code == 302 and sent.headers["Location"].endswith("#messages")
    page = admin_client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "A test message is queued" in page
    deliver_chat_messages()
    assert "chat notifications reach this channel" in receiver.requests[0].body.decode()
    page = admin_client.get(f"/admin/chat/{channel.id}").get_data(as_text=True)
    assert "<td>Test message</td>" in page and "Delivered" in page


def test_send_a_test_with_htmx_shows_the_result_in_place(
    admin_client: FlaskClient, admin: User, receiver: Receiver
) -> None:
    channel = chat.create_channel(
        admin, name="#ops", kind="slack", url=receiver.url, events=["new_item"]
    )
    db.session.commit()

    queued = post(admin_client, f"/admin/chat/{channel.id}/test", htmx=True)

    assert queued.status_code == 200 and "HX-Request" in queued.headers["Vary"]
    fragment = queued.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="chat-test"') and "<html" not in fragment
    assert "on its way" in fragment
    poll = re.search(r'data-hx-get="([^"]+)"', fragment)
    assert poll is not None

    deliver_chat_messages()
    settled = admin_client.get(poll.group(1), headers={"HX-Request": "true"})

    html = settled.get_data(as_text=True)
    assert "The test message arrived" in html and "data-hx-get" not in html
    message = db.session.scalars(sa.select(ChatMessage)).one()
    assert message.status is ChatMessageStatus.DELIVERED


def test_a_failed_test_says_why_in_place(
    admin_client: FlaskClient, admin: User, receiver: Receiver, change_settings
) -> None:
    change_settings(webhook_timeout_seconds=0.5)
    channel = chat.create_channel(
        admin, name="#ops", kind="teams", url=receiver.url, events=["new_item"]
    )
    db.session.commit()
    receiver.answers = [404]

    queued = post(admin_client, f"/admin/chat/{channel.id}/test", htmx=True)
    message_id = db.session.scalars(sa.select(ChatMessage.id)).one()
    deliver_chat_messages()
    settled = admin_client.get(
        f"/admin/chat/{channel.id}/messages/{message_id}", headers={"HX-Request": "true"}
    )

    assert queued.status_code == 200
    assert "did not arrive: HTTP 404" in settled.get_data(as_text=True)


def test_removing_needs_the_tick(admin_client: FlaskClient, admin: User) -> None:
    channel = chat.create_channel(
        admin, name="#ops", kind="slack", url=SLACK_URL, events=["new_item"]
    )
    db.session.commit()

    unticked = post(admin_client, f"/admin/chat/{channel.id}/delete")
    assert unticked.status_code == 400 and "Tick the box to remove it." in unticked.get_data(
        as_text=True
    )
    removed = post(admin_client, f"/admin/chat/{channel.id}/delete", {"confirm": "y"})

    assert removed.status_code == 302
    assert chat.list_channels() == []
    assert admin_client.get(f"/admin/chat/{channel.id}").status_code == 404


def test_the_page_stops_following_a_test_that_only_cron_will_send(
    admin_client: FlaskClient, admin: User
) -> None:
    channel = chat.create_channel(
        admin, name="#ops", kind="slack", url=SLACK_URL, events=["new_item"]
    )
    message = chat.send_test(admin, channel.id)
    message.created_at = message.created_at - timedelta(minutes=2)
    db.session.commit()

    answer = admin_client.get(
        f"/admin/chat/{channel.id}/messages/{message.id}", headers={"HX-Request": "true"}
    )

    html = answer.get_data(as_text=True)
    assert "still queued: the next delivery run sends it" in html
    assert "data-hx-get" not in html
