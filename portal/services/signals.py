"""What customers still say of a closed item, each counted apart from votes.

Votes close when an item is done, declined or merged (votes.CLOSED_FOR_VOTES), so a
published "N people raised this" never grows. What a customer still has to say goes here:
- "This still happens to me" on a Done item: a reopen request to its owner, who is told.
  It counts since the item was (last) done: said before a reopening, it is not said of the
  new answer, and saying it again then counts again.
- "I still want this" on a Not planned item: staff see it rising in triage.
Each is once per person, item and kind (a unique constraint), and can be taken back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from portal.database import insert_if_absent
from portal.extensions import db
from portal.models import Feedback, FeedbackState, ItemSignal, SignalKind, User
from portal.services import events
from portal.services.errors import DomainError, NotAllowed
from portal.services.feedback import get_visible_item
from portal.services.wording import Text, t

# The one state each can be said of.
SIGNAL_STATE: dict[SignalKind, FeedbackState] = {
    SignalKind.STILL_HAPPENS: FeedbackState.RESOLVED,
    SignalKind.STILL_WANTED: FeedbackState.DECLINED,
}
SIGNAL_OF_STATE = {state: kind for kind, state in SIGNAL_STATE.items()}
RECENT_DAYS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NotOpenForSignal(DomainError):
    """The item is not in the state this is said of (it was reopened, say)."""

    status_code = 409


@dataclass(frozen=True)
class SignalResult:
    """What the person now sees: whether they have said it, and how many people have."""

    item: Feedback
    kind: SignalKind
    said: bool
    count: int


@dataclass(frozen=True)
class SignalCounts:
    """An item's counts of each kind (as they stand for its current answer), and which of them
    the viewer has said."""

    counts: dict[SignalKind, int] = field(default_factory=dict)
    mine: frozenset[SignalKind] = frozenset()

    def count(self, kind: SignalKind | str) -> int:
        return self.counts.get(SignalKind(kind), 0)

    def said(self, kind: SignalKind | str) -> bool:
        return SignalKind(kind) in self.mine


def _counted_since(item: Feedback, kind: SignalKind) -> datetime:
    """Since when a signal counts: "still happens" since the item was last done; "still
    wanted" always (Not planned is final)."""
    if kind is SignalKind.STILL_HAPPENS and item.resolved_at is not None:
        return item.resolved_at
    return _EPOCH


def _refusal(item: Feedback, kind: SignalKind) -> Text:
    state = t(item.state.label)  # the label is marked where the states are defined
    if kind is SignalKind.STILL_HAPPENS:
        if item.state.is_open:
            return t(
                "This item is \u201c%(state)s\u201d, not done: say \u201cme too\u201d instead.",
                state=state,
            )
        return t(
            "This item is \u201c%(state)s\u201d, not done: there is nothing to say still happens.",
            state=state,
        )
    declined = t(FeedbackState.DECLINED.label)
    if item.state.is_open:
        return t(
            "This item is \u201c%(state)s\u201d, not \u201c%(declined)s\u201d: "
            "say \u201cme too\u201d instead.",
            state=state,
            declined=declined,
        )
    return t(
        "This item is \u201c%(state)s\u201d, not \u201c%(declined)s\u201d: "
        "there is nothing to ask for.",
        state=state,
        declined=declined,
    )


def require_open_for(item: Feedback, kind: SignalKind) -> None:
    """Refuse unless the item is in the state this is said of (the API asks before it makes
    an account for the customer)."""
    if item.state is not SIGNAL_STATE[kind]:
        raise NotOpenForSignal(_refusal(item, kind))


def set_signal(user: User, item_id: int, kind: SignalKind, want: bool) -> SignalResult:
    """Say "This still happens to me" or "I still want this" of an item (want=True), or take
    it back (False). Asking again for what already is changes nothing and answers the same.
    Saying it tells what follows (the owner, for "still happens"; the audit log)."""
    if not (user.is_authenticated and user.is_active) or user.is_staff:
        raise NotAllowed(
            t("This is for customers to say. Staff answer the item from its admin page.")
        )
    # The item's row first, held until the commit: two presses take turns, and a reopening
    # or a new answer in between is seen.
    item = get_visible_item(item_id, user, for_change=True)
    require_open_for(item, kind)
    changed = _record(item, user, kind, want)
    count = count_signals(item, kind)
    if changed:
        events.emit(events.ItemSignalled(item, user, kind, want, count))
        db.session.flush()
    return SignalResult(item, kind, said=want, count=count)


def _record(item: Feedback, user: User, kind: SignalKind, want: bool) -> bool:
    """Add or take back this person's signal; True when that changed what counts."""
    since = _counted_since(item, kind)
    mine = (
        ItemSignal.feedback_id == item.id,
        ItemSignal.user_id == user.id,
        ItemSignal.kind == kind,
    )
    if want:
        if insert_if_absent(
            db.session,
            ItemSignal,
            feedback_id=item.id,
            user_id=user.id,
            kind=kind.value,
            created_at=datetime.now(UTC),
        ):
            return True
        # Said before the item was done again: said again now, it counts for the new answer.
        moved = db.session.connection().execute(
            sa.update(ItemSignal)
            .where(*mine, ItemSignal.created_at < since)
            .values(created_at=datetime.now(UTC))
        )
        return bool(moved.rowcount)
    taken = db.session.connection().execute(
        sa.delete(ItemSignal).where(*mine, ItemSignal.created_at >= since)
    )
    return bool(taken.rowcount)


def record_still_happens(item: Feedback, user: User) -> None:
    """The author's "Did this fix it? Not yet" counts among the people it still happens to
    (it tells the owner itself, with the author's words)."""
    _record(item, user, SignalKind.STILL_HAPPENS, True)


def count_signals(item: Feedback, kind: SignalKind) -> int:
    """How many people say this of the item now (for its current answer)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                ItemSignal.feedback_id == item.id,
                ItemSignal.kind == kind,
                ItemSignal.created_at >= _counted_since(item, kind),
            )
        )
        or 0
    )


def _signal_count(mine: sa.ColumnElement[bool]) -> sa.Select[int, int]:
    return sa.select(sa.func.count(), sa.func.count().filter(mine)).where(
        ItemSignal.feedback_id == sa.bindparam("item_id"),
        ItemSignal.kind == sa.bindparam("kind"),
        ItemSignal.created_at >= sa.bindparam("since"),
    )


# Built once (every item page of a closed item reads it), for a signed-in viewer and for a
# visitor (whose "mine" is what `user_id == None` always compared: IS NULL).
_SIGNAL_COUNTS = {
    False: _signal_count(ItemSignal.user_id == sa.bindparam("viewer_id")),
    True: _signal_count(ItemSignal.user_id.is_(None)),
}


def signal_counts(item: Feedback, viewer: User | None) -> SignalCounts:
    """The item's count of what can be said of it in its state, and whether the viewer said
    it, in one statement; nothing is read for an item that takes none."""
    kind = SIGNAL_OF_STATE.get(item.state)
    if kind is None:
        return SignalCounts()
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    row = db.session.execute(
        _SIGNAL_COUNTS[viewer_id is None],
        {
            "item_id": item.id,
            "kind": kind,
            "since": _counted_since(item, kind),
            "viewer_id": viewer_id,
        },
    ).one()
    return SignalCounts({kind: row[0]}, frozenset({kind}) if row[1] else frozenset())


@dataclass(frozen=True)
class SignalPerson:
    """Who said it, and when (for staff)."""

    user: User
    created_at: datetime


def signal_people(item: Feedback) -> list[SignalPerson]:
    """Who says this of the item now, newest first: for staff on its admin page."""
    kind = SIGNAL_OF_STATE.get(item.state)
    if kind is None:
        return []
    rows = db.session.scalars(
        sa.select(ItemSignal)
        .where(
            ItemSignal.feedback_id == item.id,
            ItemSignal.kind == kind,
            ItemSignal.created_at >= _counted_since(item, kind),
        )
        .options(joinedload(ItemSignal.user))
        .order_by(ItemSignal.created_at.desc(), ItemSignal.id.desc())
    )
    return [SignalPerson(row.user, row.created_at) for row in rows]


def said_recently(people: list[SignalPerson], *, now: datetime | None = None) -> int:
    """How many of these said it in the last 30 days."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
    return sum(1 for person in people if person.created_at >= cutoff)


@dataclass(frozen=True)
class Rising:
    """A closed item customers are still speaking up about: how many in the last 30 days,
    and in all (since it was last done, for "still happens")."""

    item: Feedback
    kind: SignalKind
    recent: int
    total: int


def rising(limit: int = 10, *, now: datetime | None = None) -> dict[SignalKind, list[Rising]]:
    """Done items people say still happen, and Not planned items people still want, most said
    in the last 30 days first; in one statement, for the triage queue."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
    counted = sa.or_(
        sa.and_(
            ItemSignal.kind == SignalKind.STILL_WANTED,
            Feedback.state == FeedbackState.DECLINED,
        ),
        sa.and_(
            ItemSignal.kind == SignalKind.STILL_HAPPENS,
            Feedback.state == FeedbackState.RESOLVED,
            ItemSignal.created_at >= sa.func.coalesce(Feedback.resolved_at, _EPOCH),
        ),
    )
    recent = sa.func.count().filter(ItemSignal.created_at >= cutoff)
    per_item = (
        sa.select(
            ItemSignal.feedback_id,
            ItemSignal.kind.label("signal_kind"),
            recent.label("recent"),
            sa.func.count().label("total"),
        )
        .join(Feedback, Feedback.id == ItemSignal.feedback_id)
        .where(counted)
        .group_by(ItemSignal.feedback_id, ItemSignal.kind)
        .having(recent > 0)
        .subquery("per_item")
    )
    ranked = (
        sa.select(
            Feedback,
            per_item.c.signal_kind,
            per_item.c.recent,
            per_item.c.total,
            sa.func.row_number()
            .over(
                partition_by=per_item.c.signal_kind,
                order_by=(per_item.c.recent.desc(), per_item.c.total.desc(), Feedback.id),
            )
            .label("place"),
        )
        .join(per_item, per_item.c.feedback_id == Feedback.id)
        .subquery("ranked")
    )
    item = aliased(Feedback, ranked)
    rows = db.session.execute(
        sa.select(item, ranked.c.signal_kind, ranked.c.recent, ranked.c.total)
        .where(ranked.c.place <= limit)
        .order_by(ranked.c.signal_kind, ranked.c.place)
    ).all()
    found: dict[SignalKind, list[Rising]] = {kind: [] for kind in SignalKind}
    for row_item, kind, recent_count, total in rows:
        found[SignalKind(kind)].append(Rising(row_item, SignalKind(kind), recent_count, total))
    return found
