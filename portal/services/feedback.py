"""Submitting feedback and commenting, and reading an item with what hangs off it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVarTuple
from urllib.parse import urlsplit

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
    User,
    Visibility,
    Vote,
)
from portal.models.base import utcnow
from portal.services import attachments, events
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.languages import language_of_item, stated_language
from portal.services.personal_details import check_public_words
from portal.services.sanitize import render_markdown
from portal.services.site import categories as categories  # the pages list them from here
from portal.services.site import get_site_settings
from portal.services.visibility import can_view
from portal.services.wording import t

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
    language: str | None = None,
    written_in: str | None = None,
    images: Sequence[str] = (),
    post_anyway: bool = False,
    page_url: str | None = None,
) -> Feedback:
    """Record a new item from a customer, with the images they uploaded for it (public ids,
    attachments.upload_image); its "received" step, the author's follow, the receipt and the
    announcements follow from ItemSubmitted (services/consumers.py). Email intake passes
    send_receipt=False and sends its own (a reply to the sender's mail).

    A public item's words are read for personal details first (personal_details): found ones
    hold it (PersonalDetailsHeld) unless the writer chose to post anyway.

    `page_url`: the page of the organisation's site the feedback widget was opened on, kept for
    staff (portal/services/widget.py).

    The item's language is detected from its title and text (services/languages.py); when
    they are too short to tell, it is `language` (the page's they wrote on, their email's),
    else the author's saved one. `written_in`: the language the caller states (the API's
    `language`), recorded as it is."""
    title = " ".join(title.split())
    if not title:
        raise DomainError(t("Please give your feedback a title."))
    if not body.strip():
        raise DomainError(t("Please tell us a little more in the description."))
    stated = stated_language(written_in) if written_in is not None else None
    category = db.session.get(Category, category_id)
    if category is None:
        raise DomainError(t("Please choose one of the listed categories."))
    page_url = _checked_page_url(page_url)
    visibility = Visibility(visibility)
    if visibility is Visibility.PUBLIC:
        check_public_words(
            {"title": title, "body": body}, post_anyway=post_anyway, may_make_private=True
        )
    item = Feedback(
        kind=FeedbackKind(kind),
        title=title,
        body_source=body,
        body_html=render_markdown(body),
        category_id=category.id,
        author_id=author.id,
        visibility=visibility,
        language=stated or language_of_item(title, body, fallback=language or author.language),
        channel=FeedbackChannel(channel),
        page_url=page_url,
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
    # The author says "me too" to their own item: it counts as one voice.
    db.session.add(Vote(user_id=author.id, feedback_id=item.id))
    item.vote_count = 1
    db.session.flush()
    attachments.attach_uploads(author, item, None, images)
    events.emit(events.ItemSubmitted(item=item, author=author, send_receipt=send_receipt))
    return item


def _checked_page_url(page_url: str | None) -> str | None:
    """A page address as kept: an absolute http(s) address of at most 2,000 characters."""
    if page_url is None or not page_url.strip():
        return None
    page_url = page_url.strip()
    try:
        parts = urlsplit(page_url)
    except ValueError:
        parts = urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(page_url) > 2000
        or any(c.isspace() for c in page_url)
    ):
        raise DomainError(t("The address of the page you came from is not one we can keep."))
    return page_url


def item_query(
    item_id: int, *, with_people: bool = True, for_change: bool = False
) -> sa.Select[Feedback]:
    """An item with its category, author, owner, merge target and resolution (only the item
    itself when `with_people` is False, as a vote needs).

    `for_change`: staff are about to change it. Its row is held until the commit, so two
    people acting on one item at once take turns, and each sees the state the other left:
    otherwise, on PostgreSQL, both would check the same old state (two owners, two moves out
    of Received). SQLite's write lock already makes writers take turns."""
    query = _item_select(item_id, with_people)
    return held_for_change(query) if for_change else query


def _item_select(item_id: int | sa.BindParameter[int], with_people: bool) -> sa.Select[Feedback]:
    query = sa.select(Feedback).where(Feedback.id == item_id)
    if with_people:
        query = query.options(
            joinedload(Feedback.category),
            joinedload(Feedback.author),
            joinedload(Feedback.owner),
            # A merged item's page says who looks after the item it went to.
            joinedload(Feedback.merged_into).joinedload(Feedback.owner),
            joinedload(Feedback.resolution),
        )
    return query


# The reads every item page and every vote make, built once each (building the SELECT and its
# joined loads cost about as much as running it): keyed by with_people, for the comments by
# whether internal ones are shown.
_ITEM_READS: dict[bool, sa.Select[Feedback]] = {}
_COMMENT_READS: dict[bool, sa.Select[Comment]] = {}
_TIMELINE_READ: list[sa.Select[TimelineEvent]] = []


def held_for_change(query: sa.Select[*Ts]) -> sa.Select[*Ts]:
    """The items a query reads, held until the commit because staff are about to change them
    (see item_query). A row may already be in the session, read before the lock: it is read
    again."""
    return query.with_for_update(key_share=True, of=Feedback).execution_options(
        populate_existing=True
    )


def get_visible_item(
    item_id: int, user: User | None, *, with_people: bool = True, for_change: bool = False
) -> Feedback:
    """Load an item (see item_query); NotFound unless this person may see it."""
    if for_change:
        item = db.session.scalar(item_query(item_id, with_people=with_people, for_change=True))
    else:
        query = _ITEM_READS.get(with_people)
        if query is None:
            query = _ITEM_READS[with_people] = _item_select(sa.bindparam("item_id"), with_people)
        item = db.session.scalar(query, {"item_id": item_id})
    if item is None or not can_view(item, user):
        # Private items answer exactly like missing ones, so their existence never leaks.
        raise NotFound(
            t("We could not find that feedback. It may be private or may have been removed.")
        )
    return item


def item_comments(item: Feedback, user: User | None) -> list[Comment]:
    """The comments this person may read on an item, oldest first, with their authors."""
    staff = user is not None and user.is_authenticated and user.is_staff
    query = _COMMENT_READS.get(staff)
    if query is None:
        query = (
            sa.select(Comment)
            .where(Comment.feedback_id == sa.bindparam("item_id"), Comment.hidden.is_(False))
            .options(joinedload(Comment.author))
            .order_by(Comment.created_at, Comment.id)
        )
        if not staff:
            query = query.where(Comment.internal.is_(False))
        _COMMENT_READS[staff] = query
    return list(db.session.scalars(query, {"item_id": item.id}))


def item_timeline(item: Feedback) -> list[TimelineEvent]:
    """The item's public history, oldest first, with who acted."""
    if not _TIMELINE_READ:
        _TIMELINE_READ.append(
            sa.select(TimelineEvent)
            .where(TimelineEvent.feedback_id == sa.bindparam("item_id"))
            .options(joinedload(TimelineEvent.actor), joinedload(TimelineEvent.new_owner))
            .order_by(TimelineEvent.created_at, TimelineEvent.id)
        )
    return list(db.session.scalars(_TIMELINE_READ[0], {"item_id": item.id}))


def add_comment(
    author: User,
    item_id: int,
    body: str,
    *,
    images: Sequence[str] = (),
    post_anyway: bool = False,
) -> Comment:
    """A signed-in person comments on an item they can see, with the images they uploaded
    for it. On a public item the comment is public, and read for personal details first (as
    a public item's words are)."""
    item = get_visible_item(item_id, author)
    if not author.is_active:
        raise NotAllowed(t("Your account cannot comment."))
    if author.is_staff:
        # A comment from staff is a public answer: it comes from the owner, through the admin
        # page, where the tone check reads it and the customer is told (workflow.reply).
        raise NotAllowed(
            t(
                "Staff answer from the item's admin page, where the tone check reads the reply "
                "and the customer is told."
            )
        )
    if not body.strip():
        raise DomainError(t("Please write something before posting your comment."))
    if item.visibility is Visibility.PUBLIC:
        check_public_words({"body": body}, post_anyway=post_anyway, may_make_private=False)
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
    attachments.attach_uploads(author, item, comment, images)
    events.emit(events.CommentAdded(item, comment, author))
    return comment


def has_voted(user: User | None, item_id: int) -> bool:
    """Whether this person has said "me too" to the item."""
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(_HAS_VOTED, {"user_id": user.id, "item_id": item_id}) is not None


# Built once: every signed-in item page asks.
_HAS_VOTED = sa.select(Vote.id).where(
    Vote.user_id == sa.bindparam("user_id"), Vote.feedback_id == sa.bindparam("item_id")
)


def items_by_author(author: User) -> list[Feedback]:
    """A customer's own items, newest first, private ones included; a merged one with the item
    it went to and that item's owner."""
    return list(
        db.session.scalars(
            sa.select(Feedback)
            .where(Feedback.author_id == author.id)
            .options(
                joinedload(Feedback.category),
                # A merged item says where it went, its live state and who looks after it.
                joinedload(Feedback.merged_into).joinedload(Feedback.owner),
            )
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        )
    )
