"""The admin's webhook pages: register a receiver (CSRF-checked form), see its secret once,
watch every delivery attempt, pause, rotate, test and delete."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Role, User, WebhookDelivery, WebhookEndpoint
from portal.services.webhooks import deliver_webhooks
from tests.helpers import browser_form, login, post
from tests.webhook_receiver import Receiver, run_receiver, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


_SECRET = re.compile(r'id="new-secret" type="text" readonly value="(whsec_[^"]+)"')


def _admin_client(make_client, make_user: Callable[..., User]):
    admin = make_user(role=Role.ADMIN)
    client = make_client()
    login(client, admin.email)
    return client


def test_an_admin_registers_a_webhook_and_sees_the_secret_only_once(
    make_client, make_user, make_category, receiver: Receiver
) -> None:
    client = _admin_client(make_client, make_user)
    page = client.get("/admin/webhooks")
    assert page.status_code == 200
    assert 'href="/admin/webhooks"' in page.get_data(as_text=True)  # in the admin nav

    created = post(
        client,
        "/admin/webhooks",
        {
            "url": receiver.url,
            "description": "Helpdesk",
            "events": ["item.created", "resolution.published"],
        },
    )

    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    body = created.get_data(as_text=True)
    secret = _SECRET.search(body).group(1)
    endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
    assert endpoint.events == ["item.created", "resolution.published"]
    assert endpoint.secret == secret
    # Never again: the webhook's page and the list do not show it.
    detail = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert secret not in detail and "Helpdesk" in detail
    assert secret not in client.get("/admin/webhooks").get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.action)) == "webhook.created"


def test_a_form_without_events_or_csrf_is_refused(make_client, make_user) -> None:
    client = _admin_client(make_client, make_user)
    no_events = post(client, "/admin/webhooks", {"url": "https://hooks.example.com/x"})
    assert no_events.status_code == 400
    assert "Choose at least one event." in no_events.get_data(as_text=True)
    no_csrf = client.post(
        "/admin/webhooks", data={"url": "https://hooks.example.com/x", "events": ["item.created"]}
    )
    assert no_csrf.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_production_rules_refuse_plain_http_on_the_form(
    make_client, make_user, change_settings
) -> None:
    client = _admin_client(make_client, make_user)
    change_settings(webhook_allow_http=False)
    response = post(
        client,
        "/admin/webhooks",
        {"url": "http://hooks.example.com/x", "events": ["item.created"]},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use an https:// URL." in page
    assert "Only https:// addresses on the public internet are accepted." in page


def test_the_webhook_page_shows_each_attempt_and_the_actions_work(
    make_client, make_user, receiver: Receiver
) -> None:
    client = _admin_client(make_client, make_user)
    created = post(client, "/admin/webhooks", {"url": receiver.url, "events": ["item.created"]})
    secret = _SECRET.search(created.get_data(as_text=True)).group(1)
    endpoint_id = db.session.scalar(sa.select(WebhookEndpoint.id))
    page = f"/admin/webhooks/{endpoint_id}"

    # A test delivery, first refused by the receiver, then accepted.
    assert post(client, f"{page}/ping").status_code == 302
    receiver.answers = [500]
    deliver_webhooks()
    log = client.get(page).get_data(as_text=True)
    assert "HTTP 500" in log and "Retrying" in log and "receiver is having a bad day" in log
    assert verify(secret, receiver.requests[0])

    # Rotating shows the new secret once; later deliveries are signed with it.
    rotated = post(client, f"{page}/rotate")
    new_secret = _SECRET.search(rotated.get_data(as_text=True)).group(1)
    assert new_secret != secret

    # Pausing stops new events; resuming starts them again.
    assert post(client, f"{page}/toggle").status_code == 302
    assert "Paused" in client.get(page).get_data(as_text=True)
    assert db.session.get(WebhookEndpoint, endpoint_id).active is False
    post(client, f"{page}/toggle")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id).active is True

    # Deleting asks for a tick first, on a button that looks like what it does.
    assert 'button--danger" type="submit">Delete this webhook</button>' in client.get(
        page
    ).get_data(as_text=True)
    unticked = post(client, f"{page}/delete")
    assert unticked.status_code == 400
    assert "Tick the box to delete it." in unticked.get_data(as_text=True)
    deleted = post(client, f"{page}/delete", {"confirm": "y"})
    assert deleted.status_code == 302
    assert client.get(page).status_code == 404
    assert "No webhooks yet." in client.get("/admin/webhooks").get_data(as_text=True)


def test_an_admin_changes_a_webhooks_events_on_its_page(
    make_client, make_user, receiver: Receiver
) -> None:
    client = _admin_client(make_client, make_user)
    post(client, "/admin/webhooks", {"url": receiver.url, "events": ["item.created"]})
    endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
    page = f"/admin/webhooks/{endpoint.id}"
    form = browser_form(client.get(page).get_data(as_text=True), f"{page}/change")
    assert ("events", "item.created") in form  # the form starts from what it gets now

    # Nothing ticked: refused, with what was typed kept.
    refused = post(client, f"{page}/change", {"description": "Helpdesk (new)"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Choose at least one event." in body and 'value="Helpdesk (new)"' in body
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).events == ["item.created"]

    saved = post(
        client,
        f"{page}/change",
        {"description": "Helpdesk", "events": ["item.state_changed", "resolution.published"]},
    )
    assert saved.status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert "Saved. It now gets: item.state_changed, resolution.published." in shown
    db.session.expire_all()
    changed = db.session.get(WebhookEndpoint, endpoint.id)
    assert changed.events == ["item.state_changed", "resolution.published"]
    assert (changed.url, changed.secret) == (endpoint.url, endpoint.secret)


def test_posting_the_same_webhook_again_adds_no_second_receiver(
    make_client, make_user, receiver: Receiver
) -> None:
    """Reloading the "created" page sends the form again: the receiver would get every
    event twice."""
    client = _admin_client(make_client, make_user)
    form = {"url": receiver.url, "events": ["item.created"]}
    assert post(client, "/admin/webhooks", form).status_code == 201
    again = post(client, "/admin/webhooks", form)
    assert again.status_code == 400
    endpoint_id = db.session.scalar(sa.select(WebhookEndpoint.id))
    assert f"Webhook #{endpoint_id} already sends to this address" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 1


def test_an_admin_sends_a_given_up_delivery_again_from_its_log(
    make_client, make_user, receiver: Receiver, change_settings
) -> None:
    change_settings(webhook_max_attempts=1)
    client = _admin_client(make_client, make_user)
    post(client, "/admin/webhooks", {"url": receiver.url, "events": ["item.created"]})
    endpoint_id = db.session.scalar(sa.select(WebhookEndpoint.id))
    page = f"/admin/webhooks/{endpoint_id}"
    post(client, f"{page}/ping")
    receiver.answers = [503]
    deliver_webhooks()
    log = client.get(page).get_data(as_text=True)
    assert "Given up" in log and ">Send again<" in log
    delivery_id = db.session.scalar(sa.select(WebhookDelivery.id))

    # Without the form's token nothing is queued.
    url = f"{page}/deliveries/{delivery_id}/send-again"
    assert client.post(url).status_code == 400
    again = post(client, url)
    assert again.status_code == 302 and again.headers["Location"].endswith(
        f"{page}#delivery-{delivery_id}"
    )
    assert "queued again" in client.get(page).get_data(as_text=True)
    receiver.answers = [200]
    assert deliver_webhooks().sent == 1
    log = client.get(page).get_data(as_text=True)
    assert "Delivered" in log and ">Send again<" not in log
    # A stale page's button, pressed after it was delivered, says so and sends nothing.
    stale = post(client, url)
    assert "already queued or delivered" in client.get(stale.headers["Location"]).get_data(
        as_text=True
    )
    assert len(receiver.requests) == 2


def test_staff_cannot_reach_the_webhook_pages(make_client, make_user) -> None:
    staff = make_user(role=Role.STAFF)
    client = make_client()
    login(client, staff.email)
    assert client.get("/admin/webhooks").status_code == 403
    assert "Webhooks" not in client.get("/admin/").get_data(as_text=True)
