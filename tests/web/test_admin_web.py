"""The staff triage pages and the admin pages, driven through the test client."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Category,
    Comment,
    Feedback,
    FeedbackState,
    OutboxMessage,
    Role,
    SiteSettings,
    User,
    Visibility,
    Vote,
)
from portal.services import accounts, workflow
from portal.services.errors import DomainError
from portal.services.site import settings_for_update
from portal.services.tone import ToneContext, check_tone
from portal.services.votes import set_vote
from tests.conftest import TEST_PASSWORD
from tests.helpers import browser_form, login, post

GOOD_ACK = (
    "Nia, I am so sorry the parcel arrived soaked. I have asked our courier team to check "
    "their van today and I will tell you what they find."
)


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    browser = make_client()
    login(browser, user.email)
    return browser


def _fresh(model: type, pk: int):
    db.session.expire_all()
    return db.session.get(model, pk)


def _path(response: TestResponse) -> str:
    return urlsplit(response.headers["Location"]).path


def _row(html: str, item_id: int) -> str:
    """The queue row of one item, or "" when the item is not listed."""
    match = re.search(rf'<tr id="item-{item_id}".*?</tr>', html, re.S)
    return match.group(0) if match else ""


# The queue ---------------------------------------------------------------------------------


def test_queue_lists_open_items_with_counts_overdue_and_broken_promises(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    overdue = make_feedback(title="Overdue: water meter reads double")
    overdue.ack_due_at = datetime.now(UTC) - timedelta(hours=1)
    promised = make_feedback(title="Promised: app crashes on login")
    workflow.acknowledge(promised.id, staff, "Sorry, Person. We are on it.", post_anyway=True)
    workflow.plan(
        promised.id,
        staff,
        datetime.now(UTC).date() + timedelta(days=3),
        "Fix planned, sorry.",
        outcome="the app letting you in again",
        post_anyway=True,
    )
    promised.target_date = datetime.now(UTC).date() - timedelta(days=2)
    private = make_feedback(title="Private: refund to old card", visibility=Visibility.PRIVATE)
    done = make_feedback(title="Done: broken gate fixed")
    workflow.resolve(done.id, staff, "We mended the gate.", post_anyway=True)
    db.session.commit()

    browser = _signed_in(make_client, staff)
    response = browser.get("/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for item in (overdue, promised, private):
        assert _row(page, item.id), item.title
    assert not _row(page, done.id), "closed items are not in the default queue"
    assert re.search(r"<strong>2</strong>\s*Received<", page)
    assert re.search(r"<strong>1</strong>\s*Planned<", page)
    assert re.search(r"<strong>1</strong>\s*Done<", page)
    assert re.search(r"<strong>1</strong>\s*overdue<", page)
    assert "Overdue" in _row(page, overdue.id)
    assert "Overdue" not in _row(page, private.id)
    assert "Promise broken" in _row(page, promised.id)
    assert "Promise broken" not in _row(page, overdue.id)
    assert "Private" in _row(page, private.id)


def test_queue_filters_narrow_the_list(make_client, make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    overdue = make_feedback(title="Overdue item")
    overdue.ack_due_at = datetime.now(UTC) - timedelta(minutes=5)
    owned = make_feedback(title="Owned item")
    workflow.take(owned.id, staff)
    private = make_feedback(title="Private item", visibility=Visibility.PRIVATE)
    db.session.commit()
    browser = _signed_in(make_client, staff)

    def listed(query: str) -> set[int]:
        html = browser.get(f"/admin/?{query}").get_data(as_text=True)
        return {i.id for i in (overdue, owned, private) if _row(html, i.id)}

    assert listed("") == {overdue.id, owned.id, private.id}
    assert listed("owner=none") == {overdue.id, private.id}
    assert listed("overdue=1") == {overdue.id}
    assert listed("private=1") == {private.id}
    assert listed("owner=me") == {owned.id}


def test_queue_htmx_request_gets_only_the_results_fragment(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(title="Fragment item")
    browser = _signed_in(make_client, staff)
    response = browser.get(
        "/admin/?owner=none", headers={"HX-Request": "true", "HX-Target": "queue-results"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="queue-results">')
    assert "<html" not in html and "Triage</h1>" not in html
    assert _row(html, item.id)
    assert "HX-Request" in response.headers["Vary"]
    plain = browser.get("/admin/?owner=none")
    assert "<html" in plain.get_data(as_text=True)
    assert "HX-Request" in plain.headers["Vary"]


def test_take_by_htmx_returns_the_row_with_the_new_owner(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF, display_name="Robin Rota")
    item = make_feedback()
    browser = _signed_in(make_client, staff)
    response = post(browser, f"/admin/feedback/{item.id}/take", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="item-{item.id}"')
    assert "<html" not in html
    assert "Robin Rota" in html
    assert _fresh(Feedback, item.id).owner_id == staff.id


def test_take_without_htmx_redirects_back(make_client, make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = _signed_in(make_client, staff)
    response = post(browser, f"/admin/feedback/{item.id}/take")
    assert response.status_code == 302
    assert _path(response) == "/admin/"
    assert _fresh(Feedback, item.id).owner_id == staff.id


# One item: moves and the tone check ---------------------------------------------------------


def test_acknowledge_from_the_move_form_shows_the_personal_message_on_the_timeline(
    make_client, make_user, make_feedback
) -> None:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF, display_name="Sam Carter")
    item = make_feedback(author=author)
    assert check_tone(GOOD_ACK, ToneContext(kind="complaint", preferred_name="Nia")) == []
    browser = _signed_in(make_client, staff)
    response = post(
        browser,
        f"/admin/feedback/{item.id}/move",
        {"to_state": "acknowledged", "message": GOOD_ACK},
    )
    assert response.status_code == 302
    assert _path(response) == f"/admin/feedback/{item.id}"
    item = _fresh(Feedback, item.id)
    assert item.state is FeedbackState.ACKNOWLEDGED
    assert item.owner_id == staff.id
    assert item.acknowledged_at is not None
    public = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    timeline = public[public.index('class="timeline"') :]
    assert "Nia, I am so sorry the parcel arrived soaked." in timeline
    assert "Sam Carter" in timeline
    assert "Acknowledged" in timeline


def test_a_field_meant_for_another_move_is_refused_not_dropped(
    make_client, make_user, make_feedback
) -> None:
    """A "we did" written and then a move to Planned chosen: the text would be lost without
    a word. The form says which move it belongs to and keeps everything typed."""
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, staff)
    form = {
        "to_state": "acknowledged",
        "message": GOOD_ACK,
        "we_did": "New seals on every parcel box.",
        "target_date": "2099-01-31",
    }
    response = post(browser, f"/admin/feedback/{item.id}/move", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "used only when moving to \u201cDone\u201d" in html
    assert "used only when moving to \u201cPlanned\u201d" in html
    assert "New seals on every parcel box.</textarea>" in html
    assert "Nia, I am so sorry the parcel arrived soaked." in html
    assert _fresh(Feedback, item.id).state is FeedbackState.RECEIVED

    # Planned with a "we did" and no date: both said at once.
    planned = post(browser, f"/admin/feedback/{item.id}/move", {**form, "to_state": "planned"})
    page = planned.get_data(as_text=True)
    assert "Planning needs a target date" not in page  # a date was given
    del form["target_date"]
    planned = post(browser, f"/admin/feedback/{item.id}/move", {**form, "to_state": "planned"})
    page = planned.get_data(as_text=True)
    assert "Planning needs a target date" in page
    assert "used only when moving to \u201cDone\u201d" in page

    del form["we_did"]
    assert post(browser, f"/admin/feedback/{item.id}/move", form).status_code == 302
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED


def test_tone_findings_hold_a_move_message_until_posted_anyway(
    make_client, make_user, make_feedback
) -> None:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author)
    browser = _signed_in(make_client, staff)
    form = {"to_state": "acknowledged", "message": "did you call us?"}

    response = post(browser, f"/admin/feedback/{item.id}/move", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-code="blame"' in html and "Sounds like blame" in html
    assert 'data-code="no_apology"' in html
    assert "did you call us?</textarea>" in html
    assert "Post anyway" in html
    assert _fresh(Feedback, item.id).state is FeedbackState.RECEIVED
    # Said where the page opens (the findings are far down it), with the keyboard taken there.
    notice = html.index("Not sent yet: the tone check has something for you")
    assert notice < html.index('id="move-tone"')
    assert "autofocus>Not sent yet" in html and 'href="#move-tone">your message</a>' in html

    response = post(browser, f"/admin/feedback/{item.id}/move", {**form, "post_anyway": "1"})
    assert response.status_code == 302
    item = _fresh(Feedback, item.id)
    assert item.state is FeedbackState.ACKNOWLEDGED
    assert "did you call us?" in make_client().get(f"/feedback/{item.id}").get_data(as_text=True)


def test_post_anyway_button_of_the_rendered_move_form_posts_the_message(
    make_client, make_user, make_feedback
) -> None:
    """What a browser without JavaScript sends: every field of the form as rendered after the
    findings, plus the "Post anyway" button it clicked."""
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author)
    browser = _signed_in(make_client, staff)
    action = f"/admin/feedback/{item.id}/move"
    first = post(browser, action, {"to_state": "acknowledged", "message": "did you call us?"})
    assert first.status_code == 422
    fields = browser_form(first.get_data(as_text=True), action)
    assert ("message", "did you call us?") in fields
    fields.append(("post_anyway", "1"))  # the clicked button

    response = browser.post(action, data=MultiDict(fields))
    assert response.status_code == 302, "clicking Post anyway must post the message"
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED


def test_tone_endpoint_returns_findings_for_a_blaming_draft(
    make_client, make_user, make_feedback
) -> None:
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, make_user(role=Role.STAFF))
    url = f"/admin/feedback/{item.id}/tone"
    bad = post(browser, url, {"body": "User error: you should have read the manual."}, htmx=True)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert 'data-code="blame"' in html and "User error" in html
    assert "<html" not in html
    good = post(browser, url, {"message": GOOD_ACK}, htmx=True)
    assert good.status_code == 200
    assert "No tone findings" in good.get_data(as_text=True)


def test_plan_without_a_date_is_refused_and_keeps_the_message(
    make_client, make_user, make_feedback
) -> None:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, GOOD_ACK, post_anyway=True)
    db.session.commit()
    message = "Nia, sorry for the wait. We plan to fix this in the next release."
    browser = _signed_in(make_client, staff)
    response = post(
        browser, f"/admin/feedback/{item.id}/move", {"to_state": "planned", "message": message}
    )
    html = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert "Planning needs a target date" in html
    assert f"{message}</textarea>" in html
    item = _fresh(Feedback, item.id)
    assert item.state is FeedbackState.ACKNOWLEDGED
    assert item.target_date is None


def test_planning_asks_what_we_promise_and_a_failed_form_keeps_what_was_typed(
    make_client, make_user, make_feedback
) -> None:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF, display_name="Priya from Delivery")
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, GOOD_ACK, post_anyway=True)
    db.session.commit()
    when = (datetime.now(UTC) + timedelta(days=6)).date()
    form = {
        "to_state": "planned",
        "message": "Nia, sorry for the wait. A new box is on order for you.",
        "target_date": when.isoformat(),
        "post_anyway": "Post anyway",
    }
    browser = _signed_in(make_client, staff)

    refused = post(browser, f"/admin/feedback/{item.id}/move", {**form, "outcome": "  "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Say what we promise by that date" in html
    assert "A new box is on order for you.</textarea>" in html
    assert f'value="{when.isoformat()}"' in html
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED

    too_long = post(browser, f"/admin/feedback/{item.id}/move", {**form, "outcome": "x" * 121})
    assert too_long.status_code == 400
    assert 'value="' + "x" * 121 + '"' in too_long.get_data(as_text=True)

    outcome = "a new parcel box at your door"
    done = post(browser, f"/admin/feedback/{item.id}/move", {**form, "outcome": outcome})
    assert done.status_code == 302
    item = _fresh(Feedback, item.id)
    assert item.state is FeedbackState.PLANNED and item.promise_outcome == outcome
    page = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    assert f"We promised: <strong>{outcome} by {when.day} {when:%B %Y}</strong>" in page


def test_moving_the_date_shows_the_outcome_and_keeps_what_was_typed(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    workflow.acknowledge(item.id, staff, GOOD_ACK, post_anyway=True)
    workflow.plan(
        item.id,
        staff,
        (datetime.now(UTC) + timedelta(days=3)).date(),
        "Planned, and sorry.",
        outcome="a refund in your account",
        post_anyway=True,
    )
    db.session.commit()
    browser = _signed_in(make_client, staff)
    page = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    # The outcome is in the form already: moving the date keeps it unless it is changed.
    assert 'value="a refund in your account"' in page

    later = (datetime.now(UTC) + timedelta(days=9)).date().isoformat()
    reason = "The bank needs a week longer."
    refused = post(
        browser,
        f"/admin/feedback/{item.id}/promise",
        {"new_date": later, "promise_reason": reason, "promise_outcome": ""},
    )
    assert refused.status_code == 400
    assert f'value="{reason}"' in refused.get_data(as_text=True)

    moved = post(
        browser,
        f"/admin/feedback/{item.id}/promise",
        {
            "new_date": later,
            "promise_reason": reason,
            "promise_outcome": "the full refund, with interest",
        },
    )
    assert moved.status_code == 302
    assert _fresh(Feedback, item.id).promise_outcome == "the full refund, with interest"


# Merging ----------------------------------------------------------------------------------


def test_merge_from_the_move_form_moves_votes_without_double_votes(
    make_client, make_user, make_feedback
) -> None:
    dup_author = make_user(preferred_name="Nia")
    target_author = make_user()
    voted_both = make_user()
    voted_dup_only = make_user()
    staff = make_user(role=Role.STAFF)
    target = make_feedback(author=target_author, title="Card payments fail at checkout")
    duplicate = make_feedback(author=dup_author, title="Cannot pay by card")
    set_vote(voted_both, target.id, want=True)
    set_vote(voted_both, duplicate.id, want=True)
    set_vote(voted_dup_only, duplicate.id, want=True)
    db.session.commit()
    message = (
        "Nia, sorry for the trouble. Another customer reported the same problem, "
        "so we continue the conversation there."
    )
    browser = _signed_in(make_client, staff)
    response = post(
        browser,
        f"/admin/feedback/{duplicate.id}/move",
        {"to_state": "duplicate", "message": message, "duplicate_of": str(target.id)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    duplicate, target = db.session.get(Feedback, duplicate.id), db.session.get(Feedback, target.id)
    assert duplicate.state is FeedbackState.DUPLICATE
    assert duplicate.merged_into_id == target.id
    voters = db.session.scalars(sa.select(Vote.user_id).where(Vote.feedback_id == target.id)).all()
    # target_author and voted_both had voted; dup_author and voted_dup_only come over.
    assert sorted(voters) == sorted(
        [target_author.id, voted_both.id, dup_author.id, voted_dup_only.id]
    )
    assert target.vote_count == 4
    assert duplicate.vote_count == 0
    public = make_client().get(f"/feedback/{duplicate.id}").get_data(as_text=True)
    assert f'href="/feedback/{target.id}"' in public
    assert "Card payments fail at checkout" in public


def test_done_publishes_the_we_did_and_keeps_the_personal_message_to_the_customer(
    make_client, make_user, make_verified_user, make_feedback
) -> None:
    """A private complaint closed with a personal message: the board, the feeds and other
    people get only the "we did" written for everyone; the message reaches the author."""
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author, title="Courier was rude at my door", visibility="private")
    staff = make_user(role=Role.STAFF)
    workflow.acknowledge(item.id, staff, GOOD_ACK, post_anyway=True)
    db.session.commit()
    browser = _signed_in(make_client, staff)
    personal = (
        "Nia, I am so sorry. We spoke to the courier, driver Dave at the Salford depot, "
        "and he will apologise to you in person."
    )
    form = {"to_state": "resolved", "message": personal, "you_said": "A courier was rude"}

    # Without a "we did" for everyone it is refused, and what was typed stays.
    refused = post(browser, f"/admin/feedback/{item.id}/move", form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Write what was done for the public board, without names" in page
    assert "driver Dave at the Salford depot" in page and 'value="A courier was rude"' in page
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED

    # The published text is tone-checked too (blame, not the name or an apology).
    blaming = {**form, "we_did": "Customers forgot to ask. You failed to read the note."}
    held = post(browser, f"/admin/feedback/{item.id}/move", blaming)
    assert held.status_code == 422 and "Sounds like blame" in held.get_data(as_text=True)
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED
    public = "Couriers now take a refresher on courtesy at the door."
    done = post(browser, f"/admin/feedback/{item.id}/move", {**form, "we_did": public})
    assert done.status_code == 302
    assert _fresh(Feedback, item.id).state is FeedbackState.RESOLVED
    for url in ("/you-said-we-did", "/feeds/resolutions.atom", "/feeds/resolutions.rss"):
        shown = make_client().get(url).get_data(as_text=True)
        assert "refresher on courtesy" in shown, url
        assert "Salford" not in shown and "Nia" not in shown, url
    # The author reads the message on the timeline and in the email.
    timeline = _signed_in(make_client, author).get(f"/feedback/{item.id}")
    assert "driver Dave at the Salford depot" in timeline.get_data(as_text=True)
    email = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == author.id, OutboxMessage.kind == "resolution"
        )
    )
    assert "driver Dave at the Salford depot" in email.text_body
    assert public in email.text_body
    # The message greets Nia by name, so the email does not say "Dear Nia," above it too.
    assert email.text_body.startswith("Nia, I am so sorry.")
    assert "Dear Nia" not in email.html_body


def test_merge_into_a_missing_item_number_says_so(make_client, make_user, make_feedback) -> None:
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, make_user(role=Role.STAFF))
    response = post(
        browser,
        f"/admin/feedback/{item.id}/move",
        {"to_state": "duplicate", "message": GOOD_ACK, "duplicate_of": "99999"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is no item #99999." in html
    item = _fresh(Feedback, item.id)
    assert item.state is FeedbackState.RECEIVED and item.merged_into_id is None


# Notes and replies ------------------------------------------------------------------------


def test_internal_note_is_on_the_admin_page_and_on_no_public_page(
    make_client, make_user, make_feedback
) -> None:
    author = make_user()
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=author, title="Meter reading was estimated")
    note = "Known dispute with billing, case 7781-XQ"
    browser = _signed_in(make_client, staff)
    response = post(browser, f"/admin/feedback/{item.id}/note", {"note": note})
    assert response.status_code == 302
    assert note in browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)

    readers = {
        "author": _signed_in(make_client, author),
        "other customer": _signed_in(make_client, make_user()),
        "visitor": make_client(),
    }
    for who, reader in readers.items():
        page = reader.get(f"/feedback/{item.id}").get_data(as_text=True)
        assert "Meter reading was estimated" in page, who
        assert "7781-XQ" not in page, who
        board = reader.get("/").get_data(as_text=True)
        assert "Meter reading was estimated" in board, who
        assert "7781-XQ" not in board, who

    workflow.resolve(
        item.id, staff, "We read the meter again and corrected the bill.", post_anyway=True
    )
    db.session.commit()
    for who, reader in readers.items():
        did = reader.get("/you-said-we-did").get_data(as_text=True)
        assert "We read the meter again" in did, who
        assert "7781-XQ" not in did, who
        assert "7781-XQ" not in reader.get(f"/feedback/{item.id}").get_data(as_text=True), who


def test_reply_by_a_staff_member_who_does_not_own_the_item_is_refused(
    make_client, make_user, make_feedback
) -> None:
    owner = make_user(role=Role.STAFF)
    other_staff = make_user(role=Role.STAFF)
    admin = make_user(role=Role.ADMIN)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    workflow.acknowledge(
        item.id, owner, "Nia, thank you for telling us. I am sorry; on it now.", post_anyway=True
    )
    db.session.commit()
    body = "Nia, I am sorry about this. We are checking the order now and will update you."
    url = f"/admin/feedback/{item.id}/reply"

    response = post(_signed_in(make_client, other_staff), url, {"body": body})
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0

    response = post(_signed_in(make_client, admin), url, {"body": body})
    assert response.status_code == 302
    comment = db.session.scalar(sa.select(Comment))
    assert comment.author_id == admin.id and comment.official and not comment.internal
    assert _fresh(Feedback, item.id).owner_id == owner.id


def test_the_owner_card_chooses_nobody_for_an_unowned_item_and_asks_a_reason_only_to_hand_on(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF, display_name="Sam")
    item = make_feedback()
    browser = _signed_in(make_client, staff)
    page = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert '<option selected value="">Choose a person\u2026</option>' in page
    assert "Why it changes hands" not in page
    workflow.take(item.id, staff)
    db.session.commit()
    page = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert f'<option selected value="{staff.id}">Sam</option>' in page
    assert "Why it changes hands" in page


def test_staff_are_not_offered_to_take_or_hand_on_a_colleagues_item(
    make_client, make_user, make_feedback
) -> None:
    """Pressing either used to end on a refusal: one owner per item, and only the owner or an
    admin hands it on."""
    owner = make_user(role=Role.STAFF, display_name="Priya")
    item = make_feedback()
    workflow.take(item.id, owner)
    db.session.commit()
    colleague = _signed_in(make_client, make_user(role=Role.STAFF))
    page = colleague.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert f'action="/admin/feedback/{item.id}/take"' not in page
    assert f'action="/admin/feedback/{item.id}/assign"' not in page
    assert "only Priya or an admin can hand it on" in page
    admin = _signed_in(make_client, make_user(role=Role.ADMIN))
    page = admin.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert f'action="/admin/feedback/{item.id}/take"' in page
    assert f'action="/admin/feedback/{item.id}/assign"' in page


def test_replying_on_a_received_item_says_it_acknowledges_it(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    browser = _signed_in(make_client, staff)
    page = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert "Reply and acknowledge" in page and "Your reply is the acknowledgement" in page

    body = "Nia, I am so sorry about the wait. Could you tell me the order number?"
    response = post(browser, f"/admin/feedback/{item.id}/reply", {"body": body})
    assert response.status_code == 302
    shown = browser.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert "It is the acknowledgement: the item is \u201cAcknowledged\u201d now." in shown
    assert _fresh(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED
    assert "Reply and acknowledge" not in shown and "Post reply" in shown


# Admin pages ------------------------------------------------------------------------------


def test_admin_creates_a_category_and_a_duplicate_name_keeps_the_typed_values(
    make_client, make_user
) -> None:
    browser = _signed_in(make_client, make_user(role=Role.ADMIN))
    response = post(
        browser,
        "/admin/categories",
        {
            "name": "Billing",
            "slug": "billing",
            "description": "Bills and refunds",
            "ack_target_hours": "24",
            "position": "0",
        },
    )
    assert response.status_code == 302
    category = db.session.scalar(sa.select(Category).where(Category.slug == "billing"))
    assert category.name == "Billing" and category.ack_target_hours == 24
    assert "Billing" in browser.get("/admin/categories").get_data(as_text=True)

    response = post(
        browser,
        "/admin/categories",
        {
            "name": "BILLING",
            "slug": "billing-again",
            "description": "Typed a second time",
            "ack_target_hours": "12",
            "position": "0",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Another category already has that name." in html
    assert 'value="BILLING"' in html and 'value="billing-again"' in html
    assert "Typed a second time" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == 1


def test_admin_settings_show_in_the_footer_of_every_page(make_client, make_user) -> None:
    browser = _signed_in(make_client, make_user(role=Role.ADMIN))
    response = post(
        browser,
        "/admin/settings",
        {
            "organisation_name": "Harbour Water",
            "contact_email": "help@harbour.example",
            "contact_phone": "0100 000 000",
            "contact_address": "1 Quay Street",
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 302
    settings = _fresh(SiteSettings, 1)
    assert settings.organisation_name == "Harbour Water"
    assert settings.pre_moderation is False
    footer = make_client().get("/").get_data(as_text=True).split('class="site-footer"')[1]
    assert "Talk to a person at Harbour Water" in footer
    assert "help@harbour.example" in footer

    # The footer's "Talk to a person" must lead somewhere: every contact cannot go at once.
    emptied = {"organisation_name": "Harbour Water", "time_zone": "Europe/London"}
    refused = post(browser, "/admin/settings", emptied)
    assert refused.status_code == 400
    assert "Keep at least one way to reach a person" in refused.get_data(as_text=True)
    assert _fresh(SiteSettings, 1).contact_email == "help@harbour.example"


def test_the_time_zone_list_offers_places_not_old_aliases_but_keeps_the_one_in_use(
    make_client, make_user
) -> None:
    settings = settings_for_update()
    settings.time_zone = "US/Eastern"  # chosen before the list was trimmed
    db.session.commit()
    browser = _signed_in(make_client, make_user(role=Role.ADMIN))
    page = browser.get("/admin/settings").get_data(as_text=True)
    assert '<option value="Europe/London">Europe/London</option>' in page
    assert '<option value="America/New_York">America/New York</option>' in page
    assert 'value="GB"' not in page and 'value="Etc/GMT+5"' not in page
    assert '<option selected value="US/Eastern">' in page
    assert page.count("<option") < 500


def test_admin_makes_a_customer_staff(make_client, make_user) -> None:
    admin = make_user(role=Role.ADMIN)
    person = make_user()
    person_browser = _signed_in(make_client, person)
    assert person_browser.get("/admin/").status_code == 403
    response = post(
        _signed_in(make_client, admin),
        f"/admin/users/{person.id}",
        {"role": "staff", "active": "y"},
    )
    assert response.status_code == 302
    assert _fresh(User, person.id).role is Role.STAFF
    assert person_browser.get("/admin/").status_code == 200


def test_deactivating_a_user_signs_out_their_existing_session(make_client, make_user) -> None:
    admin = make_user(role=Role.ADMIN)
    person = make_user()
    person_browser = _signed_in(make_client, person)
    assert person_browser.get("/account/").status_code == 200
    response = post(
        _signed_in(make_client, admin), f"/admin/users/{person.id}", {"role": "customer"}
    )
    assert response.status_code == 302
    person = _fresh(User, person.id)
    assert person.active is False
    signed_out = person_browser.get("/account/")
    assert signed_out.status_code == 302
    assert _path(signed_out) == "/account/login"


def test_admin_cannot_demote_or_deactivate_themselves(make_client, make_user) -> None:
    admin = make_user(role=Role.ADMIN)
    browser = _signed_in(make_client, admin)
    for form in ({"role": "staff", "active": "y"}, {"role": "admin"}):
        response = post(browser, f"/admin/users/{admin.id}", form, follow_redirects=True)
        assert response.status_code == 200
        assert "You cannot remove your own admin role" in response.get_data(as_text=True)
        admin = _fresh(User, admin.id)
        assert admin.role is Role.ADMIN and admin.active
    assert browser.get("/admin/users").status_code == 200


def test_staff_who_look_after_open_items_are_not_demoted_or_deactivated_until_reassigned(
    make_client, make_user, make_feedback
) -> None:
    admin = make_user(role=Role.ADMIN)
    sam = make_user(role=Role.STAFF, display_name="Sam from Support")
    ada = make_user(role=Role.STAFF, display_name="Ada Obi")
    item = make_feedback()
    workflow.acknowledge(item.id, sam, GOOD_ACK, post_anyway=True)
    db.session.commit()
    browser = _signed_in(make_client, admin)
    for form in ({"role": "customer", "active": "y"}, {"role": "staff"}):
        response = post(browser, f"/admin/users/{sam.id}", form, follow_redirects=True)
        assert "Sam from Support still looks after 1 open item" in response.get_data(as_text=True)
        sam = _fresh(User, sam.id)
        assert sam.role is Role.STAFF and sam.active

    # Nor can Sam close his own account meanwhile.
    with pytest.raises(DomainError, match="still looks after 1 open item"):
        accounts.delete_account(_fresh(User, sam.id), TEST_PASSWORD)
    db.session.rollback()

    workflow.assign(_fresh(Feedback, item.id).id, admin, ada.id, "Sam is moving to another team.")
    db.session.commit()
    response = post(browser, f"/admin/users/{sam.id}", {"role": "customer", "active": "y"})
    assert response.status_code == 302
    assert _fresh(User, sam.id).role is Role.CUSTOMER


def test_audit_log_lists_a_state_change(make_client, make_user, make_feedback) -> None:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF, display_name="Ola Audit")
    item = make_feedback(author=author)
    response = post(
        _signed_in(make_client, staff),
        f"/admin/feedback/{item.id}/move",
        {"to_state": "acknowledged", "message": GOOD_ACK},
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "item.state_changed"))
    html = _signed_in(make_client, make_user(role=Role.ADMIN)).get("/admin/audit")
    page = html.get_data(as_text=True)
    assert html.status_code == 200
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S) if "item.state_changed" in r)
    assert f'href="/admin/feedback/{item.id}"' in row
    assert "Ola Audit" in row
    assert "acknowledged" in row


def test_a_number_too_long_for_any_field_is_a_form_error_not_a_crash(
    make_client, make_user
) -> None:
    # 500 ones once reached WTForms' NumberRange, which overflows converting them to a float.
    browser = _signed_in(make_client, make_user(role=Role.ADMIN))
    response = post(
        browser,
        "/admin/categories",
        {"name": "Billing", "slug": "billing", "ack_target_hours": "1" * 500, "position": "0"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "That number is too long." in html
    assert 'value="Billing"' in html  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 0


def test_each_row_of_the_people_page_names_its_person_to_a_screen_reader(
    make_client, make_user
) -> None:
    make_user(display_name="Jo Bloggs")
    page = _signed_in(make_client, make_user(role=Role.ADMIN)).get("/admin/users")
    html = page.get_data(as_text=True)
    # One form for everyone: its controls, not a button per row, say whose they are.
    assert ">Role of Jo Bloggs</label>" in html
    assert 'Active<span class="visually-hidden">: Jo Bloggs</span></label>' in html


def test_a_redaction_without_a_reason_says_so_beside_its_own_field(
    make_client, make_user, make_feedback
) -> None:
    item = make_feedback()
    admin = _signed_in(make_client, make_user(role=Role.ADMIN))
    response = post(admin, f"/admin/feedback/{item.id}/redact", {"reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    redact = html[html.index(f'action="/admin/feedback/{item.id}/redact"') :]
    assert 'id="redact-reason-error"' in redact.split("</form>")[0]
    hide = html[html.index(f'action="/admin/feedback/{item.id}/hide"') :].split("</form>")[0]
    assert "field__error" not in hide


def test_a_state_chip_does_not_tick_include_closed(make_client, make_user, make_feedback) -> None:
    """Choosing "Done" shows closed items by itself; the box stays as the person left it, so
    going back to "Open items" lists open items only."""
    browser = _signed_in(make_client, make_user(role=Role.STAFF))
    done_page = browser.get("/admin/?state=resolved").get_data(as_text=True)
    assert 'name="all" value="1" checked' not in done_page
    everything = browser.get("/admin/?all=1").get_data(as_text=True)
    assert 'name="all" value="1" checked' in everything


def test_a_refused_quick_action_says_it_was_not_done_not_that_the_page_is_forbidden(
    make_client, make_user, make_feedback
) -> None:
    priya, sam = make_user(role=Role.STAFF), make_user(role=Role.STAFF)
    item = make_feedback()
    workflow.take(item.id, priya)
    db.session.commit()

    response = post(_signed_in(make_client, sam), f"/admin/feedback/{item.id}/take", {}, htmx=True)

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "That is not yours to do" in html
    assert "Someone already looks after this item" in html
    assert "That page is not for you" not in html
