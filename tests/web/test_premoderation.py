"""Pre-moderation: a site setting holds new public items until staff approve them."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Role
from portal.services.site import settings_for_update
from tests.helpers import login, post


def _moderate() -> None:
    settings_for_update().pre_moderation = True
    db.session.commit()


def test_held_item_is_shown_only_to_its_author_and_staff(
    client, make_client, make_user, make_feedback
) -> None:
    _moderate()
    author, other, staff = make_user(), make_user(), make_user(role=Role.STAFF)
    # Posted anyway, past the guard for personal details: pre-moderation still holds it.
    item = make_feedback(author=author, title="My address is 1 High Street", post_anyway=True)
    assert item.awaiting_review
    assert client.get(f"/feedback/{item.id}").status_code == 404
    assert "1 High Street" not in client.get("/").get_data(as_text=True)
    login(client, other.email)
    assert client.get(f"/feedback/{item.id}").status_code == 404
    mine = make_client()
    login(mine, author.email)
    page = mine.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Awaiting review" in page
    assert "Awaiting review" in mine.get("/account/").get_data(as_text=True)
    desk = make_client()
    login(desk, staff.email)
    assert "awaiting review" in desk.get("/admin/?review=1&all=1").get_data(as_text=True).lower()


def test_staff_approval_puts_the_item_on_the_board(client, make_client, make_user, make_feedback):
    _moderate()
    item = make_feedback(title="Please add oat milk")
    staff = make_user(role=Role.STAFF)
    desk = make_client()
    login(desk, staff.email)
    assert post(desk, f"/admin/feedback/{item.id}/approve").status_code == 302
    assert "Please add oat milk" in client.get("/").get_data(as_text=True)


def test_private_items_and_staff_items_are_not_held(make_user, make_feedback) -> None:
    _moderate()
    assert not make_feedback(visibility="private").awaiting_review
    assert not make_feedback(author=make_user(role=Role.STAFF)).awaiting_review
