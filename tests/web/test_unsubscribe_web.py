"""Stopping notification emails from a link, without signing in: RFC 8058 one-click POSTs,
the page with its buttons, forged tokens, and the link taken from a real email."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import Follow, NotificationPreference, Role, Unsubscribe, User
from portal.services import workflow
from portal.services.outbox import deliver_pending
from portal.services.tokens import make_unsubscribe_token, make_verify_token
from portal.services.votes import set_vote

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def _one_click(client: FlaskClient, path: str) -> TestResponse:
    """What a mail client sends for RFC 8058: no cookies, no CSRF token, just this body."""
    return client.post(path, data=ONE_CLICK, content_type=FORM)


def _preference(user_id: int) -> NotificationPreference:
    db.session.expire_all()
    return db.session.get(User, user_id).notification_preference


def _unsubscribes(user_id: int) -> list[Unsubscribe]:
    return list(db.session.scalars(sa.select(Unsubscribe).where(Unsubscribe.user_id == user_id)))


def _following(user_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(Follow.feedback_id).where(Follow.user_id == user_id)))


class _Forms(HTMLParser):
    """The page's forms: (method, action, {hidden field: value}, button text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"method": values.get("method"), "action": values.get("action"), "fields": {}}
            )
            self.forms[-1]["button"] = ""
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"][values.get("name")] = values.get("value") or ""
        elif tag == "button" and self.forms:
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.forms[-1]["button"] += data.strip()


def _unsubscribe_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if "/notifications/unsubscribe/" in (f["action"] or "")]


def test_one_click_post_without_session_or_csrf_stops_all_notifications(
    client, make_verified_user
) -> None:
    user = make_verified_user()
    response = _one_click(
        client, f"/notifications/unsubscribe/{make_unsubscribe_token(user.id, None)}"
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert _preference(user.id) is NotificationPreference.NONE
    assert [u.scope for u in _unsubscribes(user.id)] == ["notifications"]


def test_repeating_the_one_click_post_is_harmless_and_recorded_once(
    make_client, make_verified_user
) -> None:
    user = make_verified_user()
    path = f"/notifications/unsubscribe/{make_unsubscribe_token(user.id, None)}"
    assert _one_click(make_client(), path).status_code == 200
    again = _one_click(make_client(), path)
    assert again.status_code == 200
    assert "already stopped" in again.get_data(as_text=True)
    assert _preference(user.id) is NotificationPreference.NONE
    assert len(_unsubscribes(user.id)) == 1


def test_get_shows_a_button_and_changes_nothing(client, make_verified_user, make_feedback) -> None:
    user = make_verified_user()
    item = make_feedback(author=user)
    response = client.get(f"/notifications/unsubscribe/{make_unsubscribe_token(user.id, item.id)}")
    assert response.status_code == 200
    forms = _unsubscribe_forms(response.get_data(as_text=True))
    assert {f["fields"].get("scope") for f in forms} == {"item", "all"}
    assert all(f["method"] == "post" and f["button"] for f in forms)
    assert _preference(user.id) is NotificationPreference.ALL
    assert _following(user.id) == {item.id}
    assert _unsubscribes(user.id) == []


def test_a_head_request_such_as_a_link_checker_sends_changes_nothing(
    client, make_verified_user, make_feedback
) -> None:
    user = make_verified_user()
    item = make_feedback(author=user)
    path = f"/notifications/unsubscribe/{make_unsubscribe_token(user.id, None)}"
    assert client.head(path).status_code == 200
    assert _preference(user.id) is NotificationPreference.ALL
    assert _following(user.id) == {item.id}
    assert _unsubscribes(user.id) == []


def test_the_pages_this_item_button_unfollows_only_that_item(
    client, make_verified_user, make_feedback
) -> None:
    user = make_verified_user()
    mine = make_feedback(author=user)
    other = make_feedback()
    set_vote(user, other.id, want=True)
    db.session.commit()
    assert _following(user.id) == {mine.id, other.id}

    page = client.get(f"/notifications/unsubscribe/{make_unsubscribe_token(user.id, mine.id)}")
    (form,) = [
        f
        for f in _unsubscribe_forms(page.get_data(as_text=True))
        if f["fields"].get("scope") == "item"
    ]
    response = client.post(form["action"], data=form["fields"])
    assert response.status_code == 200
    assert _following(user.id) == {other.id}
    assert _preference(user.id) is NotificationPreference.ALL
    assert [(u.scope, u.feedback_id) for u in _unsubscribes(user.id)] == [("item", mine.id)]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token, user: token[:-3] + "abc", id="garbled"),
        pytest.param(lambda token, user: "not-a-token", id="nonsense"),
        pytest.param(
            lambda token, user: URLSafeSerializer("another key", salt="unsubscribe").dumps(
                {"u": user.id, "f": None}
            ),
            id="signed-with-another-key",
        ),
        pytest.param(
            lambda token, user: make_verify_token(user.id, user.email), id="a-verify-token"
        ),
    ],
)
def test_a_forged_or_garbled_token_is_not_found(client, make_verified_user, forge) -> None:
    user = make_verified_user()
    path = f"/notifications/unsubscribe/{forge(make_unsubscribe_token(user.id, None), user)}"
    assert client.get(path).status_code == 404
    assert _one_click(client, path).status_code == 404
    assert _preference(user.id) is NotificationPreference.ALL
    assert _unsubscribes(user.id) == []


def test_the_unsubscribe_links_in_a_received_email_work(
    app, monkeypatch, smtp_server, make_client, make_verified_user, make_feedback
) -> None:
    # One-click needs an https link (RFC 8058); the site in production is served over https.
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://feedback.example.org")
    author = make_verified_user()
    item = make_feedback(author=author)
    staff = make_verified_user(role=Role.STAFF)
    workflow.acknowledge(item.id, staff, "Thank you, we are on it.", post_anyway=True)
    db.session.commit()
    deliver_pending()
    mail = next(m for m in smtp_server.to(author.email) if "Acknowledged" in m["Subject"])
    text = mail.get_body(("plain",)).get_content()

    # The body's "this item" link opens the page, which stops just that item.
    item_link = re.search(r"Stop emails about this item: (\S+)", text).group(1)
    browser = make_client()
    page = browser.get(urlsplit(item_link).path)
    assert page.status_code == 200
    (form,) = [
        f
        for f in _unsubscribe_forms(page.get_data(as_text=True))
        if f["fields"].get("scope") == "item"
    ]
    assert browser.post(form["action"], data=form["fields"]).status_code == 200
    assert _following(author.id) == set()
    assert _preference(author.id) is NotificationPreference.ALL

    # The header's https link takes a mail client's one-click POST and stops everything.
    header_link = next(
        t
        for t in re.findall(r"<([^>]+)>", str(mail["List-Unsubscribe"]))
        if t.startswith("https://")
    )
    assert _one_click(make_client(), urlsplit(header_link).path).status_code == 200
    assert _preference(author.id) is NotificationPreference.NONE
