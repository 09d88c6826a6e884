"""What the JSON API does, as commands that also record which token did it.

A request comes in with an API token and acts for someone: a customer named by email (their
account is found or created), or a member of staff. Each command here calls the same command
the site calls (submit_feedback, set_vote, workflow.move, workflow.reply), so the rules,
the tone check among them, are the same whichever door a request comes in by; it then emits the
API's own event, which names the token that acted (its audit entry says the token's id and
prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    ApiToken,
    Comment,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Role,
    SignalKind,
    User,
    Visibility,
)
from portal.services import attachments, events, signals, workflow
from portal.services.accounts import (
    find_user_by_email,
    normalise_email,
    unusable_password,
)
from portal.services.errors import DomainError
from portal.services.feedback import submit_feedback
from portal.services.votes import (
    CLOSED_FOR_VOTES,
    ClosedForVotes,
    VoteResult,
    closed_for_votes_message,
    set_vote,
)
from portal.services.wording import t
from portal.validation import clean_name


class AccountUnavailable(DomainError):
    """The customer's account exists but cannot act (deactivated)."""

    status_code = 422


class NameNeeded(DomainError):
    """A new customer account needs a name to show on their feedback."""

    status_code = 422


def customer_for_email(email: str, name: str = "") -> tuple[User, bool]:
    """The account with this email, or a new unverified customer account with that name.
    Returns the user and whether it was created."""
    email = normalise_email(email)
    user = find_user_by_email(email)
    if user is not None:
        if not user.is_active:
            raise AccountUnavailable(t("That customer's account is deactivated."))
        return user, False
    # Taken from an email's From, or from an API caller (whose schema refuses such a name
    # first): line breaks, controls and characters that would reverse the text around the
    # name are cleaned out, as the name rule says (the account forms refuse them).
    name = clean_name(name)
    if not name:
        raise NameNeeded(t("No account has that email address yet: send a name to create one."))
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
    """Refuse votes on done, declined and merged items (checked before any account is
    made)."""
    if item.state in CLOSED_FOR_VOTES:
        raise ClosedForVotes(closed_for_votes_message(item.state, item.resolved_at))


def add_vote(user: User, item: Feedback) -> VoteResult:
    """Make sure this person has a vote on the item (never takes one back)."""
    require_open_for_votes(item)
    return set_vote(user, item.id, want=True)


# Commands, each recording the token that acted -----------------------------------------------


@dataclass(frozen=True)
class Submission:
    """An item submitted through the API, and whether its customer's account was made for it."""

    item: Feedback
    customer_created: bool


def _customer(token: ApiToken, email: str, name: str) -> tuple[User, bool]:
    customer, created = customer_for_email(email, name)
    if created:
        events.emit(events.CustomerCreatedViaApi(customer, token))
    return customer, created


def submit_for_customer(
    token: ApiToken,
    *,
    email: str,
    name: str,
    kind: FeedbackKind,
    category_id: int,
    title: str,
    body: str,
    visibility: Visibility,
    channel: FeedbackChannel = FeedbackChannel.API,
    language: str | None = None,
    written_in: str | None = None,
    images: Sequence[tuple[bytes, str]] = (),
    post_anyway: bool = False,
) -> Submission:
    """Submit feedback on behalf of the customer with this email, creating their account if
    need be (with `name`), as the submit page would for them; `language` is the one it is
    written in, `images` the files sent with it, (bytes, alt text) each, kept as the
    customer's (attachments.upload_images: a refused one refuses the whole submission). A
    public item's words go past the guard for personal details as the page's do
    (`post_anyway` as its "Post it publicly as it is"). `channel`: how the customer told the
    integration that calls (the API itself by default; staff who took it down call
    recording.record_for_customer instead)."""
    customer, created = _customer(token, email, name)
    uploaded = attachments.upload_images(customer, images)
    item = submit_feedback(
        customer,
        kind=kind,
        category_id=category_id,
        title=title,
        body=body,
        visibility=visibility,
        channel=channel,
        language=language,
        written_in=written_in,
        images=uploaded,
        post_anyway=post_anyway,
    )
    events.emit(events.ItemSubmittedViaApi(item, token))
    db.session.flush()
    return Submission(item=item, customer_created=created)


def vote_for_customer(token: ApiToken, item: Feedback, *, email: str, name: str) -> VoteResult:
    """The customer with this email says "me too" (their account is made if need be). Votes on
    closed items are refused before any account is made."""
    require_open_for_votes(item)
    customer, _ = _customer(token, email, name)
    return add_vote(customer, item)


def signal_for_customer(
    token: ApiToken, item: Feedback, kind: SignalKind, *, email: str, name: str
) -> signals.SignalResult:
    """The customer with this email says "This still happens to me" of a Done item or "I
    still want this" of a Not planned one (their account is made if need be), as the item's
    page would let them. Refused for an item in another state before any account is made."""
    signals.require_open_for(item, kind)
    customer, _ = _customer(token, email, name)
    return signals.set_signal(customer, item.id, kind, want=True)


def move_as_staff(
    token: ApiToken,
    item_id: int,
    actor: User,
    to_state: FeedbackState,
    *,
    message: str = "",
    target_date: date | None = None,
    outcome: str = "",
    duplicate_of: int | None = None,
    promise: workflow.PromiseChoice | None = None,
    promise_reason: str = "",
    you_said: str = "",
    we_did: str = "",
    post_anyway: bool = False,
) -> Feedback:
    """Move an item as this member of staff (workflow.move: the owner rule, the tone check),
    recording the token that asked."""
    item = workflow.move(
        item_id,
        actor,
        to_state,
        message=message,
        target_date=target_date,
        outcome=outcome,
        duplicate_of=duplicate_of,
        promise=promise,
        promise_reason=promise_reason,
        you_said=you_said,
        we_did=we_did,
        post_anyway=post_anyway,
    )
    events.emit(events.ItemMovedViaApi(item, actor, to_state, token))
    db.session.flush()
    return item


def reply_as_staff(
    token: ApiToken, item_id: int, actor: User, body: str, *, post_anyway: bool = False
) -> Comment | None:
    """Post a public reply as this member of staff (workflow.reply: the owner rule, the tone
    check; on a Received item the reply is the acknowledgement and None is returned),
    recording the token that asked."""
    reply = workflow.reply(item_id, actor, body, post_anyway=post_anyway)
    events.emit(events.ReplyPostedViaApi(item_id, actor, reply, token))
    db.session.flush()
    return reply
