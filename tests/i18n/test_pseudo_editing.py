"""Editing one's own words speaks through the catalog: the edit pages and the forms htmx swaps
in, the saved words with "Edited" and staff's earlier versions, the refusals once staff have
answered, and the flash messages of the plain answers."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Category, Role, User
from portal.services import feedback as feedback_service
from portal.services import workflow
from tests.helpers import login, post
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog

BEFORE = "The lockre was soaked again."
AFTER = "The locker was soaked again."
COMMENT_BEFORE = "Same at my door on Tuesdya."
COMMENT_AFTER = "Same at my door on Tuesday."
SORRY = "Nia, I am sorry about this; I am looking at it now."
NEW_TITLE = "Parcel left in the rain, again"
PEOPLE = ["Nia Okafor", "Nia", "Sam Patel", "Sam"]


@pytest.fixture
def words(people_data: list[str]) -> list[str]:
    return [
        *people_data,
        *PEOPLE,
        BEFORE,
        AFTER,
        COMMENT_BEFORE,
        COMMENT_AFTER,
        SORRY,
        NEW_TITLE,
    ]


def _browser(site: Flask, person: User | None) -> FlaskClient:
    browser = site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    if person is not None:
        login(browser, person.email)
    return browser


def _check(answer: Any, words: list[str], status: int = 200) -> str:
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    html = answer.get_data(as_text=True)
    assert words_outside_the_catalog(html, words) == []
    return html


def test_editing_and_the_edited_words_speak_through_the_catalog(
    pseudo_site, people_data, words, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(display_name="Nia Okafor", preferred_name="Nia")
    owner = make_verified_user(role=Role.STAFF, display_name="Sam Patel", preferred_name="Sam")
    category = db.session.scalar(sa.select(Category).where(Category.name == people_data[1]))
    item = make_feedback(author=author, category=category, title=people_data[0], body=BEFORE)
    comment = feedback_service.add_comment(author, item.id, COMMENT_BEFORE)
    db.session.commit()
    browser = _browser(pseudo_site, author)
    item_url = f"/feedback/{item.id}/edit"
    comment_url = f"/feedback/{item.id}/comments/{comment.id}/edit"

    assert item_url in _check(browser.get(f"/feedback/{item.id}"), words)
    _check(browser.get(item_url), words)
    _check(browser.get(item_url, headers={"HX-Request": "true"}), words)
    _check(browser.get(comment_url), words)
    _check(browser.get(comment_url, headers={"HX-Request": "true"}), words)
    # A refused shape, on the page and in place.
    _check(post(browser, item_url, {"title": "", "body": AFTER}), words, 400)
    _check(post(browser, comment_url, {"body": ""}, htmx=True), words, 400)

    _check(post(browser, item_url, {"title": NEW_TITLE, "body": AFTER}, htmx=True), words)
    _check(post(browser, comment_url, {"body": COMMENT_AFTER}, htmx=True), words)
    post(browser, item_url, {"title": NEW_TITLE, "body": BEFORE})  # a plain save: its flash
    edited = _check(browser.get(f"/feedback/{item.id}"), words)
    assert 'class="edited"' in edited

    staff_page = _check(_browser(pseudo_site, owner).get(f"/feedback/{item.id}"), words)
    assert "versions" in staff_page

    workflow.acknowledge(item.id, owner, SORRY, post_anyway=True)
    db.session.commit()
    _check(post(browser, item_url, {"title": NEW_TITLE, "body": AFTER}), words, 409)
    _check(post(browser, comment_url, {"body": COMMENT_BEFORE}, htmx=True), words, 409)
    _check(browser.get(item_url, headers={"HX-Request": "true"}), words, 409)
    browser.get(comment_url)  # refused: back to the item, with the reason flashed
    _check(browser.get(f"/feedback/{item.id}"), words)
