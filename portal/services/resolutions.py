"""Reading resolutions for the "You said, we did" board: pages, voice counts and items."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, load_only

from portal.extensions import db
from portal.models import Category, Feedback, Resolution, Vote, resolution_categories
from portal.services.visibility import visible_items_clause


def answered_in_category(category_id: Any) -> sa.ColumnElement[bool]:
    """Whether a resolution belongs to a category: filed under it, or answering one of its
    items (see models.resolution.resolution_categories)."""
    column = resolution_categories.c
    return Resolution.id.in_(
        sa.select(column.resolution_id).where(column.category_id == category_id)
    )


def resolutions_page(category_slug: str | None, page: int, per_page: int = 10) -> Any:
    """Published resolutions, newest first, optionally for one category."""
    query = sa.select(Resolution).options(joinedload(Resolution.category))
    if category_slug:
        category_id = sa.select(Category.id).where(Category.slug == category_slug)
        query = query.where(answered_in_category(category_id.scalar_subquery()))
    query = query.order_by(Resolution.published_at.desc(), Resolution.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


# Built once: an alias made per call rebuilds its column collections every time (milliseconds
# of Python on a page that shows ten resolutions).
_ITEM = aliased(Feedback, name="item")
_DUPLICATE = aliased(Feedback, name="duplicate")


def voice_counts(resolution_ids: list[int]) -> dict[int, int]:
    """How many people raised each resolution's items: authors and voters of every linked item
    and of every duplicate merged into one, each person counted once per resolution."""
    if not resolution_ids:
        return {}
    item, duplicate = _ITEM, _DUPLICATE
    linked = sa.select(item.id.label("feedback_id"), item.resolution_id.label("rid")).where(
        item.resolution_id.in_(resolution_ids)
    )
    merged = (
        sa.select(duplicate.id.label("feedback_id"), item.resolution_id.label("rid"))
        .join(item, duplicate.merged_into_id == item.id)
        .where(item.resolution_id.in_(resolution_ids))
    )
    items = sa.union_all(linked, merged).subquery("items")
    authors = sa.select(items.c.rid, Feedback.author_id.label("user_id")).join(
        Feedback, Feedback.id == items.c.feedback_id
    )
    voters = sa.select(items.c.rid, Vote.user_id.label("user_id")).join(
        Vote, Vote.feedback_id == items.c.feedback_id
    )
    people = sa.union(authors, voters).subquery("people")  # UNION, not ALL: once per person
    rows = db.session.execute(sa.select(people.c.rid, sa.func.count()).group_by(people.c.rid)).all()
    return {rid: count for rid, count in rows}


def public_items_by_resolution(resolution_ids: list[int]) -> dict[int, list[Feedback]]:
    """The public items each resolution answered (private ones count as voices, but are
    never listed)."""
    if not resolution_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Feedback)
        # Lists show the number, title and state; anything else would raise, not query.
        .options(
            load_only(
                Feedback.id,
                Feedback.title,
                Feedback.state,
                Feedback.resolution_id,
                # Whether its title may be shown (item_data.public_title).
                Feedback.redacted_at,
                Feedback.hidden,
                raiseload=True,
            )
        )
        # The resolutions' index drives; the visibility terms must not tempt SQLite into
        # walking the board's index instead (see database.not_indexed).
        .where(
            Feedback.resolution_id.in_(resolution_ids),
            visible_items_clause(None, narrower_index_first=True),
        )
        .order_by(Feedback.id)
    )
    grouped: dict[int, list[Feedback]] = defaultdict(list)
    for row in rows:
        grouped[row.resolution_id].append(row)  # type: ignore[index]
    return grouped


def withheld_titles_by_resolution(resolution_ids: list[int]) -> dict[int, list[str]]:
    """The titles of each resolution's items whose words staff withheld (redacted or hidden):
    a "you said" equal to one of them must not be shown (item_data.you_said_shown)."""
    if not resolution_ids:
        return {}
    rows = db.session.execute(
        sa.select(Feedback.resolution_id, Feedback.title).where(
            Feedback.resolution_id.in_(resolution_ids),
            sa.or_(Feedback.redacted_at.is_not(None), Feedback.hidden.is_(True)),
        )
    )
    grouped: dict[int, list[str]] = defaultdict(list)
    for resolution_id, title in rows:
        grouped[resolution_id].append(title)  # type: ignore[index]  # never None: see WHERE
    return grouped


def get_resolution(resolution_id: int) -> Resolution | None:
    """One resolution with its category."""
    return db.session.scalar(
        sa.select(Resolution)
        .where(Resolution.id == resolution_id)
        .options(joinedload(Resolution.category))
    )
