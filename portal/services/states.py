"""The workflow's state machine: which state an item may move to from where it is.

The workflow refuses any other move (workflow.InvalidTransition), and pages offer only these,
so a button is never shown for a move the workflow would refuse. The states themselves, their
labels and which are open, are the model's (models.FeedbackState).
"""

from __future__ import annotations

from portal.models import OPEN_STATES, Feedback, FeedbackState

# The way forward; skipping ahead is allowed, going back is not (except reopening).
FORWARD_ORDER = (
    FeedbackState.RECEIVED,
    FeedbackState.ACKNOWLEDGED,
    FeedbackState.INVESTIGATING,
    FeedbackState.PLANNED,
    FeedbackState.IN_PROGRESS,
    FeedbackState.RESOLVED,
)


def _allowed_from(state: FeedbackState) -> frozenset[FeedbackState]:
    if state in OPEN_STATES:
        later = FORWARD_ORDER[FORWARD_ORDER.index(state) + 1 :]
        return frozenset([*later, FeedbackState.DECLINED, FeedbackState.DUPLICATE])
    if state is FeedbackState.RESOLVED:
        return frozenset({FeedbackState.INVESTIGATING})  # reopening, with a reason
    return frozenset()


# Every legal move.
ALLOWED_TRANSITIONS: dict[FeedbackState, frozenset[FeedbackState]] = {
    state: _allowed_from(state) for state in FeedbackState
}


def next_states(item: Feedback) -> frozenset[FeedbackState]:
    """The states this item may move to from where it is."""
    return ALLOWED_TRANSITIONS[item.state]
