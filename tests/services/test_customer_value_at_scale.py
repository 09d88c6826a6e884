"""Triage's value sort and figures, and insights' segment split, at 10,000 items and 40,000
votes: a page of the queue sorted by customer value costs the same few statements as any
other page (no statement per item or per person), comes back in the order worked out by
hand, and in well under a second a statement."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Category, Feedback, FeedbackKind, Role, User, Vote
from portal.services import triage
from portal.services.customer_value import item_values
from portal.services.insights.rolled import segment_split
from tests.helpers import count_queries

ITEMS = 10_000
CUSTOMERS = 2_000
PAYING = 300
VOTES = 40_000


def _seed() -> tuple[dict[int, int], dict[int, set[int]]]:
    """Bulk rows (core inserts: the services would take minutes). Returns each paying
    customer's cents and each item's people (author and voters)."""
    rng = random.Random(27)
    category = Category(name="Scale", slug="scale", ack_target_hours=48)
    db.session.add(category)
    db.session.flush()
    users = [
        {
            "email": f"scale{n}@example.com",
            "password_hash": "x",
            "display_name": f"Scale {n}",
            "preferred_name": f"Scale {n}",
            "role": Role.CUSTOMER,
            "monthly_value_cents": rng.randrange(1, 100_000) if n < PAYING else None,
            "segment": rng.choice(["Retail", "Education", None]),
        }
        for n in range(CUSTOMERS)
    ]
    db.session.execute(sa.insert(User), users)
    ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
    cents = {
        row.id: row.monthly_value_cents
        for row in db.session.execute(
            sa.select(User.id, User.monthly_value_cents).where(User.monthly_value_cents > 0)
        )
    }
    start = datetime.now(UTC) - timedelta(days=20)
    items = [
        {
            "kind": FeedbackKind.IDEA,
            "title": f"Scale item {n}",
            "body_source": "words",
            "body_html": "<p>words</p>",
            "category_id": category.id,
            "author_id": rng.choice(ids),
            "created_at": start + timedelta(seconds=n),
        }
        for n in range(ITEMS)
    ]
    db.session.execute(sa.insert(Feedback), items)
    item_rows = db.session.execute(sa.select(Feedback.id, Feedback.author_id)).all()
    people: dict[int, set[int]] = defaultdict(set)
    for item_id, author_id in item_rows:
        people[item_id].add(author_id)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < VOTES:
        pairs.add((rng.choice(ids), rng.choice(item_rows)[0]))
    db.session.execute(
        sa.insert(Vote), [{"user_id": u, "feedback_id": i} for u, i in sorted(pairs)]
    )
    for user_id, item_id in pairs:
        people[item_id].add(user_id)
    db.session.commit()
    return cents, people


def test_the_value_sort_and_figures_stay_a_few_statements_at_ten_thousand_items(
    make_user,
) -> None:
    cents, people = _seed()
    staff = make_user(role=Role.STAFF)
    # Worked out by hand: each item's paying people, each once.
    expected = {item_id: sum(cents.get(p, 0) for p in who) for item_id, who in people.items()}
    paying = {item_id: sum(1 for p in who if p in cents) for item_id, who in people.items()}
    created = dict(db.session.execute(sa.select(Feedback.id, Feedback.created_at)).all())
    order = sorted(expected, key=lambda i: (-expected[i], -paying[i], created[i], i))

    filters = triage.TriageFilters(sort=triage.TriageSort.VALUE)
    began = time.perf_counter()
    with count_queries(db.engine) as log:
        page = db.paginate(triage.triage_query(filters, staff), page=1, per_page=50)
        values = item_values(item.id for item in page.items)
    elapsed = time.perf_counter() - began
    assert log.count == 3  # the page, its total, the figures of its rows
    assert [item.id for item in page.items] == order[:50]
    assert page.total == ITEMS
    for item in page.items:
        assert values[item.id].monthly_value_cents == expected[item.id]
        assert values[item.id].paying == paying[item.id]
    # Generous for a shared two-core machine; a statement per item would take minutes.
    assert elapsed < 5, f"{elapsed:.2f}s"

    began = time.perf_counter()
    with count_queries(db.engine) as log:
        split = segment_split(datetime.now(UTC) - timedelta(days=30), datetime.now(UTC))
    assert log.count == 1
    assert sum(f.items for f in split) == ITEMS
    assert sum(f.votes for f in split) == VOTES
    assert time.perf_counter() - began < 5
