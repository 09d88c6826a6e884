"""The public board: which items show, filtered and sorted from the address bar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from math import ceil
from typing import Any, TypeVar, TypeVarTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.base import ExecutableOption

from portal.cache import read_cache
from portal.database import not_indexed
from portal.extensions import db
from portal.models import Feedback, FeedbackKind, FeedbackState, Vote
from portal.models.base import N_, utcnow
from portal.services.search import (
    CANDIDATES_LIMIT,
    MAX_QUERY_CHARS,
    SearchQuery,
    apply_search,
    can_widen,
    newest_matches_ranked,
    search_parameters,
)
from portal.services.site import cached_categories
from portal.services.trending import TRENDING_DAYS as TRENDING_DAYS  # the board's name
from portal.services.trending import counters_current, read_window_start, trending_since
from portal.services.visibility import visible_items_clause, words_public_clause

E = TypeVar("E", bound=StrEnum)
Ts = TypeVarTuple("Ts")


class BoardSort(StrEnum):
    """How the board is ordered."""

    MATCH = "match"  # best match first; the default when searching
    TRENDING = "trending"  # only items voted for in the last TRENDING_DAYS, most such votes first
    TOP = "top"
    NEW = "new"
    ANSWERED = "answered"  # only items with a published answer, the latest answer first

    @property
    def label(self) -> str:
        return {
            "match": N_("Best match"),
            "trending": N_("Trending"),
            "top": N_("Most votes"),
            "new": N_("Newest"),
            "answered": N_("Recently answered"),
        }[self.value]

    @property
    def narrows(self) -> bool:
        """Whether this order lists only some of the items (and the count says how many)."""
        return self in (BoardSort.TRENDING, BoardSort.ANSWERED)


def shown_on_board(narrower_index_first: bool = False) -> sa.ColumnElement[bool]:
    """What the public board lists: public, shown, approved items, for everyone alike (a
    customer's own private items are on their account page). The roadmap and its feed list
    from the same rule, so it is written once."""
    return _shown_on_board(db.engine.dialect.name, narrower_index_first)


@cache
def _shown_on_board(dialect: str, narrower_index_first: bool) -> sa.ColumnElement[bool]:
    # Built once per dialect (not_indexed writes its terms for the one it runs on): every
    # board page, search and roadmap asks, and the clause is the same each time.
    return visible_items_clause(None, narrower_index_first=narrower_index_first)


def _ranked_ids(
    search: SearchQuery,
    conditions: Sequence[sa.ColumnElement[bool]],
    all_matches: bool,
    first_only: bool,
) -> sa.Select[Any]:
    """The ids of a search's candidates (all matches, or the newest "search_candidates") in
    best match order, as (id, older, rank): the newest "ranked_newest" first, the best of
    them first, then the older ones likewise. `first_only`: the page lies within those
    newest (its last row is not past them), which are ranked alone, so its cost does not
    grow with the board. Every value is a bound parameter (_page_items gives them)."""
    if first_only:
        newest = newest_matches_ranked(search, conditions, CANDIDATES_LIMIT)
        return sa.select(
            newest.c.id, sa.literal_column("0").label("older"), newest.c.rank
        ).order_by(newest.c.rank, newest.c.id.desc())
    matches = newest_matches_ranked(search, conditions, None if all_matches else CANDIDATES_LIMIT)
    newest_first = sa.func.row_number().over(order_by=matches.c.id.desc())
    older = sa.case((newest_first > sa.bindparam("ranked_newest", type_=sa.Integer), 1), else_=0)
    tiered = sa.select(matches.c.id, older.label("older"), matches.c.rank).subquery("tiered")
    return sa.select(tiered.c.id, tiered.c.older, tiered.c.rank).order_by(
        tiered.c.older, tiered.c.rank, tiered.c.id.desc()
    )


def _counted_trending() -> bool:
    """Whether trending reads the items' counters of recent votes (the window was swept
    within the hour: services/trending.py) rather than the votes. The window's start is
    reused like the board's counts (see portal.cache)."""
    starts_at: datetime | None = read_cache().get_or_compute(
        ("trending_window",), read_window_start
    )
    return counters_current(starts_at, utcnow())


# Literal, not a bound value: SQLite uses a partial index only for a term written as its own.
_HAS_RECENT_VOTES = Feedback.recent_votes > sa.literal_column("0")


def _recent_votes(bound: bool = False) -> sa.Subquery:
    # The exact count, when the counters are not current: read off
    # ix_votes_created_at_feedback_id, a range of the last days, grouped by item. Grouped by
    # the column SQLite may not index, or it walks every vote in item order to skip a sort of
    # the few recent ones. `bound`: the window's start is the bound parameter "trending_since".
    since: Any = (
        sa.bindparam("trending_since", type_=Vote.created_at.type) if bound else trending_since()
    )
    return (
        sa.select(Vote.feedback_id, sa.func.count().label("recent"))
        .where(Vote.created_at >= since)
        .group_by(not_indexed(Vote.feedback_id))
        .subquery("recent_votes")
    )


def _trending_order(recent: Any, backwards: bool = False) -> list[sa.UnaryExpression[Any]]:
    if backwards:
        return [recent.asc(), Feedback.vote_count.asc(), Feedback.id.asc()]
    return [recent.desc(), Feedback.vote_count.desc(), Feedback.id.desc()]


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

        def pick(enum_cls: type[E], value: str | None) -> E | None:
            try:
                return enum_cls(value) if value else None
            except ValueError:
                return None

        try:
            page = max(1, min(int(args.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        q = (args.get("q") or "").strip()[:MAX_QUERY_CHARS]
        sort = pick(BoardSort, args.get("sort"))
        if sort is None or (sort is BoardSort.MATCH and not q):
            sort = BoardSort.MATCH if q else BoardSort.TOP
        return cls(
            state=pick(FeedbackState, args.get("state")),
            category=(args.get("category") or None),
            kind=pick(FeedbackKind, args.get("kind")),
            sort=sort,
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


def _category_id(filters: BoardFilters) -> int | None:
    """The chosen category's id, found by slug in the cached list (None: no such category)."""
    return next((c.id for c in cached_categories() if c.slug == filters.category), None)


def _condition_parameters(filters: BoardFilters) -> dict[str, Any]:
    """The values of the bound parameters of _conditions(filters, bound=True)."""
    return {"state": filters.state, "kind": filters.kind, "category_id": _category_id(filters)}


def _conditions(filters: BoardFilters, bound: bool = False) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms for the board's filters: public, shown items only, then the filters.
    The category is found by slug in the cached list, so no join is needed. `bound`: the
    state, kind and category are bound parameters (_condition_parameters gives them)."""
    # Searches are driven by the full-text index; category filters by the category index;
    # trending by its own index (or the votes' time index), never the state's.
    searching = bool(filters.q)
    column = not_indexed if searching or filters.sort is BoardSort.TRENDING else (lambda c: c)
    # Trending is driven by its own index, answered by the answers' time index. A
    # category with a state is read off the category's state index; a category alone off the
    # category's board indexes, which lead with the visibility columns like the board's own.
    by_category_state = bool(filters.category) and filters.state is not None
    narrower = searching or by_category_state or filters.sort.narrows
    conditions = [shown_on_board(narrower_index_first=narrower)]
    if searching:
        conditions.append(words_public_clause())
    if filters.sort is BoardSort.ANSWERED:
        conditions.append(Feedback.resolved_at.is_not(None))
    if filters.state is not None:
        state: Any = sa.bindparam("state") if bound else filters.state
        conditions.append(column(Feedback.state) == state)
    if filters.kind is not None:
        kind: Any = sa.bindparam("kind") if bound else filters.kind
        conditions.append(Feedback.kind == kind)
    if filters.category:
        category_id = _category_id(filters)
        # Trending and answered list few items of all: their own index drives, not the
        # category's (every item of it).
        by = not_indexed if filters.sort.narrows else column
        if category_id is None:
            conditions.append(sa.false())
        else:
            chosen: Any = sa.bindparam("category_id") if bound else category_id
            conditions.append(by(Feedback.category_id) == chosen)
    return conditions


def _order(sort: BoardSort, newest_last: bool = False) -> list[sa.UnaryExpression[Any]]:
    first = {BoardSort.NEW: Feedback.created_at, BoardSort.ANSWERED: Feedback.resolved_at}.get(
        sort, Feedback.vote_count
    )
    if newest_last:
        return [first.asc(), Feedback.id.asc()]
    return [first.desc(), Feedback.id.desc()]


# A search on the board counts its matches up to this many, and past it says "1000+": an
# exact count walks every match, and a common word matches a tenth of the board.
SEARCH_COUNT_LIMIT = 1000
# "Best match" ranks the newest this many matches first, then the older ones: ranking reads
# each candidate's words, so the first pages rank this many whatever the board's size, and
# only pages past them rank every candidate.
RANKED_NEWEST = 200


def board_count(filters: BoardFilters, limit: int | None = None) -> int:
    """How many items match the filters, reused for a few seconds (see portal.cache): an
    exact count walks every matching index entry, which grows with the board. With a
    `limit`, counting stops past it (limit + 1 says "more than the limit")."""
    return _board_count(filters, limit)[0]


def _board_count(filters: BoardFilters, limit: int | None) -> tuple[int, bool]:
    """The count, and whether a search's last word was read as the start of longer words as
    well: not when more than `limit` items match the words as typed, whose newest matches
    are then the ones paged through."""

    def narrowed(query: sa.Select[*Ts], prefix_last: bool) -> sa.Select[*Ts]:
        query = query.where(*_conditions(filters))
        if filters.sort is BoardSort.TRENDING and _counted_trending():
            # The entries of the trending index alone, no vote read.
            query = query.where(_HAS_RECENT_VOTES)
        elif filters.sort is BoardSort.TRENDING:
            recent = _recent_votes()
            query = query.join(recent, recent.c.feedback_id == Feedback.id)
        if filters.q:
            query = apply_search(
                query, filters.search, order_by_rank=False, prefix_last=prefix_last
            )
        return query

    def first(limit: int, prefix_last: bool) -> sa.Subquery:
        name = "counted" if prefix_last else "counted_as_typed"
        return narrowed(sa.select(Feedback.id), prefix_last).limit(limit + 1).subquery(name)

    def counted() -> tuple[int, bool]:
        if limit is None:
            query = narrowed(sa.select(sa.func.count(Feedback.id)), True)
            return db.session.scalar(query) or 0, True
        widened = sa.select(sa.func.count()).select_from(first(limit, True))
        if not (filters.q and can_widen(filters.search)):
            return db.session.scalar(widened) or 0, True
        # The words as typed first: past the limit on those, the prefix (which only adds
        # matches) is not asked, as FTS5 merges the lists of every word it starts for it.
        # One statement: the database asks the second count only when the first is short.
        as_typed = sa.select(sa.func.count().label("n")).select_from(first(limit, False))
        exact = as_typed.subquery("as_typed")
        row = db.session.execute(
            sa.select(
                exact.c.n, sa.case((exact.c.n > limit, None), else_=widened.scalar_subquery())
            )
        ).one()
        if row[1] is None:
            return row[0], False
        return row[1], True

    # Whether a search was typed is part of the key: a search with no words ("!") matches
    # nothing, the board without one matches everything, and both have no terms.
    key = (
        "board_count",
        filters.state,
        filters.category,
        filters.kind,
        bool(filters.q),
        filters.search.terms,
        filters.sort if filters.sort.narrows else None,
        limit,
    )
    return read_cache().get_or_compute(key, counted)


@dataclass(frozen=True)
class BoardPage:
    """One page of the board and where it stands among the pages (read like the pages of
    Flask-SQLAlchemy's paginate, which the page macros and the API envelope also get)."""

    items: list[Feedback]
    total: int
    page: int
    per_page: int
    # More items match than `total` says (a search counted up to SEARCH_COUNT_LIMIT): the
    # pages are those of the first `total`.
    more: bool = False

    @property
    def pages(self) -> int:
        """How many pages there are (none when nothing matches)."""
        return ceil(self.total / self.per_page) if self.total else 0

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        """The previous page's number (None on the first)."""
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        """The next page's number (None on the last)."""
        return self.page + 1 if self.has_next else None


MAX_PER_PAGE = 100


def board_page(
    filters: BoardFilters,
    per_page: int,
    options: Sequence[ExecutableOption] = (),
    search_count_limit: int | None = None,
    ranked_newest: int = RANKED_NEWEST,
) -> BoardPage:
    """The page of the board that the filters ask for (empty past the last page). At most
    100 to a page; a page number below 1 is the first page. With `search_count_limit`, a
    search counts that many matches at most (BoardPage.more says there are others) and
    pages through those. Best match lists the newest `ranked_newest` matches first, the
    best of them first, then the older ones, the best of those first."""
    page = max(filters.page, 1)
    per_page = min(per_page, MAX_PER_PAGE)
    if per_page < 1:
        per_page = 20
    limit = search_count_limit if filters.q else None
    total, prefix_last = _board_count(filters, limit)
    more = False
    if limit is not None and total > limit:
        total, more = limit, True
    return BoardPage(
        items=_page_items(
            filters,
            page,
            per_page,
            options,
            total,
            from_end_ok=not more,
            prefix_last=prefix_last,
            ranked_newest=ranked_newest,
        ),
        total=total,
        page=page,
        per_page=per_page,
        more=more,
    )


# The board's page statements, built once per shape (which filters are chosen, the order,
# the path through _page_statement, the number of searched words) and run with each page's
# values as bound parameters: building one cost as much as running it.
_PAGE_STATEMENTS: dict[tuple[Any, ...], sa.Select[Feedback]] = {}


def _page_items(
    filters: BoardFilters,
    page: int,
    per_page: int,
    options: Sequence[ExecutableOption],
    total: int,
    from_end_ok: bool = True,
    prefix_last: bool = True,
    ranked_newest: int = RANKED_NEWEST,
) -> list[Feedback]:
    """The page's items, in one statement, its page chosen before any row is read.

    An inner SELECT picks the page's ids with LIMIT/OFFSET over index entries (the visibility
    columns lead the board's indexes, so no row is visited on the way); the outer one loads
    only those rows. Pages past the middle are picked from the far end of the index, so the
    last page costs what the first does; only middle pages walk far. Not when `total` counts
    only the first matches (from_end_ok false): their far end is not the index's. A search
    reads its last word as a prefix unless `prefix_last` is false (as counted). Best match
    orders the candidates by (older than the newest `ranked_newest`, rank, newest first).
    """
    offset = (page - 1) * per_page
    if offset >= total:
        return []
    limit = min(per_page, total - offset)
    # Ranked only with words to rank by (a search with none matches nothing anyway).
    by_rank = bool(filters.search) and filters.sort is BoardSort.MATCH
    trending = filters.sort is BoardSort.TRENDING and not by_rank
    counted = trending and _counted_trending()
    # Pages past the middle read from the far end: the page's first row is `limit` rows
    # from that end (trending's too, when read off its index).
    from_end = from_end_ok and offset > total // 2 and not (by_rank or (trending and not counted))
    first_only = by_rank and offset + limit <= ranked_newest
    parameters: dict[str, Any] = {
        **_condition_parameters(filters),
        "page_offset": total - offset - limit if from_end else offset,
        "page_limit": limit,
        "trending_since": trending_since(),
        "ranked_newest": ranked_newest,
    }
    if filters.q:
        # Every match when they were all counted; past the count's limit, the newest
        # `total` of them (the ones counted); a page within the newest `ranked_newest`,
        # those alone.
        candidates = min(total, ranked_newest) if first_only else total
        parameters.update(search_parameters(filters.search, prefix_last, candidates))
    shape = (
        db.engine.dialect.name,
        filters.sort,
        filters.state is not None,
        filters.kind is not None,
        None if not filters.category else parameters["category_id"] is not None,
        bool(filters.q),
        len(filters.search.terms),
        from_end_ok,
        from_end,
        first_only,
        counted,
    )
    statement = _PAGE_STATEMENTS.get(shape) if not options else None
    if statement is None:
        statement = _page_statement(
            filters, by_rank, trending, counted, from_end_ok, from_end, first_only
        )
        if options:
            statement = statement.options(*options)
        else:
            _PAGE_STATEMENTS[shape] = statement
    return list(db.session.scalars(statement, parameters).unique())


def _page_statement(
    filters: BoardFilters,
    by_rank: bool,
    trending: bool,
    counted: bool,
    from_end_ok: bool,
    from_end: bool,
    first_only: bool,
) -> sa.Select[Feedback]:
    """The page's statement for filters of this shape (the path _page_items chose), its
    values bound parameters, the search's words included (so whether the last is read as a
    prefix is a value too). `counted`: trending reads the items' counters."""
    conditions = _conditions(filters, bound=True)
    ids: sa.Select[*tuple[Any, ...]]  # (id, rank) when ranked, (id, recent) trending, else (id)
    if counted:
        # Read off the trending index in its order (backwards from the far end's pages).
        ids = sa.select(Feedback.id, Feedback.recent_votes.label("recent")).where(
            _HAS_RECENT_VOTES, *conditions
        )
        if filters.q:
            ids = apply_search(ids, filters.search, order_by_rank=False, bound=True)
        ids = ids.order_by(*_trending_order(Feedback.recent_votes, backwards=from_end))
    elif trending:
        recent = _recent_votes(bound=True)
        ids = (
            sa.select(Feedback.id, recent.c.recent)
            .join(recent, recent.c.feedback_id == Feedback.id)
            .where(*conditions)
        )
        if filters.q:
            ids = apply_search(ids, filters.search, order_by_rank=False, bound=True)
        # Few items are voted for in a fortnight: their page is picked after a short sort.
        ids = ids.order_by(*_trending_order(recent.c.recent))
    elif by_rank:
        ids = _ranked_ids(filters.search, conditions, from_end_ok, first_only)
    elif filters.q and not from_end_ok:
        # Past the count's limit, the newest `total` matches (the ones counted) in the
        # board's order: sorting every match grows with the board.
        newest = newest_matches_ranked(filters.search, conditions, CANDIDATES_LIMIT, ranked=False)
        ids = sa.select(Feedback.id).join(newest, newest.c.id == Feedback.id)
        ids = ids.order_by(*_order(filters.sort))
    else:
        ids = sa.select(Feedback.id).where(*conditions)
        if filters.q:
            ids = apply_search(ids, filters.search, order_by_rank=False, bound=True)
        ids = ids.order_by(*_order(filters.sort, newest_last=from_end))
    chosen = (
        ids.offset(sa.bindparam("page_offset", type_=sa.Integer))
        .limit(sa.bindparam("page_limit", type_=sa.Integer))
        .subquery("board_page")
    )
    outer_order: Sequence[sa.ColumnElement[Any]]
    if by_rank:
        outer_order = [chosen.c.older, chosen.c.rank, Feedback.id.desc()]
    elif trending:
        outer_order = _trending_order(chosen.c.recent)
    else:
        outer_order = _order(filters.sort)
    return (
        sa.select(Feedback)
        .join(chosen, chosen.c.id == Feedback.id)
        .options(joinedload(Feedback.category))
        .order_by(*outer_order)
    )
