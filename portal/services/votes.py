"""Voting: one "me too" per person and item, with a vote count that stays exact."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Feedback, FeedbackState, User, Vote
from portal.services import notifications
from portal.services.errors import DomainError, NotFound

CLOSED_FOR_VOTES = frozenset({FeedbackState.DECLINED, FeedbackState.DUPLICATE})


@dataclass(frozen=True)
class VoteResult:
    """What the voter now sees: whether they have voted, and the item's count."""

    voted: bool
    vote_count: int


def _bump(item_id: int, delta: int) -> None:
    # Counted in SQL (count = count + 1), never read-modify-write in Python, so racing
    # requests each add their own step; the unique constraint decides which rows exist.
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == item_id)
        .values(vote_count=Feedback.vote_count + delta)
        .execution_options(synchronize_session=False)
    )


def toggle_vote(user: User, item: Feedback) -> VoteResult:
    """Add the person's vote to the item, or take it back if they had voted."""
    if not item.can_view(user):
        raise NotFound("We could not find that feedback.")
    if item.state in CLOSED_FOR_VOTES:
        raise DomainError(
            "This item is closed for votes. Its page says where the conversation went."
        )
    deleted = db.session.execute(
        sa.delete(Vote)
        .where(Vote.user_id == user.id, Vote.feedback_id == item.id)
        .execution_options(synchronize_session=False)
    )
    if deleted.rowcount:
        _bump(item.id, -1)
        voted = False
    else:
        try:
            with db.session.begin_nested():
                db.session.add(Vote(user_id=user.id, feedback_id=item.id))
                db.session.flush()
        except IntegrityError:
            # The same person's other request inserted the vote first: it is counted there.
            voted = True
        else:
            _bump(item.id, +1)
            voted = True
            # Saying "me too" means wanting to hear how it ends.
            notifications.follow(user, item)
    db.session.refresh(item, ["vote_count"])
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
