"""Trending from the items' counters: the same items, order and count as from the votes.

Each item counts its votes since the trending window's start (triggers on votes); the vote
command sweeps the window up as time passes; the board reads the counters while the window is
at most an hour behind, and the votes themselves otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal import outbox_worker
from portal.extensions import db
from portal.models import Category, Feedback, Role, TrendingWindow, User, Visibility, Vote
from portal.services import accounts, board, trending, votes, workflow
from portal.services.board import BoardFilters, board_count, board_page, shown_on_board
from portal.services.errors import DomainError
from portal.services.feedback import submit_feedback
from portal.services.votes import set_vote
from tests.conftest import TEST_PASSWORD
from tests.helpers import postgresql_only

_names = count(1)


def _window_start() -> datetime:
    start = db.session.scalar(sa.select(TrendingWindow.starts_at))
    assert start is not None
    return start


def _counters() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Feedback.id, Feedback.recent_votes).where(Feedback.recent_votes != 0)
    )
    return {item_id: n for item_id, n in rows}


def _recount(since: datetime) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Vote.feedback_id, sa.func.count())
        .where(Vote.created_at >= since)
        .group_by(Vote.feedback_id)
    )
    return {item_id: n for item_id, n in rows}


def _board_order(since: datetime, category_id: int | None = None) -> list[int]:
    """The trending board's items as the votes since `since` order them."""
    recent = (
        sa.select(Vote.feedback_id, sa.func.count().label("n"))
        .where(Vote.created_at >= since)
        .group_by(Vote.feedback_id)
        .subquery()
    )
    query = (
        sa.select(Feedback.id)
        .join(recent, recent.c.feedback_id == Feedback.id)
        .where(shown_on_board())
        .order_by(recent.c.n.desc(), Feedback.vote_count.desc(), Feedback.id.desc())
    )
    if category_id is not None:
        query = query.where(Feedback.category_id == category_id)
    return list(db.session.scalars(query))


def _listed(per_page: int = 3, **args: str) -> tuple[list[int], int]:
    """Every page of the trending board, read as a visitor reads them, and its count."""
    current_app.extensions["portal.read_cache"].clear()
    filters = BoardFilters.from_args({"sort": "trending", **args})
    first = board_page(filters, per_page)
    ids = [i.id for i in first.items]
    for number in range(2, first.pages + 1):
        page = BoardFilters.from_args({"sort": "trending", "page": str(number), **args})
        ids += [i.id for i in board_page(page, per_page).items]
    return ids, first.total


@contextmanager
def _clock(start: datetime) -> Iterator[list[datetime]]:
    """Time as the vote command, the sweep and the board see it; moved on by the test."""
    now = [start]
    with (
        mock.patch.object(votes, "utcnow", lambda: now[0]),
        mock.patch.object(trending, "utcnow", lambda: now[0]),
        mock.patch.object(board, "utcnow", lambda: now[0]),
    ):
        yield now


step = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 1), st.integers(0, 3)),
    st.tuples(st.sampled_from(["vote", "unvote"]), st.integers(0, 20), st.integers(0, 3)),
    st.tuples(st.just("merge"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.sampled_from(["hide", "delete_account"]), st.integers(0, 20), st.integers(0, 3)),
    # Time passes: ten minutes (not yet a sweep), an hour, a day, a week, nearly the window.
    st.tuples(
        st.just("time"), st.sampled_from([10, 60, 24 * 60, 7 * 24 * 60, 13 * 24 * 60]), st.just(0)
    ),
    # A vote moved back in time by SQL, as the demo seed dates its votes.
    st.tuples(st.just("date_back"), st.integers(0, 20), st.sampled_from([1, 13, 15])),
)

A_FORTNIGHT = [
    ("submit", 0, 0),
    ("submit", 1, 1),
    ("vote", 0, 1),
    ("vote", 0, 2),
    ("vote", 1, 3),
    ("time", 13 * 24 * 60, 0),
    ("vote", 1, 0),
    ("time", 24 * 60, 0),
    ("unvote", 0, 1),
    ("merge", 0, 1),
    ("delete_account", 0, 3),
    ("time", 7 * 24 * 60, 0),
    ("vote", 1, 2),
]


def _run(name: str, arg: int, extra: int, world: dict[str, Any], now: list[datetime]) -> None:
    items: list[int] = world["items"]
    people: list[User] = world["people"]
    if name == "submit":
        item = submit_feedback(
            people[extra],
            kind="complaint",
            category_id=world["categories"][arg].id,
            title=f"The lift is broken again {next(_names)}",
            body="Third time this month.",
        )
        items.append(item.id)
        return
    if name == "time":
        now[0] += timedelta(minutes=arg)
        return
    if not items:
        return
    item_id = items[arg % len(items)]
    match name:
        case "vote" | "unvote":
            set_vote(people[extra], item_id, want=name == "vote")
        case "merge":
            target = items[extra % len(items)]
            workflow.merge(
                item_id,
                world["staff"],
                target,
                "Thank you: the same as this one.",
                post_anyway=True,
            )
        case "hide":
            workflow.set_hidden(item_id, world["staff"], True, "Off topic.")
        case "delete_account":
            if people[extra].active:
                accounts.delete_account(people[extra], TEST_PASSWORD, redact_public=True)
        case "date_back":
            given = db.session.execute(
                sa.select(Vote.id, Vote.created_at).where(Vote.feedback_id == item_id)
            ).all()
            for vote_id, created_at in given:
                db.session.execute(
                    sa.update(Vote)
                    .where(Vote.id == vote_id)
                    .values(created_at=created_at - timedelta(days=extra))
                )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=20))
@example(steps=A_FORTNIGHT)
def test_trending_from_the_counters_lists_what_the_votes_list_whatever_happened(
    steps: list[tuple[str, int, int]],
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    world: dict[str, Any] = {
        "staff": make_user(role=Role.ADMIN),
        "people": [make_user() for _ in range(4)],
        "categories": [make_category(), make_category()],
        "items": [],
    }
    # Each example starts its fortnight now (the last one's clock may have run weeks ahead).
    trending.recount(db.session.connection())
    db.session.commit()
    with _clock(datetime.now(UTC)) as now:
        for name, arg, extra in steps:
            try:
                _run(name, arg, extra, world, now)
                db.session.commit()
            except DomainError:
                db.session.rollback()
            # Whatever wrote the votes, each item counts those since the window's start.
            assert _counters() == _recount(_window_start())
        start = _window_start()
        if trending.counters_current(start, now[0]):
            # Read off the counters: the window's start is at most an hour early.
            assert start >= trending.trending_since(now[0]) - trending.TRUST_FOR
            expected = _board_order(start)
        else:
            # A window left behind (no vote for over an hour): the votes are counted.
            expected = _board_order(trending.trending_since(now[0]))
        assert _listed() == (expected, len(expected))
        category = world["categories"][0]
        since = start if trending.counters_current(start, now[0]) else None
        assert _listed(category=category.slug)[0] == _board_order(
            since or trending.trending_since(now[0]), category.id
        )
        # Swept to this moment, the counters list exactly the last fourteen days.
        trending.sweep(db.session.connection(), now[0])
        db.session.commit()
        assert _window_start() == trending.trending_since(now[0])
        assert _counters() == _recount(trending.trending_since(now[0]))
        exact = _board_order(trending.trending_since(now[0]))
        assert _listed() == (exact, len(exact))


def _vote_at(item: Feedback, voter: User, when: datetime) -> None:
    set_vote(voter, item.id, want=True)
    db.session.execute(
        sa.update(Vote)
        .where(Vote.feedback_id == item.id, Vote.user_id == voter.id)
        .values(created_at=when)
    )
    db.session.commit()


def test_votes_that_fall_out_of_the_window_leave_the_counters_when_it_is_swept(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    now = datetime.now(UTC)
    fading, steady = make_feedback(title="Fading"), make_feedback(title="Steady")
    people = [make_user() for _ in range(3)]
    for person in people:
        _vote_at(fading, person, now - timedelta(days=13, hours=12))
    _vote_at(steady, people[0], now - timedelta(days=1))
    # The authors' votes, given now, count too.
    assert _counters() == {fading.id: 4, steady.id: 2}
    assert _listed()[0] == [fading.id, steady.id]

    # A day on: the vote command finds the window behind and sweeps it.
    with _clock(now + timedelta(days=1)):
        set_vote(people[1], steady.id, want=True)
        db.session.commit()
        assert _window_start() == trending.trending_since(now + timedelta(days=1))
        assert _counters() == {fading.id: 1, steady.id: 3}
        assert _listed() == ([steady.id, fading.id], 2)


def test_a_vote_within_ten_minutes_of_the_last_sweep_does_not_sweep(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    item = make_feedback()
    start = _window_start()
    with _clock(datetime.now(UTC) + timedelta(minutes=5)):
        set_vote(make_user(), item.id, want=True)
        db.session.commit()
    assert _window_start() == start


def test_a_window_left_behind_lists_trending_from_the_votes(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    now = datetime.now(UTC)
    older, newer = make_feedback(title="Older"), make_feedback(title="Newer")
    people = [make_user() for _ in range(2)]
    for person in people:
        _vote_at(older, person, now - timedelta(days=13, hours=23))
    _vote_at(newer, people[0], now - timedelta(hours=2))
    assert _listed()[0] == [older.id, newer.id]
    # Two hours on with no vote since: the counters still hold the votes of the window's
    # old start, which a reader no longer trusts; the votes say what is trending now.
    with _clock(now + timedelta(hours=2)):
        assert not trending.counters_current(_window_start(), now + timedelta(hours=2))
        assert _counters()[older.id] == 3
        assert _listed() == ([newer.id, older.id], 2)
        assert board_count(BoardFilters.from_args({"sort": "trending"})) == 2


def test_votes_moved_by_a_merge_count_on_the_target(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    staff = make_user(role=Role.STAFF)
    duplicate, target = make_feedback(), make_feedback()
    old = datetime.now(UTC) - timedelta(days=20)
    _vote_at(duplicate, make_user(), old)  # moved, but too old to count
    set_vote(make_user(), duplicate.id, want=True)
    db.session.commit()
    workflow.merge(duplicate.id, staff, target.id, "Thank you: the same.", post_anyway=True)
    db.session.commit()
    assert _counters() == _recount(_window_start()) == {target.id: 3}


def test_a_rebuild_counts_the_window_again(make_feedback: Callable[..., Feedback]) -> None:
    from portal.services.insights import rollups

    item = make_feedback()
    # Bulk SQL with the triggers off (the bench seed drops them) leaves the counters wrong.
    db.session.execute(sa.update(Feedback).values(recent_votes=7))
    db.session.execute(sa.update(TrendingWindow).values(starts_at=datetime(2020, 1, 1, tzinfo=UTC)))
    rollups.rebuild()
    db.session.commit()
    assert _counters() == {item.id: 1}
    assert _window_start() > datetime.now(UTC) - timedelta(days=14, minutes=1)


def test_trending_reads_its_index_in_order_and_counts_without_the_votes(
    make_feedback: Callable[..., Feedback],
) -> None:
    make_feedback()
    statements: list[tuple[str, Any]] = []

    def log(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    current_app.extensions["portal.read_cache"].clear()
    sa.event.listen(db.engine, "before_cursor_execute", log)
    try:
        filters = BoardFilters.from_args({"sort": "trending", "category": "none-such"})
        board_page(BoardFilters.from_args({"sort": "trending"}), 20)
        board_count(filters)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", log)
    read = [(s, p) for s, p in statements if "recent_votes >" in s]
    assert len(read) == 2, statements
    assert not any("FROM votes" in s for s, _ in read), read
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as connection:
        if not sqlite:
            # PostgreSQL reads a small table whole, by its statistics; told not to, its plan
            # shows the index it would use at scale.
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in read:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = " | ".join(
                str(row[-1]) for row in connection.exec_driver_sql(explain + statement, parameters)
            )
            assert " votes" not in plan and "ix_votes" not in plan, plan
            if not sqlite:
                # PostgreSQL plans a table this small by its statistics (the board's index and
                # a sort of one row); at 100,000 items it reads the trending index alone, in
                # order, for the page and the count (docs/design.md).
                continue
            assert "ix_feedback_trending" in plan, plan
            # The page's ids come off the index in order: the one sort is of the page's rows.
            assert "TEMP B-TREE" not in plan.split("ix_feedback_trending")[0], plan


def test_the_sweep_command_moves_a_window_left_behind(app: Any) -> None:
    db.session.execute(
        sa.update(TrendingWindow).values(starts_at=datetime.now(UTC) - timedelta(days=15))
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sweep-trending"])
    assert result.exit_code == 0, result.output
    assert "swept" in result.output
    db.session.expire_all()
    assert _window_start() > datetime.now(UTC) - timedelta(days=14, minutes=1)


def test_the_web_apps_own_thread_sweeps_a_quiet_sites_window_every_ten_minutes(
    app: Any, make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    # A site with a vote a day: no vote sweeps, yet the board keeps reading its counters.
    now = datetime.now(UTC)
    older, newer = make_feedback(title="Older"), make_feedback(title="Newer")
    _vote_at(older, make_user(), now - timedelta(days=13, hours=23))
    with _clock(now + timedelta(hours=2)):
        assert outbox_worker.sweep_trending_when_due(app, None, 100.0) == 100.0
        db.session.expire_all()
        assert trending.counters_current(_window_start(), now + timedelta(hours=2))
        assert _counters() == {older.id: 1, newer.id: 1}
        assert _listed()[1] == 2

    # Within ten minutes of its last sweep it does not try again, even with the window behind.
    db.session.execute(sa.update(TrendingWindow).values(starts_at=now - timedelta(days=15)))
    db.session.commit()
    five_minutes = 100.0 + outbox_worker.SWEEP_TRENDING_EVERY / 2
    assert outbox_worker.sweep_trending_when_due(app, 100.0, five_minutes) == 100.0
    db.session.expire_all()
    assert _window_start() == now - timedelta(days=15)
    ten_minutes = 100.0 + outbox_worker.SWEEP_TRENDING_EVERY
    assert outbox_worker.sweep_trending_when_due(app, 100.0, ten_minutes) == ten_minutes
    db.session.expire_all()
    assert _window_start() > now - timedelta(days=14, minutes=1)


def test_a_failed_sweep_by_the_thread_is_logged_and_tried_on_its_next_pass(
    app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(connection: sa.Connection) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(trending, "sweep", broken)
    # The migrations' logging setup (alembic.ini) turns existing loggers off in the test run.
    monkeypatch.setattr(app.logger, "disabled", False)
    assert outbox_worker.sweep_trending_when_due(app, None, 100.0) is None
    assert outbox_worker.sweep_trending_when_due(app, 50.0, 1000.0) == 50.0
    assert caplog.text.count("trending: sweeping failed") == 2


def test_the_thread_starts_with_the_apps_first_commit_not_only_with_mail(
    app: Any, make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    started: list[Any] = []
    listeners: list[tuple[Any, str, Any]] = []
    listens_for = sa.event.listens_for

    def recorded(target: Any, identifier: str) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            listeners.append((target, identifier, fn))
            return listens_for(target, identifier)(fn)

        return register

    app.config["OUTBOX_DELIVER_AFTER_COMMIT"] = True
    item, voter = make_feedback(), make_user()
    try:
        with (
            mock.patch.object(sa.event, "listens_for", recorded),
            mock.patch.object(outbox_worker, "_ensure_thread", lambda a, _: started.append(a)),
        ):
            outbox_worker.start_outbox_worker(app)
            with app.test_request_context("/"):
                set_vote(voter, item.id, want=True)  # a vote queues no mail
                db.session.commit()
    finally:
        # The listeners are on the session every app of the test run shares.
        for target, identifier, fn in listeners:
            sa.event.remove(target, identifier, fn)
    assert started == [app]


def test_a_private_or_hidden_item_is_counted_but_not_listed(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    shown = make_feedback()
    private = make_feedback(visibility=Visibility.PRIVATE)
    assert _counters() == {shown.id: 1, private.id: 1}
    assert _listed() == ([shown.id], 1)


def _old_vote_with_a_window_behind(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> tuple[Feedback, User, datetime]:
    """An item with its author's vote and one of 13 days 23 hours ago, and a moment two hours
    on, when a sweep takes that vote out."""
    now = datetime.now(UTC)
    item, voter = make_feedback(), make_user()
    _vote_at(item, voter, now - timedelta(days=13, hours=23))
    assert _counters() == {item.id: 2}
    return item, voter, now + timedelta(hours=2)


def _take_back(connection: sa.Connection, item: Feedback, voter: User) -> None:
    connection.execute(sa.delete(Vote).where(Vote.feedback_id == item.id, Vote.user_id == voter.id))


@postgresql_only
def test_a_sweep_gives_way_to_an_old_vote_being_taken_back_and_counts_it_once_after(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    item, voter, later = _old_vote_with_a_window_behind(make_feedback, make_user)
    with db.engine.connect() as taking_back, db.engine.connect() as sweeping:
        _take_back(taking_back, item, voter)  # its trigger holds the window FOR SHARE
        assert trending.sweep(sweeping, later) is False  # not waiting, not failing
        sweeping.commit()
        taking_back.commit()
        assert trending.sweep(sweeping, later) is True
        sweeping.commit()
    db.session.expire_all()
    assert _counters() == _recount(_window_start()) == {item.id: 1}


@postgresql_only
def test_an_old_vote_taken_back_during_a_sweep_waits_for_it_and_is_counted_once(
    make_feedback: Callable[..., Feedback], make_user: Callable[..., User]
) -> None:
    item, voter, later = _old_vote_with_a_window_behind(make_feedback, make_user)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.engine.connect() as sweeping:
        assert trending.sweep(sweeping, later) is True  # holds the window until it commits

        def take_back() -> None:
            with app.app_context(), db.engine.connect() as taking_back:
                _take_back(taking_back, item, voter)  # waits for the sweep's window
                taking_back.commit()

        waiting = threading.Thread(target=take_back)
        waiting.start()
        time.sleep(0.3)
        assert waiting.is_alive()
        sweeping.commit()
        waiting.join(timeout=10)
    db.session.expire_all()
    assert _counters() == _recount(_window_start()) == {item.id: 1}
