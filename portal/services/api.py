"""What the JSON API does on a customer's behalf: find or create them by email, add their vote.

Everything else the API does goes through the same services as the site (submit_feedback,
workflow.move), so the rules are the same whichever door a request comes in by.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Feedback, Role, User
from portal.services.accounts import (
    UNUSABLE_PASSWORD_PREFIX,
    find_user_by_email,
    normalise_email,
)
from portal.services.errors import DomainError
from portal.services.feedback import has_voted
from portal.services.votes import (
    CLOSED_FOR_VOTES,
    CLOSED_MESSAGE,
    ClosedForVotes,
    VoteResult,
    toggle_vote,
)
from portal.validation import DIRECTION_CONTROLS


class AccountUnavailable(DomainError):
    """The customer's account exists but cannot act (deactivated)."""

    status_code = 422


class NameNeeded(DomainError):
    """A new customer account needs a name to show on their feedback."""

    status_code = 422


def unusable_password() -> str:
    """A password hash that no password matches."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16)


def customer_for_email(email: str, name: str = "") -> tuple[User, bool]:
    """The account with this email, or a new unverified customer account with that name.
    Returns the user and whether it was created."""
    email = normalise_email(email)
    user = find_user_by_email(email)
    if user is not None:
        if not user.is_active:
            raise AccountUnavailable("That customer's account is deactivated.")
        return user, False
    # Typed by a caller or taken from an email's From: characters that would reverse the text
    # around the name are dropped (the account forms refuse them).
    name = " ".join(DIRECTION_CONTROLS.sub("", name).split())
    if not name:
        raise NameNeeded("No account has that email address yet: send a name to create one.")
    user = User(
        email=email,
        password_hash=unusable_password(),
        display_name=name,
        preferred_name=name,
        role=Role.CUSTOMER,
    )
    try:
        # A savepoint: a request for the same new customer racing this one wins the unique
        # index, and this one uses the account it created.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        existing = find_user_by_email(email)
        if existing is None:
            raise
        return existing, False
    return user, True


def require_open_for_votes(item: Feedback) -> None:
    """Refuse votes on declined and merged items (checked before any account is made)."""
    if item.state in CLOSED_FOR_VOTES:
        raise ClosedForVotes(CLOSED_MESSAGE)


def add_vote(user: User, item: Feedback) -> VoteResult:
    """Make sure this person has a vote on the item (never takes one back)."""
    require_open_for_votes(item)
    if has_voted(user, item.id):
        db.session.refresh(item, ["vote_count"])
        return VoteResult(voted=True, vote_count=item.vote_count)
    result = toggle_vote(user, item)
    if not result.voted:
        # The same person's other request voted between the check and the toggle, and the
        # toggle took that vote back: put it back.
        result = toggle_vote(user, item)
    return result
