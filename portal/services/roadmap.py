"""The public roadmap: what is planned (with its promised date), in progress, and done lately.

It lists only what the public board shows (board.shown_on_board), and of that only items whose
words the public may read: a redacted item has nothing to say on a roadmap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from feedgen.feed import FeedGenerator
from sqlalchemy.orm import joinedload

from portal.database import not_indexed
from portal.extensions import db
from portal.models import Feedback, FeedbackState, User
from portal.services.board import shown_on_board
from portal.services.feeds import TAG_DATE
from portal.services.site import cached_categories
from portal.services.visibility import words_public_clause
from portal.services.wording import say, t

# Done items stay on the roadmap this long after their answer was published.
DONE_RECENTLY_DAYS = 30
# The most a column lists: a roadmap is read at a glance, the board holds the rest.
COLUMN_SIZE = 50


@dataclass(frozen=True)
class Roadmap:
    """The three columns, each in its own order."""

    planned: list[Feedback]  # soonest promised date first
    in_progress: list[Feedback]  # newest first
    done: list[Feedback]  # latest answer first
    category_slug: str | None = None

    @property
    def empty(self) -> bool:
        """Whether no column holds anything."""
        return not (self.planned or self.in_progress or self.done)


def done_since(now: datetime | None = None) -> datetime:
    """Answers published after this are "done recently"."""
    return (now or datetime.now(UTC)) - timedelta(days=DONE_RECENTLY_DAYS)


def roadmap(category_slug: str | None = None) -> Roadmap | None:
    """The roadmap, of every category or one's (None when there is no such category). Three
    statements, each loading its items with their category and owner (no query per item):
    planned off ix_feedback_state_target_date, in progress off ix_feedback_state, done off
    ix_feedback_resolved_at_id."""
    conditions = [shown_on_board(narrower_index_first=True), words_public_clause()]
    if category_slug:
        category_id = next((c.id for c in cached_categories() if c.slug == category_slug), None)
        if category_id is None:
            return None
        conditions.append(Feedback.category_id == category_id)

    def column(
        *where: sa.ColumnElement[bool], order: list[sa.UnaryExpression[Any]]
    ) -> list[Feedback]:
        # The column's ids first, read in order off an index and cut at COLUMN_SIZE; then only
        # those rows, with their category and owner. A column of thousands costs what one of
        # fifty does.
        chosen = (
            sa.select(Feedback.id)
            .where(*conditions, *where)
            .order_by(*order)
            .limit(COLUMN_SIZE)
            .subquery("roadmap_column")
        )
        query = (
            sa.select(Feedback)
            .join(chosen, chosen.c.id == Feedback.id)
            .options(joinedload(Feedback.category), joinedload(Feedback.owner))
            .order_by(*order)
        )
        return list(db.session.scalars(query).unique())

    return Roadmap(
        planned=column(
            Feedback.state == FeedbackState.PLANNED,
            order=[Feedback.target_date.asc(), Feedback.id.asc()],
        ),
        # Newest first: read backwards off the state index, which ends in the id.
        in_progress=column(
            Feedback.state == FeedbackState.IN_PROGRESS,
            order=[Feedback.id.desc()],
        ),
        # Off the answers' time index: only the last days' answers are read.
        done=column(
            not_indexed(Feedback.state) == FeedbackState.RESOLVED,
            Feedback.resolution_id.is_not(None),
            Feedback.resolved_at >= done_since(),
            order=[Feedback.resolved_at.desc(), Feedback.id.desc()],
        ),
        category_slug=category_slug,
    )


def first_name(user: User | None) -> str:
    """What the roadmap calls an item's owner: the first word of the name they go by; nothing
    for a closed account (its name is gone)."""
    if user is None or user.deleted_at is not None or not user.is_active:
        return ""
    name = (user.preferred_name or user.display_name).split()
    return name[0] if name else ""


@dataclass(frozen=True)
class RoadmapLinks:
    """Absolute addresses for the feed, built by the view from PORTAL_BASE_URL."""

    self_url: str
    page_url: str
    item_url: Callable[[int], str]
    resolution_url: Callable[[int], str]


def entry_id(item: Feedback, host: str) -> str:
    """An entry per item and column: moving on to the next column is news of its own."""
    return f"tag:{host},{TAG_DATE}:roadmap:{item.id}:{item.state.value}"


def build_roadmap_feed(
    board: Roadmap,
    links: RoadmapLinks,
    organisation: str,
    format_date: Callable[[date], str],
    language: str = "en",
) -> bytes:
    """The roadmap as an Atom document, latest change first. Its own words (and promised dates,
    by `format_date`) are in the reader's language; titles are as their authors wrote them."""
    host = urlsplit(links.page_url).hostname or "localhost"
    feed = FeedGenerator()
    feed.id(f"tag:{host},{TAG_DATE}:roadmap:{board.category_slug or ''}")
    feed.title(say(t("Roadmap (%(organisation)s)", organisation=organisation)))
    feed.subtitle(
        say(
            t(
                "What %(organisation)s has planned, is working on and has done.",
                organisation=organisation,
            )
        )
    )
    feed.author({"name": organisation})
    feed.link(href=links.self_url, rel="self", type="application/atom+xml")
    feed.link(href=links.page_url, rel="alternate", type="text/html")
    feed.language(language)
    entries: list[tuple[Feedback, str, str]] = []
    for item in board.planned:
        if item.target_date is not None:
            heading = say(t("Planned for %(date)s", date=format_date(item.target_date)))
        else:
            heading = say(t("Planned"))
        entries.append((item, heading, links.item_url(item.id)))
    for item in board.in_progress:
        entries.append((item, say(t("In progress")), links.item_url(item.id)))
    for item in board.done:
        # A done item's news is its "You said, we did" entry.
        url = (
            links.resolution_url(item.resolution_id)
            if item.resolution_id is not None
            else links.item_url(item.id)
        )
        entries.append((item, say(t("Done")), url))
    entries.sort(key=lambda entry: (entry[0].updated_at, entry[0].id), reverse=True)
    newest = max((item.updated_at for item, _, _ in entries), default=None)
    feed.updated(newest or datetime(int(TAG_DATE), 1, 1, tzinfo=UTC))
    for item, heading, url in entries:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(item, host))
        entry.title(f"{heading}: {item.title}")
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(item.updated_at)
        owner = first_name(item.owner)
        parts = [
            f"<p><strong>{escape(heading)}</strong></p>",
            f"<p>{escape(item.category.name)}</p>",
        ]
        if item.state is FeedbackState.PLANNED and item.promise_outcome:
            promised = say(t("We promised: %(outcome)s", outcome=item.promise_outcome))
            parts.append(f"<p>{escape(promised)}</p>")
        if owner:
            looked_after = say(t("Looked after by %(name)s", name=owner))
            parts.append(f"<p>{escape(looked_after)}</p>")
        entry.content("\n".join(parts), type="html")
    document: bytes = feed.atom_str(pretty=True)
    return document
