"""Staff hide a comment from the item's admin page: the worked example of docs/architecture.md,
from the form to the page a visitor reads next."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, Comment, Feedback, Role, User
from portal.services import feedback as feedback_service
from tests.conftest import make_test_app
from tests.helpers import login, post

PHONE = "Ring my neighbour on 07700 900123"


def _commented(make_user, make_feedback) -> tuple[Feedback, Comment]:
    item = make_feedback(title="Parcel left with the wrong neighbour")
    comment = feedback_service.add_comment(make_user(), item.id, PHONE)
    db.session.commit()
    return item, comment


def _staff_browser(make_client: Callable[[], FlaskClient], staff: User) -> FlaskClient:
    browser = make_client()
    login(browser, staff.email)
    return browser


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_staff_hide_a_comment_and_the_public_page_stops_showing_it(
    htmx, make_client, make_user, make_feedback
) -> None:
    item, comment = _commented(make_user, make_feedback)
    staff = make_user(role=Role.STAFF)
    visitor = make_client()
    assert PHONE in visitor.get(f"/feedback/{item.id}").get_data(as_text=True)

    response = post(
        _staff_browser(make_client, staff),
        f"/admin/comments/{comment.id}/hide",
        {"reason": "A neighbour's phone number."},
        htmx=htmx,
    )

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/admin/feedback/{item.id}"
    assert PHONE not in visitor.get(f"/feedback/{item.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).hidden is True
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "comment.hidden"))
    assert entry is not None and entry.actor_id == staff.id
    assert entry.detail == {"reason": "A neighbour's phone number.", "body": PHONE}


def test_hiding_a_comment_without_a_reason_answers_400_beside_the_form_and_hides_nothing(
    make_client, make_user, make_feedback
) -> None:
    item, comment = _commented(make_user, make_feedback)
    staff = make_user(role=Role.STAFF)

    response = post(
        _staff_browser(make_client, staff), f"/admin/comments/{comment.id}/hide", {"reason": ""}
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Hiding a comment needs a reason." in page
    # Said beside that comment's own form, opened, not under the item's "Hide" field.
    own_form = page[page.index(f'action="/admin/comments/{comment.id}/hide"') :].split("</form>")[0]
    assert f'id="hide-c{comment.id}-error"' in own_form
    assert page.rindex(
        "<details", 0, page.index(f'action="/admin/comments/{comment.id}/hide"')
    ) == (
        page.rindex(
            '<details class="quick" open>', 0, page.index(f"/admin/comments/{comment.id}/hide")
        )
    )
    item_hide_form = page[page.index(f'action="/admin/feedback/{item.id}/hide"') :].split(
        "</form>"
    )[0]
    assert "field__error" not in item_hide_form
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).hidden is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_a_customer_cannot_hide_a_comment(make_client, make_user, make_feedback) -> None:
    _item, comment = _commented(make_user, make_feedback)
    response = post(
        _staff_browser(make_client, make_user()),
        f"/admin/comments/{comment.id}/hide",
        {"reason": "I do not like it."},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).hidden is False


def test_a_visitor_who_saw_the_comment_in_the_page_cache_sees_it_gone(
    database_uri: str, tmp_path: Path, make_user, make_feedback
) -> None:
    cached = make_test_app(database_uri, tmp_path, PAGE_CACHE_SECONDS=30.0)
    item, comment = _commented(make_user, make_feedback)
    staff = make_user(role=Role.STAFF)
    visitor = cached.test_client()
    assert PHONE in visitor.get(f"/feedback/{item.id}").get_data(as_text=True)

    # Hidden through the same process that keeps the page: its commit empties the cache.
    response = post(
        _staff_browser(cached.test_client, staff),
        f"/admin/comments/{comment.id}/hide",
        {"reason": "A neighbour's phone number."},
    )
    assert response.status_code == 302
    assert PHONE not in visitor.get(f"/feedback/{item.id}").get_data(as_text=True)
