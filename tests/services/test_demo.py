"""The demo data a newcomer sees after `make run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, FeedbackState
from portal.services.demo import seed_demo


def test_every_demo_item_was_reported_in_the_past_the_merged_one_too() -> None:
    seed_demo()
    db.session.commit()
    now = datetime.now(UTC)
    created = dict(
        db.session.execute(
            sa.select(Feedback.state, sa.func.max(Feedback.created_at)).group_by(Feedback.state)
        ).all()
    )
    assert FeedbackState.DUPLICATE in created
    assert all(when < now - timedelta(days=1) for when in created.values()), created


def test_every_promise_in_the_demo_is_an_outcome_with_a_date() -> None:
    seed_demo()
    db.session.commit()
    promised = db.session.execute(
        sa.select(Feedback.title, Feedback.promise_outcome).where(Feedback.target_date.is_not(None))
    ).all()
    assert promised
    assert all(outcome for _title, outcome in promised), promised
