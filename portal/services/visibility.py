"""Who may see which item: the rule, written once in its two forms.

The Python form answers for one loaded item (a page, an email about to be queued); the SQL
form narrows a query to the items a person may see (the board, search, a vote taken under its
lock). tests/services/test_visibility.py proves the two agree for every kind of item and
viewer, so a change to one that is not made to the other fails there.

The rule: an item is public when it is public, not hidden by staff and not awaiting review.
Anyone sees public items; staff see everything; a customer also sees their own items, private
or awaiting review, but not the ones staff hid. An account that cannot sign in (deactivated or
deleted) sees what a visitor sees: Flask-Login's is_authenticated is its is_active.

Separately, staff may withhold an item's words (redact it, or hide it): such an item's title
and body reach nobody but staff and its author.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.database import not_indexed
from portal.models import Feedback, User, Visibility


def is_public(item: Feedback) -> bool:
    """Shown on the board, in search and in feeds."""
    return item.visibility is Visibility.PUBLIC and not item.hidden and not item.awaiting_review


def can_view(item: Feedback, user: User | None) -> bool:
    """Whether this person may see the item at all (anyone else gets a 404)."""
    if is_public(item):
        return True
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    # Authors always see their own items, including private and awaiting-review ones, but not
    # what staff hid.
    return user.id == item.author_id and not item.hidden


def words_withheld(item: Feedback) -> bool:
    """Whether staff took the item's words out of public view: redacted them, or hid it."""
    return item.redacted_at is not None or item.hidden


def public_items_clause(narrower_index_first: bool = False) -> sa.ColumnElement[bool]:
    """SQL form of is_public. With narrower_index_first, the clause leaves a narrower index
    (full-text, category) to drive the query (see database.not_indexed)."""
    visibility = not_indexed(Feedback.visibility) if narrower_index_first else Feedback.visibility
    return sa.and_(
        visibility == Visibility.PUBLIC,
        Feedback.hidden.is_(False),
        Feedback.awaiting_review.is_(False),
    )


def visible_items_clause(
    user: User | None, narrower_index_first: bool = False
) -> sa.ColumnElement[bool]:
    """SQL form of can_view: a WHERE clause for the items this person may see in lists."""
    if user is None or not user.is_authenticated:
        return public_items_clause(narrower_index_first)
    if user.is_staff:
        return sa.true()
    return visible_to_customer_clause(user.id, narrower_index_first)


def visible_to_customer_clause(
    customer_id: int | sa.BindParameter[int], narrower_index_first: bool = False
) -> sa.ColumnElement[bool]:
    """What a customer sees: public items, and their own unless staff hid them. The id may be
    a bind parameter, for a statement built once (the vote's)."""
    own = sa.and_(Feedback.author_id == customer_id, Feedback.hidden.is_(False))
    return sa.or_(public_items_clause(narrower_index_first), own)


def words_public_clause() -> sa.ColumnElement[bool]:
    """Among public items (public_items_clause), those whose words the public may read: the
    SQL form of `not words_withheld` there. A public search leaves the others out: a match on
    a redacted item's words would tell what they were, and its snippet would show them."""
    return Feedback.redacted_at.is_(None)
