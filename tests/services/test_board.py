"""The board's pages: every item once, in order, whichever end a page is read from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackState, Role, Visibility, Vote
from portal.services.board import (
    TRENDING_DAYS,
    BoardFilters,
    BoardPage,
    BoardSort,
    board_count,
    board_page,
)
from portal.services.votes import set_vote
from tests.helpers import resolve_together


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


def test_past_the_count_limit_the_best_are_ranked_among_the_newest_visible(
    make_feedback, make_category
) -> None:
    # Ranking every match grows with the board, so past the count's limit the pages rank the
    # newest matches the visitor may see (hidden and private ones are not candidates).
    category = make_category()
    old_title_match = make_feedback(category=category, title="Refund", body="Old.")
    for n in range(3):
        make_feedback(category=category, title=f"Newer {n}", body="A refund was asked for.")
    newest_title_match = make_feedback(category=category, title="Refund please", body="New.")
    for _ in range(4):
        make_feedback(category=category, title="Refund", body="Hidden.", visibility="private")

    def page(number: int) -> BoardPage:
        filters = BoardFilters.from_args({"q": "refund", "page": str(number)})
        return board_page(filters, 2, search_count_limit=4)

    first = page(1)
    assert (first.total, first.more) == (4, True)
    # The old exact title match is not among the four newest, so it is not ranked...
    assert first.items[0].id == newest_title_match.id
    seen = [i.id for n in (1, 2) for i in page(n).items]
    assert len(seen) == 4 and old_title_match.id not in seen
    # ...and with the limit above the matches, every one is ranked, the best first.
    exact = board_page(BoardFilters.from_args({"q": "refund"}), 2, search_count_limit=5)
    assert (exact.total, exact.more) == (5, False)
    assert {i.id for i in exact.items} == {old_title_match.id, newest_title_match.id}


def test_best_match_ranks_the_newest_matches_first_then_the_older(
    make_feedback, make_category
) -> None:
    # Ranking reads each candidate's words, so the first pages rank the newest matches only
    # and the older ones follow, the best of each first: page after page, at any page size,
    # every match is listed once.
    category = make_category()
    old_title_match = make_feedback(category=category, title="Refund", body="Old.")
    old_body_match = make_feedback(category=category, title="Old", body="A refund, a while ago.")
    newer_body_match = make_feedback(category=category, title="Newer", body="Refund asked for.")
    newest_title_match = make_feedback(category=category, title="Refund please", body="New.")
    make_feedback(category=category, title="Refund", body="Hidden.", visibility="private")

    def listed(per_page: int) -> list[int]:
        ids: list[int] = []
        for number in range(1, 6):
            filters = BoardFilters.from_args({"q": "refund", "page": str(number)})
            ids += [i.id for i in board_page(filters, per_page, ranked_newest=2).items]
        return ids

    in_order = [newest_title_match.id, newer_body_match.id, old_title_match.id, old_body_match.id]
    for per_page in (1, 2, 3, 4):
        assert listed(per_page) == in_order
    # With all four ranked together, the title matches come first, old or new.
    everything = board_page(BoardFilters.from_args({"q": "refund"}), 4, ranked_newest=4)
    assert {i.id for i in everything.items[:2]} == {newest_title_match.id, old_title_match.id}


def _vote(item: Feedback, voters: list, days_ago: float = 0) -> None:
    """Votes on the item, given `days_ago`."""
    for voter in voters:
        set_vote(voter, item.id, True)
    db.session.commit()
    if days_ago:
        when = datetime.now(UTC) - timedelta(days=days_ago)
        db.session.execute(
            sa.update(Vote)
            .where(Vote.feedback_id == item.id, Vote.user_id.in_([v.id for v in voters]))
            .values(created_at=when)
        )
        db.session.commit()


def _age_every_vote(days: float) -> None:
    # An author's submission is their vote: items made here start with one, given now.
    db.session.execute(sa.update(Vote).values(created_at=datetime.now(UTC) - timedelta(days=days)))
    db.session.commit()


def test_trending_lists_items_by_their_votes_of_the_last_fourteen_days(
    make_feedback, make_category, make_user
) -> None:
    category = make_category()
    people = [make_user() for _ in range(6)]
    old_favourite = make_feedback(category=category, title="Old favourite")
    rising = make_feedback(category=category, title="Rising")
    steady = make_feedback(category=category, title="Steady")
    make_feedback(category=category, title="Quiet")
    _age_every_vote(TRENDING_DAYS + 5)
    # Its author's vote, given now: never listed all the same.
    make_feedback(category=category, author=people[0], visibility=Visibility.PRIVATE)
    # Most votes of all time, but all given long ago: not trending.
    _vote(old_favourite, people, days_ago=TRENDING_DAYS + 1)
    _vote(rising, people[:3])
    _vote(steady, people[:2], days_ago=TRENDING_DAYS - 1)
    _vote(steady, people[4:5], days_ago=TRENDING_DAYS + 3)  # counts only in the total

    filters = BoardFilters.from_args({"sort": "trending"})
    page = board_page(filters, 10)
    assert [i.title for i in page.items] == ["Rising", "Steady"]
    assert page.total == board_count(filters) == 2
    # Paged like every other order.
    assert _titles("trending", 3, per_page=1) == [["Rising"], ["Steady"], []]
    # Filters narrow it as they narrow the board.
    assert _titles("trending", 1, category="no-such-thing") == [[]]


def test_trending_breaks_ties_by_all_time_votes(make_feedback, make_category, make_user) -> None:
    category = make_category()
    people = [make_user() for _ in range(3)]
    first = make_feedback(category=category, title="More votes overall")
    second = make_feedback(category=category, title="Fewer votes overall")
    _age_every_vote(TRENDING_DAYS + 5)
    _vote(first, people[:2], days_ago=TRENDING_DAYS + 2)
    _vote(first, people[2:])
    _vote(second, people[2:])
    assert _titles("trending", 1) == [["More votes overall", "Fewer votes overall"]]


def test_trending_counts_recent_votes_off_the_votes_time_index(make_feedback) -> None:
    from portal.services.board import _recent_votes

    compiled = sa.select(_recent_votes()).compile(db.engine)
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        if sqlite:
            explain, params = "EXPLAIN QUERY PLAN ", tuple(compiled.params.values())
        else:
            # PostgreSQL reads a small table whole, by its statistics; told not to, its plan
            # shows the index it can use.
            connection.exec_driver_sql("SET enable_seqscan = off")
            explain, params = "EXPLAIN ", compiled.params
        rows = connection.exec_driver_sql(explain + str(compiled), params)
        plan = " ".join(str(row[-1]) for row in rows)
    assert "ix_votes_created_at_feedback_id" in plan, plan


def test_recently_answered_lists_answered_items_latest_answer_first(
    make_feedback, make_category, make_user
) -> None:
    staff = make_user(role=Role.STAFF)
    category = make_category()
    earlier = make_feedback(category=category, title="Answered earlier")
    later = make_feedback(category=category, title="Answered later")
    make_feedback(category=category, title="Not answered")
    resolve_together([earlier], staff, "We fixed it.")
    resolve_together([later], staff, "We fixed that too.")
    db.session.commit()
    earlier.resolved_at = datetime.now(UTC) - timedelta(days=3)
    db.session.commit()

    filters = BoardFilters.from_args({"sort": "answered"})
    assert [i.title for i in board_page(filters, 10).items] == [
        "Answered later",
        "Answered earlier",
    ]
    assert board_count(filters) == 2
    assert _titles("answered", 2, per_page=1) == [["Answered later"], ["Answered earlier"]]


def test_items_answered_by_one_resolution_are_listed_newest_first_and_read_in_that_order(
    make_feedback, make_category, make_user
) -> None:
    # A resolution resolves its items at one moment: they are listed by id, newest first,
    # page after page, read in that order off the index of (resolved_at, id) rather than
    # sorted (on PostgreSQL the index of resolved_at alone sorted every item of the moment).
    staff = make_user(role=Role.STAFF)
    category = make_category()
    items = [make_feedback(category=category, title=f"Answered together {n}") for n in range(3)]
    resolve_together(items, staff, "We fixed all three.")
    db.session.commit()
    assert len({item.resolved_at for item in items}) == 1

    newest_first = [[f"Answered together {n}"] for n in (2, 1, 0)]
    assert _titles("answered", 3, per_page=1) == newest_first

    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "resolved_at" in statement and "LIMIT" in statement.upper():
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        board_page(BoardFilters.from_args({"sort": "answered"}), 1)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = captured
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        if not sqlite:
            # PostgreSQL plans a tiny table by its statistics; told to avoid reading it
            # whole and sorting, it shows the index that gives the order.
            connection.exec_driver_sql("SET enable_seqscan = off")
            connection.exec_driver_sql("SET enable_sort = off")
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = connection.exec_driver_sql(explain + statement, parameters)  # type: ignore[arg-type]
        plan = " ".join(str(row[-1]) for row in rows)
    assert "ix_feedback_resolved_at_id" in plan, plan
    assert "Incremental Sort" not in plan, plan


def test_a_search_counted_to_a_limit_pages_through_the_first_matches(
    make_feedback, make_category
) -> None:
    # Counting every match grows with the board: past the limit the page says there are
    # more, and its pages are those of the first `limit` matches.
    category = make_category()
    for n in range(5):
        make_feedback(category=category, title=f"Refund {n}", body="Money back.")
    make_feedback(category=category, title="Parcel late", body="No match here.")

    def page(number: int) -> object:
        filters = BoardFilters.from_args({"q": "refund", "page": str(number), "sort": "new"})
        return board_page(filters, 2, search_count_limit=3)

    first = page(1)
    assert (first.total, first.more, first.pages) == (3, True, 2)
    assert [i.title for i in first.items] == ["Refund 4", "Refund 3"]
    second = page(2)
    assert [i.title for i in second.items] == ["Refund 2"]
    assert not second.has_next
    assert page(3).items == []
    # At or under the limit the count is exact, and nothing says "more".
    exact = board_page(BoardFilters.from_args({"q": "refund"}), 2, search_count_limit=5)
    assert (exact.total, exact.more) == (5, False)
    # The plain board is counted exactly whatever the limit.
    board = board_page(BoardFilters.from_args({}), 2, search_count_limit=3)
    assert (board.total, board.more) == (6, False)


def test_past_the_limit_on_the_words_as_typed_the_last_word_is_not_widened(
    make_feedback, make_category
) -> None:
    # A prefix on the last word makes FTS5 merge every word it starts: past the limit on
    # the word as typed, the pages are those of its newest matches; under it, of the
    # newest matches of the word and the longer words it starts, as before.
    category = make_category()
    as_typed = [make_feedback(category=category, title=f"Zorb {n}", body="x") for n in range(3)]
    longer = [make_feedback(category=category, title=f"Zorbington {n}", body="x") for n in range(2)]

    def listed(limit: int) -> tuple[int, bool, set[int]]:
        pages = [
            board_page(
                BoardFilters.from_args({"q": "zorb", "page": str(n)}), 2, search_count_limit=limit
            )
            for n in (1, 2, 3)
        ]
        return pages[0].total, pages[0].more, {i.id for p in pages for i in p.items}

    assert listed(2) == (2, True, {as_typed[2].id, as_typed[1].id})
    assert listed(3) == (3, True, {longer[1].id, longer[0].id, as_typed[2].id})
    assert listed(5) == (5, False, {i.id for i in as_typed + longer})


def test_a_category_alone_is_read_off_its_own_board_indexes(make_feedback, make_category) -> None:
    # Without them a category's page and count read every item of the category (and sort
    # them): most of a second at a million items.
    category = make_category()
    make_feedback(category=category, title="One")
    for sort, index in (("new", "public_new"), ("top", "public_top")):
        statements: list[tuple[str, object]] = []

        def record(
            conn, cursor, statement, parameters, context, executemany, statements=statements
        ) -> None:
            if "FROM feedback" in statement:
                statements.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            filters = BoardFilters.from_args({"category": category.slug, "sort": sort})
            assert [i.title for i in board_page(filters, 10).items] == ["One"]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        # The page, and the first time the count (the same for every order, then reused).
        assert len(statements) == (2 if sort == "new" else 1)
        sqlite = db.engine.dialect.name == "sqlite"
        with db.engine.connect() as connection:
            if not sqlite:
                connection.exec_driver_sql("SET enable_seqscan = off")
            for statement, parameters in statements:
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                rows = connection.exec_driver_sql(explain + statement, parameters)
                plan = " ".join(str(row[-1]) for row in rows)
                # PostgreSQL plans from its statistics: on a small table, some category index.
                wanted = f"ix_feedback_category_{index}" if sqlite else "ix_feedback_category_"
                assert wanted in plan, plan


def test_past_the_limit_other_orders_list_the_newest_matches_in_their_order(
    make_feedback, make_category, make_user
) -> None:
    # Sorting every match by votes grows with the board: past the limit, the newest
    # `limit` matches (the ones counted) are listed by votes.
    category = make_category()
    people = [make_user() for _ in range(3)]
    oldest = make_feedback(category=category, title="Refund oldest")
    middle = make_feedback(category=category, title="Refund middle")
    newer = make_feedback(category=category, title="Refund newer")
    newest = make_feedback(category=category, title="Refund newest")
    _vote(oldest, people)
    _vote(middle, people[:2])

    def listed(limit: int) -> list[int]:
        filters = BoardFilters.from_args({"q": "refund", "sort": "top"})
        return [i.id for i in board_page(filters, 10, search_count_limit=limit).items]

    assert listed(3) == [middle.id, newest.id, newer.id]
    assert listed(4) == [oldest.id, middle.id, newest.id, newer.id]
