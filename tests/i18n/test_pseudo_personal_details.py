"""The guard for personal details speaks through the catalog: the question, each finding and
the choices of a held item, and the live check's fragment, hold no words but catalog text and
the words quoted back to the writer."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Category
from tests.helpers import login, post
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog

TITLE = "Order #44821 never arrived"
BODY = "Ring me on 07911 123456 please."


def test_a_held_item_and_the_live_check_are_said_through_the_catalog(
    pseudo_site, people_data, make_user
) -> None:
    category = db.session.scalars(sa.select(Category)).first()
    assert category is not None
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    login(browser, make_user(display_name="Nia Okafor", preferred_name="Nia").email)
    form = {
        "kind": "complaint",
        "category_id": str(category.id),
        "title": TITLE,
        "body": BODY,
        "visibility": "public",
    }
    # What the writer typed is theirs: it is quoted back as written.
    theirs = [*people_data, TITLE, BODY, "Order #44821", "07911 123456"]
    held = post(browser, "/feedback/new", form)
    assert held.status_code == 422
    html = held.get_data(as_text=True)
    assert 'name="make_private"' in html
    assert words_outside_the_catalog(html, theirs) == []
    live = post(browser, "/feedback/check-details", form, htmx=True)
    fragment = live.get_data(as_text=True)
    assert 'data-code="phone_number"' in fragment and "\u27e6" in fragment
    assert words_outside_the_catalog(fragment, theirs) == []
