"""The public board: which items show, filtered and sorted from the address bar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.models import Category, Feedback, FeedbackKind, FeedbackState
from portal.services.feedback import visible_items_clause
from portal.services.search import MAX_QUERY_CHARS, SearchQuery, apply_search


class BoardSort(StrEnum):
    """How the board is ordered."""

    MATCH = "match"  # best match first; the default when searching
    TOP = "top"
    NEW = "new"

    @property
    def label(self) -> str:
        return {"match": "Best match", "top": "Most votes", "new": "Newest"}[self.value]


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters as they appear in the URL; unknown values are ignored, not errors."""

    state: FeedbackState | None = None
    category: str | None = None
    kind: FeedbackKind | None = None
    sort: BoardSort = BoardSort.TOP
    page: int = 1
    q: str = ""

    @property
    def search(self) -> SearchQuery:
        """The search typed in the box, reduced to words."""
        return SearchQuery.parse(self.q)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BoardFilters:
        """Read filters from query-string arguments, dropping anything that is not valid."""

        def pick(enum_cls: type[StrEnum], value: str | None) -> StrEnum | None:
            try:
                return enum_cls(value) if value else None
            except ValueError:
                return None

        try:
            page = max(1, min(int(args.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        q = (args.get("q") or "").strip()[:MAX_QUERY_CHARS]
        sort = pick(BoardSort, args.get("sort"))  # type: ignore[assignment]
        if sort is None or (sort is BoardSort.MATCH and not q):
            sort = BoardSort.MATCH if q else BoardSort.TOP
        return cls(
            state=pick(FeedbackState, args.get("state")),  # type: ignore[arg-type]
            category=(args.get("category") or None),
            kind=pick(FeedbackKind, args.get("kind")),  # type: ignore[arg-type]
            sort=sort,  # type: ignore[arg-type]
            page=page,
            q=q,
        )

    def as_args(self, **changes: object) -> dict[str, str]:
        """The filters as URL arguments (defaults left out), with some values changed."""
        values: dict[str, object] = {
            "state": self.state,
            "category": self.category,
            "kind": self.kind,
            "q": self.q or None,
            "sort": None
            if self.sort is (BoardSort.MATCH if self.q else BoardSort.TOP)
            else self.sort,
            "page": self.page if self.page != 1 else None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def page_args(self, page: int) -> dict[str, str]:
        """URL arguments for another page of the same results."""
        return self.as_args(page=page if page != 1 else None)


def board_query(filters: BoardFilters) -> sa.Select[tuple[Feedback]]:
    """The SELECT for the public board: public, shown items only (private ones live elsewhere)."""
    query = (
        sa.select(Feedback)
        .where(visible_items_clause(None))
        # Many-to-one, so joined: one statement whatever the page size.
        .options(joinedload(Feedback.category))
    )
    if filters.state is not None:
        query = query.where(Feedback.state == filters.state)
    if filters.kind is not None:
        query = query.where(Feedback.kind == filters.kind)
    if filters.category:
        query = query.join(Category, Category.id == Feedback.category_id).where(
            Category.slug == filters.category
        )
    if filters.q:
        query = apply_search(
            query, filters.search, prefix_last=True, order_by_rank=filters.sort is BoardSort.MATCH
        )
        if filters.sort is BoardSort.MATCH:
            return query
    if filters.sort is BoardSort.NEW:
        return query.order_by(Feedback.created_at.desc(), Feedback.id.desc())
    return query.order_by(Feedback.vote_count.desc(), Feedback.id.desc())
