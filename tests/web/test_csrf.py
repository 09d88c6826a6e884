"""CSRF on every form and htmx request: every POST route in the app, walked from the URL map,
refuses a request without a token (400, nothing changed), except the endpoints in the one
exemption list, which must work without one."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from portal.extensions import db
from portal.models import (
    Comment,
    DigestFrequency,
    DigestSubscription,
    Feedback,
    Role,
    User,
)
from portal.security import CSRF_EXEMPT_ENDPOINTS
from portal.services import workflow
from portal.services.feedback import add_comment
from portal.services.tokens import make_unsubscribe_token
from tests.helpers import csrf_token, login

CSRF_MESSAGE = "came from elsewhere"


@dataclass
class World:
    """Real objects for the URL arguments, so exempt views would succeed."""

    customer: User
    other: User
    item: Feedback
    comment: Comment
    resolution_id: int
    category_id: int
    category_slug: str
    subscription: DigestSubscription


@pytest.fixture
def world(make_user, make_verified_user, make_category, make_feedback) -> World:
    customer = make_verified_user()
    other = make_user()
    staff = make_verified_user(role=Role.STAFF)
    category = make_category()
    item = make_feedback(author=customer, category=category)
    comment = add_comment(customer, item.id, "Same here, every Tuesday.")
    resolved = make_feedback(category=category)
    resolution = workflow.resolve(
        resolved.id, staff, "We changed the collection day.", post_anyway=True
    )
    subscription = DigestSubscription(
        email="reader@example.com",
        frequency=DigestFrequency.WEEKLY,
        confirm_token=secrets.token_urlsafe(24),
        unsubscribe_token=secrets.token_urlsafe(24),
    )
    db.session.add(subscription)
    db.session.commit()
    return World(
        customer=customer,
        other=other,
        item=item,
        comment=comment,
        resolution_id=resolution.id,
        category_id=category.id,
        category_slug=category.slug,
        subscription=subscription,
    )


def _int_arg(name: str, world: World) -> int:
    ids = {
        "item_id": world.item.id,
        "feedback_id": world.item.id,
        "comment_id": world.comment.id,
        "resolution_id": world.resolution_id,
        "category_id": world.category_id,
        "user_id": world.other.id,
        "subscription_id": world.subscription.id,
    }
    # An argument this test has not met yet still gets a real row's id.
    return ids.get(name, world.item.id)


def _str_arg(name: str, endpoint: str, world: World) -> str:
    if name == "token":
        if endpoint == "notifications.unsubscribe":
            return make_unsubscribe_token(world.customer.id, world.item.id)
        if "digest" in endpoint:
            if "confirm" in endpoint:
                return world.subscription.confirm_token
            return world.subscription.unsubscribe_token
        return secrets.token_urlsafe(24)
    if name == "slug":
        return world.category_slug
    return "plausible-value"


def _url(rule: Rule, world: World) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, IntegerConverter):
            values[name] = _int_arg(name, world)
        else:
            values[name] = _str_arg(name, rule.endpoint, world)
    return rule.build(values, append_unknown=False)[1]


def _post_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())),
        key=lambda r: r.rule,
    )


def _snapshot() -> dict[str, list[str]]:
    """Every row of every table, so a refused POST provably changed nothing."""
    db.session.expire_all()
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
        for table in db.metadata.sorted_tables
    }


def _visitor(client: FlaskClient, world: World) -> FlaskClient:
    return client


def _customer(client: FlaskClient, world: World) -> FlaskClient:
    login(client, world.customer.email)
    return client


def _admin(client: FlaskClient, world: World) -> FlaskClient:
    admin = User(
        email="admin@example.com",
        password_hash=world.customer.password_hash,
        display_name="Admin",
        preferred_name="Admin",
        role=Role.ADMIN,
    )
    db.session.add(admin)
    db.session.commit()
    login(client, admin.email)
    return client


def test_the_exemption_list_names_real_post_endpoints(app: Flask) -> None:
    # POST, and the API's PATCH (a customer's value), which CSRF protection covers too.
    changing = {"POST", "PUT", "PATCH", "DELETE"}
    posts = {r.endpoint for r in app.url_map.iter_rules() if changing & (r.methods or set())}
    assert CSRF_EXEMPT_ENDPOINTS
    assert set(CSRF_EXEMPT_ENDPOINTS) <= posts
    assert "notifications.unsubscribe" in CSRF_EXEMPT_ENDPOINTS


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("who", [_visitor, _customer, _admin], ids=["visitor", "customer", "admin"])
def test_every_post_without_a_csrf_token_is_refused_except_the_exempt_ones(
    app: Flask,
    make_client: Callable[[], FlaskClient],
    world: World,
    who: Callable[[FlaskClient, World], FlaskClient],
    htmx: bool,
) -> None:
    client = who(make_client(), world)
    signed_in = who is not _visitor
    headers = {"HX-Request": "true"} if htmx else {}
    rules = _post_rules(app)
    assert any(r.endpoint not in CSRF_EXEMPT_ENDPOINTS for r in rules)
    problems: list[str] = []
    for rule in rules:
        url = _url(rule, world)
        before = _snapshot()
        response = client.post(url, data={"body": "x", "title": "x"}, headers=headers)
        if rule.endpoint in CSRF_EXEMPT_ENDPOINTS:
            # Exempt endpoints may refuse what they were sent (/sso refuses a missing
            # token with 400), but never for want of a CSRF token.
            if response.status_code == 400 and CSRF_MESSAGE in response.get_data(as_text=True):
                problems.append(f"{rule.endpoint} {url}: exempt, but refused for CSRF")
            if rule.endpoint == "notifications.unsubscribe" and response.status_code != 200:
                problems.append(f"{rule.endpoint} {url}: answered {response.status_code}")
            continue
        if response.status_code != 400:
            problems.append(f"{rule.endpoint} {url}: answered {response.status_code}, not 400")
        elif CSRF_MESSAGE not in response.get_data(as_text=True):
            problems.append(f"{rule.endpoint} {url}: 400, but not the CSRF refusal")
        if _snapshot() != before:
            problems.append(f"{rule.endpoint} {url}: changed the database")
    assert problems == []
    if signed_in:
        # Not even sign-out went through without a token.
        assert client.get("/account/").status_code == 200


def test_a_csrf_token_from_another_session_is_refused(make_client, make_user) -> None:
    user = make_user()
    stranger = make_client()
    foreign_token = csrf_token(stranger)
    victim = make_client()
    login(victim, user.email)
    response = victim.post("/account/logout", data={"csrf_token": foreign_token})
    assert response.status_code == 400
    assert victim.get("/account/").status_code == 200
