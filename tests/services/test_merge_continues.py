"""Merging continues the relationship: a promised date is never dropped without a word, the
people who spoke up on a duplicate are told by the person who looks after it now, and when
that item is done they are asked "Did this fix it?" as its author is. Emails are read from
what a real SMTP server received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Feedback,
    FeedbackState,
    MergedVoice,
    NotificationPreference,
    Role,
    TimelineEvent,
    TimelineKind,
    User,
    Vote,
)
from portal.services import notifications, workflow
from portal.services.errors import NotAllowed
from portal.services.feedback import add_comment
from portal.services.votes import set_vote
from portal.services.workflow import FixAnswer, MissingInput, PromiseChoice
from tests.helpers import delivered as _deliver
from tests.helpers import mail_html as _html
from tests.helpers import mail_text as _text
from tests.helpers import mail_to as _to

S = FeedbackState


def _day(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass
class Story:
    """Jo's complaint, looked after by Sam, and Priya's item that says the same thing."""

    sam: User
    priya: User
    jo: User
    duplicate: Feedback
    target: Feedback


@pytest.fixture
def story(make_verified_user, make_category, make_feedback) -> Story:
    category = make_category(name="Delivery")
    sam = make_verified_user(role=Role.STAFF, display_name="Sam Patel")
    priya = make_verified_user(role=Role.STAFF, display_name="Priya Shah")
    jo = make_verified_user(preferred_name="Jo")
    target = make_feedback(category=category, title="Parcels left out in the rain")
    workflow.acknowledge(
        target.id, priya, "Thank you, I am sorry. I will speak to the couriers.", post_anyway=True
    )
    duplicate = make_feedback(author=jo, category=category, title="My parcel was soaked")
    workflow.acknowledge(duplicate.id, sam, "Jo, I am so sorry, I am on it.", post_anyway=True)
    db.session.commit()
    return Story(sam, priya, jo, duplicate, target)


def _promise(item: Feedback, staff: User, day: date) -> None:
    workflow.plan(
        item.id,
        staff,
        day,
        "We will have it fixed by then.",
        outcome="the street light working again",
        post_anyway=True,
    )
    db.session.commit()


def _merge(story: Story, **kwargs) -> None:
    workflow.merge(
        story.duplicate.id,
        story.sam,
        story.target.id,
        "Jo, others told us the same, so Priya looks after this with theirs now.",
        post_anyway=True,
        **kwargs,
    )
    db.session.commit()


def _fresh(item: Feedback) -> Feedback:
    db.session.expire_all()
    return db.session.get(Feedback, item.id)


# A promise is never dropped without a word ----------------------------------------------------


def test_merging_a_promised_duplicate_without_saying_what_becomes_of_the_promise_is_refused(
    story,
) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    with pytest.raises(MissingInput, match=rf"#{story.duplicate.id} carries a promise: by"):
        workflow.merge(
            story.duplicate.id, story.sam, story.target.id, "Same thing.", post_anyway=True
        )
    db.session.rollback()
    duplicate = _fresh(story.duplicate)
    assert duplicate.state is S.PLANNED and duplicate.merged_into_id is None


def test_changing_the_promise_on_a_merge_needs_a_reason(story) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    with pytest.raises(MissingInput, match="Say why the date promised"):
        workflow.merge(
            story.duplicate.id,
            story.sam,
            story.target.id,
            "Same thing.",
            promise=PromiseChoice.CHANGE,
            promise_reason="  ",
            post_anyway=True,
        )
    db.session.rollback()
    assert _fresh(story.duplicate).state is S.PLANNED


def test_an_unpromised_duplicate_merges_without_a_choice(story) -> None:
    _merge(story)
    assert _fresh(story.duplicate).merged_into_id == story.target.id
    assert _fresh(story.target).target_date is None


@pytest.mark.parametrize(
    ("target_days", "expected_days"),
    [(None, 13), (20, 13), (6, 6)],
    ids=["target-had-none", "target-was-later", "target-was-sooner"],
)
def test_keeping_the_promise_leaves_the_earlier_date_on_the_target(
    story, target_days: int | None, expected_days: int
) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    if target_days is not None:
        _promise(story.target, story.priya, _day(target_days))
    _merge(story, promise=PromiseChoice.KEEP)
    target = _fresh(story.target)
    assert target.target_date == _day(expected_days)
    audit = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "item.merged")
    ).one()
    assert audit.detail["promise_kept"] is True
    assert audit.detail["promised"] == _day(13).isoformat()


def test_a_kept_promise_brings_what_was_promised_when_the_target_promised_nothing(story) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    _merge(story, promise=PromiseChoice.KEEP)
    target = _fresh(story.target)
    assert (target.target_date, target.promise_outcome) == (
        _day(13),
        "the street light working again",
    )


def test_a_kept_promise_that_moves_the_targets_date_is_on_the_targets_timeline(story) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    _merge(story, promise=PromiseChoice.KEEP)
    (step,) = db.session.scalars(
        sa.select(TimelineEvent).where(
            TimelineEvent.feedback_id == story.target.id,
            TimelineEvent.kind == TimelineKind.PROMISE_SET,
        )
    )
    assert step.target_date == _day(13)
    assert f"#{story.duplicate.id}" in step.message


def test_a_changed_promise_keeps_the_targets_date_and_records_the_reason(story) -> None:
    _promise(story.duplicate, story.sam, _day(6))
    _promise(story.target, story.priya, _day(20))
    reason = "The courier contract changes on the 1st; the new van rota starts after that."
    _merge(story, promise=PromiseChoice.CHANGE, promise_reason=reason)
    assert _fresh(story.target).target_date == _day(20)
    (moved,) = db.session.scalars(
        sa.select(TimelineEvent).where(
            TimelineEvent.feedback_id == story.duplicate.id,
            TimelineEvent.kind == TimelineKind.PROMISE_MOVED,
        )
    )
    assert moved.message == reason
    assert moved.target_date == _day(20)


# Everyone who spoke up is told, by the person who looks after it now ---------------------------


def test_the_merge_email_comes_from_the_targets_owner_with_its_state_and_the_kept_promise(
    story, smtp_server
) -> None:
    _promise(story.duplicate, story.sam, _day(13))
    _deliver(smtp_server)
    _merge(story, promise=PromiseChoice.KEEP)
    (mail,) = _to(_deliver(smtp_server), story.jo)
    assert "Priya Shah" in mail["From"] and "Sam" not in mail["From"]
    assert "Priya Shah looks after this now" in mail["Subject"]
    text = _text(mail)
    assert "I am Priya Shah, and I look after it from now on." in text
    assert "Where it stands today: Acknowledged." in text
    assert f"The date we promised you still holds: by {_long(_day(13))}." in text
    # Sam's words, said to be his, in the email Priya signs.
    assert "Sam Patel, who looked after your report, wrote:" in text
    assert "Jo, others told us the same" in text
    assert "\n\nPriya Shah\n" in text  # signed by her
    assert f"/feedback/{story.target.id}" in text and f"/feedback/{story.target.id}" in _html(mail)
    assert "still holds" in _html(mail)


def test_a_changed_promise_is_told_with_its_reason_to_everyone_who_spoke_up(
    story, smtp_server, make_verified_user
) -> None:
    voter = make_verified_user(preferred_name="Mr Owen")
    set_vote(voter, story.duplicate.id, want=True)
    db.session.commit()
    _promise(story.duplicate, story.sam, _day(6))
    _deliver(smtp_server)
    reason = "The courier contract changes on the 1st; the <new> van rota & route start then."
    _merge(story, promise=PromiseChoice.CHANGE, promise_reason=reason)
    received = _deliver(smtp_server)
    # Staff's words are text in the HTML part, never markup.
    assert "the &lt;new&gt; van rota &amp; route" in _html(*_to(received, story.jo))
    for person in (story.jo, voter):
        text = _text(*_to(received, person))
        assert f"We promised you {_long(_day(6))}, and I am sorry: that date no longer holds." in (
            text
        )
        assert "There is no new date yet" in text
        assert f"Here is why: {reason}" in text
    voter_text = _text(*_to(received, voter))
    assert voter_text.startswith("Dear Mr Owen,")
    assert "You spoke up on" in voter_text


def test_the_merge_email_reaches_who_follows_and_respects_who_stopped(
    story, smtp_server, make_verified_user
) -> None:
    voter = make_verified_user()
    set_vote(voter, story.duplicate.id, want=True)
    commenter_following = make_verified_user()
    add_comment(commenter_following, story.duplicate.id, "Mine was soaked too, on Tuesday.")
    notifications.set_following(commenter_following, story.duplicate.id, True)
    silent_commenter = make_verified_user()  # commented, never asked for emails
    add_comment(silent_commenter, story.duplicate.id, "Same here.")
    stopped = make_verified_user()
    set_vote(stopped, story.duplicate.id, want=True)
    notifications.set_following(stopped, story.duplicate.id, False)
    no_emails = make_verified_user()
    set_vote(no_emails, story.duplicate.id, want=True)
    no_emails.notification_preference = NotificationPreference.NONE
    db.session.commit()
    _deliver(smtp_server)

    _merge(story)
    received = _deliver(smtp_server)
    for person in (story.jo, voter, commenter_following):
        assert len(_to(received, person)) == 1, person.email
    for person in (silent_commenter, stopped, no_emails, story.sam):
        assert _to(received, person) == [], person.email


def test_merging_into_an_item_nobody_looks_after_makes_the_one_merging_its_owner(
    make_verified_user, make_feedback, smtp_server
) -> None:
    sam = make_verified_user(role=Role.STAFF, display_name="Sam Patel")
    jo = make_verified_user(preferred_name="Jo")
    target = make_feedback(title="Lift out of order")
    duplicate = make_feedback(author=jo, title="Lift broken again")
    _deliver(smtp_server)
    workflow.merge(duplicate.id, sam, target.id, "Jo, sorry: this one is it.", post_anyway=True)
    db.session.commit()
    assert _fresh(target).owner_id == sam.id
    (mail,) = _to(_deliver(smtp_server), jo)
    assert "I am Sam Patel, and I look after it from now on." in _text(mail)
    # One person writes and signs: no "Sam wrote" inside Sam's own email.
    assert "wrote:" not in _text(mail)


# Their voices are kept on the target ---------------------------------------------------------


def _voices(item: Feedback) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(MergedVoice.user_id, MergedVoice.merged_from_id).where(
            MergedVoice.feedback_id == item.id
        )
    )
    return {user_id: merged_from for user_id, merged_from in rows}


def test_the_author_voters_and_commenters_of_a_duplicate_are_voices_of_the_target(
    story, make_verified_user
) -> None:
    voter, commenter = make_verified_user(), make_verified_user()
    set_vote(voter, story.duplicate.id, want=True)
    add_comment(commenter, story.duplicate.id, "Mine too, on Tuesday.")
    # The target's own author voted on the duplicate too: still its author, not a voice.
    set_vote(story.target.author, story.duplicate.id, want=True)
    db.session.commit()
    _merge(story)
    assert _voices(story.target) == {
        story.jo.id: story.duplicate.id,
        voter.id: story.duplicate.id,
        commenter.id: story.duplicate.id,
    }


def test_merged_voices_move_along_when_the_target_is_merged_in_turn(
    story, make_feedback, make_verified_user
) -> None:
    voter = make_verified_user()
    set_vote(voter, story.duplicate.id, want=True)
    db.session.commit()
    _merge(story)
    final = make_feedback(title="Deliveries in bad weather")
    workflow.merge(story.target.id, story.priya, final.id, "Same again.", post_anyway=True)
    db.session.commit()
    assert _voices(story.target) == {}
    assert _voices(final) == {
        story.jo.id: story.duplicate.id,
        voter.id: story.duplicate.id,
        story.target.author_id: story.target.id,
    }


# When the target is done, they are asked "Did this fix it?" -----------------------------------


def _resolve(story: Story) -> None:
    workflow.resolve(
        story.target.id,
        story.priya,
        "Couriers now leave parcels in the porch box, never on the step.",
        post_anyway=True,
    )
    db.session.commit()


def test_resolving_the_target_asks_everyone_whose_voice_was_merged_did_this_fix_it(
    story, smtp_server, make_verified_user
) -> None:
    voter_of_duplicate = make_verified_user(preferred_name="Ama")
    set_vote(voter_of_duplicate, story.duplicate.id, want=True)
    voter_of_target = make_verified_user()
    set_vote(voter_of_target, story.target.id, want=True)
    db.session.commit()
    _promise(story.duplicate, story.sam, _day(13))
    _merge(story, promise=PromiseChoice.KEEP)
    _deliver(smtp_server)

    _resolve(story)
    received = _deliver(smtp_server)
    (to_jo,) = _to(received, story.jo)
    assert "Priya Shah" in to_jo["From"]
    text = _text(to_jo)
    assert text.startswith("Dear Jo,")
    assert f"You told us about this in your report #{story.duplicate.id}" in text
    assert "porch box" in text
    assert f"We promised you it by {_long(_day(13))}" in text and "we kept that promise" in text
    assert "Did this fix it for you?" in text and "Did this fix it for you?" in _html(to_jo)
    assert f"/feedback/{story.target.id}" in text
    assert "Did this fix it for you?" in _text(*_to(received, voter_of_duplicate))
    # Someone who only said "me too" on the target itself is thanked as before, not asked.
    other = _text(*_to(received, voter_of_target))
    assert "You asked for this too" in other and "Did this fix it" not in other


def test_a_merged_voice_says_it_is_fixed_on_the_target(story) -> None:
    _merge(story)
    _resolve(story)
    assert workflow.fix_answer(_fresh(story.target), story.jo) is FixAnswer.UNANSWERED
    workflow.confirm_fixed(story.target.id, story.jo)
    db.session.commit()
    target = _fresh(story.target)
    assert workflow.fix_answer(target, story.jo) is FixAnswer.FIXED
    # The author's own answer is theirs: still asked.
    assert target.fix_confirmed_at is None
    assert workflow.fix_answer(target, target.author) is FixAnswer.UNANSWERED


def test_a_merged_voice_asks_to_reopen_as_the_author_does_and_the_owner_is_told(
    story, smtp_server
) -> None:
    _merge(story)
    _resolve(story)
    _deliver(smtp_server)
    workflow.request_reopen(story.target.id, story.jo, "Still on the step this morning.")
    db.session.commit()
    target = _fresh(story.target)
    assert target.reopen_requested_at is not None  # staff see it in triage
    assert workflow.fix_answer(target, story.jo) is FixAnswer.NOT_YET
    assert workflow.fix_answer(target, target.author) is FixAnswer.UNANSWERED
    (to_priya,) = _to(_deliver(smtp_server), story.priya)
    assert "Not fixed yet, says Jo" in to_priya["Subject"]
    assert "Still on the step this morning." in _text(to_priya)


def test_someone_who_never_spoke_up_on_it_cannot_answer_did_this_fix_it(
    story, make_verified_user
) -> None:
    _merge(story)
    _resolve(story)
    stranger = make_verified_user()
    with pytest.raises(NotAllowed, match="Only the person who raised this"):
        workflow.confirm_fixed(story.target.id, stranger)
    with pytest.raises(NotAllowed, match="Only the person who raised this"):
        workflow.request_reopen(story.target.id, stranger, "Not for me.")


def test_the_authors_yes_leaves_a_merged_voices_not_yet_in_triage(story) -> None:
    _merge(story)
    _resolve(story)
    workflow.request_reopen(story.target.id, story.jo, "Still on the step this morning.")
    workflow.confirm_fixed(story.target.id, story.target.author)
    db.session.commit()
    target = _fresh(story.target)
    assert target.fix_confirmed_at is not None
    assert target.reopen_requested_at is not None


def test_reopening_the_target_asks_its_merged_voices_again(story) -> None:
    _merge(story)
    _resolve(story)
    workflow.request_reopen(story.target.id, story.jo, "Still on the step this morning.")
    workflow.reopen(story.target.id, story.priya, "Jo, sorry: I am on it again.", post_anyway=True)
    db.session.commit()
    _resolve(story)
    assert workflow.fix_answer(_fresh(story.target), story.jo) is FixAnswer.UNANSWERED


def test_votes_still_move_once_with_the_voices_recorded(story, make_verified_user) -> None:
    both = make_verified_user()
    set_vote(both, story.duplicate.id, want=True)
    set_vote(both, story.target.id, want=True)
    db.session.commit()
    _merge(story)
    votes = db.session.scalars(sa.select(Vote.user_id).where(Vote.user_id == both.id)).all()
    assert votes == [both.id]
    assert both.id in _voices(story.target)
