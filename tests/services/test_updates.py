"""What's new for me: the changes on what a person follows, and the unread count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.models import Feedback, FeedbackKind, FeedbackState, Role, User, Visibility
from portal.services import updates, votes, workflow
from portal.services.feedback import add_comment
from portal.services.notifications import follow, set_following
from portal.services.updates import UpdateKind

MakeUser = Callable[..., User]
MakeFeedback = Callable[..., Feedback]
SOON = date.today() + timedelta(days=30)
ACK = "Thank you, I am looking at this now and will write again by Friday."


@pytest.fixture
def staff(make_user: MakeUser) -> User:
    return make_user(role=Role.STAFF, display_name="Sam Staff")


@pytest.fixture
def customer(make_user: MakeUser) -> User:
    return make_user(display_name="Cora Customer")


def _lines(user: User) -> list[tuple[UpdateKind, str, FeedbackState | None]]:
    return [(u.kind, u.title, u.to_state) for u in updates.updates_page(user).updates]


def test_a_staff_reply_on_my_item_is_an_update_and_counts_as_unread(
    make_feedback: MakeFeedback, customer: User, staff: User
) -> None:
    item = make_feedback(author=customer, title="Kettle lid cracked")
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.reply(item.id, staff, "A new lid is on its way to you today.", post_anyway=True)
    db.session.commit()

    shown = updates.updates_page(customer).updates
    assert [u.kind for u in shown] == [UpdateKind.REPLY, UpdateKind.STATE]  # newest first
    reply = shown[0]
    assert (reply.title, reply.actor_name, reply.yours) == ("Kettle lid cracked", "Sam Staff", True)
    assert reply.quote == "A new lid is on its way to you today."
    assert all(u.new for u in shown)
    assert updates.unread_count(customer) == 2


def test_seeing_the_updates_resets_the_count_and_only_later_changes_are_new(
    make_feedback: MakeFeedback, customer: User, staff: User
) -> None:
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    db.session.commit()
    updates.mark_updates_seen(customer)
    db.session.commit()
    assert updates.unread_count(customer) == 0

    workflow.investigate(item.id, staff, "We are testing the batch now.", post_anyway=True)
    db.session.commit()
    assert updates.unread_count(customer) == 1
    shown = updates.updates_page(customer).updates
    assert [(u.to_state, u.new) for u in shown] == [
        (FeedbackState.INVESTIGATING, True),
        (FeedbackState.ACKNOWLEDGED, False),
    ]


def test_a_voter_follows_and_hears_of_planning_in_one_line_with_its_date(
    make_feedback: MakeFeedback, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback(title="Dark mode", kind=FeedbackKind.IDEA)
    voter = make_user()
    votes.set_vote(voter, item.id, True)
    db.session.commit()
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.plan(
        item.id,
        staff,
        SOON,
        "We will build it next.",
        outcome="dark mode in the app",
        post_anyway=True,
    )
    db.session.commit()

    shown = updates.updates_page(voter).updates
    # The promise made by planning is told with the move, not as a line of its own.
    assert [(u.kind, u.to_state) for u in shown] == [
        (UpdateKind.STATE, FeedbackState.PLANNED),
        (UpdateKind.STATE, FeedbackState.ACKNOWLEDGED),
    ]
    assert shown[0].target_date == SOON
    assert shown[0].yours is False
    assert updates.unread_count(voter) == 2


def test_a_moved_promise_says_the_new_date_and_the_reason(
    make_feedback: MakeFeedback, customer: User, staff: User
) -> None:
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.plan(item.id, staff, SOON, "Planned.", outcome="a fix", post_anyway=True)
    later = SOON + timedelta(days=14)
    workflow.move_promise(item.id, staff, later, "The supplier is two weeks late.")
    db.session.commit()

    moved = updates.updates_page(customer).updates[0]
    assert moved.kind is UpdateKind.PROMISE_MOVED
    assert moved.target_date == later
    assert moved.quote == "The supplier is two weeks late."
    assert updates.unread_count(customer) == 3


def test_done_asks_the_author_whether_it_fixed_it_and_tells_a_voter_only(
    make_feedback: MakeFeedback, customer: User, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback(author=customer)
    voter = make_user()
    votes.set_vote(voter, item.id, True)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.publish_resolution([item.id], staff, "We replaced the lids.", "", post_anyway=True)
    db.session.commit()

    done_for_author = updates.updates_page(customer).updates[0]
    done_for_voter = updates.updates_page(voter).updates[0]
    assert done_for_author.to_state is FeedbackState.RESOLVED
    assert done_for_author.may_answer_fix is True
    assert done_for_voter.to_state is FeedbackState.RESOLVED
    assert done_for_voter.may_answer_fix is False


def test_someone_who_does_not_follow_sees_nothing(
    make_feedback: MakeFeedback, customer: User, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback(author=customer)
    stranger = make_user()
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.reply(item.id, staff, "On its way.", post_anyway=True)
    db.session.commit()
    assert updates.updates_page(stranger).updates == []
    assert updates.unread_count(stranger) == 0


def test_unfollowing_ends_the_updates(
    make_feedback: MakeFeedback, customer: User, staff: User
) -> None:
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    db.session.commit()
    set_following(customer, item.id, False)
    db.session.commit()
    assert updates.unread_count(customer) == 0
    assert updates.updates_page(customer).updates == []


def test_internal_notes_hidden_replies_and_my_own_doings_are_never_updates(
    make_feedback: MakeFeedback, customer: User, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    db.session.commit()
    updates.mark_updates_seen(customer)
    db.session.commit()
    workflow.add_internal_note(item.id, staff, "Customer is on the gold plan; call them.")
    hidden = workflow.reply(item.id, staff, "A reply we then hide.", post_anyway=True)
    assert hidden is not None
    workflow.hide_comment(hidden.id, staff, "Sent to the wrong item.")
    add_comment(customer, item.id, "Thanks, waiting for it.", post_anyway=True)
    other = make_user()
    add_comment(other, item.id, "Same here.", post_anyway=True)
    db.session.commit()

    assert updates.unread_count(customer) == 0
    assert all("gold plan" not in u.quote for u in updates.updates_page(customer).updates)


def test_a_private_item_is_never_shown_to_anyone_but_its_author_and_staff(
    make_feedback: MakeFeedback, customer: User, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback(author=customer, title="My account number", visibility=Visibility.PRIVATE)
    # A follow that should not be there (say, from before the item was made private).
    other = make_user()
    follow(other, item)
    follow(staff, item)
    db.session.commit()
    admin = make_user(role=Role.ADMIN)
    workflow.acknowledge(item.id, admin, ACK, post_anyway=True)
    db.session.commit()

    assert updates.unread_count(other) == 0
    assert updates.updates_page(other).updates == []
    assert [u.title for u in updates.updates_page(customer).updates] == ["My account number"]
    assert updates.unread_count(staff) == 1  # staff see what they follow


def test_a_hidden_item_drops_out_and_a_redacted_one_loses_its_title(
    make_feedback: MakeFeedback, customer: User, make_user: MakeUser, staff: User
) -> None:
    hidden = make_feedback(author=customer, title="Rude words")
    redacted = make_feedback(title="My card is 4111 1111 1111 1111", post_anyway=True)
    voter = make_user()
    votes.set_vote(voter, redacted.id, True)
    votes.set_vote(voter, hidden.id, True)
    for item in (hidden, redacted):
        workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    workflow.set_hidden(hidden.id, staff, True, "Abusive.")
    workflow.redact(redacted.id, staff, "A card number.")
    db.session.commit()

    assert updates.updates_page(customer).updates == []  # not even its author, as its page
    titles = [u.title for u in updates.updates_page(voter).updates]
    assert len(titles) == 1
    assert "4111" not in titles[0]
    assert f"#{redacted.id}" in titles[0]


def test_changes_before_someone_followed_are_not_news_to_them(
    make_feedback: MakeFeedback, make_user: MakeUser, staff: User
) -> None:
    item = make_feedback()
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    db.session.commit()
    late = make_user()
    votes.set_vote(late, item.id, True)
    db.session.commit()
    assert updates.unread_count(late) == 0
    workflow.investigate(item.id, staff, "Testing it now.", post_anyway=True)
    db.session.commit()
    assert updates.unread_count(late) == 1


def test_updates_come_in_pages_newest_first(
    make_feedback: MakeFeedback, customer: User, staff: User
) -> None:
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    for n in range(4):
        workflow.reply(item.id, staff, f"Reply number {n}.", post_anyway=True)
    db.session.commit()

    first = updates.updates_page(customer, 1, per_page=2)
    second = updates.updates_page(customer, 2, per_page=2)
    third = updates.updates_page(customer, 3, per_page=2)
    assert [u.quote for u in first.updates] == ["Reply number 3.", "Reply number 2."]
    assert [u.quote for u in second.updates] == ["Reply number 1.", "Reply number 0."]
    assert [u.kind for u in third.updates] == [UpdateKind.STATE]
    assert (first.has_next, second.has_next, third.has_next) == (True, True, False)
    assert (first.has_prev, second.has_prev) == (False, True)


def test_the_count_stops_at_its_cap(
    make_feedback: MakeFeedback, customer: User, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(updates, "COUNT_CAP", 3)
    item = make_feedback(author=customer)
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)
    for n in range(4):
        workflow.reply(item.id, staff, f"Reply number {n}.", post_anyway=True)
    db.session.commit()
    assert updates.unread_count(customer) == 3


def test_a_handover_to_someone_else_is_news_and_taking_it_by_answering_is_not(
    make_feedback: MakeFeedback, customer: User, staff: User, make_user: MakeUser
) -> None:
    item = make_feedback(author=customer, title="Lift out of order")
    workflow.acknowledge(item.id, staff, ACK, post_anyway=True)  # Sam takes it by answering
    db.session.commit()
    assert [u.kind for u in updates.updates_page(customer).updates] == [UpdateKind.STATE]

    lee = make_user(role=Role.STAFF, display_name="Lee Chen")
    workflow.assign(item.id, staff, lee.id, "Lee knows the lifts best.")
    db.session.commit()
    handover = updates.updates_page(customer).updates[0]
    assert handover.kind is UpdateKind.OWNER
    assert (handover.new_owner_name, handover.quote) == ("Lee Chen", "Lee knows the lifts best.")
