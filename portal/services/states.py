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


# What each move asks for, besides the state: the keyword arguments of workflow.move. The one
# place that says it: the admin page shows each move only its own fields, and the move form
# refuses a field meant for another move instead of dropping it.
MOVE_FIELDS: dict[FeedbackState, tuple[str, ...]] = {
    FeedbackState.ACKNOWLEDGED: ("message",),
    FeedbackState.INVESTIGATING: ("message",),
    FeedbackState.PLANNED: ("message", "target_date", "outcome"),
    FeedbackState.IN_PROGRESS: ("message",),
    FeedbackState.RESOLVED: ("message", "you_said", "we_did"),
    FeedbackState.DECLINED: ("message",),
    FeedbackState.DUPLICATE: ("message", "duplicate_of", "promise", "promise_reason"),
}

# What a move asks about the item's promised date, asked only of an item that has one.
PROMISE_FIELDS = frozenset({"promise", "promise_reason"})


def move_fields(item: Feedback, to_state: FeedbackState) -> tuple[str, ...]:
    """What moving this item to `to_state` asks for (workflow.move's keyword arguments): a
    merge asks what becomes of a promised date only when the item has one."""
    fields = MOVE_FIELDS.get(to_state, ())
    if item.target_date is None:
        fields = tuple(name for name in fields if name not in PROMISE_FIELDS)
    return fields


def states_asking_for(name: str) -> frozenset[FeedbackState]:
    """The moves that ask for the field `name` (every move asks for a message)."""
    return frozenset(state for state, fields in MOVE_FIELDS.items() if name in fields)
