"""Every /admin address checks the role: visitors sign in, customers are refused, staff reach
the triage pages, and only admins reach the admin pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import Role
from portal.services import chat, webhooks, workflow
from tests.helpers import login, post

# The triage pages: every member of staff may use them.
STAFF_ENDPOINTS = {
    "admin.queue",
    "admin.remove_image",
    "admin.take",
    "admin.acknowledge",
    "admin.item",
    "admin.move",
    "admin.assign",
    "admin.promise",
    "admin.reply",
    "admin.note",
    "admin.hide",
    "admin.redact",
    "admin.approve",
    "admin.hide_comment",
    "admin.tone",
    "admin.new_resolution",
    "admin.edit_resolution",
    "admin.insights",
    "admin.insights_csv",
    "admin.record",
    "admin.me_too",
}

# Running the site: admins only.
ADMIN_ONLY_ENDPOINTS = {
    "admin.categories_page",
    "admin.edit_category",
    "admin.users",
    "admin.update_user",
    "admin.person",
    "admin.customer_value_form",
    "admin.save_roles",
    "admin.invite",
    "admin.resend_invitation",
    "admin.revoke_invitation",
    "admin.dismiss_get_started",
    "admin.settings",
    "admin.branding_settings",
    "admin.sso_page",
    "admin.sso_secret",
    "admin.sso_key",
    "admin.sso_jwks",
    "admin.sign_in_page",
    "admin.add_provider",
    "admin.provider_page",
    "admin.change_provider",
    "admin.toggle_provider",
    "admin.save_sign_in_policy",
    "admin.widget_page",
    "admin.widget_origins",
    "admin.audit_log",
    "admin.tokens",
    "admin.revoke_token",
    "admin.webhooks_page",
    "admin.webhook",
    "admin.webhook_change",
    "admin.webhook_toggle",
    "admin.webhook_rotate",
    "admin.webhook_ping",
    "admin.webhook_send_again",
    "admin.webhook_delete",
    "admin.chat_page",
    "admin.chat_channel",
    "admin.chat_test",
    "admin.chat_message",
    "admin.chat_delete",
}

ROLES = ("visitor", "customer", "staff", "admin")
SECRET_TITLE = "Neighbour keeps parking across my drive"


def _admin_rules(app: Flask) -> list:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")),
        key=lambda r: r.rule,
    )


def _request(client: FlaskClient, method: str, url: str) -> TestResponse:
    if method == "GET":
        return client.get(url)
    return post(client, url)


def _is_login_redirect(response: TestResponse) -> bool:
    if response.status_code != 302:
        return False
    return urlsplit(response.headers["Location"]).path == "/account/login"


def test_every_admin_rule_has_a_role_expectation(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in _admin_rules(app)}
    assert STAFF_ENDPOINTS.isdisjoint(ADMIN_ONLY_ENDPOINTS)
    unexpected = endpoints - STAFF_ENDPOINTS - ADMIN_ONLY_ENDPOINTS
    assert not unexpected, f"/admin routes with no access decision in this test: {unexpected}"
    stale = (STAFF_ENDPOINTS | ADMIN_ONLY_ENDPOINTS) - endpoints
    assert not stale, f"expectations for routes that no longer exist: {stale}"


def test_every_admin_route_checks_the_role(
    app: Flask, make_client, make_user, make_category, make_feedback
) -> None:
    people = {
        "customer": make_user(role=Role.CUSTOMER),
        "staff": make_user(role=Role.STAFF),
        "admin": make_user(role=Role.ADMIN),
    }
    target_user = make_user()
    category = make_category()
    item = make_feedback(category=category, title=SECRET_TITLE)
    comment = workflow.add_internal_note(item.id, people["admin"], "Staff-only context")
    resolved = make_feedback(category=category)
    resolution = workflow.resolve(
        resolved.id, people["admin"], "We changed the parking rules.", post_anyway=True
    )
    hook = webhooks.create_endpoint(
        people["admin"], url="https://hooks.example.com/portal", events=["item.created"]
    )
    channel = chat.create_channel(
        people["admin"],
        name="#ops",
        kind="slack",
        url="https://hooks.example.com/chat",
        events=["new_item"],
    )
    test_message = chat.send_test(people["admin"], channel.id)
    db.session.commit()
    ids = {
        "item_id": item.id,
        "comment_id": comment.id,
        "category_id": category.id,
        "user_id": target_user.id,
        "resolution_id": resolution.id,
        "endpoint_id": hook.endpoint.id,
        "channel_id": channel.id,
        "message_id": test_message.id,
    }

    clients: dict[str, FlaskClient] = {}
    for role in ROLES:
        clients[role] = make_client()
        if role in people:
            login(clients[role], people[role].email)

    rules = _admin_rules(app)
    assert rules, "the admin blueprint is registered"
    failures: list[str] = []
    checked = 0
    for rule in rules:
        assert rule.endpoint in STAFF_ENDPOINTS | ADMIN_ONLY_ENDPOINTS, rule.endpoint
        admin_only = rule.endpoint in ADMIN_ONLY_ENDPOINTS
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", str(ids.get(argument, 1)))
            # An image's id is a string: a made-up one, since only the role is checked here.
            url = url.replace(f"<{argument}>", "a" * 32)
        assert "<" not in url, f"unfilled argument in {rule.rule}"
        for method in sorted({"GET", "POST"} & set(rule.methods or ())):
            for role in ROLES:
                checked += 1
                response = _request(clients[role], method, url)
                where = f"{role} {method} {url} -> {response.status_code}"
                body = response.get_data(as_text=True)
                if role == "visitor":
                    if not _is_login_redirect(response):
                        failures.append(f"{where}: expected a redirect to /account/login")
                elif role == "customer" or (role == "staff" and admin_only):
                    if response.status_code != 403:
                        failures.append(f"{where}: expected 403")
                    elif SECRET_TITLE in body or people["customer"].email in body:
                        failures.append(f"{where}: the refusal shows customer data")
                elif response.status_code == 403 or _is_login_redirect(response):
                    failures.append(f"{where}: {role} was refused")
                elif response.status_code >= 500:
                    failures.append(f"{where}: the page broke")
    assert checked >= len(rules) * len(ROLES)
    assert not failures, "\n".join(failures)
