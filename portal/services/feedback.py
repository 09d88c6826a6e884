"""Submitting feedback, commenting, and the rule of who may see which item."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVarTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    Category,
    Comment,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    TimelineEvent,
    TimelineKind,
    User,
    Visibility,
    Vote,
)
from portal.models.base import utcnow
from portal.services import notifications, webhooks
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.sanitize import render_markdown
from portal.services.site import get_site_settings

# The columns a SELECT returns, which holding its rows leaves as they were.
Ts = TypeVarTuple("Ts")


def submit_feedback(
    author: User,
    *,
    kind: FeedbackKind | str,
    category_id: int,
    title: str,
    body: str,
    visibility: Visibility | str = Visibility.PUBLIC,
    channel: FeedbackChannel | str = FeedbackChannel.WEB,
    send_receipt: bool = True,
) -> Feedback:
    """Record a new item from a customer, with its "received" step on the timeline.
    Email intake passes send_receipt=False and sends its own (a reply to the sender's mail)."""
    title = " ".join(title.split())
    if not title:
        raise DomainError("Please give your feedback a title.")
    if not body.strip():
        raise DomainError("Please tell us a little more in the description.")
    category = db.session.get(Category, category_id)
    if category is None:
        raise DomainError("Please choose one of the listed categories.")
    visibility = Visibility(visibility)
    item = Feedback(
        kind=FeedbackKind(kind),
        title=title,
        body_source=body,
        body_html=render_markdown(body),
        category_id=category.id,
        author_id=author.id,
        visibility=visibility,
        channel=FeedbackChannel(channel),
        awaiting_review=(
            visibility is Visibility.PUBLIC
            and get_site_settings().pre_moderation
            and not author.is_staff
        ),
    )
    item.created_at = utcnow()
    item.ack_due_at = item.created_at + timedelta(hours=category.ack_target_hours)
    db.session.add(item)
    db.session.flush()
    db.session.add(
        TimelineEvent(
            feedback_id=item.id,
            actor_id=author.id,
            kind=TimelineKind.SUBMITTED,
            to_state=item.state,
            created_at=item.created_at,
        )
    )
    # The author says "me too" to their own item: it counts as one voice.
    db.session.add(Vote(user_id=author.id, feedback_id=item.id))
    item.vote_count = 1
    db.session.flush()
    notifications.follow(author, item)
    if send_receipt:
        notifications.send_receipt(item, author)
    notifications.notify_category_followers(item)
    webhooks.item_created(item)
    return item


def visible_items_clause(
    user: User | None, narrower_index_first: bool = False
) -> sa.ColumnElement[bool]:
    """A WHERE clause for the items this person may see in lists. With narrower_index_first,
    the clause leaves a narrower index (full-text, category) to drive the query (see
    search.not_indexed)."""
    if user is None or not user.is_authenticated:
        return _public_items_clause(narrower_index_first)
    if user.is_staff:
        return sa.true()
    return visible_to_customer_clause(user.id, narrower_index_first)


def visible_to_customer_clause(
    customer_id: int | sa.BindParameter[int], narrower_index_first: bool = False
) -> sa.ColumnElement[bool]:
    """What a customer sees: public items, and their own unless staff hid them. The id may be
    a bind parameter, for a statement built once (the vote's)."""
    own = sa.and_(Feedback.author_id == customer_id, Feedback.hidden.is_(False))
    return sa.or_(_public_items_clause(narrower_index_first), own)


def _public_items_clause(narrower_index_first: bool) -> sa.ColumnElement[bool]:
    from portal.services.search import not_indexed

    visibility = not_indexed(Feedback.visibility) if narrower_index_first else Feedback.visibility
    return sa.and_(
        visibility == Visibility.PUBLIC,
        Feedback.hidden.is_(False),
        Feedback.awaiting_review.is_(False),
    )


def item_query(
    item_id: int, *, with_people: bool = True, for_change: bool = False
) -> sa.Select[Feedback]:
    """An item with its category, author, owner, merge target and resolution (only the item
    itself when `with_people` is False, as a vote needs).

    `for_change`: staff are about to change it. Its row is held until the commit, so two
    people acting on one item at once take turns, and each sees the state the other left:
    otherwise, on PostgreSQL, both would check the same old state (two owners, two moves out
    of Received). SQLite's write lock already makes writers take turns."""
    query = sa.select(Feedback).where(Feedback.id == item_id)
    if with_people:
        query = query.options(
            joinedload(Feedback.category),
            joinedload(Feedback.author),
            joinedload(Feedback.owner),
            joinedload(Feedback.merged_into),
            joinedload(Feedback.resolution),
        )
    return held_for_change(query) if for_change else query


def held_for_change(query: sa.Select[*Ts]) -> sa.Select[*Ts]:
    """The items a query reads, held until the commit because staff are about to change them
    (see item_query). A row may already be in the session, read before the lock: it is read
    again."""
    return query.with_for_update(key_share=True, of=Feedback).execution_options(
        populate_existing=True
    )


def hold_merge_target_first(item_id: int, target_id: int | None) -> None:
    """Before an item is merged: hold its target's row first when the target's id is lower.
    A merge holds both rows; taken lowest id first (as "Resolve together" takes its items),
    two merges of two items into each other take turns instead of deadlocking, and the second
    is told the other is merged already. Call it before the item is read for the change."""
    if target_id is not None and 0 < target_id < item_id:
        db.session.execute(held_for_change(sa.select(Feedback.id).where(Feedback.id == target_id)))


def get_visible_item(
    item_id: int, user: User | None, *, with_people: bool = True, for_change: bool = False
) -> Feedback:
    """Load an item (see item_query); NotFound unless this person may see it."""
    item = db.session.scalar(item_query(item_id, with_people=with_people, for_change=for_change))
    if item is None or not item.can_view(user):
        # Private items answer exactly like missing ones, so their existence never leaks.
        raise NotFound(
            "We could not find that feedback. It may be private or may have been removed."
        )
    return item


def item_comments(item: Feedback, user: User | None) -> list[Comment]:
    """The comments this person may read on an item, oldest first, with their authors."""
    query = (
        sa.select(Comment)
        .where(Comment.feedback_id == item.id, Comment.hidden.is_(False))
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    if not (user is not None and user.is_authenticated and user.is_staff):
        query = query.where(Comment.internal.is_(False))
    return list(db.session.scalars(query))


def item_timeline(item: Feedback) -> list[TimelineEvent]:
    """The item's public history, oldest first, with who acted."""
    return list(
        db.session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.feedback_id == item.id)
            .options(joinedload(TimelineEvent.actor))
            .order_by(TimelineEvent.created_at, TimelineEvent.id)
        )
    )


def add_comment(author: User, item: Feedback, body: str) -> Comment:
    """A signed-in person comments publicly on an item they can see."""
    if not item.can_view(author):
        raise NotFound("We could not find that feedback.")
    if not author.is_active:
        raise NotAllowed("Your account cannot comment.")
    if author.is_staff:
        # A comment from staff is a public answer: it comes from the owner, through the admin
        # page, where the tone check reads it and the customer is told (workflow.reply).
        raise NotAllowed(
            "Staff answer from the item's admin page, where the tone check reads the reply "
            "and the customer is told."
        )
    if not body.strip():
        raise DomainError("Please write something before posting your comment.")
    comment = Comment(
        feedback_id=item.id,
        author_id=author.id,
        body_source=body,
        body_html=render_markdown(body),
        official=False,
    )
    db.session.add(comment)
    # Counted in SQL so two comments posted at once both count.
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == item.id)
        .values(comment_count=Feedback.comment_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return comment


def has_voted(user: User | None, item_id: int) -> bool:
    """Whether this person has said "me too" to the item."""
    if user is None or not user.is_authenticated:
        return False
    return (
        db.session.scalar(
            sa.select(Vote.id).where(Vote.user_id == user.id, Vote.feedback_id == item_id)
        )
        is not None
    )


def categories() -> list[Category]:
    """All categories in their display order."""
    return list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.name)))


def items_by_author(author: User) -> list[Feedback]:
    """A customer's own items, newest first, private ones included."""
    return list(
        db.session.scalars(
            sa.select(Feedback)
            .where(Feedback.author_id == author.id)
            .options(joinedload(Feedback.category))
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        )
    )
