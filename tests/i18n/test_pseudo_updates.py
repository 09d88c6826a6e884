"""What's new for me speaks through the catalog: every kind of line (a reply, each move, a
new owner, a promise moved, a matching report joining, Done and its question) and the header's
count, rendered in the pseudo-locale, hold no words but people's own, names and dates."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date
from flask import Flask

from portal.extensions import db
from portal.models import Role
from portal.services import workflow
from tests.helpers import login
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog

ACK = "Nia, I am sorry about this; I am looking at it now."
REPLY = "Sam Patel here: the covers arrive on Friday."
PLANNED = "New covers go on next month."
MOVED = "The supplier is two weeks late."
WE_DID = "New covers for every parcel locker."
DECLINED = "We will not build this, sorry."
LOOKING = "Testing the new lockers."
STARTED = "The fitters are on site."
HANDED = "Lee knows the lockers best."
MERGE = "Another parcel soaked"


def test_every_kind_of_update_and_the_badge_speak_through_the_catalog(
    pseudo_site: Flask, make_verified_user, make_feedback, make_category
) -> None:
    nia = make_verified_user(display_name="Nia Okafor", preferred_name="Nia")
    sam = make_verified_user(role=Role.STAFF, display_name="Sam Patel", preferred_name="Sam")
    lee = make_verified_user(role=Role.STAFF, display_name="Lee Chen", preferred_name="Lee")
    category = make_category(name="Parcels and post")
    done = make_feedback(author=nia, title="The lockers were soaked", category=category)
    declined = make_feedback(author=nia, title="Lockers on every floor", category=category)
    moving = make_feedback(author=nia, title="Locker door sticks", category=category)
    duplicate = make_feedback(title=MERGE, category=category)
    first, later = date.today() + timedelta(days=20), date.today() + timedelta(days=34)

    for item in (done, declined, moving, duplicate):
        workflow.acknowledge(item.id, sam, ACK, post_anyway=True)
    workflow.reply(done.id, sam, REPLY, post_anyway=True)
    workflow.plan(done.id, sam, first, PLANNED, outcome="new covers on", post_anyway=True)
    workflow.move_promise(done.id, sam, later, MOVED)
    workflow.publish_resolution([done.id], sam, WE_DID, "", post_anyway=True)
    workflow.decline(declined.id, sam, DECLINED, post_anyway=True)
    workflow.investigate(moving.id, sam, LOOKING, post_anyway=True)
    workflow.start_work(moving.id, sam, STARTED, post_anyway=True)
    workflow.merge(duplicate.id, sam, moving.id, "Same lockers.", post_anyway=True)
    workflow.assign(moving.id, sam, lee.id, HANDED)
    db.session.commit()

    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    login(browser, nia.email)
    people = [
        done.title, declined.title, moving.title, "Parcels and post", "Our organisation",
        "Nia Okafor", "Nia", "Sam Patel", "Lee Chen", "It happened again this morning.", MERGE,
        ACK, REPLY, PLANNED, MOVED, WE_DID, DECLINED, LOOKING, STARTED, HANDED,
        format_date(first, "long", locale=PSEUDO_LANGUAGE),
        format_date(later, "long", locale=PSEUDO_LANGUAGE),
    ]  # fmt: skip

    board = browser.get("/", headers=ACCEPT).get_data(as_text=True)
    assert 'class="count-badge"' in board
    assert words_outside_the_catalog(board, people) == []

    page = browser.get("/account/updates", headers=ACCEPT)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'lang="{PSEUDO_LANGUAGE}"' in html
    assert html.count('class="card update') >= 12, html
    assert words_outside_the_catalog(html, people) == []
