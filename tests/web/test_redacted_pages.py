"""A redacted item's words leave the public pages too: its page, the board, the vote button and
"You said, we did" show a stand-in for its title, while staff and its author still read it."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Role
from portal.services import workflow
from tests.helpers import login

TITLE = "Jo Bloggs at number 12 blocks the bins"


def _redacted(make_user, make_feedback):
    staff = make_user(role=Role.STAFF)
    author = make_user()
    item = make_feedback(author=author, title=TITLE)
    workflow.acknowledge(item.id, staff, "Thank you, I am looking at this now.", post_anyway=True)
    resolution = workflow.resolve(item.id, staff, "Crews now come twice a week.", post_anyway=True)
    workflow.redact(item.id, staff, "A neighbour's name.")
    db.session.commit()
    return staff, author, item, resolution


def _page(make_client: Callable[[], FlaskClient], url: str, who=None) -> str:
    browser = make_client()
    if who is not None:
        login(browser, who.email)
    response = browser.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_visitors_and_other_customers_read_a_stand_in_for_a_redacted_title(
    make_client, make_user, make_feedback
) -> None:
    _staff, _author, item, resolution = _redacted(make_user, make_feedback)
    other = make_user()
    for who in (None, other):
        for url in (
            f"/feedback/{item.id}",
            "/?state=resolved",
            "/you-said-we-did",
            f"/you-said-we-did/{resolution.id}",
        ):
            page = _page(make_client, url, who)
            assert "Bloggs" not in page, url
        assert "its words were removed by our staff" in _page(
            make_client, f"/feedback/{item.id}", who
        )


def test_staff_and_the_author_still_read_a_redacted_title(
    make_client, make_user, make_feedback
) -> None:
    staff, author, item, _resolution = _redacted(make_user, make_feedback)
    for who in (staff, author):
        assert TITLE in _page(make_client, f"/feedback/{item.id}", who)
