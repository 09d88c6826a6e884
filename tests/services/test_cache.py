"""The per-process read cache: reused for a few seconds, forgotten when this process changes
what it holds, and never older than READ_CACHE_SECONDS for changes made elsewhere."""

from __future__ import annotations

import time

import sqlalchemy as sa

from portal.cache import ReadCache
from portal.extensions import db
from portal.models import Category, SiteSettings
from portal.services.board import BoardFilters, board_count
from portal.services.site import cached_categories, cached_site_settings, settings_for_update
from tests.helpers import count_queries


def test_settings_and_categories_are_read_once_then_reused(make_category) -> None:
    make_category(name="Billing")
    settings_for_update().organisation_name = "Acme"
    db.session.commit()
    with count_queries(db.engine) as first:
        assert cached_site_settings().organisation_name == "Acme"
        assert [c.name for c in cached_categories()] == ["Billing"]
    with count_queries(db.engine) as again:
        assert cached_site_settings().organisation_name == "Acme"
        assert [c.name for c in cached_categories()] == ["Billing"]
    assert (first.count, again.count) == (2, 0)


def test_a_change_committed_by_this_process_is_seen_at_once(make_category, make_feedback) -> None:
    category = make_category(name="Billing")
    make_feedback(category=category)
    assert cached_site_settings().organisation_name != "Renamed Ltd"
    assert board_count(BoardFilters()) == 1

    settings_for_update().organisation_name = "Renamed Ltd"
    db.session.get(Category, category.id).name = "Payments"  # type: ignore[union-attr]
    db.session.commit()
    make_feedback(category=category)

    assert cached_site_settings().organisation_name == "Renamed Ltd"
    assert [c.name for c in cached_categories()] == ["Payments"]
    assert board_count(BoardFilters()) == 2


def test_a_rolled_back_change_is_not_shown(make_category) -> None:
    make_category(name="Billing")
    assert [c.name for c in cached_categories()] == ["Billing"]
    db.session.add(Category(name="Ghost", slug="ghost"))
    db.session.flush()
    db.session.rollback()
    assert [c.name for c in cached_categories()] == ["Billing"]


def test_a_change_made_elsewhere_shows_within_the_time_to_live(app) -> None:
    # Another process's change (here: raw SQL, which the watch does not see) is picked up
    # when the entry ages out, never later.
    cache = ReadCache(ttl=0.2)
    settings_for_update().organisation_name = "Before"
    db.session.commit()

    def read() -> str:
        return db.session.scalar(sa.select(SiteSettings.organisation_name)) or ""

    assert cache.get_or_compute("name", read) == "Before"
    db.session.execute(sa.update(SiteSettings).values(organisation_name="After"))
    db.session.commit()
    assert cache.get_or_compute("name", read) == "Before"  # still fresh enough
    time.sleep(0.3)
    assert cache.get_or_compute("name", read) == "After"


def test_a_zero_time_to_live_turns_the_cache_off() -> None:
    cache = ReadCache(ttl=0)
    calls: list[int] = []
    for n in range(3):
        cache.get_or_compute("k", lambda n=n: calls.append(n))
    assert calls == [0, 1, 2]


def test_cached_copies_are_detached_and_never_written_back(make_category) -> None:
    make_category(name="Billing")
    copy = cached_categories()[0]
    copy.name = "Changed in memory"
    db.session.commit()
    assert db.session.scalar(sa.select(Category.name)) == "Billing"
