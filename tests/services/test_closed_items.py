"""Every voice counts once, honestly: votes close with the item, nothing is merged into a
closed item, and what customers still say of a closed item is counted on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Feedback,
    FeedbackState,
    ItemSignal,
    OutboxMessage,
    Role,
    SignalKind,
    Vote,
)
from portal.services import signals, workflow
from portal.services.errors import NotAllowed
from portal.services.resolutions import voice_counts
from portal.services.signals import NotOpenForSignal, set_signal
from portal.services.votes import ClosedForVotes, set_vote
from portal.services.workflow import ClosedTarget

SORRY = "I am sorry about this, Jo; I am looking at it now."


@pytest.fixture
def staff(make_verified_user):
    return make_verified_user(role=Role.STAFF, display_name="Priya")


def _done(item: Feedback, staff, we_did: str = "We replaced the batch of kettles.") -> Feedback:
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    resolution = workflow.resolve(item.id, staff, we_did, post_anyway=True)
    db.session.commit()
    return resolution


def _declined(item: Feedback, staff) -> None:
    workflow.decline(
        item.id, staff, "Thank you; we are sorry, we will not build this.", post_anyway=True
    )
    db.session.commit()


def _votes(item_id: int) -> tuple[int, int]:
    """The stored count and the rows, which must agree."""
    db.session.expire_all()
    rows = db.session.scalar(sa.select(sa.func.count()).where(Vote.feedback_id == item_id))
    return db.session.get(Feedback, item_id).vote_count, rows


# "Me too" closes with the item ---------------------------------------------------------------


def test_a_done_item_takes_no_vote_and_says_when_it_was_done(
    make_user, make_feedback, staff
) -> None:
    item = make_feedback(title="Kettle stopped working")
    resolution = _done(item, staff)
    raised = voice_counts([resolution.id])
    with pytest.raises(ClosedForVotes, match="Voting has closed: this was done on") as refused:
        set_vote(make_user(), item.id, want=True)
    db.session.rollback()
    assert refused.value.status_code == 409
    assert "This still happens to me" in refused.value.message
    assert _votes(item.id) == (1, 1)
    assert voice_counts([resolution.id]) == raised


def test_a_vote_on_a_done_item_cannot_be_taken_back_either(make_user, make_feedback, staff) -> None:
    """The published count stays what it was when the item was done, both ways."""
    item = make_feedback()
    voter = make_user()
    set_vote(voter, item.id, want=True)
    db.session.commit()
    _done(item, staff)
    for want in (False, None):
        with pytest.raises(ClosedForVotes):
            set_vote(voter, item.id, want=want)
        db.session.rollback()
    assert _votes(item.id) == (2, 2)


def test_a_not_planned_item_takes_no_vote_and_points_to_i_still_want_this(
    make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _declined(item, staff)
    with pytest.raises(ClosedForVotes, match=r"we decided not to do this.*I still want this"):
        set_vote(make_user(), item.id, want=True)


def test_a_resolution_counts_the_people_who_raised_it_by_its_publication(
    make_user, make_feedback, staff
) -> None:
    """Reopened, an item takes votes again; they are not among the people who raised what the
    published resolution answered, so its count does not grow by them."""
    item = make_feedback()
    set_vote(make_user(), item.id, want=True)
    db.session.commit()
    resolution = _done(item, staff)
    assert voice_counts([resolution.id]) == {resolution.id: 2}
    workflow.reopen(item.id, staff, "Jo, I am sorry: it is happening again.", post_anyway=True)
    db.session.commit()
    set_vote(make_user(), item.id, want=True)
    late = make_feedback(title="Same kettle trouble")
    workflow.merge(late.id, staff, item.id, "The same fault, Sam; sorry.", post_anyway=True)
    db.session.commit()
    assert _votes(item.id)[0] == 4
    assert voice_counts([resolution.id]) == {resolution.id: 2}


# Nothing is merged into a closed item --------------------------------------------------------


def test_nothing_is_merged_into_a_done_item_and_staff_are_told_to_answer_it_the_same_way(
    make_user, make_feedback, staff
) -> None:
    target = make_feedback(title="Kettle stopped working")
    resolution = _done(target, staff)
    late = make_feedback(title="My kettle died too")
    raised = voice_counts([resolution.id])
    with pytest.raises(ClosedTarget) as refused:
        workflow.merge(late.id, staff, target.id, "Same kettle, sorry.", post_anyway=True)
    db.session.rollback()
    assert refused.value.status_code == 409
    message = refused.value.message
    assert f"#{target.id} is Done" in message and "Resolve together" in message
    assert f"Answer #{late.id} with the same resolution" in message
    db.session.expire_all()
    assert db.session.get(Feedback, late.id).state is FeedbackState.RECEIVED
    assert _votes(target.id) == (1, 1)
    assert voice_counts([resolution.id]) == raised


def test_nothing_is_merged_into_a_not_planned_item(make_feedback, staff) -> None:
    target = make_feedback()
    _declined(target, staff)
    late = make_feedback()
    with pytest.raises(ClosedTarget, match=rf"#{target.id} is Not planned.*same reason"):
        workflow.merge(late.id, staff, target.id, "Sorry, the same idea.", post_anyway=True)


def test_the_move_form_refuses_the_merge_too_before_the_tone_check(make_feedback, staff) -> None:
    """workflow.move (the admin form and the API) refuses first: no point fixing the words of
    a merge that cannot happen."""
    target = make_feedback()
    _done(target, staff)
    late = make_feedback()
    with pytest.raises(ClosedTarget):
        workflow.move(
            late.id, staff, FeedbackState.DUPLICATE, message="USER ERROR", duplicate_of=target.id
        )


# "This still happens to me" ------------------------------------------------------------------


def test_any_customer_can_say_a_done_item_still_happens_once_and_take_it_back(
    make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _done(item, staff)
    nia, ravi = make_user(), make_user()
    for _ in range(2):
        result = set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=True)
        db.session.commit()
        assert (result.said, result.count) == (True, 1)
    assert set_signal(ravi, item.id, SignalKind.STILL_HAPPENS, want=True).count == 2
    db.session.commit()
    taken = set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=False)
    db.session.commit()
    assert (taken.said, taken.count) == (False, 1)
    # Counted on its own: the votes did not move.
    assert _votes(item.id) == (1, 1)


def test_still_happens_is_a_reopen_request_the_owner_hears_of_and_the_audit_keeps(
    make_verified_user, make_feedback, staff
) -> None:
    item = make_feedback(title="Kettle stopped working")
    _done(item, staff)
    nia = make_verified_user(preferred_name="Nia")
    set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=True)
    db.session.commit()
    mail = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.to_email == staff.email)
    ).all()
    told = [m for m in mail if m.subject.startswith("Still happens, says Nia")]
    assert len(told) == 1, [m.subject for m in mail]
    assert "says this still happens to them" in told[0].text_body
    assert "1 person says so since it was done" in told[0].text_body
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "item.still_happens")
    )
    assert (entry.actor_id, entry.target_id, entry.detail) == (nia.id, item.id, {"count": 1})
    # Taking it back tells nobody, and is kept too.
    set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=False)
    db.session.commit()
    assert db.session.scalar(
        sa.select(sa.func.count()).where(OutboxMessage.to_email == staff.email)
    ) == len(mail)
    assert db.session.scalar(
        sa.select(AuditEntry.id).where(AuditEntry.action == "item.still_happens_taken_back")
    )


def test_still_happens_is_said_of_done_items_only(make_user, make_feedback, staff) -> None:
    item = make_feedback()
    with pytest.raises(NotOpenForSignal, match="me too") as refused:
        set_signal(make_user(), item.id, SignalKind.STILL_HAPPENS, want=True)
    assert refused.value.status_code == 409
    _declined(item, staff)
    with pytest.raises(NotOpenForSignal):
        set_signal(make_user(), item.id, SignalKind.STILL_HAPPENS, want=True)


def test_staff_do_not_say_it_they_answer(make_feedback, staff) -> None:
    item = make_feedback()
    _done(item, staff)
    with pytest.raises(NotAllowed):
        set_signal(staff, item.id, SignalKind.STILL_HAPPENS, want=True)


def test_the_authors_not_yet_counts_among_the_people_it_still_happens_to(
    make_user, make_feedback, staff
) -> None:
    jo = make_user()
    item = make_feedback(author=jo)
    _done(item, staff)
    workflow.request_reopen(item.id, jo, "It switched itself off again this morning.")
    db.session.commit()
    assert signals.count_signals(item, SignalKind.STILL_HAPPENS) == 1
    assert signals.signal_counts(item, jo).said(SignalKind.STILL_HAPPENS)


def test_said_before_a_reopening_counts_for_the_new_answer_only_when_said_again(
    make_user, make_feedback, staff
) -> None:
    item = make_feedback()
    _done(item, staff)
    nia = make_user()
    set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=True)
    db.session.commit()
    workflow.reopen(item.id, staff, "I am sorry: looking again.", post_anyway=True)
    db.session.commit()
    with pytest.raises(NotOpenForSignal):
        set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=True)
    db.session.rollback()
    workflow.resolve(item.id, staff, "We replaced the thermostat as well.", post_anyway=True)
    db.session.commit()
    db.session.expire_all()
    item = db.session.get(Feedback, item.id)
    assert signals.count_signals(item, SignalKind.STILL_HAPPENS) == 0
    assert set_signal(nia, item.id, SignalKind.STILL_HAPPENS, want=True).count == 1


# "I still want this" -------------------------------------------------------------------------


def test_a_not_planned_item_counts_who_still_want_it(make_user, make_feedback, staff) -> None:
    item = make_feedback()
    with pytest.raises(NotOpenForSignal):
        set_signal(make_user(), item.id, SignalKind.STILL_WANTED, want=True)
    db.session.rollback()
    _declined(item, staff)
    for person in (make_user(), make_user()):
        result = set_signal(person, item.id, SignalKind.STILL_WANTED, want=True)
        db.session.commit()
    assert result.count == 2
    assert signals.count_signals(item, SignalKind.STILL_HAPPENS) == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "item.still_wanted")
        )
        == 2
    )


def test_triage_sees_what_is_rising_most_in_the_last_30_days_first(
    make_user, make_feedback, staff
) -> None:
    quiet, loud, done = make_feedback(), make_feedback(), make_feedback()
    for item in (quiet, loud):
        _declined(item, staff)
    _done(done, staff)
    for _ in range(3):
        set_signal(make_user(), quiet.id, SignalKind.STILL_WANTED, want=True)
    for _ in range(2):
        set_signal(make_user(), loud.id, SignalKind.STILL_WANTED, want=True)
    set_signal(make_user(), done.id, SignalKind.STILL_HAPPENS, want=True)
    db.session.commit()
    # Two of the quiet item's three were said long ago.
    old = db.session.scalars(
        sa.select(ItemSignal.id).where(ItemSignal.feedback_id == quiet.id).limit(2)
    ).all()
    db.session.execute(
        sa.update(ItemSignal)
        .where(ItemSignal.id.in_(old))
        .values(created_at=datetime.now(UTC) - timedelta(days=45))
    )
    db.session.commit()
    rising = signals.rising()
    wanted = [(r.item.id, r.recent, r.total) for r in rising[SignalKind.STILL_WANTED]]
    assert wanted == [(loud.id, 2, 2), (quiet.id, 1, 3)]
    happens = [(r.item.id, r.recent, r.total) for r in rising[SignalKind.STILL_HAPPENS]]
    assert happens == [(done.id, 1, 1)]
