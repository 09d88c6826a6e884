"""Authors fix their own words: an item's title and text, or a comment, until staff answer.

An item is answered by the first public staff message (an official reply, or the
acknowledgement's message) or any change of state; a comment by the first of those that comes
after it. From then on its words stay as staff read them. Every replaced version is kept
(TextVersion) and shown to staff only. The search index follows the new words by itself
(SQLite's triggers, PostgreSQL's generated column), and a commit that changes an item or a
comment empties the page cache (portal/cache.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Comment,
    Feedback,
    FeedbackState,
    TextVersion,
    TimelineEvent,
    TimelineKind,
    User,
    Visibility,
)
from portal.models.base import utcnow
from portal.services import events
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.feedback import get_visible_item
from portal.services.languages import language_of_item
from portal.services.personal_details import check_public_words
from portal.services.sanitize import render_markdown
from portal.services.site import get_site_settings
from portal.services.visibility import words_withheld
from portal.services.wording import t


class EditsClosed(DomainError):
    """The words can no longer be changed: staff have answered, or withheld them."""

    status_code = 409


@dataclass(frozen=True)
class WordsOnPage:
    """What an item's page offers about edited words: the viewer's Edit links, and for staff
    the earlier versions of the item and of its comments (oldest first)."""

    can_edit_item: bool = False
    editable_comments: frozenset[int] = frozenset()
    item_versions: Sequence[TextVersion] = ()
    comment_versions: Mapping[int, Sequence[TextVersion]] = field(default_factory=dict)


def _answers_since(item_id: int, since: datetime | None) -> sa.Select[tuple[bool]]:
    """Whether staff answered on the item (since a moment, or ever): a public official reply,
    or a change of state (the acknowledgement's message is one)."""
    reply = sa.select(Comment.id).where(
        Comment.feedback_id == item_id,
        Comment.official.is_(True),
        Comment.internal.is_(False),
    )
    move = sa.select(TimelineEvent.id).where(
        TimelineEvent.feedback_id == item_id,
        TimelineEvent.kind == TimelineKind.STATE_CHANGED,
    )
    if since is not None:
        # A tie counts as answered: the words stay as staff may already have read them.
        reply = reply.where(Comment.created_at >= since)
        move = move.where(TimelineEvent.created_at >= since)
    return sa.select(sa.or_(reply.exists(), move.exists()))


def _last_answer_at(item_id: int) -> datetime | None:
    reply = sa.select(sa.func.max(Comment.created_at)).where(
        Comment.feedback_id == item_id,
        Comment.official.is_(True),
        Comment.internal.is_(False),
    )
    move = sa.select(sa.func.max(TimelineEvent.created_at)).where(
        TimelineEvent.feedback_id == item_id,
        TimelineEvent.kind == TimelineKind.STATE_CHANGED,
    )
    latest = db.session.execute(sa.select(reply.scalar_subquery(), move.scalar_subquery())).one()
    moments = [moment for moment in latest if moment is not None]
    return max(moments) if moments else None


def item_answered(item: Feedback) -> bool:
    """Whether staff have answered the item, which closes its title and text to edits."""
    if item.state is not FeedbackState.RECEIVED:
        return True
    return bool(db.session.scalar(_answers_since(item.id, None)))


def _is_author(person: User | None, author_id: int) -> bool:
    return (
        person is not None
        and person.is_authenticated
        and person.is_active
        and not person.is_staff
        and person.id == author_id
    )


def words_on_page(item: Feedback, comments: Sequence[Comment], viewer: User | None) -> WordsOnPage:
    """What the item's page offers this viewer (at most one statement: the time of the last
    answer for an author, the versions for staff)."""
    if viewer is None or not viewer.is_authenticated:
        return WordsOnPage()
    if viewer.is_staff:
        edited_comments = [c.id for c in comments if c.edited_at is not None]
        if item.edited_at is None and not edited_comments:
            return WordsOnPage()
        versions = db.session.scalars(
            sa.select(TextVersion)
            .where(
                TextVersion.feedback_id == item.id,
                sa.or_(
                    TextVersion.comment_id.is_(None), TextVersion.comment_id.in_(edited_comments)
                ),
            )
            .order_by(TextVersion.replaced_at, TextVersion.id)
        )
        by_comment: dict[int, list[TextVersion]] = {}
        of_item: list[TextVersion] = []
        for version in versions:
            if version.comment_id is None:
                of_item.append(version)
            else:
                by_comment.setdefault(version.comment_id, []).append(version)
        return WordsOnPage(item_versions=of_item, comment_versions=by_comment)
    own_item = _is_author(viewer, item.author_id) and not words_withheld(item)
    own_comments = [
        c for c in comments if _is_author(viewer, c.author_id) and _comment_editable_kind(c)
    ]
    if not own_item and not own_comments:
        return WordsOnPage()
    if own_item and item.state is not FeedbackState.RECEIVED:
        own_item = False
    last_answer = _last_answer_at(item.id)
    return WordsOnPage(
        can_edit_item=own_item and last_answer is None,
        editable_comments=frozenset(
            c.id for c in own_comments if last_answer is None or c.created_at > last_answer
        ),
    )


def _comment_editable_kind(comment: Comment) -> bool:
    # A customer's own public comment; staff replies and notes are staff's record.
    return not (comment.official or comment.internal or comment.hidden)


def _require_author(author: User, author_id: int) -> None:
    if not author.is_active:
        raise NotAllowed(t("Your account cannot change anything here."))
    if author.is_staff or author.id != author_id:
        raise NotAllowed(t("Only the person who wrote these words can change them."))


def require_own_item(person: User, item: Feedback) -> None:
    """Refuse (NotAllowed) anyone but the item's author, before anything they sent is read."""
    _require_author(person, item.author_id)


def require_item_editable(person: User, item: Feedback) -> None:
    """Refuse unless this person may change the item's words now: NotAllowed when they are not
    its author, EditsClosed once staff have answered it or withheld its words."""
    _require_author(person, item.author_id)
    if words_withheld(item):
        raise EditsClosed(
            t("Our staff took these words out of view, so they can no longer be changed.")
        )
    if item_answered(item):
        raise EditsClosed(
            t(
                "Our team has answered this, so its words stay as they read them. "
                "Add a comment to say more."
            )
        )


def require_comment_editable(comment: Comment) -> None:
    """Refuse (EditsClosed) once staff have answered after the comment (see get_own_comment
    for whose it is)."""
    if not _comment_editable_kind(comment):
        raise EditsClosed(t("This comment can no longer be changed."))
    if db.session.scalar(_answers_since(comment.feedback_id, comment.created_at)):
        raise EditsClosed(
            t(
                "Our team has answered since you wrote this, so it stays as they read it. "
                "Add a comment to say more."
            )
        )


def edit_item(
    author: User, item_id: int, *, title: str, body: str, post_anyway: bool = False
) -> Feedback:
    """The author changes their item's title and text, until staff have answered it. The
    words before are kept for staff; ItemEdited follows. A public item's new words pass the
    guard for personal details as its first words did, and its language is detected again."""
    # Held until the commit: a member of staff answering at the same moment takes turns with
    # the edit, and whichever comes second sees the other.
    item = get_visible_item(item_id, author, with_people=False, for_change=True)
    require_item_editable(author, item)
    title = " ".join(title.split())
    if not title:
        raise DomainError(t("Please give your feedback a title."))
    if not body.strip():
        raise DomainError(t("Please tell us a little more in the description."))
    if title == item.title and body == item.body_source:
        return item  # nothing changed: no version, no "edited"
    if item.visibility is Visibility.PUBLIC:
        check_public_words(
            {"title": title, "body": body}, post_anyway=post_anyway, may_make_private=False
        )
    now = utcnow()
    db.session.add(
        TextVersion(
            feedback_id=item.id,
            title=item.title,
            body_source=item.body_source,
            body_html=item.body_html,
            written_at=item.edited_at or item.created_at,
            replaced_at=now,
        )
    )
    previous_title = item.title
    item.title = title
    item.body_source = body
    item.body_html = render_markdown(body)
    # New words may be in another language; too few to tell keep the one it had.
    item.language = language_of_item(title, body, fallback=item.language)
    item.edited_at = now
    if item.visibility is Visibility.PUBLIC and get_site_settings().pre_moderation:
        # Staff approved the words they read: new words wait for review as new items do.
        item.awaiting_review = True
    db.session.flush()
    events.emit(events.ItemEdited(item=item, author=author, previous_title=previous_title))
    return item


def get_own_comment(author: User, item_id: int, comment_id: int) -> tuple[Feedback, Comment]:
    """A comment on an item this person may see, and is theirs to change (NotFound when they
    may not read it, NotAllowed when it is someone else's)."""
    item = get_visible_item(item_id, author, with_people=False)
    return item, _own_comment(author, item, comment_id)


def _own_comment(author: User, item: Feedback, comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    staff = author.is_authenticated and author.is_staff
    if (
        comment is None
        or comment.feedback_id != item.id
        or ((comment.internal or comment.hidden) and not staff)
    ):
        raise NotFound(t("We could not find that comment. It may have been removed."))
    _require_author(author, comment.author_id)
    return comment


def edit_comment(
    author: User, item_id: int, comment_id: int, body: str, *, post_anyway: bool = False
) -> Comment:
    """The author changes their comment, until staff answer after it (a public reply, or a
    change of state). The words before are kept for staff; CommentEdited follows. On a public
    item the new words pass the guard for personal details as a new comment's do."""
    # The item is held as in edit_item: a reply at the same moment takes turns with the edit.
    item = get_visible_item(item_id, author, with_people=False, for_change=True)
    comment = _own_comment(author, item, comment_id)
    require_comment_editable(comment)
    if not body.strip():
        raise DomainError(t("Please write something before posting your comment."))
    if body == comment.body_source:
        return comment
    if item.visibility is Visibility.PUBLIC:
        check_public_words({"body": body}, post_anyway=post_anyway, may_make_private=False)
    now = utcnow()
    db.session.add(
        TextVersion(
            feedback_id=item.id,
            comment_id=comment.id,
            body_source=comment.body_source,
            body_html=comment.body_html,
            written_at=comment.edited_at or comment.created_at,
            replaced_at=now,
        )
    )
    comment.body_source = body
    comment.body_html = render_markdown(body)
    comment.edited_at = now
    db.session.flush()
    events.emit(events.CommentEdited(item=item, comment=comment, author=author))
    return comment
