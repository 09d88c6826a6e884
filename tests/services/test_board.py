"""The board's pages: every item once, in order, whichever end a page is read from."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackState, Visibility
from portal.services.board import BoardFilters, BoardSort, board_count, board_page


def _titles(sort: str, pages: int, per_page: int = 4, **args: str) -> list[list[str]]:
    return [
        [
            item.title
            for item in board_page(
                BoardFilters.from_args({"sort": sort, "page": str(n), **args}), per_page
            ).items
        ]
        for n in range(1, pages + 1)
    ]


def _expected(sort: BoardSort, per_page: int = 4) -> list[list[str]]:
    order = (
        (Feedback.created_at.desc(), Feedback.id.desc())
        if sort is BoardSort.NEW
        else (Feedback.vote_count.desc(), Feedback.id.desc())
    )
    titles = list(
        db.session.scalars(
            sa.select(Feedback.title)
            .where(Feedback.visibility == Visibility.PUBLIC, Feedback.hidden.is_(False))
            .order_by(*order)
        )
    )
    return [titles[i : i + per_page] for i in range(0, len(titles), per_page)]


def test_pages_from_either_end_list_every_public_item_once_in_board_order(
    make_feedback, make_category
) -> None:
    category = make_category()
    items = [make_feedback(category=category, title=f"Item {n:02}") for n in range(11)]
    make_feedback(category=category, title="Private one", visibility=Visibility.PRIVATE)
    # Votes with ties, so the id breaks them; the later pages are read from the far end.
    for n, item in enumerate(items):
        item.vote_count = n % 3
    db.session.commit()

    for sort in (BoardSort.TOP, BoardSort.NEW):
        pages = _titles(sort.value, 4)
        assert pages[:3] == _expected(sort), sort
        assert pages[3] == []  # past the last page: empty, not an error
        assert sorted(t for page in pages for t in page) == sorted(i.title for i in items)
    first = board_page(BoardFilters.from_args({}), 4)
    assert (first.total, first.pages) == (11, 3)
    assert [len(p) for p in _titles("top", 3)] == [4, 4, 3]


def test_filters_narrow_the_pages_and_the_count(make_feedback, make_category) -> None:
    billing, delivery = make_category(name="Billing"), make_category(name="Delivery")
    kept = [make_feedback(category=billing, title=f"Billing {n}") for n in range(5)]
    make_feedback(category=delivery, title="Delivery 1")
    planned = kept[1]
    planned.state = FeedbackState.PLANNED
    db.session.commit()

    assert _titles("new", 2, category="billing") == [
        ["Billing 4", "Billing 3", "Billing 2", "Billing 1"],
        ["Billing 0"],
    ]
    assert _titles("new", 1, category="billing", state="planned") == [["Billing 1"]]
    assert board_count(BoardFilters.from_args({"category": "billing"})) == 5
    # An unknown category matches nothing (it is not ignored, which would show everything).
    assert board_count(BoardFilters.from_args({"category": "no-such-thing"})) == 0
    assert _titles("top", 1, category="no-such-thing") == [[]]


def test_search_pages_rank_the_best_match_first(make_feedback, make_category) -> None:
    category = make_category()
    make_feedback(category=category, title="Parcel left in the rain", body="Soaked parcel.")
    make_feedback(category=category, title="Courier was rude", body="About my parcel.")
    make_feedback(category=category, title="Invoice wrong", body="Nothing to do with it.")

    page = board_page(BoardFilters.from_args({"q": "parcel"}), 1)
    assert page.total == 2
    assert [i.title for i in page.items] == ["Parcel left in the rain"]
    second = board_page(BoardFilters.from_args({"q": "parcel", "page": "2"}), 1)
    assert [i.title for i in second.items] == ["Courier was rude"]


def test_with_many_matches_the_best_are_ranked_among_the_newest(
    make_feedback, make_category, monkeypatch
) -> None:
    # Ranking every match grows with the board, so past RANKED_CANDIDATES matches the first
    # pages rank the newest ones; deeper pages still rank them all.
    monkeypatch.setattr("portal.services.board.RANKED_CANDIDATES", 3)
    category = make_category()
    old_title_match = make_feedback(category=category, title="Refund", body="Old.")
    for n in range(3):
        make_feedback(category=category, title=f"Newer {n}", body="A refund was asked for.")
    newest_title_match = make_feedback(category=category, title="Refund please", body="New.")

    first = board_page(BoardFilters.from_args({"q": "refund"}), 2)
    assert first.total == 5  # the count is exact
    # The old exact title match is not among the three newest, so it is not on page one...
    assert first.items[0].id == newest_title_match.id
    assert old_title_match.id not in [i.id for i in first.items]
    # ...but every match is still reachable: the last page ranks them all.
    last = board_page(BoardFilters.from_args({"q": "refund", "page": "3"}), 2)
    assert len(last.items) == 1
