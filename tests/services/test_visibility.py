"""Who may see an item is one rule with two forms (services/visibility.py): a predicate for one
loaded item, and a WHERE clause for lists. They must agree for every kind of item and every
kind of viewer, or a list would show an item whose page answers 404, or hide one it shows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from portal.extensions import db
from portal.models import Category, Feedback, FeedbackKind, Role, User, Visibility
from portal.services.visibility import (
    can_view,
    is_public,
    public_items_clause,
    visible_items_clause,
    visible_to_customer_clause,
    words_public_clause,
    words_withheld,
)

# Every combination of what decides visibility, for items of an active author and of an
# author whose account was deleted.
KINDS_OF_ITEM = list(
    itertools.product(
        [Visibility.PUBLIC, Visibility.PRIVATE],  # visibility
        [False, True],  # hidden by staff
        [False, True],  # awaiting review
        [False, True],  # redacted
    )
)
VIEWERS = [
    "visitor",
    "anonymous",
    "author",
    "deleted author",
    "another customer",
    "deactivated customer",
    "staff",
    "admin",
]


@pytest.fixture
def world(
    make_user: Callable[..., User], make_category: Callable[..., Category]
) -> dict[str, User | None]:
    """Items of every kind by two authors, and the people who look at them."""
    author = make_user()
    deleted_author = make_user()
    deactivated = make_user()
    category = make_category()
    for owner, (visibility, hidden, awaiting_review, redacted) in itertools.product(
        [author, deleted_author], KINDS_OF_ITEM
    ):
        db.session.add(
            Feedback(
                kind=FeedbackKind.IDEA,
                title=f"{visibility} hidden={hidden} review={awaiting_review}",
                body_source="Words.",
                body_html="<p>Words.</p>",
                category_id=category.id,
                author_id=owner.id,
                visibility=visibility,
                hidden=hidden,
                awaiting_review=awaiting_review,
                redacted_at=datetime.now(UTC) if redacted else None,
            )
        )
    deleted_author.deleted_at = datetime.now(UTC)
    deactivated.active = False
    db.session.commit()
    return {
        "visitor": None,
        "anonymous": AnonymousUserMixin(),  # type: ignore[dict-item]
        "author": author,
        "deleted author": deleted_author,
        "another customer": make_user(),
        "deactivated customer": deactivated,
        "staff": make_user(role=Role.STAFF),
        "admin": make_user(role=Role.ADMIN),
    }


def _items() -> list[Feedback]:
    return list(db.session.scalars(sa.select(Feedback)))


def _ids_where(clause: sa.ColumnElement[bool], **params: object) -> set[int]:
    return set(db.session.scalars(sa.select(Feedback.id).where(clause), params))


def test_the_world_holds_every_kind_of_item(world: dict[str, User | None]) -> None:
    assert len(_items()) == 2 * 16
    # Each viewer sees some items and not others, so agreement below says something.
    for name in ("visitor", "author", "another customer"):
        seen = {item.id for item in _items() if can_view(item, world[name])}
        assert 0 < len(seen) < len(_items()), name


def test_an_account_that_cannot_sign_in_sees_what_a_visitor_sees(
    world: dict[str, User | None],
) -> None:
    public = {item.id for item in _items() if is_public(item)}
    for name in ("deleted author", "deactivated customer"):
        assert {item.id for item in _items() if can_view(item, world[name])} == public, name


@pytest.mark.parametrize("narrower_index_first", [False, True])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_lists_show_exactly_the_items_whose_pages_open(
    world: dict[str, User | None], viewer: str, narrower_index_first: bool
) -> None:
    user = world[viewer]
    expected = {item.id for item in _items() if can_view(item, user)}
    assert _ids_where(visible_items_clause(user, narrower_index_first)) == expected


# A deleted or deactivated account counts as a visitor (Flask-Login's is_authenticated is
# is_active): the vote's prepared clause is built for an active customer's id.
@pytest.mark.parametrize("viewer", ["author", "another customer"])
def test_the_votes_prepared_clause_agrees_for_every_active_customer(
    world: dict[str, User | None], viewer: str
) -> None:
    user = world[viewer]
    assert user is not None
    expected = {item.id for item in _items() if can_view(item, user)}
    clause = visible_to_customer_clause(sa.bindparam("voter_id"))
    assert _ids_where(clause, voter_id=user.id) == expected


@pytest.mark.parametrize("narrower_index_first", [False, True])
def test_the_board_holds_exactly_the_public_items(
    world: dict[str, User | None], narrower_index_first: bool
) -> None:
    expected = {item.id for item in _items() if is_public(item)}
    assert len(expected) == 2 * 2  # public, shown, approved: redacted or not, by either author
    assert _ids_where(public_items_clause(narrower_index_first)) == expected


def test_a_public_search_reads_the_words_of_exactly_the_items_whose_words_are_shown(
    world: dict[str, User | None],
) -> None:
    expected = {item.id for item in _items() if is_public(item) and not words_withheld(item)}
    assert len(expected) == 2
    assert _ids_where(sa.and_(public_items_clause(), words_public_clause())) == expected
