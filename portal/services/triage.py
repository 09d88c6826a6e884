"""The staff triage queue: every item, filtered and sorted for the people who answer them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.models import (
    OPEN_STATES,
    Category,
    Feedback,
    FeedbackKind,
    FeedbackState,
    Role,
    User,
    Visibility,
)
from portal.models.base import N_
from portal.services import customer_value
from portal.services.search import MAX_QUERY_CHARS, SearchQuery, apply_search
from portal.validation import parse_id


class TriageSort(StrEnum):
    """How the queue is ordered."""

    OLDEST = "oldest"
    VOTES = "votes"
    PROMISE = "promise"
    # The value of the people behind an item (author and voters): customer_value.value_order.
    VALUE = "value"

    @property
    def label(self) -> str:
        return {
            "oldest": N_("Oldest first"),
            "votes": N_("Most votes"),
            "promise": N_("Promise due soonest"),
            "value": N_("Most customer value"),
        }[self.value]


@dataclass(frozen=True)
class TriageFilters:
    """The queue's filters as they appear in the URL."""

    state: FeedbackState | None = None
    open_only: bool = True
    category: str | None = None
    kind: FeedbackKind | None = None
    owner: str | None = None  # "me", "none", or a user id
    overdue: bool = False
    private: bool = False
    reopen: bool = False
    review: bool = False
    sort: TriageSort = TriageSort.OLDEST
    page: int = 1
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TriageFilters:
        """Read the filters from query-string arguments, ignoring anything invalid."""

        def enum_or_none(enum_cls: Any, value: str | None) -> Any:
            try:
                return enum_cls(value) if value else None
            except ValueError:
                return None

        try:
            page = max(1, min(int(args.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        owner = args.get("owner") or None
        if owner not in (None, "me", "none") and parse_id(owner) is None:
            owner = None
        state = enum_or_none(FeedbackState, args.get("state"))
        return cls(
            state=state,
            open_only=state is None and args.get("all") != "1",
            category=args.get("category") or None,
            kind=enum_or_none(FeedbackKind, args.get("kind")),
            owner=owner,
            overdue=args.get("overdue") == "1",
            private=args.get("private") == "1",
            reopen=args.get("reopen") == "1",
            review=args.get("review") == "1",
            sort=enum_or_none(TriageSort, args.get("sort")) or TriageSort.OLDEST,
            page=page,
            q=(args.get("q") or "").strip()[:MAX_QUERY_CHARS],
        )

    def as_args(self, **changes: object) -> dict[str, str]:
        """The filters as URL arguments, defaults left out."""
        values: dict[str, object] = {
            "q": self.q or None,
            "state": self.state,
            "all": "1" if (not self.open_only and self.state is None) else None,
            "category": self.category,
            "kind": self.kind,
            "owner": self.owner,
            "overdue": "1" if self.overdue else None,
            "private": "1" if self.private else None,
            "reopen": "1" if self.reopen else None,
            "review": "1" if self.review else None,
            "sort": self.sort if self.sort is not TriageSort.OLDEST else None,
            "page": self.page if self.page != 1 else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def page_args(self, page: int) -> dict[str, str]:
        """URL arguments for another page of the same queue."""
        return self.as_args(page=page if page != 1 else None)


def triage_query(filters: TriageFilters, viewer: User) -> sa.Select[Feedback]:
    """The SELECT behind the queue; staff see every item, private and hidden included."""
    query = sa.select(Feedback).options(
        joinedload(Feedback.category), joinedload(Feedback.author), joinedload(Feedback.owner)
    )
    now = datetime.now(UTC)
    if filters.state is not None:
        query = query.where(Feedback.state == filters.state)
    elif filters.open_only:
        # A customer's "not fixed yet" on a Done item needs someone as much as an open item.
        query = query.where(
            sa.or_(Feedback.state.in_(OPEN_STATES), Feedback.reopen_requested_at.is_not(None))
        )
    if filters.kind is not None:
        query = query.where(Feedback.kind == filters.kind)
    if filters.category:
        query = query.join(Category, Category.id == Feedback.category_id).where(
            Category.slug == filters.category
        )
    if filters.owner == "me":
        query = query.where(Feedback.owner_id == viewer.id)
    elif filters.owner == "none":
        query = query.where(Feedback.owner_id.is_(None))
    elif filters.owner:
        query = query.where(Feedback.owner_id == int(filters.owner))
    if filters.overdue:
        query = query.where(Feedback.state == FeedbackState.RECEIVED, Feedback.ack_due_at < now)
    if filters.private:
        query = query.where(Feedback.visibility == Visibility.PRIVATE)
    if filters.reopen:
        query = query.where(Feedback.reopen_requested_at.is_not(None))
    if filters.review:
        query = query.where(Feedback.awaiting_review.is_(True))
    if filters.q:
        # Staff search everything, private and hidden items included; the queue keeps its sort.
        query = apply_search(
            query, SearchQuery.parse(filters.q), prefix_last=True, order_by_rank=False
        )
    if filters.sort is TriageSort.VOTES:
        return query.order_by(Feedback.vote_count.desc(), Feedback.id)
    if filters.sort is TriageSort.VALUE:
        return customer_value.value_order(query)
    if filters.sort is TriageSort.PROMISE:
        return query.order_by(Feedback.target_date.is_(None), Feedback.target_date, Feedback.id)
    return query.order_by(Feedback.created_at, Feedback.id)


@dataclass(frozen=True)
class QueueCounts:
    """The numbers shown above the queue."""

    by_state: dict[FeedbackState, int]
    overdue: int
    unassigned: int
    reopen_requests: int
    awaiting_review: int


def queue_counts() -> QueueCounts:
    """Counts per state and of what needs attention, in two aggregate queries."""
    by_state = dict.fromkeys(FeedbackState, 0)
    for state, count in db.session.execute(
        sa.select(Feedback.state, sa.func.count()).group_by(Feedback.state)
    ):
        by_state[state] = count
    now = datetime.now(UTC)
    open_ = Feedback.state.in_(OPEN_STATES)
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(
                Feedback.state == FeedbackState.RECEIVED, Feedback.ack_due_at < now
            ),
            sa.func.count().filter(open_, Feedback.owner_id.is_(None)),
            sa.func.count().filter(Feedback.reopen_requested_at.is_not(None)),
            sa.func.count().filter(Feedback.awaiting_review.is_(True)),
        )
    ).one()
    return QueueCounts(by_state, row[0], row[1], row[2], row[3])


def staff_members() -> list[User]:
    """Active staff and admins, for owner pickers and filters."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role.in_([Role.STAFF, Role.ADMIN]), User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def customer_history(item: Feedback, limit: int = 10) -> list[Feedback]:
    """The author's other items and how they went, so staff know who they are talking to."""
    other = aliased(Feedback)
    return list(
        db.session.scalars(
            sa.select(other)
            .where(other.author_id == item.author_id, other.id != item.id)
            .options(joinedload(other.category))
            .order_by(other.created_at.desc())
            .limit(limit)
        )
    )
