"""Reading resolutions for the "You said, we did" board: pages, voice counts and items."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, load_only

from portal.database import not_indexed
from portal.extensions import db
from portal.models import Category, Feedback, Resolution, Vote, resolution_categories
from portal.services.item_data import you_said_shown
from portal.services.visibility import is_public, visible_items_clause, words_withheld


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
    and of every duplicate merged into one, each person counted once per resolution.

    Counted as it was when the resolution was published: a vote given later, or a report
    merged in later (on an item reopened since, say), is not among the people who raised
    what it answered. Votes and merges are closed on Done items (votes.CLOSED_FOR_VOTES,
    workflow.ClosedTarget); this keeps the published number true on every other path too."""
    if not resolution_ids:
        return {}
    item, duplicate = _ITEM, _DUPLICATE
    published = Resolution.published_at.label("published_at")
    linked = (
        sa.select(item.id.label("feedback_id"), item.resolution_id.label("rid"), published)
        .join(Resolution, Resolution.id == item.resolution_id)
        .where(item.resolution_id.in_(resolution_ids))
    )
    merged = (
        sa.select(duplicate.id.label("feedback_id"), item.resolution_id.label("rid"), published)
        .join(item, duplicate.merged_into_id == item.id)
        .join(Resolution, Resolution.id == item.resolution_id)
        .where(
            item.resolution_id.in_(resolution_ids),
            duplicate.created_at <= Resolution.published_at,
        )
    )
    items = sa.union_all(linked, merged).subquery("items")
    authors = sa.select(items.c.rid, Feedback.author_id.label("user_id")).join(
        Feedback, Feedback.id == items.c.feedback_id
    )
    voters = (
        sa.select(items.c.rid, Vote.user_id.label("user_id"))
        .join(Vote, Vote.feedback_id == items.c.feedback_id)
        .where(Vote.created_at <= items.c.published_at)
    )
    people = sa.union(authors, voters).subquery("people")  # UNION, not ALL: once per person
    rows = db.session.execute(sa.select(people.c.rid, sa.func.count()).group_by(people.c.rid)).all()
    return {rid: count for rid, count in rows}


@dataclass(frozen=True)
class ResolutionItems:
    """What a list of resolutions shows of their items, read in one statement: the public items
    each answered (private ones count as voices, but are never listed), and the titles of its
    items whose words staff withheld (a "you said" equal to one of them is not shown)."""

    listed: dict[int, list[Feedback]]
    withheld_titles: dict[int, list[str]]

    def you_said(self, resolution: Resolution) -> str:
        """The resolution's "you said" as the public may read it (item_data.you_said_shown)."""
        return you_said_shown(resolution.you_said, self.withheld_titles.get(resolution.id, []))


def resolution_items(resolution_ids: list[int]) -> ResolutionItems:
    """The items of these resolutions that a list of them shows or must hide (see
    ResolutionItems)."""
    listed: dict[int, list[Feedback]] = defaultdict(list)
    withheld: dict[int, list[str]] = defaultdict(list)
    if not resolution_ids:
        return ResolutionItems(listed, withheld)
    rows = db.session.scalars(
        sa.select(Feedback)
        # Lists show the number, title and state; anything else would raise, not query.
        .options(
            load_only(
                Feedback.id,
                Feedback.title,
                Feedback.state,
                Feedback.resolution_id,
                # Whether it is listed, and whether its title may be shown, and to whom
                # (visibility.is_public, item_data.title_for).
                Feedback.visibility,
                Feedback.awaiting_review,
                Feedback.redacted_at,
                Feedback.hidden,
                Feedback.author_id,
                raiseload=True,
            )
        )
        # The resolutions' index drives; the visibility terms must not tempt SQLite into
        # walking the board's index instead (see database.not_indexed).
        .where(
            Feedback.resolution_id.in_(resolution_ids),
            sa.or_(
                visible_items_clause(None, narrower_index_first=True),
                not_indexed(Feedback.hidden).is_(True),
            ),
        )
        .order_by(Feedback.id)
    )
    for row in rows:
        resolution_id: int = row.resolution_id  # type: ignore[assignment]  # see WHERE
        if is_public(row):
            listed[resolution_id].append(row)
        if words_withheld(row):
            withheld[resolution_id].append(row.title)
    return ResolutionItems(listed, withheld)


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
