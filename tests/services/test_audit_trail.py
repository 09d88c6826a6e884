"""The audit log of the commands outside the workflow: the admin pages, the operator's
console and email intake each leave the entries the audit page shows, with who acted (no one
for the console and intake) and what changed. The entries are written by the consumers of the
commands' events; these tests pin them as they were when the commands wrote them inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Category, Comment, Feedback, Role, User
from portal.services import accounts, admin, intake, webhooks
from portal.services.environment import Settings
from portal.services.errors import DomainError
from portal.services.tokens import reply_address

Entry = tuple[int | None, str, str, int | None, dict[str, Any]]


def _entries() -> list[Entry]:
    """Every audit entry, oldest first: who, what, on what, and the detail."""
    db.session.expire_all()
    return [
        (e.actor_id, e.action, e.target_type, e.target_id, e.detail)
        for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
    ]


@pytest.fixture
def boss(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


def test_an_admin_made_at_the_console_is_audited_as_by_no_one() -> None:
    user, promoted = accounts.make_admin(
        email="ops@example.com", password="long enough pw", display_name="Ops"
    )
    db.session.commit()

    assert not promoted
    assert _entries() == [(None, "user.admin_created", "user", user.id, {"via": "command line"})]


def test_saving_a_category_records_its_values_as_created_then_as_updated(boss: User) -> None:
    fields: dict[str, Any] = {
        "name": "Stations",
        "slug": "stations",
        "description": "Lifts and ticket halls",
        "ack_target_hours": 24,
        "response_guide": "",
        "position": 2,
    }
    category = admin.save_category(boss, None, **fields)
    admin.save_category(boss, category.id, **{**fields, "ack_target_hours": 12})
    db.session.commit()

    assert _entries() == [
        (boss.id, "category.created", "category", category.id, fields),
        (boss.id, "category.updated", "category", category.id, {**fields, "ack_target_hours": 12}),
    ]


def test_a_refused_category_records_nothing(boss: User, make_category) -> None:
    taken: Category = make_category(name="Trains")
    with pytest.raises(DomainError):
        admin.save_category(boss, None, name=taken.name, slug="other")
    db.session.rollback()

    assert _entries() == []


def test_changing_someones_role_records_what_it_was(boss: User, make_user) -> None:
    ravi = make_user()
    admin.update_user(boss, ravi.id, role=Role.STAFF, active=True)
    admin.update_user(boss, ravi.id, role=Role.STAFF, active=False)
    db.session.commit()

    assert _entries() == [
        (
            boss.id,
            "user.updated",
            "user",
            ravi.id,
            {"before": {"role": "customer", "active": True}, "role": "staff", "active": True},
        ),
        (
            boss.id,
            "user.updated",
            "user",
            ravi.id,
            {"before": {"role": "staff", "active": True}, "role": "staff", "active": False},
        ),
    ]


def test_the_sites_settings_are_recorded_as_saved(boss: User) -> None:
    fields: dict[str, Any] = {
        "organisation_name": "City Rail",
        "contact_email": "help@cityrail.example",
        "contact_phone": "",
        "contact_address": "",
        "time_zone": "Europe/London",
        "pre_moderation": True,
    }
    settings = admin.update_settings(boss, **fields)
    db.session.commit()

    assert _entries() == [(boss.id, "settings.updated", "settings", settings.id, fields)]


def test_pausing_resuming_pinging_and_deleting_a_webhook_are_each_recorded(boss: User) -> None:
    endpoint = webhooks.create_endpoint(
        boss, url="https://hooks.example.com/portal", events=["item.created"]
    ).endpoint
    webhooks.set_active(boss, endpoint.id, False)
    webhooks.set_active(boss, endpoint.id, True)
    webhooks.send_ping(boss, endpoint.id)
    webhooks.delete_endpoint(boss, endpoint.id)
    db.session.commit()

    url = "https://hooks.example.com/portal"
    assert _entries() == [
        (
            boss.id,
            "webhook.created",
            "webhook",
            endpoint.id,
            {"url": url, "events": ["item.created"]},
        ),
        (boss.id, "webhook.paused", "webhook", endpoint.id, {}),
        (boss.id, "webhook.resumed", "webhook", endpoint.id, {}),
        (boss.id, "webhook.pinged", "webhook", endpoint.id, {}),
        (boss.id, "webhook.deleted", "webhook", endpoint.id, {"url": url}),
    ]


# Email intake acts for no one: the sender is not signed in, and no member of staff acted.


@pytest.fixture
def intake_address(change_settings: Callable[..., Settings]) -> str:
    return change_settings(intake_address="feedback@portal.example").intake_address


def _email(sender: str, to: str, subject: str, text: str) -> bytes:
    return (
        f"From: Nia Owen <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, subject, text)))}@mail.example>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


def test_an_item_and_a_reply_by_email_are_recorded_for_no_one(
    intake_address: str, make_category
) -> None:
    make_category(name="Stations")
    created = intake.process_message(
        _email("nia@example.com", intake_address, "Lift broken", "The lift at Elm Park.")
    )
    db.session.commit()
    item = db.session.get(Feedback, created.item_id)
    assert created.outcome == "created" and item is not None
    address = reply_address(item.id, "nia@example.com")
    commented = intake.process_message(
        _email("nia@example.com", address, "Re: Lift broken", "Still broken tonight."),
        recipient=address,
    )
    db.session.commit()
    comment = db.session.get(Comment, commented.comment_id)
    assert commented.outcome == "commented" and comment is not None

    assert _entries() == [
        (None, "intake.customer_created", "user", item.author_id, {}),
        (None, "intake.item_submitted", "feedback", item.id, {"attachments": 0, "images": 0}),
        (None, "intake.comment_added", "feedback", item.id, {"comment": comment.id}),
    ]
