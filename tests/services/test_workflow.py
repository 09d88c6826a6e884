"""The resolution workflow: every legal move, every refusal, ownership, promises, merges,
resolutions, "Did this fix it?" and moderation, driven through portal.services.workflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Comment,
    Feedback,
    FeedbackState,
    OutboxMessage,
    Resolution,
    Role,
    TimelineEvent,
    TimelineKind,
    User,
    Visibility,
    Vote,
)
from portal.services import workflow
from portal.services.errors import NotAllowed
from portal.services.states import ALLOWED_TRANSITIONS
from portal.services.visibility import is_public
from portal.services.votes import set_vote
from portal.services.workflow import (
    InvalidTransition,
    MissingInput,
    NotYetAnswered,
    WorkflowError,
)

S = FeedbackState


# Helpers -----------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


def _future(days: int = 30) -> date:
    return _today() + timedelta(days=days)


def _inputs(to_state: FeedbackState, target: Feedback | None = None) -> dict[str, Any]:
    """What a move to this state needs."""
    kwargs: dict[str, Any] = {"message": f"Moving this to {to_state.label}, personally."}
    if to_state is S.PLANNED:
        kwargs["target_date"] = _future()
        kwargs["outcome"] = "the new timetable on the website"
    if to_state is S.DUPLICATE:
        kwargs["duplicate_of"] = target.id if target else None
        # A planned item carries a promised date: the merge says what becomes of it.
        kwargs["promise"] = workflow.PromiseChoice.KEEP
    return kwargs


def _bring_to(item: Feedback, actor: User, state: FeedbackState, make_feedback) -> None:
    """Bring a received item to a state through legal moves, and commit."""
    if state is S.RECEIVED:
        return
    target = make_feedback() if state is S.DUPLICATE else None
    workflow.move(item.id, actor, state, **_inputs(state, target), post_anyway=True)
    db.session.commit()
    assert item.state is state


def _events(item_id: int, kind: TimelineKind | None = None) -> list[TimelineEvent]:
    query = sa.select(TimelineEvent).where(TimelineEvent.feedback_id == item_id)
    if kind is not None:
        query = query.where(TimelineEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TimelineEvent.id)))


def _audits(action: str | None = None, target_id: int | None = None) -> list[AuditEntry]:
    query = sa.select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


def _count(model: type, *where: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _voters(item_id: int) -> list[int]:
    return sorted(db.session.scalars(sa.select(Vote.user_id).where(Vote.feedback_id == item_id)))


def _fresh(item: Feedback) -> Feedback:
    """The item as the database has it now."""
    db.session.expire_all()
    return db.session.get(Feedback, item.id)


@dataclass(frozen=True)
class Snapshot:
    state: FeedbackState
    owner_id: int | None
    target_date: date | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    merged_into_id: int | None
    timeline: int
    audit: int
    resolutions: int
    votes: int


def _snapshot(item: Feedback) -> Snapshot:
    return Snapshot(
        state=item.state,
        owner_id=item.owner_id,
        target_date=item.target_date,
        acknowledged_at=item.acknowledged_at,
        resolved_at=item.resolved_at,
        merged_into_id=item.merged_into_id,
        timeline=_count(TimelineEvent),
        audit=_count(AuditEntry),
        resolutions=_count(Resolution),
        votes=_count(Vote),
    )


def _assert_refused(
    item: Feedback, call: Callable[[], object], error: type[Exception], match: str
) -> None:
    """The call raises the error with a message saying why, and changes nothing."""
    before = _snapshot(item)
    with pytest.raises(error, match=match):
        call()
    # Right after the refusal, in the same session: the item has not moved.
    assert item.state is before.state
    db.session.rollback()
    assert _snapshot(item) == before


@pytest.fixture
def staff(make_user) -> User:
    return make_user(role=Role.STAFF, display_name="Sam Staff")


@pytest.fixture
def other_staff(make_user) -> User:
    return make_user(role=Role.STAFF, display_name="Olga Other")


@pytest.fixture
def admin(make_user) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


@pytest.fixture
def customer(make_user) -> User:
    return make_user(display_name="Cora Customer")


# 1. Every allowed transition ---------------------------------------------------------------

TRANSITIONS = [
    pytest.param(source, dest, id=f"{source.value}->{dest.value}")
    for source, dests in ALLOWED_TRANSITIONS.items()
    for dest in sorted(dests, key=list(FeedbackState).index)
]


def test_transition_table_is_not_empty_and_closes_declined_and_duplicate() -> None:
    assert len(TRANSITIONS) == 26
    assert ALLOWED_TRANSITIONS[S.DECLINED] == frozenset()
    assert ALLOWED_TRANSITIONS[S.DUPLICATE] == frozenset()


@pytest.mark.parametrize(("source", "dest"), TRANSITIONS)
def test_every_allowed_transition_moves_the_item_and_records_timeline_and_audit(
    source: FeedbackState, dest: FeedbackState, staff, make_feedback
) -> None:
    item = make_feedback()
    _bring_to(item, staff, source, make_feedback)
    target = make_feedback() if dest is S.DUPLICATE else None
    inputs = _inputs(dest, target)
    events_before = len(_events(item.id, TimelineKind.STATE_CHANGED))
    audits_before = len(_audits("item.state_changed", item.id))

    assert workflow.move(item.id, staff, dest, **inputs, post_anyway=True) is item
    db.session.commit()

    item = _fresh(item)
    assert item.state is dest
    events = _events(item.id, TimelineKind.STATE_CHANGED)
    assert len(events) == events_before + 1
    event = events[-1]
    assert (event.from_state, event.to_state) == (source, dest)
    assert event.actor_id == staff.id
    assert event.message == inputs["message"]
    assert event.message_html
    audits = _audits("item.state_changed", item.id)
    assert len(audits) == audits_before + 1
    assert audits[-1].actor_id == staff.id
    assert audits[-1].target_type == "feedback"
    assert audits[-1].detail == {
        "from_state": source.value,
        "to_state": dest.value,
        "message": inputs["message"],
    }
    if dest is S.PLANNED:
        assert item.target_date == inputs["target_date"]
        assert item.promise_outcome == inputs["outcome"]
    if dest is S.DUPLICATE:
        assert item.merged_into_id == target.id
    if dest is S.RESOLVED:
        assert item.resolution_id is not None
        assert item.resolved_at is not None
    if source is S.RESOLVED:
        assert item.resolved_at is None


# 2. Refused moves change nothing and say why -----------------------------------------------


@pytest.mark.parametrize(
    ("to_state", "match"),
    [
        (S.ACKNOWLEDGED, "Leaving “Received” is the acknowledgement"),
        (S.INVESTIGATING, "Leaving “Received” is the acknowledgement"),
        (S.IN_PROGRESS, "Leaving “Received” is the acknowledgement"),
        (S.DUPLICATE, "Leaving “Received” is the acknowledgement"),
        (S.DECLINED, "Declining needs a reason"),
    ],
)
def test_leaving_received_without_a_personal_message_is_refused(
    to_state, match, staff, make_feedback
) -> None:
    item = make_feedback()
    target = make_feedback()
    _assert_refused(
        item,
        lambda: workflow.move(
            item.id, staff, to_state, message="   ", duplicate_of=target.id, post_anyway=True
        ),
        MissingInput,
        match,
    )
    assert item.acknowledged_at is None


def test_plan_without_target_date_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, S.PLANNED, message="Planned.", post_anyway=True),
        MissingInput,
        "Planning needs a target date",
    )


def test_plan_with_a_past_date_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.plan(
            item.id,
            staff,
            _today() - timedelta(days=1),
            "Planned.",
            outcome="a refund in your account",
            post_anyway=True,
        ),
        WorkflowError,
        "cannot be in the past",
    )


def test_resolve_without_we_did_text_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.IN_PROGRESS, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, S.RESOLVED, message="  \n ", post_anyway=True),
        MissingInput,
        "Resolving needs the “we did” text",
    )


def test_decline_without_reason_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.decline(item.id, staff, "", post_anyway=True),
        MissingInput,
        "Declining needs a reason",
    )


def test_merge_without_target_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, S.DUPLICATE, message="Same thing.", post_anyway=True),
        MissingInput,
        "Merging needs the item to merge into",
    )


def test_merge_into_itself_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.merge(item.id, staff, item.id, "Same thing.", post_anyway=True),
        WorkflowError,
        "cannot be merged into itself",
    )


def test_merge_into_an_item_that_is_itself_a_duplicate_is_refused(staff, make_feedback) -> None:
    original = make_feedback()
    duplicate = make_feedback()
    workflow.merge(duplicate.id, staff, original.id, "Same as the other one.", post_anyway=True)
    db.session.commit()
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.merge(item.id, staff, duplicate.id, "Same thing.", post_anyway=True),
        WorkflowError,
        rf"#{duplicate.id} was itself merged into #{original.id}; merge into that one",
    )


def test_reopen_without_reason_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.RESOLVED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, S.INVESTIGATING, message=" ", post_anyway=True),
        MissingInput,
        "Reopening needs a reason",
    )
    assert _fresh(item).resolved_at is not None


BACKWARD_MOVES = [
    pytest.param(source, dest, id=f"{source.value}->{dest.value}")
    for source in [S.ACKNOWLEDGED, S.INVESTIGATING, S.PLANNED, S.IN_PROGRESS]
    for dest in [S.ACKNOWLEDGED, S.INVESTIGATING, S.PLANNED, S.IN_PROGRESS]
    if list(FeedbackState).index(dest) <= list(FeedbackState).index(source)
]


@pytest.mark.parametrize(("source", "dest"), BACKWARD_MOVES)
def test_moving_back_or_to_the_same_state_is_an_invalid_transition(
    source, dest, staff, make_feedback
) -> None:
    item = make_feedback()
    _bring_to(item, staff, source, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, dest, **_inputs(dest), post_anyway=True),
        InvalidTransition,
        f"“{source.label}” cannot move to “{dest.label}”",
    )


def test_nothing_moves_an_item_back_to_received(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, S.RECEIVED, message="Back you go.", post_anyway=True),
        InvalidTransition,
        "Nothing moves an item back to “Received”",
    )


@pytest.mark.parametrize("closed", [S.DECLINED, S.DUPLICATE])
@pytest.mark.parametrize("dest", list(FeedbackState))
def test_no_move_leads_out_of_declined_or_duplicate(closed, dest, staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, closed, make_feedback)
    other = make_feedback()
    _assert_refused(
        item,
        lambda: workflow.move(item.id, staff, dest, **_inputs(dest, other), post_anyway=True),
        InvalidTransition,
        "cannot (move to|be resolved)|Nothing moves an item back",
    )


def test_resolved_item_can_only_be_reopened(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.RESOLVED, make_feedback)
    other = make_feedback()
    for dest in [S.PLANNED, S.IN_PROGRESS, S.RESOLVED, S.DECLINED, S.DUPLICATE]:
        _assert_refused(
            item,
            lambda dest=dest: workflow.move(
                item.id, staff, dest, **_inputs(dest, other), post_anyway=True
            ),
            InvalidTransition,
            "cannot (move to|be resolved)",
        )


CUSTOMER_ACTIONS: dict[str, Callable[[Feedback, User, User], object]] = {
    "acknowledge": lambda item, customer, staff: workflow.move(
        item.id, customer, S.ACKNOWLEDGED, message="Thanks!", post_anyway=True
    ),
    "plan": lambda item, customer, staff: workflow.plan(
        item.id, customer, _future(), "Soon.", outcome="a fix", post_anyway=True
    ),
    "decline": lambda item, customer, staff: workflow.decline(
        item.id, customer, "No.", post_anyway=True
    ),
    "take": lambda item, customer, staff: workflow.take(item.id, customer),
    "assign": lambda item, customer, staff: workflow.assign(item.id, customer, staff.id),
    "reply": lambda item, customer, staff: workflow.reply(
        item.id, customer, "Official!", post_anyway=True
    ),
    "note": lambda item, customer, staff: workflow.add_internal_note(item.id, customer, "Psst."),
    "hide": lambda item, customer, staff: workflow.set_hidden(item.id, customer, True, "Spam."),
    "redact": lambda item, customer, staff: workflow.redact(item.id, customer, "Personal data."),
    "resolve": lambda item, customer, staff: workflow.resolve(
        item.id, customer, "Did it.", post_anyway=True
    ),
    "move_promise": lambda item, customer, staff: workflow.move_promise(
        item.id, customer, _future(), "Later."
    ),
}


@pytest.mark.parametrize("action", CUSTOMER_ACTIONS)
def test_a_customer_acting_as_staff_is_not_allowed(action, customer, staff, make_feedback) -> None:
    # Even the item's own author may not move it.
    item = make_feedback(author=customer)
    _assert_refused(
        item,
        lambda: CUSTOMER_ACTIONS[action](item, customer, staff),
        NotAllowed,
        "Only staff can do that",
    )
    assert item.hidden is False
    assert item.redacted_at is None
    assert _count(Comment) == 0


def test_a_customer_cannot_reopen_a_resolved_item(customer, staff, make_feedback) -> None:
    item = make_feedback(author=customer)
    _bring_to(item, staff, S.RESOLVED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.reopen(item.id, customer, "It is still broken.", post_anyway=True),
        NotAllowed,
        "Only staff can do that",
    )


def test_an_inactive_staff_member_is_not_allowed(staff, make_feedback) -> None:
    item = make_feedback()
    staff.active = False
    db.session.commit()
    _assert_refused(
        item,
        lambda: workflow.acknowledge(item.id, staff, "Thanks, we read it.", post_anyway=True),
        NotAllowed,
        "Only staff can do that",
    )


OWNER_ACTIONS: dict[str, Callable[[Feedback, User], object]] = {
    "move": lambda item, actor: workflow.move(
        item.id, actor, S.INVESTIGATING, message="Looking.", post_anyway=True
    ),
    "plan": lambda item, actor: workflow.plan(
        item.id, actor, _future(), "Planned.", outcome="a fix", post_anyway=True
    ),
    "decline": lambda item, actor: workflow.decline(
        item.id, actor, "We will not.", post_anyway=True
    ),
    "reply": lambda item, actor: workflow.reply(item.id, actor, "Our answer.", post_anyway=True),
    "resolve": lambda item, actor: workflow.resolve(item.id, actor, "We did it.", post_anyway=True),
    "move_promise": lambda item, actor: workflow.move_promise(
        item.id, actor, _future(9), "Later.", "a fix"
    ),
}


@pytest.mark.parametrize("loaded", ["as a request loads it", "with the owner in the session"])
@pytest.mark.parametrize("action", OWNER_ACTIONS)
def test_staff_acting_on_an_item_another_staff_member_owns_is_not_allowed(
    action, loaded, staff, other_staff, make_feedback
) -> None:
    item = make_feedback()
    _bring_to(item, other_staff, S.ACKNOWLEDGED, make_feedback)
    assert item.owner_id == other_staff.id
    actor = staff
    if loaded == "as a request loads it":
        # A request loads the item and the signed-in user, not the item's owner.
        item_id, actor_id = item.id, staff.id
        db.session.expunge_all()
        item = db.session.get(Feedback, item_id)
        actor = db.session.get(User, actor_id)
    _assert_refused(
        item,
        lambda: OWNER_ACTIONS[action](item, actor),
        NotAllowed,
        "Olga Other looks after this item. Ask them, or an admin, to reassign it to you.",
    )
    assert _count(Comment) == 0


@pytest.mark.parametrize("action", OWNER_ACTIONS)
def test_an_admin_may_act_on_an_item_another_staff_member_owns(
    action, admin, other_staff, make_feedback
) -> None:
    item = make_feedback()
    _bring_to(item, other_staff, S.ACKNOWLEDGED, make_feedback)
    audits_before = _count(AuditEntry)

    OWNER_ACTIONS[action](item, admin)
    db.session.commit()

    item = _fresh(item)
    assert item.owner_id == other_staff.id  # the admin acts without taking the item
    assert _count(AuditEntry) > audits_before
    assert _audits()[-1].actor_id == admin.id


# 3. Ownership ------------------------------------------------------------------------------


def test_acting_on_an_unowned_item_makes_the_actor_its_owner(staff, make_feedback) -> None:
    item = make_feedback()
    assert item.owner_id is None

    workflow.acknowledge(
        item.id, staff, "Thank you, I have read this and will follow it up.", post_anyway=True
    )
    db.session.commit()

    item = _fresh(item)
    assert item.owner_id == staff.id
    [owner_event] = _events(item.id, TimelineKind.OWNER_CHANGED)
    assert owner_event.actor_id == staff.id
    assert owner_event.new_owner_id == staff.id
    [entry] = _audits("item.owner_changed", item.id)
    assert entry.detail["from_owner"] is None
    assert entry.detail["to_owner"] == staff.id


def test_acting_again_as_owner_does_not_record_another_owner_change(staff, make_feedback) -> None:
    item = make_feedback()
    workflow.acknowledge(item.id, staff, "Thanks, I have read this.", post_anyway=True)
    workflow.investigate(item.id, staff, "Looking into it now.", post_anyway=True)
    db.session.commit()
    assert len(_events(item.id, TimelineKind.OWNER_CHANGED)) == 1


def test_take_makes_staff_the_owner_of_an_unowned_item(staff, make_feedback) -> None:
    item = make_feedback()
    workflow.take(item.id, staff)
    db.session.commit()
    assert _fresh(item).owner_id == staff.id
    assert len(_events(item.id, TimelineKind.OWNER_CHANGED)) == 1
    assert _fresh(item).state is S.RECEIVED  # taking is not acknowledging


def test_taking_an_item_you_already_own_records_nothing(staff, make_feedback) -> None:
    item = make_feedback()
    workflow.take(item.id, staff)
    db.session.commit()
    before = _snapshot(item)
    workflow.take(item.id, staff)
    db.session.commit()
    assert _snapshot(_fresh(item)) == before


def test_staff_cannot_take_an_item_someone_else_owns(staff, other_staff, make_feedback) -> None:
    item = make_feedback()
    workflow.take(item.id, other_staff)
    db.session.commit()
    _assert_refused(
        item, lambda: workflow.take(item.id, staff), NotAllowed, "needs reassigning instead"
    )


def test_an_admin_may_take_an_item_someone_else_owns(admin, other_staff, make_feedback) -> None:
    item = make_feedback()
    workflow.take(item.id, other_staff)
    db.session.commit()
    workflow.take(item.id, admin)
    db.session.commit()
    assert _fresh(item).owner_id == admin.id
    assert "Reassigned by an admin." in _events(item.id, TimelineKind.OWNER_CHANGED)[-1].message


@pytest.mark.parametrize("who", ["customer", "inactive staff"])
def test_assigning_to_anyone_but_active_staff_is_refused(
    who, staff, customer, make_user, make_feedback
) -> None:
    item = make_feedback()
    new_owner = customer
    if who == "inactive staff":
        new_owner = make_user(role=Role.STAFF)
        new_owner.active = False
        db.session.commit()
    _assert_refused(
        item,
        lambda: workflow.assign(item.id, staff, new_owner.id, "They know this area."),
        WorkflowError,
        "Items can only be assigned to active staff",
    )


def test_assigning_an_unowned_item_needs_no_reason(staff, other_staff, make_feedback) -> None:
    item = make_feedback()
    workflow.assign(item.id, staff, other_staff.id)
    db.session.commit()
    assert _fresh(item).owner_id == other_staff.id
    assert _events(item.id, TimelineKind.OWNER_CHANGED)[-1].actor_id == staff.id


def test_reassigning_an_owned_item_without_a_reason_is_refused(
    staff, other_staff, make_feedback
) -> None:
    item = make_feedback()
    workflow.take(item.id, staff)
    db.session.commit()
    _assert_refused(
        item,
        lambda: workflow.assign(item.id, staff, other_staff.id, "  "),
        MissingInput,
        "Reassigning an item needs a reason",
    )
    assert item.owner_id == staff.id


def test_reassigning_with_a_reason_changes_owner_and_shows_the_reason_on_the_timeline(
    staff, other_staff, make_feedback
) -> None:
    item = make_feedback()
    workflow.take(item.id, staff)
    db.session.commit()

    workflow.assign(item.id, staff, other_staff.id, "Olga runs the billing team.")
    db.session.commit()

    assert _fresh(item).owner_id == other_staff.id
    event = _events(item.id, TimelineKind.OWNER_CHANGED)[-1]
    assert event.actor_id == staff.id
    assert event.new_owner_id == other_staff.id
    assert event.message == "Olga runs the billing team."
    entry = _audits("item.owner_changed", item.id)[-1]
    assert entry.detail == {
        "from_owner": staff.id,
        "to_owner": other_staff.id,
        "reason": "Olga runs the billing team.",
    }


def test_staff_who_do_not_own_an_item_cannot_reassign_it(
    staff, other_staff, make_user, make_feedback
) -> None:
    item = make_feedback()
    workflow.take(item.id, other_staff)
    db.session.commit()
    third = make_user(role=Role.STAFF)
    _assert_refused(
        item,
        lambda: workflow.assign(item.id, staff, third.id, "I think they should have it."),
        NotAllowed,
        "Only the current owner or an admin can reassign",
    )


# 4. Acknowledgement ------------------------------------------------------------------------


LEAVING_RECEIVED: dict[str, Callable[[Feedback, User, Feedback], object]] = {
    "acknowledge": lambda item, actor, other: workflow.acknowledge(
        item.id, actor, "Thanks, I have read it.", post_anyway=True
    ),
    "decline": lambda item, actor, other: workflow.decline(
        item.id,
        actor,
        "Thank you; this is not something we will change, because...",
        post_anyway=True,
    ),
    "merge": lambda item, actor, other: workflow.merge(
        item.id, actor, other.id, "Thank you; this is already being discussed.", post_anyway=True
    ),
}


@pytest.mark.parametrize("route", LEAVING_RECEIVED)
def test_leaving_received_by_any_route_sets_acknowledged_at(route, staff, make_feedback) -> None:
    item = make_feedback()
    other = make_feedback()
    assert item.acknowledged_at is None
    started = datetime.now(UTC)

    LEAVING_RECEIVED[route](item, staff, other)
    db.session.commit()

    item = _fresh(item)
    assert item.acknowledged_at is not None
    assert item.acknowledged_at >= started - timedelta(seconds=1)
    assert item.overdue is False


def test_later_moves_keep_the_first_acknowledgement_time(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    first = _fresh(item).acknowledged_at
    workflow.investigate(item.id, staff, "Looking into it.", post_anyway=True)
    db.session.commit()
    assert _fresh(item).acknowledged_at == first


# 5. Promises -------------------------------------------------------------------------------


def test_plan_sets_the_target_date_and_records_the_promise(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    when = _future(14)

    workflow.plan(
        item.id,
        staff,
        when,
        "We will ship this in the next release.",
        outcome="  dark mode in the app  ",
        post_anyway=True,
    )
    db.session.commit()

    item = _fresh(item)
    assert item.state is S.PLANNED
    assert item.target_date == when
    assert item.promise_outcome == "dark mode in the app"
    [promise] = _events(item.id, TimelineKind.PROMISE_SET)
    assert promise.target_date == when
    assert promise.actor_id == staff.id
    [entry] = _audits("item.promise_set", item.id)
    assert entry.detail == {"target_date": when.isoformat()}


def test_plan_for_today_is_accepted(staff, make_feedback) -> None:
    item = make_feedback()
    workflow.plan(
        item.id,
        staff,
        _today(),
        "Thanks! We are doing this today.",
        outcome="the form fixed",
        post_anyway=True,
    )
    db.session.commit()
    assert _fresh(item).target_date == _today()


def test_moving_a_promised_date_without_a_reason_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move_promise(item.id, staff, _future(60), ""),
        MissingInput,
        "Moving a promised date needs a reason",
    )


def test_moving_a_promised_date_records_the_reason_and_new_date(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    old = _fresh(item).target_date
    new = _future(60)

    workflow.move_promise(item.id, staff, new, "A supplier is late with a part.")
    db.session.commit()

    item = _fresh(item)
    assert item.target_date == new
    [moved] = _events(item.id, TimelineKind.PROMISE_MOVED)
    assert moved.target_date == new
    assert moved.message == "A supplier is late with a part."
    assert moved.actor_id == staff.id
    [entry] = _audits("item.promise_moved", item.id)
    assert entry.detail == {
        "from_date": old.isoformat(),
        "to_date": new.isoformat(),
        "reason": "A supplier is late with a part.",
    }


def test_a_first_promised_date_is_a_promise_not_an_apology_for_a_change(
    staff, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author)
    workflow.acknowledge(
        item.id, staff, "Nia, thank you, and I am sorry it happened.", post_anyway=True
    )
    db.session.commit()
    new = _future(20)

    workflow.move_promise(item.id, staff, new, "", outcome="a replacement kettle with you")
    db.session.commit()

    [entry] = _audits("item.promise_set", item.id)
    assert entry.detail["from_date"] is None and entry.detail["to_date"] == new.isoformat()
    assert not _audits("item.promise_moved", item.id)
    told = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == author.id, OutboxMessage.kind == "promise"
        )
    )
    # An outcome with a date, from the person who looks after it; never the title promised.
    promised = f"will have a replacement kettle with you by {new:%A} {new.day} {new:%B %Y}."
    assert promised in told.text_body and promised in told.html_body
    assert f"promise \u201c{item.title}" not in told.text_body
    assert "moved" not in told.text_body and "sorry for the change" not in told.text_body


def test_moving_a_promise_to_the_same_date_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    same = _fresh(item).target_date
    _assert_refused(
        item,
        lambda: workflow.move_promise(item.id, staff, same, "No change really."),
        WorkflowError,
        "already the promised date",
    )


def test_moving_a_promise_into_the_past_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move_promise(item.id, staff, _today() - timedelta(days=3), "Oops."),
        WorkflowError,
        "cannot be in the past",
    )


def test_the_first_promise_on_an_item_needs_no_reason(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    workflow.move_promise(item.id, staff, _future(5), "", "the lift working again")
    db.session.commit()
    assert _fresh(item).target_date == _future(5)
    assert len(_events(item.id, TimelineKind.PROMISE_SET)) == 1
    assert _events(item.id, TimelineKind.PROMISE_MOVED) == []


def test_planning_without_an_outcome_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move(
            item.id,
            staff,
            S.PLANNED,
            message="Planned.",
            target_date=_future(),
            outcome="  ",
            post_anyway=True,
        ),
        MissingInput,
        "Say what we promise by that date",
    )
    assert _fresh(item).target_date is None


def test_a_promised_outcome_is_one_line_of_at_most_120_characters(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.INVESTIGATING, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.plan(
            item.id, staff, _future(), "Planned.", outcome="a" * 121, post_anyway=True
        ),
        WorkflowError,
        "at most 120 characters",
    )
    workflow.plan(
        item.id, staff, _future(), "Planned.", outcome="a new\nbin  lid", post_anyway=True
    )
    db.session.commit()
    assert _fresh(item).promise_outcome == "a new bin lid"


def test_moving_the_date_keeps_the_outcome_unless_a_new_one_is_given(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    workflow.move_promise(item.id, staff, _future(40), "The part is late.")
    db.session.commit()
    assert _fresh(item).promise_outcome == "the new timetable on the website"

    workflow.move_promise(item.id, staff, _future(50), "Printed too.", "the new timetable printed")
    db.session.commit()
    assert _fresh(item).promise_outcome == "the new timetable printed"


def test_a_promise_made_before_outcomes_needs_one_when_its_date_moves(staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, S.PLANNED, make_feedback)
    item.promise_outcome = None  # as the migration leaves a promise made before it
    db.session.commit()
    _assert_refused(
        item,
        lambda: workflow.move_promise(item.id, staff, _future(45), "The part is late."),
        MissingInput,
        "Say what we promise by that date",
    )


@pytest.mark.parametrize("closed", [S.RESOLVED, S.DECLINED, S.DUPLICATE])
def test_a_closed_item_has_no_promise_to_move(closed, staff, make_feedback) -> None:
    item = make_feedback()
    _bring_to(item, staff, closed, make_feedback)
    _assert_refused(
        item,
        lambda: workflow.move_promise(item.id, staff, _future(3), "Moving it."),
        InvalidTransition,
        "Only an open item",
    )


# 6. Merge ----------------------------------------------------------------------------------


def _merge(duplicate: Feedback, target: Feedback, actor: User) -> None:
    workflow.merge(
        duplicate.id,
        actor,
        target.id,
        "Thank you; this is being handled over there.",
        post_anyway=True,
    )
    db.session.commit()


def _assert_counts_match_rows(*items: Feedback) -> None:
    db.session.expire_all()
    for item in items:
        stored = db.session.get(Feedback, item.id).vote_count
        assert stored == len(_voters(item.id)), f"#{item.id}"


def test_merge_moves_the_votes_to_the_target(staff, make_user, make_feedback) -> None:
    duplicate, target = make_feedback(), make_feedback()
    fans = [make_user(), make_user()]
    for fan in fans:
        set_vote(fan, duplicate.id, want=True)
    db.session.commit()

    _merge(duplicate, target, staff)

    assert _voters(duplicate.id) == []
    assert _voters(target.id) == sorted(
        [target.author_id, duplicate.author_id, *(f.id for f in fans)]
    )
    assert _fresh(target).vote_count == 4
    assert _fresh(duplicate).vote_count == 0
    _assert_counts_match_rows(duplicate, target)


def test_merge_leaves_someone_who_voted_on_both_with_one_vote(
    staff, make_user, make_feedback
) -> None:
    duplicate, target = make_feedback(), make_feedback()
    both = make_user()
    set_vote(both, duplicate.id, want=True)
    set_vote(both, target.id, want=True)
    db.session.commit()

    _merge(duplicate, target, staff)

    assert _voters(target.id).count(both.id) == 1
    assert _voters(target.id) == sorted([target.author_id, duplicate.author_id, both.id])
    _assert_counts_match_rows(duplicate, target)


def test_merge_leaves_an_author_of_both_items_with_one_vote(staff, customer, make_feedback) -> None:
    duplicate = make_feedback(author=customer)
    target = make_feedback(author=customer)
    _merge(duplicate, target, staff)
    assert _voters(target.id) == [customer.id]
    _assert_counts_match_rows(duplicate, target)


def test_the_duplicates_author_gets_a_vote_on_the_target_even_after_unvoting(
    staff, customer, make_feedback
) -> None:
    duplicate = make_feedback(author=customer)
    target = make_feedback()
    assert set_vote(customer, duplicate.id, want=False).voted is False  # took back their own vote
    db.session.commit()
    assert _voters(duplicate.id) == []

    _merge(duplicate, target, staff)

    assert customer.id in _voters(target.id)
    _assert_counts_match_rows(duplicate, target)


def test_items_merged_into_the_duplicate_follow_it_to_the_new_target(
    staff, make_user, make_feedback
) -> None:
    earlier, duplicate, target = make_feedback(), make_feedback(), make_feedback()
    earlier_fan = make_user()
    set_vote(earlier_fan, earlier.id, want=True)
    db.session.commit()
    _merge(earlier, duplicate, staff)
    assert _fresh(earlier).merged_into_id == duplicate.id

    _merge(duplicate, target, staff)

    assert _fresh(earlier).merged_into_id == target.id
    assert _fresh(duplicate).merged_into_id == target.id
    assert {earlier.author_id, earlier_fan.id, duplicate.author_id} <= set(_voters(target.id))
    _assert_counts_match_rows(earlier, duplicate, target)


def test_merge_records_a_merged_event_on_the_target(staff, make_feedback) -> None:
    duplicate, target = make_feedback(), make_feedback()
    _merge(duplicate, target, staff)
    [merged] = _events(target.id, TimelineKind.MERGED)
    assert merged.actor_id == staff.id
    assert merged.message == ""  # the step's title says it, in the reader's language
    [entry] = _audits("item.merged", duplicate.id)
    assert entry.detail == {"into": target.id}


def test_a_private_duplicates_text_stays_off_the_targets_timeline(staff, make_feedback) -> None:
    duplicate = make_feedback(
        visibility=Visibility.PRIVATE,
        title="Invoice 4471 for Jane Roe is wrong",
        body="My account number is 99-1234-55 and it charged me twice.",
    )
    target = make_feedback()
    _merge(duplicate, target, staff)

    assert _events(target.id, TimelineKind.MERGED)  # the target's timeline says one was merged
    for event in _events(target.id):
        for secret in ("Invoice 4471", "Jane Roe", "99-1234-55", f"#{duplicate.id}"):
            assert secret not in event.message
            assert secret not in event.message_html


def test_merge_from_an_acknowledged_item_without_a_message_uses_a_default_one(
    staff, make_feedback
) -> None:
    item, target = make_feedback(), make_feedback()
    _bring_to(item, staff, S.ACKNOWLEDGED, make_feedback)
    workflow.merge(item.id, staff, target.id, post_anyway=True)
    db.session.commit()
    event = _events(item.id, TimelineKind.STATE_CHANGED)[-1]
    assert event.to_state is S.DUPLICATE
    assert f"#{target.id}" in event.message


# 7. Resolutions ----------------------------------------------------------------------------


def test_publish_resolution_resolves_every_item_with_one_resolution(staff, make_feedback) -> None:
    items = [make_feedback(title="Checkout times out") for _ in range(3)]
    _bring_to(items[0], staff, S.ACKNOWLEDGED, make_feedback)
    _bring_to(items[1], staff, S.PLANNED, make_feedback)
    _bring_to(items[2], staff, S.IN_PROGRESS, make_feedback)

    resolution = workflow.publish_resolution(
        [i.id for i in items], staff, we_did="We doubled the timeout.", post_anyway=True
    )
    db.session.commit()

    assert resolution.you_said == "Checkout times out"
    assert resolution.we_did_source == "We doubled the timeout."
    assert "doubled the timeout" in resolution.we_did_html
    assert resolution.published_by_id == staff.id
    assert resolution.category_id == items[0].category_id
    for item in items:
        item = _fresh(item)
        assert item.state is S.RESOLVED
        assert item.resolution_id == resolution.id
        assert item.resolved_at == resolution.published_at
        event = _events(item.id, TimelineKind.STATE_CHANGED)[-1]
        assert event.to_state is S.RESOLVED
        assert event.message == "We doubled the timeout."
    [entry] = _audits("resolution.published", resolution.id)
    assert entry.detail["items"] == [i.id for i in items]


def test_publish_resolution_uses_the_you_said_summary_when_given(staff, make_feedback) -> None:
    item = make_feedback(title="Slow search")
    resolution = workflow.resolve(
        item.id, staff, we_did="New index.", you_said="  Search was slow  ", post_anyway=True
    )
    assert resolution.you_said == "Search was slow"


def test_resolving_together_refuses_items_nobody_has_answered_naming_them(
    staff, make_feedback
) -> None:
    answered, waiting = make_feedback(), make_feedback()
    _bring_to(answered, staff, S.ACKNOWLEDGED, make_feedback)

    with pytest.raises(NotYetAnswered, match=rf"Nobody has answered #{waiting.id} \("):
        workflow.publish_resolution(
            [answered.id, waiting.id], staff, we_did="We fixed it.", post_anyway=True
        )
    db.session.rollback()
    assert _fresh(waiting).state is S.RECEIVED
    assert _fresh(answered).state is S.ACKNOWLEDGED


def test_publish_resolution_with_no_items_is_refused(staff) -> None:
    with pytest.raises(MissingInput, match="Pick at least one item"):
        workflow.publish_resolution([], staff, we_did="Something.", post_anyway=True)


@pytest.mark.parametrize("bad_state", [S.DECLINED, S.DUPLICATE, S.RESOLVED])
def test_one_unresolvable_item_fails_the_whole_resolution_and_resolves_nothing(
    bad_state, staff, make_feedback
) -> None:
    a, b, c = make_feedback(), make_feedback(), make_feedback()
    _bring_to(a, staff, S.IN_PROGRESS, make_feedback)
    _bring_to(b, staff, S.ACKNOWLEDGED, make_feedback)
    _bring_to(c, staff, bad_state, make_feedback)
    states = [a.state, b.state, c.state]
    before, before_b = _snapshot(a), _snapshot(b)

    with pytest.raises(InvalidTransition, match=rf"#{c.id} is “.+” and cannot be resolved"):
        workflow.publish_resolution(
            [a.id, b.id, c.id], staff, we_did="We fixed it.", post_anyway=True
        )
    assert [a.state, b.state, c.state] == states
    db.session.rollback()

    assert _snapshot(a) == before
    assert [_fresh(i).state for i in (a, b, c)] == states
    assert _fresh(a).resolution_id is None
    assert _fresh(b).resolution_id is None
    assert _snapshot(b) == before_b


def test_update_resolution_edits_the_text_and_audits_the_old_one(staff, make_feedback) -> None:
    item = make_feedback(title="Export is broken")
    resolution = workflow.resolve(item.id, staff, "We fixed the CSV export.", post_anyway=True)
    db.session.commit()

    workflow.update_resolution(
        resolution.id, staff, you_said="CSV export was broken", we_did="We rewrote the export."
    )
    db.session.commit()

    db.session.expire_all()
    resolution = db.session.get(Resolution, resolution.id)
    assert resolution.you_said == "CSV export was broken"
    assert resolution.we_did_source == "We rewrote the export."
    assert "rewrote the export" in resolution.we_did_html
    [entry] = _audits("resolution.edited", resolution.id)
    assert entry.actor_id == staff.id
    assert entry.detail == {
        "old_you_said": "Export is broken",
        "old_we_did": "We fixed the CSV export.",
    }


@pytest.mark.parametrize(
    ("you_said", "we_did", "match"),
    [("", "Text.", "“you said” summary cannot be empty"), ("Summary", " ", "“we did” text")],
)
def test_update_resolution_refuses_empty_text(
    you_said, we_did, match, staff, make_feedback
) -> None:
    resolution = workflow.resolve(make_feedback().id, staff, "We fixed it.", post_anyway=True)
    db.session.commit()
    with pytest.raises(MissingInput, match=match):
        workflow.update_resolution(resolution.id, staff, you_said=you_said, we_did=we_did)
    db.session.rollback()
    assert _audits("resolution.edited") == []
    assert db.session.get(Resolution, resolution.id).we_did_source == "We fixed it."


# 8. "Did this fix it?" ---------------------------------------------------------------------


@pytest.fixture
def resolved_item(customer, staff, make_feedback) -> Feedback:
    item = make_feedback(author=customer)
    _bring_to(item, staff, S.RESOLVED, make_feedback)
    return item


def test_the_author_asking_to_reopen_adds_a_public_comment_and_a_request(
    resolved_item, customer
) -> None:
    comments_before = resolved_item.comment_count

    comment = workflow.request_reopen(resolved_item.id, customer, "It still fails on my phone.")
    db.session.commit()

    assert (comment.internal, comment.official, comment.hidden) == (False, False, False)
    assert comment.author_id == customer.id
    assert comment.body_source == "It still fails on my phone."
    item = _fresh(resolved_item)
    assert item.comment_count == comments_before + 1
    assert item.reopen_requested_at is not None
    assert item.state is S.RESOLVED  # only staff reopen
    [event] = _events(item.id, TimelineKind.REOPEN_REQUESTED)
    assert event.actor_id == customer.id
    assert event.message == "It still fails on my phone."


def test_asking_to_reopen_without_a_comment_is_refused(resolved_item, customer) -> None:
    with pytest.raises(MissingInput, match="what is still not right"):
        workflow.request_reopen(resolved_item.id, customer, "  ")
    db.session.rollback()
    assert _fresh(resolved_item).reopen_requested_at is None


def test_someone_else_asking_to_reopen_is_not_allowed(resolved_item, make_user) -> None:
    with pytest.raises(NotAllowed, match="Only the person who raised this"):
        workflow.request_reopen(resolved_item.id, make_user(), "Me too, still broken.")
    db.session.rollback()
    assert _fresh(resolved_item).reopen_requested_at is None
    assert _count(Comment) == 0


@pytest.mark.parametrize("state", [S.RECEIVED, S.IN_PROGRESS, S.DECLINED])
def test_asking_to_reopen_an_unresolved_item_is_refused(
    state, customer, staff, make_feedback
) -> None:
    item = make_feedback(author=customer)
    _bring_to(item, staff, state, make_feedback)
    with pytest.raises(InvalidTransition, match="not marked as done"):
        workflow.request_reopen(item.id, customer, "Still broken.")
    db.session.rollback()
    assert _fresh(item).reopen_requested_at is None
    assert _count(Comment) == 0


def test_confirm_fixed_clears_a_reopen_request(resolved_item, customer) -> None:
    workflow.request_reopen(resolved_item.id, customer, "Not yet.")
    db.session.commit()

    workflow.confirm_fixed(resolved_item.id, customer)
    db.session.commit()

    item = _fresh(resolved_item)
    assert item.reopen_requested_at is None
    assert item.fix_confirmed_at is not None


def test_only_the_author_can_confirm_a_fix(resolved_item, make_user) -> None:
    with pytest.raises(NotAllowed):
        workflow.confirm_fixed(resolved_item.id, make_user())
    db.session.rollback()
    assert _fresh(resolved_item).fix_confirmed_at is None


def test_staff_reopening_returns_the_item_to_investigating(resolved_item, customer, staff) -> None:
    workflow.request_reopen(resolved_item.id, customer, "Not yet.")
    db.session.commit()

    workflow.reopen(
        resolved_item.id, staff, "You are right: the fix missed the mobile app.", post_anyway=True
    )
    db.session.commit()

    item = _fresh(resolved_item)
    assert item.state is S.INVESTIGATING
    assert item.resolved_at is None
    assert item.reopen_requested_at is None
    event = _events(item.id, TimelineKind.STATE_CHANGED)[-1]
    assert (event.from_state, event.to_state) == (S.RESOLVED, S.INVESTIGATING)
    assert event.message == "You are right: the fix missed the mobile app."


def test_an_item_leaving_resolved_by_any_route_is_no_longer_marked_resolved(
    resolved_item, staff
) -> None:
    """investigate() accepts a resolved item too (the table allows resolved -> investigating):
    it must either refuse or reopen properly, never leave an open item with resolved_at set."""
    try:
        workflow.investigate(resolved_item.id, staff, "Looking into it again.", post_anyway=True)
    except InvalidTransition:
        db.session.rollback()
        assert _fresh(resolved_item).state is S.RESOLVED
        return
    db.session.commit()
    item = _fresh(resolved_item)
    assert item.state is S.INVESTIGATING
    assert item.resolved_at is None


# 9. Replies, notes and moderation ----------------------------------------------------------


def test_an_internal_note_is_internal_and_not_counted(staff, make_feedback) -> None:
    item = make_feedback()
    note = workflow.add_internal_note(item.id, staff, "Customer is on the old plan.")
    db.session.commit()
    assert (note.internal, note.official) == (True, False)
    assert _fresh(item).comment_count == 0
    assert _fresh(item).owner_id is None  # a note is not a public act
    assert _audits("item.noted", item.id)


def _acknowledged(item: Feedback, staff: User) -> Feedback:
    """An item its owner has acknowledged, so that a reply is a comment (see the next test)."""
    workflow.acknowledge(
        item.id, staff, "Thank you for telling us; I am sorry, and I am on it.", post_anyway=True
    )
    db.session.commit()
    return item


def test_a_reply_to_a_received_item_is_its_acknowledgement(staff, make_feedback) -> None:
    """The customer has a person's answer: the item is acknowledged by it, with the reply as
    the message, not left "Received" (overdue in triage) beside a comment."""
    item = make_feedback()
    assert (
        workflow.reply(item.id, staff, "Nia, I am sorry. Which branch was it?", post_anyway=True)
        is None
    )
    db.session.commit()
    fresh = _fresh(item)
    assert fresh.state is S.ACKNOWLEDGED and fresh.acknowledged_at is not None
    assert fresh.owner_id == staff.id
    assert fresh.comment_count == 0 and _count(Comment) == 0  # said once, on the timeline
    change = _audits("item.state_changed", item.id)[-1]
    assert change.detail["message"] == "Nia, I am sorry. Which branch was it?"
    # Once acknowledged, a reply is a comment and the state stays.
    assert workflow.reply(item.id, staff, "Thanks, found it.", post_anyway=True) is not None
    db.session.commit()
    assert (_fresh(item).state, _fresh(item).comment_count) == (S.ACKNOWLEDGED, 1)


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_a_reply_is_official_from_the_owner_or_an_admin(who, staff, admin, make_feedback) -> None:
    item = _acknowledged(make_feedback(), staff)
    actor = staff if who == "owner" else admin

    reply = workflow.reply(item.id, actor, "Thanks, we are on it.", post_anyway=True)
    db.session.commit()

    assert (reply.official, reply.internal) == (True, False)
    assert reply.author_id == actor.id
    assert _fresh(item).comment_count == 1
    assert _audits("item.replied", item.id)[-1].actor_id == actor.id


def test_a_reply_from_other_staff_is_not_allowed(staff, other_staff, make_feedback) -> None:
    taken = make_feedback()  # still "Received": the reply would be its acknowledgement
    workflow.take(taken.id, other_staff)
    acknowledged = _acknowledged(make_feedback(), other_staff)
    db.session.commit()
    for item in (taken, acknowledged):
        with pytest.raises(NotAllowed, match="looks after this item"):
            workflow.reply(item.id, staff, "Hello!", post_anyway=True)
        db.session.rollback()
    assert _count(Comment) == 0
    assert _fresh(taken).state is S.RECEIVED


def test_an_empty_reply_is_refused(staff, make_feedback) -> None:
    item = make_feedback()
    with pytest.raises(MissingInput, match="Please write the reply"):
        workflow.reply(item.id, staff, " ", post_anyway=True)


def test_hiding_a_public_comment_decrements_the_count_once(staff, make_feedback) -> None:
    item = _acknowledged(make_feedback(), staff)
    reply = workflow.reply(item.id, staff, "A public reply.", post_anyway=True)
    db.session.commit()
    assert _fresh(item).comment_count == 1

    workflow.hide_comment(reply.id, staff, "Posted on the wrong item.")
    workflow.hide_comment(reply.id, staff, "Still hidden.")
    db.session.commit()

    assert _fresh(item).comment_count == 0
    assert db.session.get(Comment, reply.id).hidden is True
    entry = _audits("comment.hidden", reply.id)[0]
    assert entry.detail == {"reason": "Posted on the wrong item.", "body": "A public reply."}


def test_hiding_an_internal_note_leaves_the_public_count_alone(staff, make_feedback) -> None:
    item = _acknowledged(make_feedback(), staff)
    workflow.reply(item.id, staff, "A public reply.", post_anyway=True)
    note = workflow.add_internal_note(item.id, staff, "Internal.")
    db.session.commit()
    workflow.hide_comment(note.id, staff, "Not needed.")
    db.session.commit()
    assert _fresh(item).comment_count == 1


def test_hiding_a_comment_needs_a_reason(staff, make_feedback) -> None:
    item = _acknowledged(make_feedback(), staff)
    reply = workflow.reply(item.id, staff, "A public reply.", post_anyway=True)
    db.session.commit()
    with pytest.raises(MissingInput, match="Hiding a comment needs a reason"):
        workflow.hide_comment(reply.id, staff, "")
    db.session.rollback()
    assert _fresh(item).comment_count == 1
    assert db.session.get(Comment, reply.id).hidden is False


def test_hiding_an_item_needs_a_reason(staff, make_feedback) -> None:
    item = make_feedback()
    with pytest.raises(MissingInput, match="Hiding an item needs a reason"):
        workflow.set_hidden(item.id, staff, True, "  ")
    db.session.rollback()
    assert _fresh(item).hidden is False
    assert _audits("item.hidden") == []


def test_hiding_and_showing_an_item_is_audited(staff, make_feedback) -> None:
    item = make_feedback()
    workflow.set_hidden(item.id, staff, True, "Abusive language.")
    db.session.commit()
    assert _fresh(item).hidden is True
    assert is_public(_fresh(item)) is False
    assert _audits("item.hidden", item.id)[0].detail == {"reason": "Abusive language."}

    workflow.set_hidden(item.id, staff, False)
    db.session.commit()
    assert _fresh(item).hidden is False
    assert len(_audits("item.unhidden", item.id)) == 1


def test_redact_keeps_the_original_text_in_the_audit_entry(staff, make_feedback) -> None:
    # Posted anyway, past the guard for personal details: what staff redact.
    item = make_feedback(
        title="Call me on 555-0199", body="My card is 4111 1111 1111 1111.", post_anyway=True
    )
    workflow.redact(item.id, staff, "Personal details.")
    db.session.commit()

    item = _fresh(item)
    assert item.redacted_at is not None
    [entry] = _audits("item.redacted", item.id)
    assert entry.actor_id == staff.id
    assert entry.detail == {
        "reason": "Personal details.",
        "title": "Call me on 555-0199",
        "body": "My card is 4111 1111 1111 1111.",
    }


def test_redacting_needs_a_reason(staff, make_feedback) -> None:
    item = make_feedback()
    with pytest.raises(MissingInput, match="Redacting needs a reason"):
        workflow.redact(item.id, staff, "")
    db.session.rollback()
    assert _fresh(item).redacted_at is None


def test_nothing_is_merged_into_another_customers_private_item(
    staff, make_user, make_feedback
) -> None:
    """Everyone who spoke up on a merged item follows its target and is told its title: a
    private item is for its author alone. Only that author's own private reports go there."""
    nia = make_user()
    private = make_feedback(author=nia, visibility="private", title="Refund to my old card")
    public = make_feedback(title="Refunds are slow")
    with pytest.raises(WorkflowError, match="is private"):
        workflow.merge(
            public.id, staff, private.id, "Sorry, the same as another report.", post_anyway=True
        )
    db.session.rollback()
    assert _fresh(public).state is S.RECEIVED
    someone_elses = make_feedback(visibility="private")
    with pytest.raises(WorkflowError, match="is private"):
        workflow.merge(
            someone_elses.id,
            staff,
            private.id,
            "Sorry, the same as another report.",
            post_anyway=True,
        )
    db.session.rollback()
    own = make_feedback(author=nia, visibility="private", title="Refund, again")
    workflow.merge(
        own.id,
        staff,
        private.id,
        "Nia, I am sorry; this is the same as your first one.",
        post_anyway=True,
    )
    db.session.commit()
    assert _fresh(own).merged_into_id == private.id
