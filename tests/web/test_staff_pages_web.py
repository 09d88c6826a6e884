"""Staff pages that show what the person can do, and only that (issue #25): the item page's
moves, each with its own fields; the owner's notice for staff who do not own the item; ticks
in triage that survive filters and pages; the insights page's summary and contents."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from portal.admin.forms import form_field_name
from portal.extensions import db
from portal.models import Feedback, FeedbackState, Role, User
from portal.services import workflow
from portal.services.errors import DomainError
from portal.services.states import MOVE_FIELDS
from tests.helpers import login, post

GOOD_ACK = (
    "Nia, I am so sorry the parcel arrived soaked. I have asked our courier team to check "
    "their van today and I will tell you what they find."
)
HX = {"HX-Request": "true"}
SHAPES = [pytest.param({}, id="plain"), pytest.param(HX, id="htmx")]


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    browser = make_client()
    login(browser, user.email)
    return browser


def _fresh(item_id: int) -> Feedback:
    db.session.expire_all()
    item = db.session.get(Feedback, item_id)
    assert item is not None
    return item


def _move_forms(html: str) -> dict[str, set[str]]:
    """Each move's form on the page: the state it moves to, and the names of its fields."""
    forms = {}
    for block in re.findall(r'<details class="move-choice".*?</details>', html, re.S):
        (state,) = re.findall(r'name="to_state" value="([a-z_]+)"', block)
        names = set(re.findall(r'<(?:input|textarea|select)[^>]*\bname="([a-z_]+)"', block))
        forms[state] = names - {"csrf_token", "to_state"}
    return forms


# The move forms ------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", SHAPES)
def test_each_legal_move_has_its_own_form_asking_only_what_that_move_needs(
    make_client, make_user, make_feedback, headers
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, staff)

    html = browser.get(f"/admin/feedback/{item.id}", headers=headers).get_data(as_text=True)
    forms = _move_forms(html)

    assert set(forms) == {state.value for state in workflow.next_states(item)}
    for state in workflow.next_states(item):
        asked = {form_field_name(name) for name in workflow.move_fields(item, state)}
        assert forms[state.value] == asked, state
    # What the issue saw on every move: the date, "You said", "We did", the merge number.
    assert forms["acknowledged"] == {"message"}
    assert {"target_date", "outcome"} <= forms["planned"]
    assert not {"we_did", "you_said", "duplicate_of"} & forms["planned"]
    assert {"we_did", "you_said"} <= forms["resolved"] and "target_date" not in forms["resolved"]
    assert "duplicate_of" in forms["duplicate"] and "we_did" not in forms["duplicate"]
    # An item with no promised date is not asked what becomes of one when merged.
    assert "merge_promise" not in forms["duplicate"]
    # Each form's fields have ids of their own, so every label names one field.
    ids = re.findall(r'\bid="(move-[^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_a_merge_asks_about_the_promise_only_of_an_item_that_has_one(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    workflow.plan(
        item.id,
        staff,
        datetime.now(UTC).date() + timedelta(days=9),
        "Nia, I am sorry. We will have a new box with you by then.",
        outcome="a new box with you",
        post_anyway=True,
    )
    db.session.commit()
    browser = _signed_in(make_client, staff)
    forms = _move_forms(browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True))
    assert {"merge_promise", "merge_promise_reason"} <= forms["duplicate"]
    assert "merge_promise" not in forms["resolved"]


def test_every_moves_fields_are_ones_the_move_form_has() -> None:
    """The one list (states.MOVE_FIELDS) names fields the form can send."""
    from portal.admin.forms import MoveForm

    names = {field for field in MoveForm.__dict__ if not field.startswith("_")}
    for state, fields in MOVE_FIELDS.items():
        for name in fields:
            assert form_field_name(name) in names, (state, name)


def test_a_refused_move_opens_its_own_form_again_with_what_was_typed(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, staff)
    refused = post(
        browser,
        f"/admin/feedback/{item.id}/move",
        {"to_state": "planned", "message": GOOD_ACK, "outcome": "a new box with you"},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert _fresh(item.id).state is FeedbackState.RECEIVED
    opened = re.findall(r'<details class="move-choice" open>.*?</details>', html, re.S)
    assert len(opened) == 1
    (planned,) = opened
    assert 'name="to_state" value="planned"' in planned
    assert "Planning needs a target date" in planned
    assert 'value="a new box with you"' in planned
    assert GOOD_ACK in planned


# Who may act: the page offers what the commands allow --------------------------------------


@pytest.mark.parametrize("headers", SHAPES)
def test_staff_who_do_not_own_the_item_are_told_who_does_instead_of_forms_that_are_refused(
    make_client, make_user, make_feedback, headers
) -> None:
    sam = make_user(role=Role.STAFF, display_name="Sam Carter")
    priya = make_user(role=Role.STAFF, display_name="Priya Shah")
    item = make_feedback(author=make_user(preferred_name="Nia"))
    workflow.acknowledge(item.id, sam, GOOD_ACK, post_anyway=True)
    db.session.commit()

    html = (
        _signed_in(make_client, priya)
        .get(f"/admin/feedback/{item.id}", headers=headers)
        .get_data(as_text=True)
    )
    assert "<strong>Sam Carter</strong> owns this item" in html
    assert "Ask Sam Carter, or an admin can reassign it to you." in html
    for refused_action in ("move", "reply", "promise"):
        assert f'action="/admin/feedback/{item.id}/{refused_action}"' not in html
    assert f'action="/admin/feedback/{item.id}/note"' in html  # any member of staff may

    owners_page = (
        _signed_in(make_client, sam).get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    )
    assert "owns this item" not in owners_page
    assert f'action="/admin/feedback/{item.id}/move"' in owners_page
    assert f'action="/admin/feedback/{item.id}/reply"' in owners_page


def test_the_permissions_a_page_shows_agree_with_what_the_commands_allow(
    make_user, make_feedback
) -> None:
    owner = make_user(role=Role.STAFF)
    other = make_user(role=Role.STAFF)
    admin = make_user(role=Role.ADMIN)
    owned = make_feedback()
    workflow.take(owned.id, owner)
    unowned = make_feedback()
    db.session.commit()

    for item in (owned, unowned):
        for actor in (owner, other, admin):
            allowed = workflow.permissions(item, actor)
            for action, done in _what_the_commands_allow(item, actor).items():
                assert getattr(allowed, action) is done, (item.id, actor.display_name, action)


def _what_the_commands_allow(item: Feedback, actor: User) -> dict[str, bool]:
    """Each action tried for real, and undone: whether the command did it or refused."""

    def took() -> bool:
        # Taking an item one already owns changes nothing, so it is not offered.
        before = item.owner_id
        return workflow.take(item.id, actor).owner_id != before

    commands: dict[str, Callable[[], object]] = {
        "reply": lambda: workflow.reply(item.id, actor, GOOD_ACK, post_anyway=True),
        "move": lambda: workflow.move(
            item.id, actor, FeedbackState.INVESTIGATING, message=GOOD_ACK, post_anyway=True
        ),
        "promise": lambda: workflow.move_promise(
            item.id, actor, datetime.now(UTC).date() + timedelta(days=5), "", "a new box"
        ),
        "take": took,
        "note": lambda: workflow.add_internal_note(item.id, actor, "For the team."),
    }
    done = {}
    for action, command in commands.items():
        savepoint = db.session.begin_nested()
        try:
            done[action] = command() is not False
        except DomainError:
            done[action] = False
        savepoint.rollback()
        db.session.expire_all()
    return done


# Triage: ticks that survive filters and pages ------------------------------------------------


def _checkbox(html: str, item_id: int) -> str:
    match = re.search(rf'<input type="checkbox" id="tick-{item_id}"[^>]*>', html, re.S)
    return match.group(0) if match else ""


@pytest.mark.parametrize("headers", SHAPES)
def test_ticked_items_stay_ticked_when_the_filter_changes(
    make_client, make_user, make_feedback, make_category, headers
) -> None:
    staff = make_user(role=Role.STAFF)
    parcels, billing = make_category(name="Parcels"), make_category(name="Billing")
    wet = make_feedback(category=parcels, title="Wet parcel")
    late = make_feedback(category=parcels, title="Late parcel")
    charged = make_feedback(category=billing, title="Charged twice")
    browser = _signed_in(make_client, staff)
    if headers:
        headers = {**headers, "HX-Target": "queue-results"}

    # Two parcels ticked, then the filter changes to Billing: the ticks go along.
    response = browser.get(
        f"/admin/?category=billing&items={wet.id}&items={late.id}", headers=headers
    )
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert ("<!doctype html>" in html) is not bool(headers)  # htmx gets the results alone
    assert "Charged twice" in html and "Wet parcel" not in html
    for hidden in (wet.id, late.id):
        assert f'<input type="hidden" name="items" value="{hidden}" form="queue-filters">' in html
    assert "checked" not in _checkbox(html, charged.id)
    assert "2 ticked" in html

    # Back to Parcels with one more ticked: both parcels show ticked, Billing's travels hidden.
    back = browser.get(
        f"/admin/?category=parcels&items={wet.id}&items={late.id}&items={charged.id}",
        headers=headers,
    ).get_data(as_text=True)
    assert "checked" in _checkbox(back, wet.id) and "checked" in _checkbox(back, late.id)
    assert f'name="items" value="{charged.id}" form="queue-filters"' in back
    assert "3 ticked" in back
    # "Clear all" keeps the filter and drops the ticks; "Resolve selected together" takes them.
    clear = re.search(r'<a class="bulk__clear" href="([^"]+)"', back)
    assert clear is not None
    assert parse_qs(urlsplit(clear.group(1).replace("&amp;", "&")).query) == {
        "category": ["parcels"]
    }
    assert 'form="queue-filters"\n        formaction="/admin/resolutions/new"' in back


def test_a_tick_with_htmx_updates_only_the_count(make_client, make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    first, second = make_feedback(), make_feedback()
    browser = _signed_in(make_client, staff)
    response = browser.get(
        f"/admin/?items={first.id}&items={second.id}&items={first.id}",
        headers={**HX, "HX-Target": "queue-ticked"},
    )
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert "2 ticked" in html  # each item once
    assert "<table" not in html and 'id="queue-results"' not in html


def test_ticks_go_along_to_the_next_page_without_javascript(
    make_client, make_user, make_feedback, make_category
) -> None:
    staff = make_user(role=Role.STAFF)
    category = make_category()
    items = [make_feedback(category=category, title=f"Item {n}") for n in range(51)]
    browser = _signed_in(make_client, staff)
    first_page = browser.get(f"/admin/?items={items[0].id}").get_data(as_text=True)
    # The pages are buttons of the filter form: the boxes ticked on this page go with them.
    assert re.search(
        r'<button[^>]*type="submit" form="queue-filters" name="page" value="2"', first_page
    )
    assert "checked" in _checkbox(first_page, items[0].id)

    second = browser.get(f"/admin/?page=2&items={items[0].id}&items={items[-1].id}")
    html = second.get_data(as_text=True)
    assert f'name="items" value="{items[0].id}" form="queue-filters"' in html
    assert "checked" in _checkbox(html, items[-1].id)
    assert "2 ticked" in html


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_taking_an_item_keeps_the_queue_and_its_ticks(
    make_client, make_user, make_feedback, htmx
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = _signed_in(make_client, staff)
    queue = f"/admin/?owner=none&items={item.id}"
    page = browser.get(queue).get_data(as_text=True)
    (back,) = re.findall(r'name="next" value="([^"]+)"', page)[:1]
    assert back.replace("&amp;", "&") == queue

    data = {"items": str(item.id)} if htmx else {"next": back.replace("&amp;", "&")}
    response = post(browser, f"/admin/feedback/{item.id}/take", data, htmx=htmx)
    assert _fresh(item.id).owner_id == staff.id
    if htmx:
        assert "checked" in _checkbox(response.get_data(as_text=True), item.id)
    else:
        assert response.status_code == 302
        assert response.headers["Location"].endswith(queue)


def test_the_queue_offers_acknowledging_only_to_who_may(
    make_client, make_user, make_feedback
) -> None:
    sam, priya = make_user(role=Role.STAFF), make_user(role=Role.STAFF)
    item = make_feedback()
    workflow.take(item.id, sam)
    db.session.commit()
    ack = f'action="/admin/feedback/{item.id}/acknowledge"'
    assert ack in _signed_in(make_client, sam).get("/admin/").get_data(as_text=True)
    assert ack not in _signed_in(make_client, priya).get("/admin/").get_data(as_text=True)


# Insights: a summary first, and a way to each section ----------------------------------------


@pytest.mark.parametrize("headers", SHAPES)
def test_insights_open_with_this_week_against_last_and_a_table_of_contents(
    make_client, make_user, make_feedback, headers
) -> None:
    admin = make_user(role=Role.ADMIN)
    now = datetime.now(UTC)
    this_week = [make_feedback() for _ in range(3)]
    last_week = [make_feedback() for _ in range(1)]
    for item in last_week:
        item.created_at = now - timedelta(days=9)
    db.session.commit()

    html = (
        _signed_in(make_client, admin)
        .get("/admin/insights", headers=headers)
        .get_data(as_text=True)
    )
    summary = html.index('id="week-heading"')
    assert summary < html.index('id="toc-heading"') < html.index('id="volume-heading"')
    row = re.search(r"<th scope=\"row\">New items</th>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:2] == [str(len(this_week)), str(len(last_week))]
    assert cells[2] == f"{len(this_week) - len(last_week)} more"
    # Every entry of the contents leads to a section on the page.
    toc = html[
        html.index('id="toc-heading"') : html.index("</nav>", html.index('id="toc-heading"'))
    ]
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) >= 8
    for anchor in anchors:
        assert f'id="{anchor}"' in html, anchor
