"""Outgoing webhooks against a real local HTTP receiver: signed JSON, queued in the cause's
transaction, retried with backoff after errors and timeouts, every attempt logged, and never
sent to internal addresses when the configuration forbids it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Category,
    Feedback,
    FeedbackKind,
    Role,
    User,
    Visibility,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from portal.services import webhooks, workflow
from portal.services.environment import Settings
from portal.services.errors import DomainError, NotAllowed
from portal.services.feedback import submit_feedback
from portal.services.webhooks import WebhookUrlRefused, check_url, deliver_webhooks
from tests.webhook_receiver import Receiver, run_receiver, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.STAFF)


@pytest.fixture
def fast_retries(change_settings: Callable[..., Settings]) -> None:
    change_settings(webhook_timeout_seconds=0.5, webhook_max_attempts=3)


def _endpoint(admin: User, url: str, events: list[str] | None = None) -> webhooks.NewSecret:
    created = webhooks.create_endpoint(
        admin,
        url=url,
        events=events or ["item.created", "item.state_changed", "resolution.published"],
        description="Helpdesk",
    )
    db.session.commit()
    return created


def _submit(author: User, category: Category, **kw: Any) -> Feedback:
    item = submit_feedback(
        author,
        kind=FeedbackKind.COMPLAINT,
        category_id=category.id,
        title=kw.pop("title", "The lift is broken again"),
        body="Third time this month.",
        **kw,
    )
    db.session.commit()
    return item


def _deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _attempts(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(
        db.session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )


def _make_due() -> None:
    db.session.execute(
        sa.update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()


# Delivery ----------------------------------------------------------------------------------


def test_a_new_item_is_posted_as_signed_json(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    created = _endpoint(admin, receiver.url)
    item = _submit(make_user(), make_category())

    report = deliver_webhooks()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [request] = receiver.requests
    assert verify(created.secret, request)
    assert webhooks.verify_signature(
        created.secret,
        request.headers["X-Portal-Timestamp"],
        request.body,
        request.headers["X-Portal-Signature"],
    )
    assert not verify("whsec_wrong", request)
    assert abs(int(request.headers["X-Portal-Timestamp"]) - time.time()) < 60
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Portal-Event"] == "item.created"
    payload = json.loads(request.body)
    assert payload["id"] == request.headers["X-Portal-Delivery"]
    assert payload["event"] == "item.created"
    data = payload["data"]["item"]
    assert data["id"] == item.id and data["title"] == "The lift is broken again"
    assert data["state"] == "received" and data["channel"] == "web" and data["public"] is True
    assert data["url"].endswith(f"/feedback/{item.id}")
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    [attempt] = _attempts(delivery)
    assert attempt.status_code == 200 and attempt.error == "" and attempt.duration_ms >= 0


def test_a_private_item_is_announced_without_its_words(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    _endpoint(admin, receiver.url)
    item = _submit(make_user(), make_category(), visibility=Visibility.PRIVATE, title="Secret")
    deliver_webhooks()
    data = json.loads(receiver.requests[0].body)["data"]["item"]
    assert data["id"] == item.id and data["public"] is False and data["visibility"] == "private"
    assert "title" not in data and "body" not in data
    assert b"Secret" not in receiver.requests[0].body
    assert data["admin_url"].endswith(f"/admin/feedback/{item.id}")


def test_state_changes_and_resolutions_are_sent_to_endpoints_that_chose_them(
    receiver: Receiver, admin: User, staff: User, make_user, make_category
) -> None:
    _endpoint(admin, receiver.url, ["item.state_changed", "resolution.published"])
    item = _submit(make_user(), make_category())
    assert _deliveries() == []  # item.created was not chosen
    workflow.acknowledge(item.id, staff, "Dear customer, we are on it.", post_anyway=True)
    resolution = workflow.resolve(item.id, staff, "We replaced the lift's motor.", post_anyway=True)
    db.session.commit()

    deliver_webhooks()

    events = [json.loads(r.body) for r in receiver.requests]
    assert [e["event"] for e in events] == [
        "item.state_changed",
        "item.state_changed",
        "resolution.published",
    ]
    first, second, published = events
    assert (first["data"]["from_state"], first["data"]["to_state"]) == ("received", "acknowledged")
    assert first["data"]["message"] == "Dear customer, we are on it."
    assert second["data"]["to_state"] == "resolved"
    assert published["data"]["resolution"]["id"] == resolution.id
    assert published["data"]["resolution"]["we_did"] == "We replaced the lift's motor."
    assert published["data"]["item_ids"] == [item.id]
    assert published["data"]["resolution"]["url"].endswith(f"/you-said-we-did/{resolution.id}")
    assert len({e["id"] for e in events}) == 3


def test_a_rolled_back_change_sends_nothing(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    _endpoint(admin, receiver.url)
    author, category = make_user(), make_category()
    submit_feedback(
        author, kind=FeedbackKind.IDEA, category_id=category.id, title="Never", body="Happened."
    )
    assert len(_pending_in_session()) == 1
    db.session.rollback()

    report = deliver_webhooks()

    assert report.sent == 0 and _deliveries() == [] and receiver.requests == []


def _pending_in_session() -> list[WebhookDelivery]:
    return list(db.session.scalars(sa.select(WebhookDelivery)))


def test_a_500_is_retried_with_backoff_and_then_delivered(
    receiver: Receiver, admin: User, make_user, make_category, fast_retries
) -> None:
    created = _endpoint(admin, receiver.url)
    _submit(make_user(), make_category())
    receiver.answers = [500]

    first = deliver_webhooks()

    assert (first.sent, first.retried) == (0, 1)
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert "HTTP 500 receiver is having a bad day" in delivery.last_error
    # Backoff: not due again straight away.
    assert delivery.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    assert deliver_webhooks().sent == 0

    _make_due()
    second = deliver_webhooks()

    assert second.sent == 1
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.DELIVERED and delivery.attempts == 2
    assert [a.status_code for a in _attempts(delivery)] == [500, 200]
    # The same delivery, the same body: receivers can drop a repeat by its id.
    one, two = receiver.requests
    assert one.body == two.body
    assert one.headers["X-Portal-Delivery"] == two.headers["X-Portal-Delivery"]
    assert verify(created.secret, two)


def test_a_timeout_is_logged_and_retried_then_given_up_after_the_last_attempt(
    receiver: Receiver, admin: User, make_user, make_category, fast_retries
) -> None:
    _endpoint(admin, receiver.url)
    _submit(make_user(), make_category())
    receiver.answers = ["sleep", 502, 404]

    reports = []
    for _ in range(3):
        reports.append(deliver_webhooks())
        _make_due()

    assert [(r.sent, r.retried, r.failed) for r in reports] == [(0, 1, 0), (0, 1, 0), (0, 0, 1)]
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.FAILED and delivery.attempts == 3
    attempts = _attempts(delivery)
    assert [a.status_code for a in attempts] == [None, 502, 404]
    assert attempts[0].error == "timed out after 0.5 s"
    assert 400 <= attempts[0].duration_ms < 2000
    # Given up: nothing more is sent.
    assert deliver_webhooks().sent == 0 and len(receiver.requests) == 3


def test_a_given_up_delivery_is_sent_again_by_an_admin_with_the_same_id(
    receiver: Receiver, admin: User, staff: User, make_user, make_category, fast_retries
) -> None:
    created = _endpoint(admin, receiver.url)
    _submit(make_user(), make_category())
    receiver.answers = [500, 500, 500]
    for _ in range(3):
        deliver_webhooks()
        _make_due()
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.FAILED

    with pytest.raises(NotAllowed):
        webhooks.send_again(staff, created.endpoint.id, delivery.id)
    webhooks.send_again(admin, created.endpoint.id, delivery.id)
    db.session.commit()
    receiver.answers = [200]
    assert deliver_webhooks().sent == 1

    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.DELIVERED and delivery.attempts == 1
    first, *_, last = receiver.requests
    assert len(receiver.requests) == 4
    assert last.body == first.body
    assert last.headers["X-Portal-Delivery"] == first.headers["X-Portal-Delivery"]
    assert [a.status_code for a in _attempts(delivery)] == [500, 500, 500, 200]  # all logged
    assert "webhook.sent_again" in db.session.scalars(sa.select(AuditEntry.action)).all()
    # Delivered now: a second "send again" (a double click) sends nothing more.
    with pytest.raises(DomainError, match="already queued or delivered"):
        webhooks.send_again(admin, created.endpoint.id, delivery.id)


def test_a_redirect_is_not_followed(
    receiver: Receiver, admin: User, make_user, make_category, fast_retries
) -> None:
    _endpoint(admin, receiver.url)
    _submit(make_user(), make_category())
    receiver.answers = [302]
    assert deliver_webhooks().retried == 1
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_retried(
    admin: User, make_user, make_category, fast_retries
) -> None:
    _endpoint(admin, "http://127.0.0.1:9/nothing-listens")
    _submit(make_user(), make_category())
    report = deliver_webhooks()
    assert report.retried == 1
    [delivery] = _deliveries()
    assert "ConnectionRefusedError" in delivery.last_error


def test_two_deliverers_at_once_send_each_delivery_once(
    app: Flask, receiver: Receiver, admin: User, make_user, make_category
) -> None:
    _endpoint(admin, receiver.url)
    author, category = make_user(), make_category()
    for n in range(12):
        _submit(author, category, title=f"Item number {n}")
    reports = []

    def run() -> None:
        with app.app_context():
            reports.append(deliver_webhooks(batch_size=3))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    ids = [r.headers["X-Portal-Delivery"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 12
    assert sum(r.sent for r in reports) == 12


def test_the_outbox_command_delivers_webhooks_too(
    app: Flask, receiver: Receiver, admin: User, make_user, make_category
) -> None:
    _endpoint(admin, receiver.url)
    _submit(make_user(), make_category())
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Webhooks: 1 delivered" in result.output
    assert len(receiver.requests) == 1


# Where deliveries may go -------------------------------------------------------------------


@pytest.fixture
def production_rules(change_settings: Callable[..., Settings]) -> None:
    change_settings(webhook_allow_http=False, webhook_allow_private_addresses=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://localhost:8443/in",
        "https://10.1.2.3/in",
        "https://192.168.0.10/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://[::ffff:127.0.0.1]/in",
        "https://user:pass@hooks.example.com/in",
        "ftp://hooks.example.com/in",
        "https:///no-host",
        "not a url",
    ],
)
def test_production_refuses_plain_http_and_internal_urls(production_rules, url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        check_url(url)


def test_production_accepts_a_public_https_url(production_rules) -> None:
    assert check_url("  https://hooks.example.com/in?x=1 ") == "https://hooks.example.com/in?x=1"


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]/in",  # IPv4-compatible loopback
        "https://[::ffff:0:7f00:1]/in",  # IPv4-translated loopback
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of the metadata service
        "https://[2002:7f00:1::]/in",  # 6to4 of loopback
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/in",  # Teredo, client 127.0.0.1
        "https://100.64.0.1/in",  # carrier-grade NAT
        "https://198.18.0.1/in",  # benchmarking
        "https://2130706433/in",  # 127.0.0.1 as one number
    ],
)
def test_production_refuses_internal_addresses_hidden_in_other_spellings(
    production_rules, url: str
) -> None:
    with pytest.raises(WebhookUrlRefused, match="only to public addresses"):
        check_url(url)


@pytest.mark.parametrize(
    "address", ["::127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::1"]
)
def test_a_name_resolving_to_an_internal_address_in_any_spelling_is_refused_before_connecting(
    production_rules, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    # Only the resolver answers here: _resolve refuses before anything is connected.
    def resolves_to(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", resolves_to)
    with pytest.raises(webhooks.DeliveryRefused, match="non-public address"):
        webhooks._resolve("hooks.example.com", 443)


def test_a_trusted_private_host_may_be_registered_and_delivered_to(
    receiver: Receiver, admin: User, make_user, make_category, change_settings
) -> None:
    change_settings(webhook_allow_private_addresses=False, trusted_private_hosts={"localhost"})
    # The receiver listens on loopback: "localhost" is trusted, its neighbours are not.
    url = receiver.url.replace("127.0.0.1", "localhost")
    assert check_url(url) == url
    with pytest.raises(WebhookUrlRefused):
        check_url(receiver.url.replace("127.0.0.1", "evil.localhost"))
    with pytest.raises(WebhookUrlRefused):
        check_url(receiver.url)  # the address itself is not a trusted name
    _endpoint(admin, url)
    _submit(make_user(), make_category())
    report = deliver_webhooks()
    assert report.sent == 1
    assert len(receiver.requests) == 1


def test_a_name_that_resolves_inside_is_refused_at_delivery_and_not_retried(
    receiver: Receiver, admin: User, make_user, make_category, change_settings
) -> None:
    # Registered while internal addresses were allowed (or a name that later pointed inside).
    _endpoint(admin, receiver.url.replace("127.0.0.1", "localhost"))
    _submit(make_user(), make_category())
    change_settings(webhook_allow_private_addresses=False)
    report = deliver_webhooks()
    assert report.failed == 1
    assert receiver.requests == []
    [delivery] = _deliveries()
    assert delivery.status is WebhookDeliveryStatus.FAILED
    assert "non-public address" in delivery.last_error


# Admin actions -----------------------------------------------------------------------------


def test_only_admins_manage_endpoints(staff: User) -> None:
    with pytest.raises(NotAllowed):
        webhooks.create_endpoint(staff, url="https://hooks.example.com", events=["item.created"])


def test_an_address_gets_one_receiver_until_it_is_deleted(admin: User) -> None:
    first = _endpoint(admin, "https://hooks.example.com/portal").endpoint
    with pytest.raises(DomainError, match=f"Webhook #{first.id} already sends"):
        webhooks.create_endpoint(
            admin, url="https://hooks.example.com/portal", events=["item.created"]
        )
    webhooks.delete_endpoint(admin, first.id)
    assert _endpoint(admin, "https://hooks.example.com/portal").endpoint.id != first.id


def test_an_endpoint_needs_an_event(admin: User) -> None:
    with pytest.raises(DomainError, match="at least one event"):
        webhooks.create_endpoint(admin, url="https://hooks.example.com", events=["nonsense"])


def test_changing_the_events_keeps_the_address_and_secret_and_sends_only_the_new_ones(
    receiver: Receiver, admin: User, staff: User, make_user, make_category
) -> None:
    created = _endpoint(admin, receiver.url, ["item.created"])
    endpoint = created.endpoint
    first = _submit(make_user(), make_category())  # queued under the old choice
    changed = webhooks.change_endpoint(
        admin, endpoint.id, events=["item.state_changed", "bogus"], description="  Help   desk "
    )
    db.session.commit()
    assert (changed.events, changed.description) == (["item.state_changed"], "Help desk")
    _submit(make_user(), make_category())  # item.created: no longer chosen
    workflow.acknowledge(first.id, staff, "Dear customer, we are on it.", post_anyway=True)
    db.session.commit()

    deliver_webhooks()

    assert [json.loads(r.body)["event"] for r in receiver.requests] == [
        "item.created",
        "item.state_changed",
    ]
    assert all(verify(created.secret, r) for r in receiver.requests)  # same secret
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "webhook.changed")
    ).one()
    assert entry.detail == {
        "events_before": ["item.created"],
        "events": ["item.state_changed"],
        "description_before": "Helpdesk",
        "description": "Help desk",
    }
    # Saving it unchanged records nothing.
    webhooks.change_endpoint(
        admin, endpoint.id, events=["item.state_changed"], description="Help desk"
    )
    db.session.commit()
    assert (
        len(
            db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "webhook.changed")
            ).all()
        )
        == 1
    )
    with pytest.raises(DomainError, match="at least one event"):
        webhooks.change_endpoint(admin, endpoint.id, events=[], description="")
    with pytest.raises(NotAllowed):
        webhooks.change_endpoint(staff, endpoint.id, events=["item.created"], description="")


def test_paused_and_deleted_endpoints_get_no_new_events(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    paused = _endpoint(admin, receiver.url).endpoint
    deleted = _endpoint(admin, f"{receiver.url}?second").endpoint
    webhooks.set_active(admin, paused.id, False)
    webhooks.delete_endpoint(admin, deleted.id)
    db.session.commit()
    _submit(make_user(), make_category())
    assert _deliveries() == []
    assert webhooks.list_endpoints() == [paused]
    webhooks.set_active(admin, paused.id, True)
    db.session.commit()
    _submit(make_user(), make_category())
    assert [d.endpoint_id for d in _deliveries()] == [paused.id]


def test_pausing_holds_queued_deliveries_and_resuming_sends_them(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    endpoint = _endpoint(admin, receiver.url, ["item.created"]).endpoint
    item = _submit(make_user(), make_category())  # queued while the endpoint is active
    webhooks.set_active(admin, endpoint.id, False)
    db.session.commit()

    assert deliver_webhooks().sent == 0
    assert receiver.requests == []
    assert [d.status for d in _deliveries()] == [WebhookDeliveryStatus.PENDING]
    assert _attempts(_deliveries()[0]) == []  # held, not tried and failed

    webhooks.set_active(admin, endpoint.id, True)
    db.session.commit()
    assert deliver_webhooks().sent == 1
    assert [json.loads(r.body)["data"]["item"]["id"] for r in receiver.requests] == [item.id]


def test_rotating_the_secret_signs_later_deliveries_with_the_new_one(
    receiver: Receiver, admin: User, make_user, make_category
) -> None:
    created = _endpoint(admin, receiver.url)
    rotated = webhooks.rotate_secret(admin, created.endpoint.id)
    db.session.commit()
    assert rotated.secret != created.secret
    _submit(make_user(), make_category())
    deliver_webhooks()
    assert verify(rotated.secret, receiver.requests[0])
    assert not verify(created.secret, receiver.requests[0])
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[:2] == ["webhook.created", "webhook.secret_rotated"]


def test_a_ping_reaches_one_endpoint(receiver: Receiver, admin: User) -> None:
    created = _endpoint(admin, receiver.url)
    webhooks.send_ping(admin, created.endpoint.id)
    db.session.commit()
    deliver_webhooks()
    assert json.loads(receiver.requests[0].body)["event"] == "ping"
    logs = webhooks.recent_deliveries(db.session.get(WebhookEndpoint, created.endpoint.id))
    assert [len(log.attempts) for log in logs] == [1]
