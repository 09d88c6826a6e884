"""Voting: one "me too" per person and item, with a vote count that stays exact."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from portal.database import insert_if_absent
from portal.extensions import db
from portal.models import Feedback, FeedbackState, User, Vote
from portal.services import notifications
from portal.services.errors import DomainError, NotFound

CLOSED_FOR_VOTES = frozenset({FeedbackState.DECLINED, FeedbackState.DUPLICATE})
FEEDBACK: sa.Table = Feedback.__table__  # type: ignore[assignment]
VOTES: sa.Table = Vote.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class VoteResult:
    """What the voter now sees: whether they have voted, and the item's count."""

    voted: bool
    vote_count: int


def _bump(item: Feedback, delta: int) -> None:
    # Counted in SQL (count = count + 1), never read-modify-write in Python, so racing
    # requests each add their own step; the unique constraint decides which rows exist.
    # RETURNING hands back the count this change produced, without another SELECT. On the
    # table, not the entity: nothing in the session needs synchronising, and a vote is the
    # busiest write there is.
    new_count = db.session.execute(
        sa.update(FEEDBACK)
        .where(FEEDBACK.c.id == item.id)
        .values(vote_count=FEEDBACK.c.vote_count + delta)
        .returning(FEEDBACK.c.vote_count)
    ).scalar_one()
    # Recorded as loaded from the database: not a change of ours to flush.
    set_committed_value(item, "vote_count", new_count)


def toggle_vote(user: User, item: Feedback) -> VoteResult:
    """Add the person's vote to the item, or take it back if they had voted."""
    if not item.can_view(user):
        raise NotFound("We could not find that feedback.")
    if item.state in CLOSED_FOR_VOTES:
        raise DomainError(
            "This item is closed for votes. Its page says where the conversation went."
        )
    deleted = db.session.execute(
        sa.delete(VOTES).where(VOTES.c.user_id == user.id, VOTES.c.feedback_id == item.id)
    )
    if deleted.rowcount:
        _bump(item, -1)
        voted = False
    elif insert_if_absent(db.session, Vote, user_id=user.id, feedback_id=item.id):
        _bump(item, +1)
        voted = True
        # Saying "me too" means wanting to hear how it ends.
        notifications.follow(user, item)
    else:
        # The same person's other request inserted the vote first: it is counted there.
        db.session.refresh(item, ["vote_count"])
        voted = True
    return VoteResult(voted=voted, vote_count=item.vote_count)


def voted_item_ids(user: User | None, item_ids: list[int]) -> set[int]:
    """Which of these items this person has voted on, in one query."""
    if user is None or not user.is_authenticated or not item_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Vote.feedback_id).where(
                Vote.user_id == user.id, Vote.feedback_id.in_(item_ids)
            )
        )
    )
