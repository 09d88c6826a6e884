"""The insight figures, each checked against answers worked out by hand on a small world.

The world: two weeks, Monday 2 March to Monday 16 March 2026 (UTC), two categories
(Billing: acknowledge within 24 hours; Delivery: within 48 hours) and three staff.

item  category  received       ack after  state, resolved            owner  promise
b1    Billing   Mon 2   09:00  2 h        resolved Wed 4 09:00       Ada    5 Mar: kept
b2    Billing   Tue 3   09:00  30 h late  resolved Sat 7 09:00       Ada    6 Mar: broken (late)
b3    Billing   Mon 9   10:00  10 h       investigating              Ben    12 Mar, moved 1x: broken
b4    Billing   Tue 10  12:00  never      received, overdue          -
b5    Billing   Sun 15  20:00  never      received, not yet due      Ben    (private item)
d1    Delivery  Wed 4   08:00  1 h        resolved Thu 5 08:00       Ben    5 Mar: kept on the day
d2    Delivery  Thu 5   08:00  5 h        declined Fri 6 08:00       Ben
d3    Delivery  Thu 5   10:00  3 h        merged into d1             Ben    7 Mar: ignored (merged)
d4    Delivery  Fri 20 Feb     1 h        resolved Tue 3 Mar 08:00   Ada
d5    Delivery  Tue 10 Feb     1 h        declined Wed 11 Feb        Ada
p1    Delivery  Wed 25 Feb     1 h        planned                    Ada  20 Mar, moved 2x, 1x after
late  Billing   Mon 16  00:00  never      received (the end of the period is excluded)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Category,
    DigestFrequency,
    DigestSubscription,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Role,
    TimelineEvent,
    TimelineKind,
    Unsubscribe,
    User,
    Visibility,
)
from portal.services import workflow
from portal.services.errors import NotFound
from portal.services.insights import figures, queries, report
from portal.services.votes import set_vote

H = 3600
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
END = datetime(2026, 3, 16, tzinfo=UTC)  # the Monday two weeks later (excluded)
S = FeedbackState
K = FeedbackKind


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class World:
    ada: User
    ben: User
    cy: User
    billing: Category
    delivery: Category
    items: dict[str, Feedback]


def _event(item: Feedback, kind: TimelineKind, when: datetime, **fields: object) -> None:
    db.session.add(TimelineEvent(feedback_id=item.id, kind=kind, created_at=when, **fields))


@pytest.fixture
def build_item(make_user: Callable[..., User], make_feedback: Callable[..., Feedback]):
    """An item submitted through the service, then given the timestamps a test chooses."""

    def build(
        category: Category,
        received: datetime,
        title: str,
        *,
        kind: K = K.COMPLAINT,
        state: S = S.RECEIVED,
        acknowledged_after: float | None = None,
        resolved: datetime | None = None,
        owner: User | None = None,
        promise: date | None = None,
        votes: int = 0,
        visibility: Visibility = Visibility.PUBLIC,
    ) -> Feedback:
        item = make_feedback(category=category, title=title, kind=kind, visibility=visibility)
        for _ in range(votes):  # while it is still open to votes
            set_vote(make_user(), item.id, want=True)
        item.created_at = received
        item.ack_due_at = received + timedelta(hours=category.ack_target_hours)
        if acknowledged_after is not None:
            item.acknowledged_at = received + timedelta(hours=acknowledged_after)
        item.state = state
        item.resolved_at = resolved
        item.owner_id = owner.id if owner else None
        item.target_date = promise
        db.session.commit()
        return item

    return build


@pytest.fixture
def world(make_user, make_category, build_item) -> World:
    ada = make_user(role=Role.STAFF, display_name="Ada")
    ben = make_user(role=Role.STAFF, display_name="Ben")
    cy = make_user(role=Role.ADMIN, display_name="Cy")
    billing = make_category(name="Billing", ack_target_hours=24)
    delivery = make_category(name="Delivery", ack_target_hours=48)
    b, d = billing, delivery
    items = {
        "b1": build_item(
            b, at(3, 2, 9), "Refund not received", acknowledged_after=2,
            state=S.RESOLVED, resolved=at(3, 4, 9), owner=ada, promise=date(2026, 3, 5), votes=5,
        ),
        "b2": build_item(
            b, at(3, 3, 9), "Refund form is confusing", kind=K.IDEA, acknowledged_after=30,
            state=S.RESOLVED, resolved=at(3, 7, 9), owner=ada, promise=date(2026, 3, 6),
        ),
        "b3": build_item(
            b, at(3, 9, 10), "Refund took weeks", acknowledged_after=10,
            state=S.INVESTIGATING, owner=ben, promise=date(2026, 3, 12),
        ),
        "b4": build_item(
            b, at(3, 10, 12), "Invoice address wrong", kind=K.QUESTION, votes=1),
        "b5": build_item(
            b, at(3, 15, 20), "Parcel left outside", owner=ben, visibility=Visibility.PRIVATE
        ),
        "d1": build_item(
            d, at(3, 4, 8), "Parcel left in the rain", acknowledged_after=1,
            state=S.RESOLVED, resolved=at(3, 5, 8), owner=ben, promise=date(2026, 3, 5),
        ),
        "d2": build_item(
            d, at(3, 5, 8), "Courier was rude", kind=K.IDEA, acknowledged_after=5,
            state=S.DECLINED, owner=ben,
        ),
        "d3": build_item(
            d, at(3, 5, 10), "Parcel soaked by rain", acknowledged_after=3,
            state=S.DUPLICATE, owner=ben, promise=date(2026, 3, 7),
        ),
        "d4": build_item(
            d, at(2, 20, 8), "Parcel never arrived", acknowledged_after=1,
            state=S.RESOLVED, resolved=at(3, 3, 8), owner=ada,
        ),
        "d5": build_item(
            d, at(2, 10, 8), "Courier lost my parcel", acknowledged_after=1,
            state=S.DECLINED, owner=ada,
        ),
        "p1": build_item(
            d, at(2, 25, 8), "Courier late again", acknowledged_after=1,
            state=S.PLANNED, owner=ada, promise=date(2026, 3, 20), votes=2,
        ),
        "late": build_item(b, at(3, 16), "Refund again"),
    }  # fmt: skip
    items["d3"].merged_into_id = items["d1"].id
    _event(items["d2"], TimelineKind.STATE_CHANGED, at(3, 6, 8), to_state=S.DECLINED)
    _event(items["d5"], TimelineKind.STATE_CHANGED, at(2, 11, 8), to_state=S.DECLINED)
    p1, b3 = items["p1"], items["b3"]
    _event(p1, TimelineKind.PROMISE_SET, at(2, 26), target_date=date(2026, 3, 10))
    _event(p1, TimelineKind.PROMISE_MOVED, at(3, 3), target_date=date(2026, 3, 13))
    _event(p1, TimelineKind.PROMISE_MOVED, at(3, 10), target_date=date(2026, 3, 17))
    _event(p1, TimelineKind.PROMISE_MOVED, at(3, 16), target_date=date(2026, 3, 20))
    _event(b3, TimelineKind.PROMISE_SET, at(3, 9, 20), target_date=date(2026, 3, 10))
    _event(b3, TimelineKind.PROMISE_MOVED, at(3, 11), target_date=date(2026, 3, 12))
    db.session.commit()
    return World(ada, ben, cy, billing, delivery, items)


# Counts ---------------------------------------------------------------------------------------


def test_received_counts_every_item_of_the_period_including_duplicates_and_private(
    world: World,
) -> None:
    # b1-b5 and d1-d3: 8. d4, d5, p1 came before; "late" arrived exactly at the end (excluded).
    assert queries.items_received(START, END) == 8


def test_resolved_counts_items_resolved_in_the_period_but_never_merged_duplicates(
    world: World,
) -> None:
    # b1, b2, d1, and d4 (received before the period, resolved in it); d3 is a duplicate.
    assert queries.items_resolved(START, END) == 4


def test_declined_counts_by_the_date_of_declining(world: World) -> None:
    # d2 was declined on 6 March; d5 on 11 February, before the period.
    assert queries.items_declined(START, END) == 1
    assert queries.items_declined(at(2, 1), START) == 1


def test_items_per_channel_counts_the_received_items_by_how_they_came(world: World) -> None:
    channels = {
        "b1": FeedbackChannel.EMAIL,
        "b2": FeedbackChannel.EMAIL,
        "d1": FeedbackChannel.API,
        "d2": FeedbackChannel.PHONE,  # taken down by staff from a phone call
        "d4": FeedbackChannel.EMAIL,  # received before the period
        "late": FeedbackChannel.EMAIL,  # received at the end, which is excluded
    }
    for key, channel in channels.items():
        world.items[key].channel = channel
    db.session.commit()
    # The period's 8 items: email b1, b2; API d1; phone d2; web b3, b4, b5 and d3.
    rows = queries.items_per_channel(START, END)
    assert [(r.channel, r.count, r.percent) for r in rows] == [
        (FeedbackChannel.WEB, 4, 50.0),
        (FeedbackChannel.EMAIL, 2, 25.0),
        (FeedbackChannel.API, 1, 12.5),
        (FeedbackChannel.STAFF, 0, 0.0),
        (FeedbackChannel.PHONE, 1, 12.5),
        (FeedbackChannel.CHAT, 0, 0.0),
        (FeedbackChannel.IN_PERSON, 0, 0.0),
        (FeedbackChannel.SOCIAL, 0, 0.0),
    ]
    assert sum(r.count for r in rows) == queries.items_received(START, END)
    table = report.insight_table("channels", START, END, END)
    assert table.headers == ["channel", "items", "percent"]
    assert table.rows == [
        ["web", 4, 50.0],
        ["email", 2, 25.0],
        ["api", 1, 12.5],
        ["staff", 0, 0.0],
        ["phone", 1, 12.5],
        ["chat", 0, 0.0],
        ["in_person", 0, 0.0],
        ["social", 0, 0.0],
    ]


def test_items_per_channel_lists_every_channel_with_zeros_when_nothing_came() -> None:
    rows = queries.items_per_channel(START, END)
    assert [(r.channel.value, r.count, r.percent) for r in rows] == [
        ("web", 0, None),
        ("email", 0, None),
        ("api", 0, None),
        ("staff", 0, None),
        ("phone", 0, None),
        ("chat", 0, None),
        ("in_person", 0, None),
        ("social", 0, None),
    ]


# Durations -----------------------------------------------------------------------------------


def test_time_to_acknowledge_uses_the_nearest_rank_and_skips_items_never_acknowledged(
    world: World,
) -> None:
    # Received in the period and acknowledged: b1 2h, b2 30h, b3 10h, d1 1h, d2 5h, d3 3h
    # (merging acknowledged it). b4 and b5 never were. Sorted: 1 2 3 5 10 30.
    # Median rank ceil(0.5 * 6) = 3 -> 3h; 90th rank ceil(0.9 * 6) = 6 -> 30h.
    (overall,) = queries.ack_time_percentiles(START, END)
    assert (overall.count, overall.median, overall.p90) == (6, 3 * H, 30 * H)


def test_time_to_acknowledge_per_category(world: World) -> None:
    # Billing 2, 10, 30: median rank 2 -> 10h, 90th rank ceil(2.7) = 3 -> 30h.
    # Delivery 1, 3, 5: median 3h, 90th 5h.
    rows = queries.ack_time_percentiles(START, END, "category")
    assert [(r.label, r.count, r.median, r.p90) for r in rows] == [
        ("Billing", 3, 10 * H, 30 * H),
        ("Delivery", 3, 3 * H, 5 * H),
    ]
    assert [r.key for r in rows] == [world.billing.id, world.delivery.id]


def test_time_to_acknowledge_per_owner(world: World) -> None:
    # Ada: b1 2h, b2 30h -> median rank ceil(1) = 1 -> 2h, 90th rank ceil(1.8) = 2 -> 30h.
    # Ben: d1 1h, d3 3h, d2 5h, b3 10h -> median rank 2 -> 3h, 90th rank ceil(3.6) = 4 -> 10h.
    # Nobody else owns an acknowledged item of the period (b4 is unowned and unacknowledged).
    rows = queries.ack_time_percentiles(START, END, "owner")
    assert [(r.label, r.count, r.median, r.p90) for r in rows] == [
        ("Ada", 2, 2 * H, 30 * H),
        ("Ben", 4, 3 * H, 10 * H),
    ]


def test_time_to_resolve_counts_items_resolved_in_the_period(world: World) -> None:
    # b1 48h, b2 96h, d1 24h, d4 (20 Feb 08:00 -> 3 Mar 08:00) 11 days = 264h.
    # Sorted 24 48 96 264: median rank 2 -> 48h; 90th rank ceil(3.6) = 4 -> 264h.
    (overall,) = queries.resolve_time_percentiles(START, END)
    assert (overall.count, overall.median, overall.p90) == (4, 48 * H, 264 * H)
    # Billing 48, 96: median rank 1 -> 48h, 90th rank 2 -> 96h. Delivery 24, 264.
    by_category = queries.resolve_time_percentiles(START, END, "category")
    assert [(r.label, r.count, r.median, r.p90) for r in by_category] == [
        ("Billing", 2, 48 * H, 96 * H),
        ("Delivery", 2, 24 * H, 264 * H),
    ]
    # Ada: b1 48, b2 96, d4 264 -> median rank 2 -> 96h, 90th rank 3 -> 264h. Ben: d1 24h.
    by_owner = queries.resolve_time_percentiles(START, END, "owner")
    assert [(r.label, r.count, r.median, r.p90) for r in by_owner] == [
        ("Ada", 3, 96 * H, 264 * H),
        ("Ben", 1, 24 * H, 24 * H),
    ]


@pytest.mark.parametrize(
    ("hours", "median", "p90"),
    [
        ([7], 7, 7),  # one value is every percentile
        ([4, 1], 1, 4),  # ranks ceil(1) = 1 and ceil(1.8) = 2
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, 9),  # ranks 5 and 9
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 6, 10),  # ranks ceil(5.5) = 6, ceil(9.9) = 10
        ([2, 2, 2, 9], 2, 9),  # ties: ranks 2 and ceil(3.6) = 4
    ],
)
def test_percentiles_follow_the_nearest_rank_method(
    make_category, build_item, hours: list[int], median: int, p90: int
) -> None:
    category = make_category()
    for i, h in enumerate(hours):
        build_item(category, at(3, 2, i), f"Item {i}", acknowledged_after=h)
    (row,) = queries.ack_time_percentiles(START, END)
    assert (row.count, row.median, row.p90) == (len(hours), median * H, p90 * H)


def test_durations_are_whole_seconds(make_category, build_item) -> None:
    category = make_category()
    item = build_item(category, at(3, 2, 9), "Odd timing")
    item.acknowledged_at = at(3, 2, 9) + timedelta(seconds=90061, microseconds=400_000)
    db.session.commit()
    (row,) = queries.ack_time_percentiles(START, END)
    assert row.median == 90061  # 1 day, 1 hour, 1 minute and 1 second (and 0.4 s, rounded)


# Acknowledgement targets ----------------------------------------------------------------------


def test_acknowledgement_targets_count_never_acknowledged_items_once_they_are_due(
    world: World,
) -> None:
    # Billing (24h): b1 met, b2 missed (30h), b3 met, b4 missed (never acknowledged, due 11 Mar
    # 12:00), b5 pending (due 16 Mar 20:00, after "now"). Delivery (48h): d1, d2, d3 met.
    rows = queries.ack_targets_met(START, END, now=END, by="category")
    assert [(r.label, r.met, r.missed, r.pending) for r in rows] == [
        ("Billing", 2, 2, 1),
        ("Delivery", 3, 0, 0),
    ]
    assert rows[0].percent == 50.0
    assert rows[1].percent == 100.0
    (overall,) = queries.ack_targets_met(START, END, now=END)
    assert (overall.met, overall.missed, overall.pending) == (5, 2, 1)
    assert overall.percent == pytest.approx(100 * 5 / 7)


def test_an_unacknowledged_item_misses_its_target_once_the_target_passes(world: World) -> None:
    # A day later b5's target (16 Mar 20:00) has passed too: 5 met, 3 missed.
    (overall,) = queries.ack_targets_met(START, END, now=at(3, 17))
    assert (overall.met, overall.missed, overall.pending) == (5, 3, 0)


# Promises ------------------------------------------------------------------------------------


def test_promises_kept_on_or_before_the_date_and_broken_after_it(world: World) -> None:
    # Kept: b1 (resolved 4 Mar, promised 5 Mar), d1 (resolved on the day, 5 Mar 08:00).
    # Broken: b2 (resolved 7 Mar, promised 6 Mar), b3 (open, promised 12 Mar).
    # Not counted: p1 (promised 20 Mar, still to come), d3 (merged: d1 carries its promise).
    promises = queries.promises_kept(START, END)
    assert (promises.kept, promises.broken) == (2, 2)
    assert promises.percent == 50.0


def test_a_promise_is_broken_at_the_midnight_after_its_date(world: World) -> None:
    # b3 was promised for 12 March: still kept-able during that day, broken from 13 March 00:00.
    assert queries.promises_kept(at(3, 12), at(3, 13)).broken == 0
    assert queries.promises_kept(at(3, 13), at(3, 14)).broken == 1


def test_promises_moved_counts_moves_items_and_items_moved_twice(world: World) -> None:
    # In the period: p1 moved on 3 and 10 March (its move on 16 March is after it), b3 moved
    # on 11 March. Promise-set events are not moves.
    moves = queries.promises_moved(START, END)
    assert (moves.moves, moves.items, moves.items_moved_more_than_once) == (3, 2, 1)


# Volume and recurring problems ---------------------------------------------------------------


def test_weekly_volume_per_category_and_kind(world: World) -> None:
    # Week of 2 Mar: b1 complaint, b2 idea; d1, d3 complaints, d2 idea.
    # Week of 9 Mar: b3, b5 complaints, b4 question.
    rows = queries.weekly_volume(START, END)
    assert [(r.week, r.category, r.kind, r.count) for r in rows] == [
        (date(2026, 3, 2), "Billing", K.COMPLAINT, 1),
        (date(2026, 3, 2), "Billing", K.IDEA, 1),
        (date(2026, 3, 2), "Delivery", K.COMPLAINT, 2),
        (date(2026, 3, 2), "Delivery", K.IDEA, 1),
        (date(2026, 3, 9), "Billing", K.COMPLAINT, 2),
        (date(2026, 3, 9), "Billing", K.QUESTION, 1),
    ]
    summary = figures.summarise_volume(rows, figures.weeks_between(START, END))
    assert summary.totals == [5, 3]
    assert summary.by_kind[K.COMPLAINT] == [3, 2]
    assert summary.by_kind[K.PRAISE] == [0, 0]
    assert summary.by_category == [("Billing", [2, 3]), ("Delivery", [3, 0])]


def test_weeks_start_on_monday_in_utc_across_a_year_end(make_category, build_item) -> None:
    category = make_category()
    build_item(category, datetime(2026, 3, 8, 23, 59, 59, tzinfo=UTC), "Sunday night")
    build_item(category, datetime(2026, 3, 9, 0, 0, 0, tzinfo=UTC), "Monday midnight")
    # 1 January 2025 was a Wednesday: its week (ISO 2025-W01) began on Monday 30 December 2024.
    build_item(category, datetime(2025, 1, 1, 12, tzinfo=UTC), "New year")
    build_item(category, datetime(2024, 12, 29, 23, tzinfo=UTC), "Old year's last Sunday")
    weeks = [
        (r.week, r.count) for r in queries.weekly_volume(datetime(2024, 12, 1, tzinfo=UTC), END)
    ]
    assert weeks == [
        (date(2024, 12, 23), 1),
        (date(2024, 12, 30), 1),
        (date(2026, 3, 2), 1),
        (date(2026, 3, 9), 1),
    ]
    assert figures.week_of(date(2025, 1, 1)) == figures.week_of(date(2024, 12, 30))
    assert figures.week_start(figures.week_of(date(2026, 3, 15))) == date(2026, 3, 9)


def test_weekly_received_lists_every_week_with_zeros(make_category, build_item) -> None:
    category = make_category()
    build_item(category, at(3, 3), "First week")
    build_item(category, at(3, 4), "First week again")
    build_item(category, at(3, 20), "Third week")
    assert queries.weekly_received(START, at(3, 23)) == [
        (date(2026, 3, 2), 2),
        (date(2026, 3, 9), 0),
        (date(2026, 3, 16), 1),
    ]


def test_rising_categories_compare_with_the_previous_period(world: World) -> None:
    # Previous two weeks (16 Feb - 2 Mar): Delivery d4 and p1 (d5 is older). Now: Billing 5,
    # Delivery 3. Both rose: Billing by 5, Delivery by 1.
    rows = queries.rising_categories(START, END)
    assert [(t.label, t.current, t.previous, t.change) for t in rows] == [
        ("Billing", 5, 0, 5),
        ("Delivery", 3, 2, 1),
    ]


def test_rising_title_words(world: World) -> None:
    # Titles now: "refund" in 3 (b1, b2, b3), "parcel" in 3 (b5, d1, d3), "left" in 2 (b5, d1),
    # "rain" in 2 (d1, d3); everything else once. Before: "parcel" once (d4), "courier" once
    # (p1). "courier" now: 1 (d2), not rising. Biggest rise first, then most titles, then a-z.
    rows = queries.rising_terms(START, END)
    assert [(t.label, t.current, t.previous) for t in rows] == [
        ("refund", 3, 0),
        ("parcel", 3, 1),
        ("left", 2, 0),
        ("rain", 2, 0),
    ]


def test_rising_title_words_read_only_the_newest_titles(world: World) -> None:
    # The two newest titles of the period: b5 "Parcel left outside", b4 "Invoice address
    # wrong"; before it, d4 "Parcel never arrived" and p1 "Courier late again".
    rows = queries.rising_terms(START, END, sample=2, min_count=1)
    assert [(t.label, t.current, t.previous) for t in rows] == [
        ("address", 1, 0),
        ("invoice", 1, 0),
        ("left", 1, 0),
        ("outside", 1, 0),
        ("wrong", 1, 0),
    ]


def test_title_words_drop_common_words_and_numbers() -> None:
    assert figures.title_words("The app can't load my 2 invoices, PLEASE fix it!!") == {
        "app",
        "load",
        "invoices",
        "fix",
    }


def test_most_voted_unresolved_items(world: World) -> None:
    # Open: p1 (3 votes), b4 (2), b3, b5 and "late" (1 each, oldest first). b1 has 6 votes
    # but is resolved.
    rows = queries.most_voted_unresolved()
    items = world.items
    assert [(r.id, r.votes) for r in rows] == [
        (items["p1"].id, 3),
        (items["b4"].id, 2),
        (items["b3"].id, 1),
        (items["b5"].id, 1),
        (items["late"].id, 1),
    ]
    assert [r.id for r in queries.most_voted_unresolved(limit=1)] == [items["p1"].id]


# Workload ------------------------------------------------------------------------------------


def test_staff_workload_lists_everyone_busiest_first(world: World) -> None:
    # Open now: b3 (Ben), b5 (Ben, not acknowledged, not yet due), b4 (nobody, overdue),
    # "late" (nobody, not yet due), p1 (Ada). Cy owns nothing and is still listed.
    rows = queries.staff_workload(END)
    assert [
        (w.name, w.open, w.unacknowledged, w.overdue, w.oldest_unacknowledged_at) for w in rows
    ] == [
        ("Ben", 2, 1, 0, at(3, 15, 20)),
        ("Unassigned", 2, 2, 1, at(3, 10, 12)),
        ("Ada", 1, 0, 0, None),
        ("Cy", 0, 0, 0, None),
    ]


# The digest ----------------------------------------------------------------------------------


def _subscription(
    n: int, created: datetime, confirmed: datetime | None = None, left: datetime | None = None
) -> DigestSubscription:
    subscription = DigestSubscription(
        email=f"reader{n}@example.com",
        frequency=DigestFrequency.WEEKLY,
        confirm_token=f"confirm-{n}",
        unsubscribe_token=f"leave-{n}",
        created_at=created,
        confirmed_at=confirmed,
        unsubscribed_at=left,
    )
    db.session.add(subscription)
    db.session.flush()
    if left is not None:
        db.session.add(
            Unsubscribe(scope="digest", subscription_id=subscription.id, created_at=left)
        )
    return subscription


def test_digest_subscribers_confirmations_and_churn_per_week() -> None:
    _subscription(1, at(2, 1), at(2, 1))  # a subscriber throughout
    _subscription(2, at(2, 10), at(2, 11), left=at(3, 4))  # leaves in week one
    _subscription(3, at(3, 3), at(3, 3))  # joins in week one
    _subscription(4, at(3, 10))  # signs up in week two, never confirms
    _subscription(5, at(3, 10), at(3, 11), left=at(3, 12))  # joins and leaves in week two
    _subscription(6, at(2, 5))  # never confirmed, before the period
    db.session.add(Unsubscribe(scope="notifications", created_at=at(3, 5)))
    db.session.add(Unsubscribe(scope="item", created_at=at(3, 10)))
    db.session.add(Unsubscribe(scope="item", created_at=at(2, 28)))  # before the period
    db.session.commit()

    activity = queries.digest_activity(START, END)
    # Week of 2 Mar: 2 subscribers (1, 2); 3 signs up and confirms; 2 leaves: 1 / (2 + 1).
    # Week of 9 Mar: 2 subscribers (1, 3); 4 and 5 sign up, 5 confirms and leaves: 1 / (2 + 1).
    assert [
        (w.week, w.subscribers_at_start, w.signups, w.confirmations, w.optouts)
        for w in activity.weeks
    ] == [
        (date(2026, 3, 2), 2, 1, 1, 1),
        (date(2026, 3, 9), 2, 2, 1, 1),
    ]
    assert [w.notification_optouts for w in activity.weeks] == [1, 1]
    assert [round(w.churn, 2) for w in activity.weeks] == [33.33, 33.33]
    # The whole period: 2 at the start, 2 confirmations, 2 opt-outs: 2 / 4 = 50%; 1 and 3 stay.
    assert (activity.subscribers_at_start, activity.subscribers_at_end) == (2, 2)
    assert (activity.signups, activity.confirmations, activity.optouts) == (3, 2, 2)
    assert activity.churn == 50.0
    # Of the 3 sign-ups of the period, 3 and 5 confirmed.
    assert activity.confirmation_rate == pytest.approx(200 / 3)


# Edge cases ----------------------------------------------------------------------------------


def test_every_figure_is_calm_with_no_data() -> None:
    assert queries.items_received(START, END) == 0
    assert queries.items_resolved(START, END) == 0
    assert queries.items_declined(START, END) == 0
    (ack,) = queries.ack_time_percentiles(START, END)
    assert (ack.count, ack.median, ack.p90) == (0, None, None)
    assert queries.ack_time_percentiles(START, END, "category") == []
    assert queries.resolve_time_percentiles(START, END, "owner") == []
    (targets,) = queries.ack_targets_met(START, END)
    assert (targets.met, targets.missed, targets.pending, targets.percent) == (0, 0, 0, None)
    assert queries.promises_kept(START, END).percent is None
    moves = queries.promises_moved(START, END)
    assert (moves.moves, moves.items, moves.items_moved_more_than_once) == (0, 0, 0)
    assert queries.weekly_volume(START, END) == []
    assert queries.weekly_received(START, END) == [(date(2026, 3, 2), 0), (date(2026, 3, 9), 0)]
    assert queries.rising_categories(START, END) == []
    assert queries.rising_terms(START, END) == []
    assert queries.most_voted_unresolved() == []
    assert queries.staff_workload(END) == []
    digest = queries.digest_activity(START, END)
    assert (digest.subscribers_at_end, digest.churn, digest.confirmation_rate) == (0, None, None)
    assert [w.churn for w in digest.weeks] == [None, None]
    assert queries.latest_resolutions() == []


def test_only_unacknowledged_items_have_no_time_to_acknowledge(make_category, build_item) -> None:
    category = make_category(ack_target_hours=24)
    build_item(category, at(3, 2), "Nobody answered")
    (row,) = queries.ack_time_percentiles(START, END)
    assert (row.count, row.median) == (0, None)
    (targets,) = queries.ack_targets_met(START, END, now=END)
    assert (targets.met, targets.missed, targets.pending) == (0, 1, 0)


def test_merging_a_duplicate_acknowledges_it_but_does_not_resolve_it(
    make_user, make_category, make_feedback
) -> None:
    # The decision the figures rest on: the workflow stamps acknowledged_at when merging.
    staff = make_user(role=Role.STAFF)
    category = make_category()
    target = make_feedback(category=category, title="Card declined")
    duplicate = make_feedback(category=category, title="Card refused")
    workflow.merge(
        duplicate.id,
        staff,
        target.id,
        "Sorry about this: we are handling it with #1.",
        post_anyway=True,
    )
    db.session.commit()
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(seconds=1)
    assert duplicate.acknowledged_at is not None
    assert queries.items_received(start, end) == 2
    assert queries.ack_time_percentiles(start, end)[0].count == 1
    assert queries.ack_targets_met(start, end)[0].met == 1
    assert queries.items_resolved(start, end) == 0
    workflow.resolve(target.id, staff, "We fixed the card check.", post_anyway=True)
    db.session.commit()
    assert queries.items_resolved(start, now + timedelta(minutes=1)) == 1


def test_a_promise_moved_twice_is_kept_against_the_date_in_force(make_category, build_item) -> None:
    category = make_category()
    item = build_item(
        category, at(3, 2), "Moved twice", acknowledged_after=1, state=S.RESOLVED,
        resolved=at(3, 12, 23, 59, 59), promise=date(2026, 3, 12),
    )  # fmt: skip
    _event(item, TimelineKind.PROMISE_SET, at(3, 3), target_date=date(2026, 3, 5))
    _event(item, TimelineKind.PROMISE_MOVED, at(3, 4), target_date=date(2026, 3, 9))
    _event(item, TimelineKind.PROMISE_MOVED, at(3, 8), target_date=date(2026, 3, 12))
    db.session.commit()
    promises = queries.promises_kept(START, END)
    assert (promises.kept, promises.broken) == (1, 0)  # resolved in the last second of the day
    moves = queries.promises_moved(START, END)
    assert (moves.moves, moves.items, moves.items_moved_more_than_once) == (2, 1, 1)


# Ranges, tables and words ---------------------------------------------------------------------


def test_date_range_defaults_to_twelve_weeks_and_mends_bad_input() -> None:
    today = date(2026, 3, 18)  # a Wednesday
    default, notes = figures.parse_date_range(None, None, today=today)
    assert (default.first_day, default.last_day, notes) == (date(2025, 12, 29), today, [])
    assert default.start == datetime(2025, 12, 29, tzinfo=UTC)
    assert default.end == datetime(2026, 3, 19, tzinfo=UTC)
    assert default.bounds(at(3, 18, 10)) == (default.start, at(3, 18, 10))

    picked, notes = figures.parse_date_range("2026-03-01", "2026-03-07", today=today)
    assert (picked.first_day, picked.last_day, picked.days, notes) == (
        date(2026, 3, 1),
        date(2026, 3, 7),
        7,
        [],
    )
    swapped, notes = figures.parse_date_range("2026-03-07", "2026-03-01", today=today)
    assert (swapped.first_day, swapped.last_day) == (date(2026, 3, 1), date(2026, 3, 7))
    assert notes
    bad, notes = figures.parse_date_range("yesterday", "2030-01-01", today=today)
    assert (bad.first_day, bad.last_day) == (default.first_day, today)
    assert len(notes) == 2
    long, notes = figures.parse_date_range("2000-01-01", "2026-03-18", today=today)
    assert long.days == figures.MAX_RANGE_DAYS and notes
    ancient, notes = figures.parse_date_range("0001-01-01", "0001-01-02", today=today)
    assert (ancient.first_day, ancient.last_day) == (figures.EARLIEST_DAY,) * 2 and notes


def test_every_table_downloads_as_csv(world: World) -> None:
    for name in report.TABLES:
        table = report.insight_table(name, START, END, END)
        text = report.table_csv(table)
        assert text.splitlines()[0] == ",".join(table.headers), name
    summary = dict(report.insight_table("summary", START, END, END).rows)
    assert summary["received"] == 8
    assert summary["median_seconds_to_acknowledge"] == 3 * H
    assert summary["promises_kept_percent"] == 50.0
    with pytest.raises(NotFound):
        report.insight_table("passwords", START, END, END)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(make_category, build_item) -> None:
    build_item(make_category(), at(3, 2), '=HYPERLINK("http://evil.example","Click")', votes=1)
    text = report.table_csv(report.insight_table("most_voted", START, END, END))
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "no data"),
        (30, "under a minute"),
        (40 * 60, "40 min"),
        (3600 * 1.6, "1.6 hours"),
        (3600 * 30, "30 hours"),
        (86400 * 3, "3 days"),
        (86400 * 11.25, "11.2 days"),
    ],
)
def test_durations_read_as_words(seconds: float | None, words: str) -> None:
    assert str(figures.format_duration(seconds)) == words


def test_the_period_before_has_the_same_length() -> None:
    assert figures.previous_period(START, END) == (at(2, 16), START)


def test_figures_are_computed_in_sql_not_by_loading_items(world: World) -> None:
    from tests.helpers import count_queries

    with count_queries(db.engine) as log:
        report.public_figures(END, 30)
    # From the daily roll-ups, whatever the number of items: the counts, the items waiting
    # for acknowledgement, each duration, the promise moves (the period is whole days).
    assert log.count == 5, log.statements
    assert all(
        "GROUP BY" in s or "count(" in s.lower() or "sum(" in s.lower() for s in log.statements
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 12
