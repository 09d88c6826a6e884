"""Reading resolutions for the "You said, we did" board: pages, voice counts and items."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from portal.cache import read_cache
from portal.database import not_indexed
from portal.extensions import db
from portal.models import (
    Category,
    Feedback,
    FeedbackState,
    Resolution,
    User,
    Visibility,
    Vote,
    resolution_categories,
)
from portal.services.item_data import you_said_shown
from portal.services.visibility import (
    is_public,
    public_items_clause,
    visible_items_clause,
    words_public_clause,
    words_withheld,
)
from portal.services.wording import Text, t, tn


def answered_in_category(category_id: Any) -> sa.ColumnElement[bool]:
    """Whether a resolution belongs to a category: filed under it, or answering one of its
    items (see models.resolution.resolution_categories)."""
    column = resolution_categories.c
    return Resolution.id.in_(
        sa.select(column.resolution_id).where(column.category_id == category_id)
    )


def resolutions_page(category_slug: str | None, page: int, per_page: int = 10) -> Any:
    """Published resolutions, newest first, optionally for one category. How many there are
    is reused for a few seconds (see portal.cache), as the board's count is: counting them
    all grows with the history."""
    in_category: list[sa.ColumnElement[bool]] = []
    if category_slug:
        category_id = sa.select(Category.id).where(Category.slug == category_slug)
        in_category.append(answered_in_category(category_id.scalar_subquery()))
    query = (
        sa.select(Resolution)
        .options(joinedload(Resolution.category))
        .where(*in_category)
        .order_by(Resolution.published_at.desc(), Resolution.id.desc())
    )
    listed = db.paginate(query, page=page, per_page=per_page, error_out=False, count=False)

    def count() -> int:
        return db.session.scalar(sa.select(sa.func.count(Resolution.id)).where(*in_category)) or 0

    listed.total = read_cache().get_or_compute(("resolutions_count", category_slug), count)
    return listed


# Built once: an alias made per call rebuilds its column collections every time (milliseconds
# of Python on a page that shows ten resolutions).
_ITEM = aliased(Feedback, name="item")
_DUPLICATE = aliased(Feedback, name="duplicate")


# The lists' statements are built once, for any resolutions (an expanding IN parameter): made
# per call, their subqueries rebuilt their column collections every time, most of the Python
# a "You said, we did" page or the feed spent on SQL. Each is kept per database dialect, as
# not_indexed writes its terms for the one it runs on.
_RESOLUTION_IDS: sa.BindParameter[list[int]] = sa.bindparam("resolution_ids", expanding=True)


def _dialect() -> str:
    return db.engine.dialect.name


def voice_counts(resolution_ids: list[int]) -> dict[int, int]:
    """How many people raised each resolution's items: authors and voters of every linked item
    and of every duplicate merged into one, each person counted once per resolution.

    Counted as it was when the resolution was published: a vote given later, or a report
    merged in later (on an item reopened since, say), is not among the people who raised
    what it answered. Votes and merges are closed on Done items (votes.CLOSED_FOR_VOTES,
    workflow.ClosedTarget); this keeps the published number true on every other path too."""
    if not resolution_ids:
        return {}
    rows = db.session.execute(_voice_counts_query(_dialect()), {"resolution_ids": resolution_ids})
    return {rid: count for rid, count in rows}


@cache
def _voice_counts_query(dialect: str) -> sa.Select[int, int]:
    items = _raised_as_published()
    authors = sa.select(items.c.rid, items.c.author_id.label("user_id"))
    voters = (
        sa.select(items.c.rid, Vote.user_id.label("user_id"))
        .join(Vote, Vote.feedback_id == items.c.feedback_id)
        .where(Vote.created_at <= items.c.published_at)
    )
    # Each person once per resolution, counted distinct within each group: a UNION first
    # built a temporary index of every (resolution, person) row, about a fifth more
    # instructions in SQLite for the feed's fifty resolutions.
    people = sa.union_all(authors, voters).subquery("people")
    return sa.select(people.c.rid, sa.func.count(people.c.user_id.distinct())).group_by(
        people.c.rid
    )


def _raised_as_published() -> sa.CTE:
    """Every item that raised each resolution of the `resolution_ids` parameter, as it was
    published: its own items, and the duplicates merged into them before it was published,
    as (feedback_id, author_id, rid, published_at); who authored one, or voted on one before
    `published_at`, raised it.

    A CTE read twice (authors, then voters) is materialised, by SQLite and PostgreSQL alike:
    the resolutions' items are found, and their rows read, once, where a subquery per use
    read them twice. Once the history outgrows SQLite's page cache each such read is a page
    fetched again, which made the feed's count grow with the history."""
    item, duplicate = _ITEM, _DUPLICATE
    # The resolutions are named on both sides of the join: PostgreSQL otherwise merge-joined
    # the items with every resolution's key, a walk that grows with the history.
    linked = (
        sa.select(
            item.id.label("feedback_id"),
            item.author_id.label("author_id"),
            item.resolution_id.label("rid"),
            Resolution.published_at.label("published_at"),
        )
        .join(Resolution, Resolution.id == item.resolution_id)
        .where(item.resolution_id.in_(_RESOLUTION_IDS), Resolution.id.in_(_RESOLUTION_IDS))
        .cte("linked")
    )
    merged = (
        sa.select(duplicate.id, duplicate.author_id, linked.c.rid, linked.c.published_at)
        .join(linked, duplicate.merged_into_id == linked.c.feedback_id)
        .where(duplicate.created_at <= linked.c.published_at)
    )
    return sa.union_all(sa.select(linked), merged).cte("items")


def _raised_through() -> sa.Subquery:
    """Every item that raised each resolution of the `resolution_ids` parameter (its own
    items, and the duplicates merged into them) as (feedback_id, rid): who authored or voted
    on one of them raised it."""
    item, duplicate = _ITEM, _DUPLICATE
    linked = sa.select(item.id.label("feedback_id"), item.resolution_id.label("rid")).where(
        item.resolution_id.in_(_RESOLUTION_IDS)
    )
    merged = (
        sa.select(duplicate.id.label("feedback_id"), item.resolution_id.label("rid"))
        .join(item, duplicate.merged_into_id == item.id)
        .where(item.resolution_id.in_(_RESOLUTION_IDS))
    )
    return sa.union_all(linked, merged).subquery("items")


# At most this many people are named on one resolution; everyone else is "and N others".
THANKED_BY_NAME = 10


@dataclass(frozen=True)
class Thanks:
    """Who a published resolution thanks: the people who chose to be named (first to raise it
    first), and how many others raised it."""

    names: tuple[str, ...]
    others: int

    @property
    def sentence(self) -> Text:
        """ "Thanks to Jo, Sam and 12 others who raised this." or "Thanks to 12 people who
        raised this." when nobody chose to be named; in the reader's language when shown."""
        if not self.names:
            return tn(
                "Thanks to the person who raised this.",
                "Thanks to %(num)d people who raised this.",
                self.others,
            )
        if self.others:
            return tn(
                "Thanks to %(names)s and %(num)d other who raised this.",
                "Thanks to %(names)s and %(num)d others who raised this.",
                self.others,
                names=", ".join(self.names),
            )
        if len(self.names) == 1:
            return t("Thanks to %(name)s, who raised this.", name=self.names[0])
        return t(
            "Thanks to %(names)s and %(last)s, who raised this.",
            names=", ".join(self.names[:-1]),
            last=self.names[-1],
        )


def thanks_for(resolution_ids: list[int], voices: dict[int, int]) -> dict[int, Thanks]:
    """The thanks of each resolution, given its voice count (voice_counts), in one statement
    for any number of resolutions.

    A person is named only when they chose it (User.thank_by_name), can still sign in, and
    raised it through an item the public may read (public, shown, approved, words not
    withheld): naming someone for a private item, or one staff hid or redacted, would tell
    what the item's page does not. They are counted among the others all the same."""
    if not resolution_ids:
        return {}
    names: dict[int, list[str]] = defaultdict(list)
    for rid, name in db.session.execute(
        _thanked_query(_dialect()),
        {"resolution_ids": resolution_ids, "thanked_by_name": THANKED_BY_NAME},
    ):
        names[rid].append(name)
    thanks = {}
    for rid in resolution_ids:
        named = tuple(names.get(rid, ()))
        # Counted in another statement: a vote in between must not make "-1 others".
        others = max(0, voices.get(rid, 0) - len(named))
        if named or others:
            thanks[rid] = Thanks(named, others)
    return thanks


@cache
def _thanked_query(dialect: str) -> sa.Select[int, str]:
    items = _raised_through()
    # The resolutions' own items drive the query: the public board index, free to be used,
    # had SQLite walk every public item first (0.6 s at 100,000 items; bench/).
    readable = sa.and_(public_items_clause(narrower_index_first=True), words_public_clause())
    # Only people who chose to be named go on to be grouped and ranked, however many voted.
    chose_it = sa.and_(
        User.thank_by_name.is_(True), User.active.is_(True), User.deleted_at.is_(None)
    )
    # A set, not a join: the few who chose it are looked up once, and the votes are read from
    # the resolutions' items (a join let SQLite start from the people and scan every vote).
    # Tested through not_indexed: SQLite, without statistics, otherwise still started from
    # the people, through their authored items and the votes' (user_id, feedback_id) key,
    # and read every vote each of them ever cast (1.8 billion instructions a feed at 100,000
    # items with one customer in seven named); from the items it reads their votes alone.
    chosen = sa.select(User.id).where(chose_it)
    # Tested once before any item is read (a term of no table): where nobody chose to be
    # named, as by default, the statement ends without reading the items' votes.
    anyone_chose = sa.exists().where(chose_it)
    authors = (
        sa.select(
            items.c.rid,
            Feedback.author_id.label("user_id"),
            Feedback.created_at.label("raised_at"),
        )
        .join(Feedback, Feedback.id == items.c.feedback_id)
        .where(anyone_chose, readable, not_indexed(Feedback.author_id).in_(chosen))
    )
    voters = (
        sa.select(items.c.rid, Vote.user_id.label("user_id"), Vote.created_at.label("raised_at"))
        .join(Feedback, Feedback.id == items.c.feedback_id)
        .join(Vote, Vote.feedback_id == Feedback.id)
        .where(anyone_chose, readable, not_indexed(Vote.user_id).in_(chosen))
    )
    raised = sa.union_all(authors, voters).subquery("raised")
    first = (
        sa.select(
            raised.c.rid,
            raised.c.user_id,
            sa.func.min(raised.c.raised_at).label("first_raised_at"),
        )
        .group_by(raised.c.rid, raised.c.user_id)
        .subquery("first")
    )
    ranked = (
        sa.select(
            first.c.rid,
            User.display_name,
            sa.func.row_number()
            .over(partition_by=first.c.rid, order_by=(first.c.first_raised_at, User.id))
            .label("place"),
        )
        .join(User, User.id == first.c.user_id)
        .subquery("ranked")
    )
    return (
        sa.select(ranked.c.rid, ranked.c.display_name)
        .where(ranked.c.place <= sa.bindparam("thanked_by_name"))
        .order_by(ranked.c.rid, ranked.c.place)
    )


@dataclass(frozen=True, slots=True)
class ListedItem:
    """An item as a list of resolutions shows it (its number, title and state), with what
    decides whether it is listed and who may read its title: the attributes of Feedback that
    visibility.is_public, words_withheld and item_data.title_for read. A plain row: a feed
    lists a hundred and more, and ORM objects were a quarter of its cost."""

    id: int
    title: str
    state: FeedbackState
    resolution_id: int
    visibility: Visibility
    awaiting_review: bool
    redacted_at: datetime | None
    hidden: bool
    author_id: int


@dataclass(frozen=True)
class ResolutionItems:
    """What a list of resolutions shows of their items, read in one statement: the public items
    each answered (private ones count as voices, but are never listed), and the titles of its
    items whose words staff withheld (a "you said" equal to one of them is not shown)."""

    listed: dict[int, list[ListedItem]]
    withheld_titles: dict[int, list[str]]

    def you_said(self, resolution: Resolution) -> str:
        """The resolution's "you said" as the public may read it (item_data.you_said_shown)."""
        return you_said_shown(resolution.you_said, self.withheld_titles.get(resolution.id, []))


def resolution_items(resolution_ids: list[int]) -> ResolutionItems:
    """The items of these resolutions that a list of them shows or must hide (see
    ResolutionItems)."""
    listed: dict[int, list[ListedItem]] = defaultdict(list)
    withheld: dict[int, list[str]] = defaultdict(list)
    if not resolution_ids:
        return ResolutionItems(listed, withheld)
    rows = db.session.execute(_items_query(_dialect()), {"resolution_ids": resolution_ids})
    for row in rows:
        item = ListedItem(*row)
        # The rules read these attributes only; a ListedItem has each of them.
        as_feedback = cast(Feedback, item)
        if is_public(as_feedback):
            listed[item.resolution_id].append(item)
        if words_withheld(as_feedback):
            withheld[item.resolution_id].append(item.title)
    return ResolutionItems(listed, withheld)


@cache
def _items_query(dialect: str) -> sa.Select[*tuple[Any, ...]]:
    # The columns of ListedItem, in its order.
    return (
        sa.select(
            Feedback.id,
            Feedback.title,
            Feedback.state,
            Feedback.resolution_id,
            Feedback.visibility,
            Feedback.awaiting_review,
            Feedback.redacted_at,
            Feedback.hidden,
            Feedback.author_id,
        )
        # The resolutions' index drives; the visibility terms must not tempt SQLite into
        # walking the board's index instead (see database.not_indexed).
        .where(
            Feedback.resolution_id.in_(_RESOLUTION_IDS),
            sa.or_(
                visible_items_clause(None, narrower_index_first=True),
                not_indexed(Feedback.hidden).is_(True),
            ),
        )
        .order_by(Feedback.id)
    )


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


@dataclass(frozen=True)
class ChangeLedTo:
    """A published resolution someone's feedback led to, as they may read it."""

    resolution_id: int
    you_said: str
    published_at: datetime


def changes_led_to(person: User) -> list[ChangeLedTo]:
    """The published resolutions this person's feedback led to, newest first: those of items
    they raised or voted on, and of items that what they raised or voted on was merged into.
    The same people a resolution counts and thanks (voice_counts, thanks_for). Two
    statements, however many there are."""
    raised = sa.union(
        sa.select(Feedback.id).where(Feedback.author_id == person.id),
        sa.select(Vote.feedback_id).where(Vote.user_id == person.id),
    ).subquery("raised")
    duplicate = _DUPLICATE
    merged_into = sa.select(duplicate.merged_into_id).where(
        duplicate.id.in_(sa.select(raised.c.id)), duplicate.merged_into_id.is_not(None)
    )
    answered = sa.select(Feedback.resolution_id).where(
        Feedback.resolution_id.is_not(None),
        sa.or_(Feedback.id.in_(sa.select(raised.c.id)), Feedback.id.in_(merged_into)),
    )
    rows = db.session.execute(
        sa.select(Resolution.id, Resolution.you_said, Resolution.published_at)
        .where(Resolution.id.in_(answered))
        .order_by(Resolution.published_at.desc(), Resolution.id.desc())
    ).all()
    withheld = _withheld_titles_for(person, [row.id for row in rows])
    return [
        ChangeLedTo(
            row.id, you_said_shown(row.you_said, withheld.get(row.id, [])), row.published_at
        )
        for row in rows
    ]


def _withheld_titles_for(reader: User, resolution_ids: list[int]) -> dict[int, list[str]]:
    # The titles this reader may not read (item_data.title_for): staff and an item's author
    # keep its words; everyone else loses those staff withheld.
    if reader.is_staff or not resolution_ids:
        return {}
    rows = db.session.execute(
        sa.select(Feedback.resolution_id, Feedback.title).where(
            Feedback.resolution_id.in_(resolution_ids),
            sa.or_(Feedback.redacted_at.is_not(None), Feedback.hidden.is_(True)),
            Feedback.author_id != reader.id,
        )
    )
    grouped: dict[int, list[str]] = defaultdict(list)
    for resolution_id, title in rows:
        grouped[resolution_id].append(title)  # type: ignore[index]  # never None: see WHERE
    return grouped
