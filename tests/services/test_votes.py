"""Voting: one vote per person and item, and a stored count that always equals the rows."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.database import commit_keeping_loaded, sqlite_write_intent
from portal.extensions import db
from portal.models import Feedback, FeedbackState, Follow, Role, Vote
from portal.services import events, notifications, workflow
from portal.services.errors import DomainError, NotFound
from portal.services.visibility import can_view
from portal.services.votes import ClosedForVotes, set_vote
from tests.helpers import count_queries, csrf_token, login, post


def _rows(item_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Vote.feedback_id == item_id))


def _stored(item_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Feedback, item_id).vote_count


def test_author_counts_as_the_first_voice(make_feedback) -> None:
    item = make_feedback()
    assert item.vote_count == 1 == _rows(item.id)


def test_voting_twice_keeps_one_vote_and_taking_back_twice_keeps_none(
    make_user, make_feedback
) -> None:
    """A retried request (the first one went through, the answer was lost) asks for what
    already is: it changes nothing and answers the same."""
    item = make_feedback()
    voter = make_user()
    for _ in range(2):
        result = set_vote(voter, item.id, want=True)
        db.session.commit()
        assert (result.voted, result.vote_count) == (True, 2)
        assert _stored(item.id) == 2 == _rows(item.id)
        assert _follows(voter.id, item.id)
    # The follow the vote brought ends with the first take-back; the second has nothing to end.
    for stopped_following in (True, False):
        result = set_vote(voter, item.id, want=False)
        db.session.commit()
        assert (result.voted, result.vote_count) == (False, 1)
        assert result.stopped_following is stopped_following
        assert _stored(item.id) == 1 == _rows(item.id)
        assert not _follows(voter.id, item.id)


def test_only_a_change_is_told(monkeypatch, make_user, make_feedback) -> None:
    item = make_feedback()
    voter = make_user()
    told: list[events.VoteChanged] = []
    emit = events.emit
    monkeypatch.setattr(events, "emit", lambda event: (told.append(event), emit(event)))
    for want in (True, True, False, False):
        set_vote(voter, item.id, want=want)
    assert [(e.voted, e.vote_count) for e in told] == [(True, 2), (False, 1)]


def test_a_form_that_does_not_say_switches(make_user, make_feedback) -> None:
    """None: a vote form from before the button said what it wants, pressed once more."""
    item = make_feedback()
    voter = make_user()
    assert set_vote(voter, item.id, want=None).voted is True
    assert _stored(item.id) == 2
    assert set_vote(voter, item.id, want=None).voted is False
    assert _stored(item.id) == 1 == _rows(item.id)


def _follows(user_id: int, item_id: int) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Follow.user_id == user_id, Follow.feedback_id == item_id
            )
        )
    )


def test_taking_a_vote_back_ends_the_follow_it_brought(make_user, make_feedback) -> None:
    item = make_feedback()
    voter = make_user()
    set_vote(voter, item.id, want=True)
    db.session.commit()
    assert _follows(voter.id, item.id)
    result = set_vote(voter, item.id, want=False)
    db.session.commit()
    assert result.stopped_following is True
    assert not _follows(voter.id, item.id)


def test_a_follow_chosen_or_authored_outlives_taking_the_vote_back(
    make_user, make_feedback
) -> None:
    author = make_user()
    item = make_feedback(author=author)
    chose_first, chose_after = make_user(), make_user()
    notifications.set_following(chose_first, item.id, True)  # followed, then voted
    set_vote(chose_first, item.id, want=True)
    set_vote(chose_after, item.id, want=True)  # voted, then pressed Follow as well
    notifications.set_following(chose_after, item.id, True)
    db.session.commit()

    for person in (author, chose_first, chose_after):  # the author's vote is the first voice
        result = set_vote(person, item.id, want=False)
        db.session.commit()
        assert (result.voted, result.stopped_following) == (False, False)
        assert _follows(person.id, item.id)


def test_a_merge_keeps_a_follow_chosen_on_either_item(make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    duplicate, target = make_feedback(), make_feedback()
    voter, chooser = make_user(), make_user()
    set_vote(voter, duplicate.id, want=True)
    set_vote(chooser, target.id, want=True)  # only a vote's follow on the target...
    notifications.set_following(chooser, duplicate.id, True)  # ...but chosen on the duplicate
    db.session.commit()
    workflow.merge(
        duplicate.id,
        staff,
        target.id,
        "Thank you; this is the same as the one we fix.",
        post_anyway=True,
    )
    db.session.commit()

    # The voter's follow came with their vote, which moved too: taking it back ends both.
    assert set_vote(voter, target.id, want=False).stopped_following is True
    # The chooser chose to follow the conversation, which goes on in the target.
    assert set_vote(chooser, target.id, want=False).stopped_following is False
    db.session.commit()
    assert not _follows(voter.id, target.id) and _follows(chooser.id, target.id)


def test_unique_constraint_refuses_a_second_vote_row(make_user, make_feedback) -> None:
    item = make_feedback()
    voter = make_user()
    db.session.add(Vote(user_id=voter.id, feedback_id=item.id))
    db.session.commit()
    db.session.add(Vote(user_id=voter.id, feedback_id=item.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_private_item_cannot_be_voted_on_by_others(make_user, make_feedback) -> None:
    item = make_feedback(visibility="private")
    with pytest.raises(NotFound):
        set_vote(make_user(), item.id, want=True)


def test_merged_item_is_closed_for_votes(make_user, make_feedback) -> None:
    item = make_feedback()
    item.state = FeedbackState.DUPLICATE
    db.session.commit()
    with pytest.raises(DomainError, match="closed for votes"):
        set_vote(make_user(), item.id, want=True)


@pytest.mark.parametrize("want", [True, False, None])
def test_an_item_closed_while_the_vote_was_read_takes_no_vote(
    make_user, make_feedback, want: bool | None
) -> None:
    """A vote reads the item before it starts writing (portal.database.reads_first): if staff
    decline it in between, the vote is refused and leaves nothing behind, whichever way the
    button asked (to vote, to take it back, or, an old form, to switch)."""
    item = make_feedback()
    voter = make_user()
    commit_keeping_loaded(db.session)
    db.session.scalar(sa.select(Feedback.id))  # the vote's read: the item is still open here
    with db.engine.begin() as staff_request:
        staff_request.execute(
            sa.update(Feedback.__table__)
            .where(Feedback.__table__.c.id == item.id)
            .values(state=FeedbackState.DECLINED)
        )
    assert item.state is not FeedbackState.DECLINED

    with pytest.raises(ClosedForVotes, match="Voting has closed: we decided not to do this"):
        set_vote(voter, item.id, want=want)
    db.session.rollback()
    assert _rows(item.id) == 1 == _stored(item.id)
    assert not db.session.scalar(sa.select(Follow.id).where(Follow.user_id == voter.id))


@pytest.mark.parametrize("want", [True, False, None])
@pytest.mark.parametrize(
    "change", [{"hidden": True}, {"visibility": "private"}, {"awaiting_review": True}]
)
def test_an_item_hidden_while_the_vote_was_read_takes_no_vote(
    make_user, make_feedback, change: dict, want: bool | None
) -> None:
    """Staff hiding an item, or making it private, between the vote's read and its write: the
    voter no longer sees it, so the vote is refused as if it were not there (404)."""
    item = make_feedback()
    voter = make_user()
    commit_keeping_loaded(db.session)
    db.session.scalar(sa.select(Feedback.id))  # the vote's read: the item is still public here
    with db.engine.begin() as staff_request:
        staff_request.execute(
            sa.update(Feedback.__table__).where(Feedback.__table__.c.id == item.id).values(change)
        )
    assert can_view(item, voter)

    with pytest.raises(NotFound):
        set_vote(voter, item.id, want=want)
    db.session.rollback()
    assert _rows(item.id) == 1 == _stored(item.id)
    assert not db.session.scalar(sa.select(Follow.id).where(Follow.user_id == voter.id))


def test_the_author_and_staff_still_vote_on_a_private_item(make_user, make_feedback) -> None:
    author = make_user()
    item = make_feedback(author=author, visibility="private")
    assert (
        set_vote(author, item.id, want=False).voted is False
    )  # the author's first voice, taken back
    assert set_vote(make_user(role=Role.STAFF), item.id, want=True).voted is True
    db.session.commit()
    assert _stored(item.id) == 1 == _rows(item.id)


def _hammer(clients: list, url: str, rounds: int, data: dict | None = None) -> list[str]:
    """Every client presses the vote `rounds` times, all starting together, sending `data` (by
    default nothing: each press switches); the failures."""
    barrier = threading.Barrier(len(clients))
    failures: list[str] = []

    def hammer(client) -> None:
        barrier.wait()
        try:
            for _ in range(rounds):
                response = post(client, url, data, htmx=True)
                if response.status_code != 200:
                    failures.append(
                        f"{response.status_code}: {response.get_data(as_text=True)[:200]}"
                    )
        except Exception as exc:  # a thread's exception would otherwise vanish
            failures.append(repr(exc))

    threads = [threading.Thread(target=hammer, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_one_person_voting_from_many_tabs_at_once_is_counted_once_at_most(
    app: Flask, make_user, make_feedback
) -> None:
    item = make_feedback()
    voter = make_user()
    tabs = []
    for _ in range(8):
        client = app.test_client()
        login(client, voter.email)
        tabs.append(client)
    assert not _hammer(tabs, f"/feedback/{item.id}/vote", rounds=5)
    db.session.commit()  # end the test's own transaction: read what the threads wrote
    voter_rows = db.session.scalar(
        sa.select(sa.func.count()).where(Vote.feedback_id == item.id, Vote.user_id == voter.id)
    )
    assert voter_rows in (0, 1)
    assert _stored(item.id) == _rows(item.id)


def test_one_person_asking_to_vote_from_many_tabs_at_once_has_one_vote(
    app: Flask, make_user, make_feedback
) -> None:
    """Retries and second tabs racing each other: every request asks for the vote, so it is
    there once, whichever came first."""
    item = make_feedback()
    voter = make_user()
    tabs = []
    for _ in range(8):
        client = app.test_client()
        login(client, voter.email)
        tabs.append(client)
    assert not _hammer(tabs, f"/feedback/{item.id}/vote", rounds=3, data={"want": "1"})
    db.session.commit()  # end the test's own transaction: read what the threads wrote
    assert _rows(item.id) == 2 == _stored(item.id)
    assert _follows(voter.id, item.id)


def test_racing_vote_requests_leave_an_exact_count(app: Flask, make_user, make_feedback) -> None:
    """Many people vote and unvote at the same moment through the real route."""
    item = make_feedback()
    voters = [make_user() for _ in range(8)]
    clients = []
    for voter in voters:
        client = app.test_client()
        login(client, voter.email)
        clients.append(client)
    rounds = 5  # odd: every voter ends with a vote
    failures = _hammer(clients, f"/feedback/{item.id}/vote", rounds)
    assert not failures
    db.session.commit()  # end the test's own transaction: read what the threads wrote
    assert _rows(item.id) == 1 + len(voters)
    assert _stored(item.id) == _rows(item.id)


@pytest.mark.parametrize("voted_on", ["duplicate", "target"])
def test_a_merge_while_people_vote_leaves_exact_counts(
    app: Flask, make_user, make_feedback, voted_on: str
) -> None:
    """Votes keep coming while staff merge a duplicate, on either item, from people whose
    votes on the duplicate the merge moves. On PostgreSQL, a vote and a merge that took an
    item's row and its vote rows in opposite orders deadlocked."""
    staff = make_user(role=Role.STAFF)
    target, duplicate = make_feedback(), make_feedback()
    clients = []
    for _ in range(6):
        voter = make_user()
        set_vote(voter, duplicate.id, want=True)
        db.session.commit()
        client = app.test_client()
        login(client, voter.email)
        clients.append(client)
    answers: list[int] = []
    started = threading.Barrier(len(clients) + 1)
    voted = duplicate if voted_on == "duplicate" else target
    url = f"/feedback/{voted.id}/vote"  # read here: the item belongs to this thread

    def vote_repeatedly(client) -> None:
        started.wait()
        for _ in range(10):
            answers.append(post(client, url, htmx=True).status_code)

    threads = [threading.Thread(target=vote_repeatedly, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    started.wait()
    while len(answers) < 6:
        time.sleep(0.001)
    db.session.commit()
    token = sqlite_write_intent.set(True)  # the merge is this test's own write request
    try:
        workflow.merge(
            duplicate.id,
            staff,
            target.id,
            "The same broken lift, reported twice.",
            post_anyway=True,
        )
        db.session.commit()
    finally:
        sqlite_write_intent.reset(token)
    for thread in threads:
        thread.join(timeout=60)

    assert set(answers) <= {200, 409}, answers  # voted, or told it is closed: never a 503
    db.session.commit()
    assert _rows(duplicate.id) == _stored(duplicate.id) == 0
    assert _rows(target.id) == _stored(target.id)


def _vote_statements(client, item_id: int, want: str) -> list[str]:
    """The SQL statements of one htmx vote request asking for `want`."""
    token = csrf_token(client)
    with count_queries(db.engine) as log:
        response = client.post(
            f"/feedback/{item_id}/vote",
            data={"want": want},
            headers={"HX-Request": "true", "X-CSRFToken": token},
        )
    assert response.status_code == 200, response.get_data(as_text=True)
    return log.statements


def test_a_vote_runs_few_statements_and_a_repeat_fewer(client, make_user, make_feedback) -> None:
    """The vote is the busiest write there is. Per request: the person, the item, then on
    SQLite the vote (which checks the item still takes it), its follow and the count; taking
    it back, the vote, the follow it brought and the count. A repeat stops after the vote's
    statement and reads the row to answer. On PostgreSQL all of the vote is one statement.
    "The person" is one statement with their session row joined (server-held sessions, +0)."""
    item = make_feedback()
    login(client, make_user().email)
    first, again = (_vote_statements(client, item.id, "1") for _ in range(2))
    back, back_again = (_vote_statements(client, item.id, "0") for _ in range(2))
    if db.engine.dialect.name == "postgresql":
        assert [len(x) for x in (first, again, back, back_again)] == [3, 3, 3, 3], first
        assert all(x[-1].startswith("WITH item AS") for x in (first, again, back, back_again))
        return
    assert len(first) <= 5, first
    assert len(again) <= 4, again
    assert len(back) <= 5, back
    assert len(back_again) <= 4, back_again
    # Only the first of each wrote the count.
    assert [any(s.startswith("UPDATE feedback") for s in x) for x in (first, again)] == [
        True,
        False,
    ]
    assert [any(s.startswith("UPDATE feedback") for s in x) for x in (back, back_again)] == [
        True,
        False,
    ]
