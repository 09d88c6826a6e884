"""The insights roll-ups agree with a full recount, whatever the workflow did.

Random sequences of the real commands (submit, record for a customer by channel, acknowledge,
investigate, plan, move the promise, start work, resolve, decline, reopen, merge, assign, hide,
redact, vote, "me too" for a customer), with items and steps moved back in time between them
as the insights tests' worlds do (a change through the session, which the roll-ups follow).
After each sequence every figure the reports read from the roll-ups is compared with the SQL
recount of ``queries`` over periods of whole days and of part-days (staff workload at
several moments), and a rebuild from scratch
gives the same rows as the ones kept change by change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from itertools import count
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import (
    Category,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    InsightBacklog,
    InsightDay,
    InsightDuration,
    InsightItem,
    InsightWaiting,
    Role,
    TimelineEvent,
    TimelineKind,
    User,
    Vote,
)
from portal.models.insight import InsightSegmentDay, InsightUserDay
from portal.services import recording, workflow
from portal.services.errors import DomainError
from portal.services.feedback import submit_feedback
from portal.services.insights import queries, rolled, rollups
from portal.services.insights.figures import Grouping, Percentiles
from portal.services.insights.rolled import segment_split
from portal.services.votes import set_vote

_names = count(1)
CHANNELS = [FeedbackChannel.PHONE, FeedbackChannel.CHAT, FeedbackChannel.EMAIL]
KINDS = list(FeedbackKind)

step = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 1), st.sampled_from(KINDS)),
    st.tuples(st.just("record"), st.integers(0, 1), st.sampled_from(CHANNELS)),
    st.tuples(
        st.sampled_from(
            [
                "acknowledge",
                "investigate",
                "start",
                "resolve",
                "decline",
                "reopen",
                "hide",
                "redact",
                "vote",
                "me_too",
                "assign",
            ]
        ),
        st.integers(0, 30),
        st.integers(0, 1),
    ),
    st.tuples(st.sampled_from(["plan", "move_promise"]), st.integers(0, 30), st.integers(0, 4)),
    st.tuples(st.just("merge"), st.integers(0, 30), st.integers(0, 30)),
    # Votes by several customers, taken back and moved back in time, and a customer's segment
    # changed (the segment split counts a customer's history in the segment they are in now).
    st.tuples(
        st.sampled_from(["vote_as", "unvote_as", "vote_earlier"]),
        st.integers(0, 30),
        st.integers(0, 2),
    ),
    st.tuples(st.just("segment"), st.integers(0, 3), st.sampled_from([None, "Retail", "Business"])),
    # Back in time: the whole item (its durations kept), only its arrival (durations grow),
    # or its latest declining step.
    st.tuples(
        st.sampled_from(["age", "arrive_earlier", "decline_earlier"]),
        st.integers(0, 30),
        st.sampled_from([1, 5, 20, 50, 80, 400, 900]),  # hours: up to five weeks back
    ),
)


def _run(name: str, arg: int, extra: Any, world: dict[str, Any]) -> None:
    items: list[int] = world["items"]
    staff: list[User] = world["staff"]
    actor = staff[1]  # an admin may act on any item, whoever owns it
    if name == "submit":
        item = submit_feedback(
            world["customer"],
            kind=extra,
            category_id=world["categories"][arg].id,
            title=f"Meter reading wrong {next(_names)}",
            body="The bill shows a reading we never gave.",
        )
        items.append(item.id)
        return
    if name == "record":
        recorded = recording.record_for_customer(
            actor,
            email=f"caller{next(_names)}@example.com",
            name="Caller",
            channel=extra,
            kind=FeedbackKind.IDEA,
            category_id=world["categories"][arg].id,
            title=f"Caller asked about delivery slots {next(_names)}",
            body="They would like an evening slot.",
            visibility="public",
        )
        items.append(recorded.item.id)
        return
    if name == "segment":
        customer = world["voters"][arg % len(world["voters"])] if arg else world["customer"]
        customer.segment = extra
        return
    if not items:
        return
    item_id = items[arg % len(items)]
    today = datetime.now(UTC).date()
    match name:
        case "acknowledge":
            workflow.acknowledge(item_id, actor, "Thank you, we are looking.", post_anyway=True)
        case "investigate":
            workflow.investigate(item_id, actor, "We are checking this.", post_anyway=True)
        case "start":
            workflow.start_work(item_id, actor, "Work has started.", post_anyway=True)
        case "resolve":
            workflow.resolve(item_id, actor, "We fixed the meter readings.", post_anyway=True)
        case "decline":
            workflow.decline(item_id, actor, "We cannot change this.", post_anyway=True)
        case "reopen":
            workflow.reopen(item_id, actor, "It came back.", post_anyway=True)
        case "hide":
            workflow.set_hidden(item_id, actor, True, "Off topic.")
        case "redact":
            workflow.redact(item_id, actor, "Personal details.")
        case "vote":
            set_vote(world["voter"], item_id, want=True)
        case "vote_as" | "unvote_as":
            set_vote(world["voters"][extra], item_id, want=name == "vote_as")
        case "vote_earlier":
            vote = db.session.scalars(
                sa.select(Vote).where(
                    Vote.feedback_id == item_id, Vote.user_id == world["voters"][extra].id
                )
            ).first()
            if vote is not None:
                vote.created_at -= timedelta(hours=30 * (extra + 1))
        case "me_too":
            recording.me_too_for_customer(
                actor,
                item_id,
                email=f"metoo{next(_names)}@example.com",
                name="Caller",
                channel=FeedbackChannel.PHONE,
            )
        case "assign":
            workflow.assign(item_id, actor, staff[extra].id, "Handing on.")
        case "plan":
            workflow.plan(
                item_id,
                actor,
                today + timedelta(days=extra),
                "We plan a fix.",
                outcome="a corrected bill",
                post_anyway=True,
            )
        case "move_promise":
            workflow.move_promise(
                item_id, actor, today + timedelta(days=extra), "Parts late.", "a corrected bill"
            )
        case "merge":
            target = items[extra % len(items)]
            workflow.merge(
                item_id,
                actor,
                target,
                promise=workflow.PromiseChoice.KEEP,
                post_anyway=True,
            )
        case "age" | "arrive_earlier":
            aged = db.session.get(Feedback, item_id)
            assert aged is not None
            back = timedelta(hours=extra)
            fields = ["created_at", "ack_due_at"]
            if name == "age":
                fields += ["acknowledged_at", "resolved_at"]
            for field in fields:
                if getattr(aged, field) is not None:
                    setattr(aged, field, getattr(aged, field) - back)
        case "decline_earlier":
            event = db.session.scalars(
                sa.select(TimelineEvent)
                .where(
                    TimelineEvent.feedback_id == item_id,
                    TimelineEvent.kind == TimelineKind.STATE_CHANGED,
                )
                .order_by(TimelineEvent.id.desc())
                .limit(1)
            ).first()
            if event is not None:
                event.created_at -= timedelta(hours=extra)


def _periods(now: datetime) -> list[tuple[datetime, datetime]]:
    midnight = datetime.combine(now.date(), time(), UTC)
    return [
        (midnight - timedelta(days=4), midnight + timedelta(days=1)),  # whole days
        (now - timedelta(days=30), now),  # the public page: part-days at both ends
        (now - timedelta(hours=50), now - timedelta(hours=7)),
        (midnight - timedelta(hours=5), midnight + timedelta(hours=2)),
        (now - timedelta(hours=3), now),  # inside one day
        (now - timedelta(days=7), now),
        (now - timedelta(days=120), now),  # whole months and weeks of the roll-ups
        (now - timedelta(days=75), midnight - timedelta(days=9)),
    ]


def _bucketed(rows: list[Percentiles]) -> list[Percentiles]:
    def bucket(value: int | None) -> int | None:
        return None if value is None else rollups.duration_bucket(value)

    return [Percentiles(r.key, r.label, r.count, bucket(r.median), bucket(r.p90)) for r in rows]


def _rows(model: type[Any], *values: str) -> set[tuple[Any, ...]]:
    table = model.__table__
    columns = [c for c in table.c if c.name not in values]
    rows = db.session.execute(sa.select(*columns, *[table.c[v] for v in values])).all()
    return {tuple(row) for row in rows if not values or any(row[len(columns) :])}


def _assert_agree(now: datetime) -> None:
    for moment in (now, now + timedelta(hours=3), now + timedelta(days=2)):
        assert rolled.staff_workload(moment) == queries.staff_workload(moment)
    for start, end in _periods(now):
        for name in ("items_received", "items_resolved", "items_declined", "promises_kept"):
            recount: Callable[[datetime, datetime], Any] = getattr(queries, name)
            assert getattr(rolled, name)(start, end) == recount(start, end), (name, start, end)
        for name in ("items_per_channel", "weekly_volume", "weekly_received", "rising_categories"):
            assert getattr(rolled, name)(start, end) == getattr(queries, name)(start, end), name
        for by in ("all", "category"):
            assert rolled.ack_targets_met(start, end, now=now, by=by) == queries.ack_targets_met(
                start, end, now=now, by=by
            ), by
        groupings: tuple[Grouping, ...] = ("all", "category", "owner")
        for by in groupings:
            assert rolled.ack_time_percentiles(start, end, by) == _bucketed(
                queries.ack_time_percentiles(start, end, by)
            ), by
            assert rolled.resolve_time_percentiles(start, end, by) == _bucketed(
                queries.resolve_time_percentiles(start, end, by)
            ), by
        assert segment_split(start, end) == queries.segment_split(start, end), (start, end)


A_WEEK_OF_WORK = [
    ("submit", 0, FeedbackKind.COMPLAINT),
    ("submit", 1, FeedbackKind.IDEA),
    ("record", 0, FeedbackChannel.PHONE),
    ("submit", 1, FeedbackKind.QUESTION),
    ("acknowledge", 0, 0),
    ("plan", 0, 2),
    ("age", 0, 60),
    ("investigate", 1, 0),
    ("assign", 1, 1),
    ("resolve", 1, 0),
    ("arrive_earlier", 1, 30),
    ("resolve", 0, 0),
    ("decline", 2, 0),
    ("decline_earlier", 2, 20),
    ("move_promise", 3, 3),
    ("merge", 3, 0),
    ("reopen", 1, 0),
    ("vote", 0, 0),
    ("vote_as", 0, 0),
    ("vote_as", 1, 1),
    ("vote_earlier", 0, 0),
    ("segment", 1, "Business"),
    ("unvote_as", 1, 1),
    ("segment", 0, "Retail"),
    ("age", 3, 9),
    ("age", 0, 900),
    ("arrive_earlier", 2, 400),
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=20))
@example(steps=A_WEEK_OF_WORK)
def test_rollups_agree_with_a_recount_after_any_workflow(
    steps: list[tuple[str, int, Any]],
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    world: dict[str, Any] = {
        "staff": [make_user(role=Role.STAFF), make_user(role=Role.ADMIN)],
        "customer": make_user(),
        "voter": make_user(),
        "voters": [make_user(), make_user(), make_user()],
        "categories": [make_category(ack_target_hours=2), make_category(ack_target_hours=30)],
        "items": [],
    }
    world["voters"][0].segment, world["voters"][2].segment = "Retail", "Business"
    db.session.commit()
    for name, arg, extra in steps:
        try:
            _run(name, arg, extra, world)
            db.session.commit()
        except DomainError:
            db.session.rollback()
    _assert_agree(datetime.now(UTC))

    kept = (
        _rows(InsightDay, *rollups.COUNTERS),
        _rows(InsightDuration, "count"),
        _rows(InsightItem),
        _rows(InsightBacklog, "count"),
        _rows(InsightWaiting, "count"),
        _rows(InsightUserDay, "items", "votes"),
        _rows(InsightSegmentDay, "items", "votes"),
    )
    rollups.rebuild()
    db.session.commit()
    rebuilt = (
        _rows(InsightDay, *rollups.COUNTERS),
        _rows(InsightDuration, "count"),
        _rows(InsightItem),
        _rows(InsightBacklog, "count"),
        _rows(InsightWaiting, "count"),
        _rows(InsightUserDay, "items", "votes"),
        _rows(InsightSegmentDay, "items", "votes"),
    )
    assert kept == rebuilt


def test_a_rebuild_counts_what_bypassed_the_session(make_feedback: Callable[..., Feedback]) -> None:
    item = make_feedback()
    db.session.commit()
    start = datetime.combine(datetime.now(UTC).date(), time(), UTC) - timedelta(days=10)
    end = datetime.now(UTC)
    # Moved with SQL the session never sees, as a bulk import or the bench seed does.
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == item.id)
        .values(created_at=start + timedelta(hours=1))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    assert rolled.weekly_received(start, end) != queries.weekly_received(start, end)
    assert rollups.rebuild() == 1
    db.session.commit()
    assert rolled.weekly_received(start, end) == queries.weekly_received(start, end)
