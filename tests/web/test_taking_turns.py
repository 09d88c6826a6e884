"""Two people changing one item at the same moment take turns, and the second one sees what
the first one did. Each test holds the first change open in a transaction of its own, as a
request of a colleague still under way, and sends the second one meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import Feedback, FeedbackState, Follow, Role, TimelineEvent, User
from portal.services import admin as admin_service
from portal.services import workflow
from tests.helpers import login, post

GOOD_ACK = (
    "Nia, I am so sorry the parcel arrived soaked. I have asked our courier team to check "
    "their van today and I will tell you what they find."
)
FEEDBACK = Feedback.__table__
FOLLOWS = Follow.__table__


@contextmanager
def change_under_way(*statements: sa.Executable, seconds: float = 0.6) -> Iterator[None]:
    """Run the statements in a transaction that stays open for a while (a colleague's request
    that has written and not yet committed), while the block sends the second request."""
    engine = db.engine
    written = threading.Event()

    def colleague() -> None:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(statement)
            written.set()
            time.sleep(seconds)

    thread = threading.Thread(target=colleague)
    thread.start()
    assert written.wait(10)
    try:
        yield
    finally:
        thread.join(10)
    db.session.rollback()  # a fresh read, after the requests


def _signed_in(app: Flask, user) -> object:
    client = app.test_client()
    login(client, user.email)
    return client


def test_a_colleague_acknowledging_at_the_same_moment_keeps_the_item(
    app: Flask, make_user, make_feedback
) -> None:
    """Ada presses Acknowledge while Sam's acknowledgement is being saved: she is told Sam
    looks after it now, and the customer gets one owner and one acknowledgement."""
    item = make_feedback(author=make_user(preferred_name="Nia"))
    sam = make_user(role=Role.STAFF, display_name="Sam Carter")
    ada = make_user(role=Role.STAFF, display_name="Ada Obi")
    ada_browser = _signed_in(app, ada)
    sams_acknowledgement = (
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == item.id)
        .values(state=FeedbackState.ACKNOWLEDGED, owner_id=sam.id)
    )
    with change_under_way(sams_acknowledgement):
        response = post(
            ada_browser, f"/admin/feedback/{item.id}/acknowledge", {"message": GOOD_ACK}
        )

    assert response.status_code == 403
    assert "Sam Carter looks after this item" in response.get_data(as_text=True)
    item = db.session.get(Feedback, item.id)
    assert item.owner_id == sam.id
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(
            TimelineEvent.feedback_id == item.id, TimelineEvent.actor_id == ada.id
        )
    )


def test_merging_into_an_item_that_is_being_merged_itself_is_refused(
    app: Flask, make_user, make_feedback
) -> None:
    """Ada merges #A into #B while Sam's merge of #B into #C is being saved: merging into #B
    now would leave a chain, so Ada is told to merge into #C."""
    ada = make_user(role=Role.ADMIN, display_name="Ada Obi")
    first, second, third = make_feedback(), make_feedback(), make_feedback()
    ada_browser = _signed_in(app, ada)
    sams_merge = (
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == second.id)
        .values(state=FeedbackState.DUPLICATE, merged_into_id=third.id)
    )
    form = {
        "to_state": "duplicate",
        "message": "Nia, thank you: this is the same broken lift as the other report.",
        "duplicate_of": str(second.id),
        "post_anyway": "1",
    }
    with change_under_way(sams_merge):
        response = post(ada_browser, f"/admin/feedback/{first.id}/move", form)

    assert response.status_code == 400, response.status_code
    assert f"was itself merged into #{third.id}" in response.get_data(as_text=True)
    first = db.session.get(Feedback, first.id)
    assert first.state is FeedbackState.RECEIVED and first.merged_into_id is None


def test_following_an_item_while_it_is_merged_follows_where_it_continues(
    app: Flask, make_user, make_feedback
) -> None:
    """The follow button pressed while staff merge the item: the follow lands on the item the
    conversation moved to, not on the merged one, which never changes again."""
    duplicate, target = make_feedback(title="Lift broken"), make_feedback(title="Lift out")
    reader = make_user()
    browser = _signed_in(app, reader)
    merge = (
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == duplicate.id)
        .values(state=FeedbackState.DUPLICATE, merged_into_id=target.id),
        sa.update(FOLLOWS)
        .where(FOLLOWS.c.feedback_id == duplicate.id)
        .values(feedback_id=target.id),
    )
    with change_under_way(*merge):
        response = post(browser, f"/feedback/{duplicate.id}/follow", {"follow": "1"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/feedback/{target.id}")
    followed = db.session.scalars(sa.select(Follow.feedback_id).where(Follow.user_id == reader.id))
    assert list(followed) == [target.id]
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "This was merged into \u201cLift out\u201d: you will hear how it ends." in page


def test_a_merged_item_offers_no_follow_button_and_a_stale_one_follows_the_target(
    app: Flask, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    duplicate, target = make_feedback(), make_feedback()
    reader = make_user()
    browser = _signed_in(app, reader)
    assert "Follow: email me about changes" in browser.get(f"/feedback/{duplicate.id}").text
    workflow.merge(
        duplicate.id,
        staff,
        target.id,
        "The same report as the other one, thank you.",
        post_anyway=True,
    )
    db.session.commit()

    assert "Follow: email me" not in browser.get(f"/feedback/{duplicate.id}").text
    response = post(browser, f"/feedback/{duplicate.id}/follow", {"follow": "1"}, htmx=True)
    assert response.headers["HX-Redirect"].endswith(f"/feedback/{target.id}")
    assert "Following: stop emails" in browser.get(f"/feedback/{target.id}").text


USERS = User.__table__


def test_an_item_is_not_given_to_someone_while_they_are_being_demoted(
    app: Flask, make_user, make_feedback
) -> None:
    """Sam gives Ada an item while an admin's change making Ada a customer is being saved:
    the assignment waits for it and is refused, so no open item is left with an owner who
    can no longer act on it."""
    sam = make_user(role=Role.ADMIN, display_name="Sam Carter")
    ada = make_user(role=Role.STAFF, display_name="Ada Obi")
    item = make_feedback()
    sam_browser = _signed_in(app, sam)
    demotion = sa.update(USERS).where(USERS.c.id == ada.id).values(role=Role.CUSTOMER)
    with change_under_way(demotion):
        response = post(sam_browser, f"/admin/feedback/{item.id}/assign", {"owner_id": ada.id})

    assert response.status_code == 400
    # On SQLite the whole request waits for the demotion, and Ada is no longer offered.
    page = response.get_data(as_text=True)
    assert "Items can only be assigned to active staff." in page or "choose a person" in page
    assert db.session.get(Feedback, item.id).owner_id is None


def test_someone_is_not_demoted_while_an_item_is_being_given_to_them(
    app: Flask, make_user, make_feedback
) -> None:
    """The other way round: the assignment is being saved (it holds Ada's row, as
    workflow._set_owner does) when the admin demotes Ada: the demotion waits, counts the item
    and is refused."""
    admin = make_user(role=Role.ADMIN)
    ada = make_user(role=Role.STAFF, display_name="Ada Obi")
    item = make_feedback()
    admin_browser = _signed_in(app, admin)
    assignment = (
        sa.select(USERS.c.id).where(USERS.c.id == ada.id).with_for_update(read=True),
        sa.update(FEEDBACK).where(FEEDBACK.c.id == item.id).values(owner_id=ada.id),
    )
    with change_under_way(*assignment):
        response = post(
            admin_browser,
            f"/admin/users/{ada.id}",
            {"role": "customer", "active": "y"},
            follow_redirects=True,
        )

    assert "Ada Obi still looks after 1 open item" in response.get_data(as_text=True)
    assert db.session.get(User, ada.id).role is Role.STAFF


def _slow_tone_check(monkeypatch, seconds: float, started: threading.Event | None = None) -> None:
    """The staff move's tone check takes a while (the item is held meanwhile)."""
    real_tone = workflow.tone_findings

    def slow_tone(*args, **kwargs):
        if started is not None:
            started.set()
        time.sleep(seconds)
        return real_tone(*args, **kwargs)

    monkeypatch.setattr(workflow, "tone_findings", slow_tone)


def _merge_form(into: int) -> dict[str, str]:
    return {
        "to_state": "duplicate",
        "message": "Thank you: this is the same broken lift as the other report.",
        "duplicate_of": str(into),
        "post_anyway": "1",
    }


def test_following_a_merged_item_while_its_target_is_merged_too(
    app: Flask, make_user, make_feedback, monkeypatch
) -> None:
    """#D was merged into #A; a reader presses follow on #D's old page while staff merge #A
    into #B. Both go through (the follow took its rows the other way round from the merge and
    PostgreSQL stopped one as a deadlock), and the reader ends up following #B."""
    admin = make_user(role=Role.ADMIN)
    a, b, d = make_feedback(), make_feedback(), make_feedback()
    workflow.merge(d.id, admin, a.id, "Same as the other report, thank you.", post_anyway=True)
    db.session.commit()
    reader = make_user()
    reader_browser, admin_browser = _signed_in(app, reader), _signed_in(app, admin)
    a_id, b_id = a.id, b.id  # read here: the objects belong to this thread
    merging = threading.Event()
    _slow_tone_check(monkeypatch, 0.6, merging)
    answers: dict[str, int] = {}

    def merge_request() -> None:
        answers["merge"] = post(admin_browser, f"/admin/feedback/{a_id}/move", _merge_form(b_id))
        answers["merge"] = answers["merge"].status_code

    thread = threading.Thread(target=merge_request)
    thread.start()
    assert merging.wait(10)
    answers["follow"] = post(reader_browser, f"/feedback/{d.id}/follow", {"follow": "1"})
    answers["follow"] = answers["follow"].status_code
    thread.join(20)

    assert answers == {"merge": 302, "follow": 302}
    db.session.rollback()  # a fresh read, after the requests
    followed = db.session.scalars(sa.select(Follow.feedback_id).where(Follow.user_id == reader.id))
    assert list(followed) == [b_id]


def test_two_items_merged_into_each_other_at_once(
    app: Flask, make_user, make_feedback, monkeypatch
) -> None:
    """Ada merges #A into #B while Sam merges #B into #A. One merge is done; the other is told
    why it did not happen: the item is merged already. Both hold the two rows lowest id
    first, so PostgreSQL never has to break a deadlock ("changed at the same moment"), and the
    records are never "out of reach"."""
    ada, sam = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    a, b = make_feedback(), make_feedback()
    browsers = {"ada": _signed_in(app, ada), "sam": _signed_in(app, sam)}
    a_id, b_id = a.id, b.id
    _slow_tone_check(monkeypatch, 0.4)
    answers: dict[str, tuple[int, str]] = {}

    def merge(who: str, item_id: int, into: int) -> None:
        response = post(browsers[who], f"/admin/feedback/{item_id}/move", _merge_form(into))
        answers[who] = (response.status_code, response.get_data(as_text=True))

    threads = [
        threading.Thread(target=merge, args=("ada", a_id, b_id)),
        threading.Thread(target=merge, args=("sam", b_id, a_id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    (done,) = [who for who, (status, _) in answers.items() if status == 302]
    ((status, page),) = [answer for who, answer in answers.items() if who != done]
    assert status in (400, 409) and "cannot reach our records" not in page
    assert "at the same moment" not in page
    assert any(reason in page for reason in ("was itself merged into", "cannot move to"))
    db.session.rollback()  # a fresh read, after the requests
    states = {db.session.get(Feedback, i).state for i in (a_id, b_id)}
    assert FeedbackState.DUPLICATE in states and len(states) == 2


def test_resolving_together_waits_for_a_decline_being_saved(app: Flask, make_user, make_feedback):
    """ "Resolve together" holds its items as one item's page does: a colleague's decline
    being saved is not overwritten by Done (Not planned to Done is no move at all)."""
    sam = make_user(role=Role.ADMIN)
    item = make_feedback(author=make_user(preferred_name="Nia"))
    workflow.acknowledge(
        item.id, sam, "Nia, thank you, we are looking at it today.", post_anyway=True
    )
    db.session.commit()
    browser = _signed_in(app, sam)
    decline = (
        sa.update(FEEDBACK).where(FEEDBACK.c.id == item.id).values(state=FeedbackState.DECLINED)
    )
    with change_under_way(decline):
        response = post(
            browser,
            f"/admin/resolutions/new?items={item.id}",
            {"we_did": "We fixed the lift.", "you_said": "The lift", "post_anyway": "1"},
        )

    assert response.status_code == 400
    assert "cannot be resolved" in response.get_data(as_text=True)
    assert db.session.get(Feedback, item.id).state is FeedbackState.DECLINED


def test_reopening_an_item_whose_owner_has_left_the_staff_gives_it_a_new_owner(
    client, make_user, make_feedback
) -> None:
    """Ada resolved it and was made a customer later (allowed: nothing of hers was open).
    Reopened, it must not be open with a customer as its owner: whoever reopens it owns it."""
    admin = make_user(role=Role.ADMIN, display_name="Sam Carter")
    ada = make_user(role=Role.STAFF)
    item = make_feedback()
    workflow.acknowledge(item.id, ada, "Thank you, I am looking at it today.", post_anyway=True)
    workflow.resolve(item.id, ada, "We fixed the lift.", "The lift", post_anyway=True)
    db.session.commit()
    admin_service.update_user(admin, ada.id, role=Role.CUSTOMER, active=True)
    db.session.commit()

    workflow.reopen(item.id, admin, "It broke again this morning.", post_anyway=True)
    db.session.commit()
    item = db.session.get(Feedback, item.id)
    assert item.state.is_open and item.owner_id == admin.id
    new_owners = db.session.scalars(
        sa.select(TimelineEvent.new_owner_id).where(TimelineEvent.feedback_id == item.id)
    )
    assert admin.id in list(new_owners)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Sam Carter is looking after this now" in page
