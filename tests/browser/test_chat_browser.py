"""Chat notifications in a real browser: an admin adds a Slack channel from the admin nav,
sends a test, and watches its result arrive in place (htmx follows the message until the
receiver on loopback has it), without leaving the page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Role, User
from portal.services.chat import deliver_chat_messages
from tests.browser.conftest import screenshot, sign_in
from tests.webhook_receiver import Receiver, run_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


def test_an_admin_adds_a_channel_and_sees_the_test_arrive_in_place(
    open_page: Callable[..., Page], make_user: Callable[..., User], receiver: Receiver
) -> None:
    ada = make_user(display_name="Ada Admin", role=Role.ADMIN)
    page = open_page()
    sign_in(page, ada.email)
    page.goto("/admin/")
    page.get_by_role("link", name="Chat", exact=True).click()

    page.get_by_label("Name").fill("#support")
    page.get_by_label("Slack").check()
    page.get_by_label("Incoming-webhook URL").fill(receiver.url)
    page.get_by_label("A new item").check()
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator(".flash--success")).to_contain_text("#support is added")
    expect(page.get_by_label("Incoming-webhook URL")).to_have_value("")
    url_before = page.url

    page.get_by_role("button", name="Send a test").click()
    result = page.locator("#chat-test")
    expect(result).to_contain_text("on its way")
    db.session.commit()  # the test's snapshot ends: the live server queued the message since
    deliver_chat_messages()

    expect(result).to_contain_text("The test message arrived", timeout=10_000)
    assert page.url == url_before
    [request] = receiver.requests
    assert "chat notifications reach this channel" in json.loads(request.body)["text"]
    screenshot(page, "chat-test-arrived")
