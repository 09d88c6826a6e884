"""The resolution workflow: the only code that changes an item's state, owner or promise.

Each function checks who is acting and what the move needs, changes the item, writes a
timeline event (the customer's tracking history) and an audit entry, and flushes. The caller
commits. A refused move raises a WorkflowError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Comment,
    Feedback,
    FeedbackState,
    Resolution,
    TimelineEvent,
    TimelineKind,
    User,
    Visibility,
    Vote,
    resolution_categories,
)
from portal.services import audit, notifications, webhooks
from portal.services.errors import DomainError, NotAllowed
from portal.services.sanitize import render_markdown

S = FeedbackState


class WorkflowError(DomainError):
    """A move the workflow refuses, with the reason in words staff can act on."""


class InvalidTransition(WorkflowError):
    """The item cannot go from its state to the one asked for."""


class MissingInput(WorkflowError):
    """The move needs something that was not given: a message, a date, a reason..."""


def _now() -> datetime:
    return datetime.now(UTC)


def _require_staff(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_staff and actor.is_active):
        raise NotAllowed("Only staff can do that.")


def _require_text(value: str | None, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MissingInput(message)
    return text


def _event(
    item: Feedback,
    actor: User | None,
    kind: TimelineKind,
    message: str = "",
    *,
    from_state: FeedbackState | None = None,
    to_state: FeedbackState | None = None,
    target_date: date | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        feedback_id=item.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        message=message,
        message_html=render_markdown(message) if message else "",
        target_date=target_date,
        created_at=_now(),
    )
    db.session.add(event)
    return event


def _set_owner(item: Feedback, actor: User, owner: User, reason: str = "") -> None:
    # Read again under a share lock: an admin demoting or deactivating this person holds
    # their row while counting what they own (accounts.refuse_while_owning_open_items).
    db.session.scalars(
        sa.select(User)
        .where(User.id == owner.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one()  # the row is read into `owner` as it is fetched
    if not (owner.is_staff and owner.is_active):
        if owner.id == actor.id:  # taking it on themselves, just as their role was taken away
            raise NotAllowed("Only active staff can act on items.")
        raise WorkflowError("Items can only be assigned to active staff.")
    previous = item.owner_id
    item.owner_id = owner.id
    item.owner = owner
    note = f"{owner.display_name} is looking after this now."
    if reason:
        note = f"{note} {reason}"
    _event(item, actor, TimelineKind.OWNER_CHANGED, note)
    audit.record(
        actor,
        "item.owner_changed",
        "feedback",
        item.id,
        from_owner=previous,
        to_owner=owner.id,
        reason=reason,
    )


def _act_as_owner(item: Feedback, actor: User) -> None:
    """Public replies and moves come from the item's owner (or an admin). This only checks;
    _claim() makes the actor the owner once the move is known to be valid."""
    _require_staff(actor)
    if (
        item.owner_id is not None
        and item.owner_id != actor.id
        and not actor.is_admin
        and not _owner_left(item)
    ):
        owner = db.session.get(User, item.owner_id)
        owner_name = owner.display_name if owner else "another member of staff"
        raise NotAllowed(
            f"{owner_name} looks after this item. Ask them, or an admin, to reassign it to you."
        )


def _owner_left(item: Feedback) -> bool:
    """Whether the item's owner is no longer active staff. Nobody who owns an open item can
    be demoted or deactivated, but a closed one keeps its owner, and may be reopened."""
    if item.owner_id is None:
        return False
    owner = db.session.get(User, item.owner_id)
    return owner is None or not (owner.is_staff and owner.is_active)


def _claim(item: Feedback, actor: User) -> None:
    """Acting on an unowned item makes you its owner, so the customer always has one person;
    so does acting on one whose owner has left the staff since it was closed."""
    if item.owner_id is None or (item.owner_id != actor.id and _owner_left(item)):
        _set_owner(item, actor, actor)


def _check_transition(item: Feedback, to_state: FeedbackState) -> None:
    if to_state not in item.next_states:
        raise InvalidTransition(
            f"An item that is \u201c{item.state.label}\u201d cannot move to "
            f"\u201c{to_state.label}\u201d."
        )


def _change_state(
    item: Feedback, actor: User, to_state: FeedbackState, message: str, *, notify: bool = True
) -> None:
    from_state = item.state
    _check_transition(item, to_state)
    if from_state is S.RECEIVED:
        message = _require_text(
            message,
            "Leaving \u201cReceived\u201d is the acknowledgement: write the customer a personal "
            "message.",
        )
    message = _require_text(message, "Every change of state needs a public message.")
    _claim(item, actor)
    item.state = to_state
    if from_state is S.RECEIVED and item.acknowledged_at is None:
        item.acknowledged_at = _now()
    _event(
        item, actor, TimelineKind.STATE_CHANGED, message, from_state=from_state, to_state=to_state
    )
    audit.record(
        actor,
        "item.state_changed",
        "feedback",
        item.id,
        from_state=from_state,
        to_state=to_state,
        message=message,
    )
    webhooks.item_state_changed(item, from_state, to_state, message)
    if notify:
        db.session.flush()
        notifications.notify_item_update(item, actor, "state", message)


# Ownership ---------------------------------------------------------------------------------


def may_take(item: Feedback, actor: User) -> bool:
    """Whether this member of staff may take the item: one nobody owns, or any as an admin."""
    return item.owner_id is None or actor.is_admin


def may_hand_on(item: Feedback, actor: User) -> bool:
    """Whether this member of staff may give the item to someone: its owner, an admin, or
    anyone while nobody owns it. One owner per item; nobody else passes it around."""
    return item.owner_id is None or item.owner_id == actor.id or actor.is_admin


def take(item: Feedback, actor: User) -> Feedback:
    """A member of staff takes an unowned item (or an admin takes any item)."""
    _require_staff(actor)
    if item.owner_id == actor.id:
        return item
    if not may_take(item, actor):
        raise NotAllowed("Someone already looks after this item; it needs reassigning instead.")
    _set_owner(item, actor, actor, "" if item.owner_id is None else "Reassigned by an admin.")
    db.session.flush()
    return item


def assign(item: Feedback, actor: User, new_owner: User, reason: str = "") -> Feedback:
    """Give an item to a member of staff. Taking it from someone else needs a reason."""
    _require_staff(actor)
    if not new_owner.is_staff or not new_owner.is_active:
        raise WorkflowError("Items can only be assigned to active staff.")
    if item.owner_id == new_owner.id:
        return item
    if item.owner_id is not None:
        if not may_hand_on(item, actor):
            raise NotAllowed("Only the current owner or an admin can reassign this item.")
        reason = _require_text(
            reason, "Reassigning an item needs a reason: the customer sees who looks after it."
        )
    _set_owner(item, actor, new_owner, reason)
    db.session.flush()
    return item


# State changes -----------------------------------------------------------------------------


def acknowledge(item: Feedback, actor: User, message: str) -> Feedback:
    """Tell the customer, personally, that a person has read their feedback."""
    _act_as_owner(item, actor)
    _change_state(item, actor, S.ACKNOWLEDGED, message)
    db.session.flush()
    return item


def investigate(item: Feedback, actor: User, message: str) -> Feedback:
    """We are looking into it. On a resolved item this is a reopening."""
    if item.state is S.RESOLVED:
        return reopen(item, actor, message)
    _act_as_owner(item, actor)
    _change_state(item, actor, S.INVESTIGATING, message)
    db.session.flush()
    return item


def plan(item: Feedback, actor: User, target_date: date | None, message: str) -> Feedback:
    """Plan the work and promise a date (planning without a date is not a plan)."""
    _act_as_owner(item, actor)
    if target_date is None:
        raise MissingInput("Planning needs a target date: the date we promise the customer.")
    if target_date < _now().date():
        raise WorkflowError("The promised date cannot be in the past.")
    _check_transition(item, S.PLANNED)
    # The date is set first so the customer's email already carries the promise.
    item.target_date = target_date
    _change_state(item, actor, S.PLANNED, message)
    _event(item, actor, TimelineKind.PROMISE_SET, target_date=target_date)
    audit.record(actor, "item.promise_set", "feedback", item.id, target_date=target_date)
    db.session.flush()
    return item


def start_work(item: Feedback, actor: User, message: str) -> Feedback:
    """The fix is in progress."""
    _act_as_owner(item, actor)
    _change_state(item, actor, S.IN_PROGRESS, message)
    db.session.flush()
    return item


def decline(item: Feedback, actor: User, reason: str) -> Feedback:
    """Say honestly, and with respect, that we will not do this, and why."""
    _act_as_owner(item, actor)
    reason = _require_text(reason, "Declining needs a reason, said with respect.")
    _change_state(item, actor, S.DECLINED, reason)
    db.session.flush()
    return item


def move_promise(item: Feedback, actor: User, new_date: date | None, reason: str) -> Feedback:
    """Move a promised date. The customer is told, with the reason."""
    _act_as_owner(item, actor)
    if new_date is None:
        raise MissingInput("Please give the new date.")
    if not item.state.is_open:
        raise InvalidTransition("Only an open item can have its promised date moved.")
    if new_date < _now().date():
        raise WorkflowError("The promised date cannot be in the past.")
    if item.target_date == new_date:
        raise WorkflowError("That is already the promised date.")
    if item.target_date is not None:
        reason = _require_text(
            reason, "Moving a promised date needs a reason: the customer is told why."
        )
    _claim(item, actor)
    previous = item.target_date
    item.target_date = new_date
    kind = TimelineKind.PROMISE_MOVED if previous else TimelineKind.PROMISE_SET
    _event(item, actor, kind, reason, target_date=new_date)
    audit.record(
        actor,
        "item.promise_moved" if previous else "item.promise_set",
        "feedback",
        item.id,
        from_date=previous,
        to_date=new_date,
        reason=reason,
    )
    db.session.flush()
    notifications.notify_item_update(
        item, actor, "promise", reason, new_date=new_date, previous_date=previous
    )
    return item


def reopen(item: Feedback, actor: User, reason: str) -> Feedback:
    """Reopen a resolved item (staff only): it was not fixed after all."""
    _act_as_owner(item, actor)
    reason = _require_text(reason, "Reopening needs a reason the customer can read.")
    _change_state(item, actor, S.INVESTIGATING, reason)
    item.resolved_at = None
    item.reopen_requested_at = None
    item.fix_confirmed_at = None
    db.session.flush()
    return item


def merge(item: Feedback, actor: User, target: Feedback | None, message: str = "") -> Feedback:
    """Merge a duplicate into the item that already says it: votes and voices move there."""
    _act_as_owner(item, actor)
    if target is None:
        raise MissingInput("Merging needs the item to merge into.")
    if target.id == item.id:
        raise WorkflowError("An item cannot be merged into itself.")
    if target.visibility is Visibility.PRIVATE and not (
        item.visibility is Visibility.PRIVATE and item.author_id == target.author_id
    ):
        # Everyone who spoke up on this item follows the target and is told its title: a
        # private item is for its author alone (the API allows public targets only, too).
        raise WorkflowError(
            f"#{target.id} is private: only the same customer's private reports can be merged "
            "into it. Merge into a public item, or answer this one on its own."
        )
    # The target's row before its follows and votes, the order a vote takes them in
    # (services/votes.py): taken the other way round, a vote on the target and this merge
    # deadlock on PostgreSQL, or the vote's new follow collides with one moved here. Its state
    # is read again under the lock: a merge of the target itself may have committed since it
    # was loaded, and merging into it now would leave a chain.
    target_now = db.session.execute(
        sa.select(Feedback.state, Feedback.merged_into_id)
        .where(Feedback.id == target.id)
        .with_for_update(key_share=True)
    ).one()
    if target_now.state is S.DUPLICATE:
        raise WorkflowError(
            f"#{target.id} was itself merged into #{target_now.merged_into_id}; "
            "merge into that one."
        )
    if not message.strip() and item.state is not S.RECEIVED:
        message = (
            f"This is being handled together with #{target.id}; the conversation continues there."
        )
    _change_state(item, actor, S.DUPLICATE, message, notify=False)
    item.merged_into_id = target.id
    db.session.flush()
    # Followers hear where the conversation went, then follow the target instead.
    notifications.notify_item_update(item, actor, "merged", message, target=target)
    notifications.move_follows(item, target)
    # Items merged into this one follow it to the new target, so no chain forms.
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.merged_into_id == item.id)
        .values(merged_into_id=target.id)
        .execution_options(synchronize_session=False)
    )
    _move_votes(item, target)
    _event(
        target,
        actor,
        TimelineKind.MERGED,
        f"Another report of the same thing was merged here (#{item.id})."
        if item.visibility.value == "public"
        else "Another customer's report of the same thing was merged here.",
    )
    audit.record(actor, "item.merged", "feedback", item.id, into=target.id)
    db.session.flush()
    db.session.refresh(target, ["vote_count"])
    return item


def _move_votes(duplicate: Feedback, target: Feedback) -> None:
    """Votes move to the target; nobody ends up with two, and the duplicate's author gets one.
    The caller holds both items' rows."""
    already = sa.select(Vote.user_id).where(Vote.feedback_id == target.id)
    db.session.execute(
        sa.delete(Vote)
        .where(Vote.feedback_id == duplicate.id, Vote.user_id.in_(already))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Vote)
        .where(Vote.feedback_id == duplicate.id)
        .values(feedback_id=target.id)
        .execution_options(synchronize_session=False)
    )
    author_has_vote = db.session.scalar(
        sa.select(Vote.id).where(Vote.feedback_id == target.id, Vote.user_id == duplicate.author_id)
    )
    if author_has_vote is None:
        db.session.add(Vote(user_id=duplicate.author_id, feedback_id=target.id))
        db.session.flush()
    for item_id in (duplicate.id, target.id):
        _recount_votes(item_id)


def _recount_votes(item_id: int) -> None:
    count = sa.select(sa.func.count()).where(Vote.feedback_id == item_id).scalar_subquery()
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == item_id)
        .values(vote_count=count)
        .execution_options(synchronize_session=False)
    )


# Resolutions -------------------------------------------------------------------------------


def not_yet_answered(items: Sequence[Feedback]) -> list[Feedback]:
    """The items nobody has answered yet. Leaving "Received" is the personal acknowledgement,
    and resolving several together sends everyone the same words, so these are answered
    first, each on its own."""
    return [item for item in items if item.state is S.RECEIVED]


def publish_resolution(
    items: Sequence[Feedback], actor: User, we_did: str, you_said: str = "", message: str = ""
) -> Resolution:
    """Resolve one item, or a theme of several, with one published "we did". The `message` is
    the owner's own words to the customer: it goes on the item's timeline and to its author,
    never on the public board."""
    if not items:
        raise MissingInput("Pick at least one item to resolve.")
    we_did = _require_text(we_did, "Resolving needs the \u201cwe did\u201d text: what was done.")
    for item in items:
        _act_as_owner(item, actor)
        if S.RESOLVED not in item.next_states:
            raise InvalidTransition(
                f"#{item.id} is \u201c{item.state.label}\u201d and cannot be resolved."
            )
    you_said = you_said.strip() or default_you_said(items)
    if not you_said:
        raise MissingInput(
            "These items are private: write a \u201cyou said\u201d summary that shares no "
            "private details."
        )
    resolution = Resolution(
        you_said=you_said[:200],
        we_did_source=we_did,
        we_did_html=render_markdown(we_did),
        category_id=items[0].category_id,
        published_by_id=actor.id,
        published_at=_now(),
    )
    db.session.add(resolution)
    db.session.flush()
    db.session.execute(
        sa.insert(resolution_categories),
        [
            {"resolution_id": resolution.id, "category_id": category_id}
            for category_id in sorted({item.category_id for item in items})
        ],
    )
    for item in items:
        _change_state(item, actor, S.RESOLVED, message.strip() or we_did, notify=False)
        item.resolution_id = resolution.id
        item.resolved_at = resolution.published_at
        item.reopen_requested_at = None
    audit.record(
        actor,
        "resolution.published",
        "resolution",
        resolution.id,
        items=[i.id for i in items],
        we_did=we_did,
    )
    db.session.flush()
    webhooks.resolution_published(resolution, items)
    notifications.notify_resolution(resolution, items, actor, message=message.strip())
    return resolution


def default_you_said(items: Sequence[Feedback]) -> str:
    """The first publicly shown item's title; never a private one, as it goes on the board."""
    return next((item.title for item in items if item.is_public), "")


def resolve(
    item: Feedback, actor: User, we_did: str, you_said: str = "", message: str = ""
) -> Resolution:
    """Resolve a single item and publish its "we did" (see publish_resolution)."""
    return publish_resolution([item], actor, we_did, you_said, message)


def update_resolution(
    resolution: Resolution, actor: User, *, you_said: str, we_did: str
) -> Resolution:
    """Edit a published resolution's summary or text (the previous text stays in the audit)."""
    _require_staff(actor)
    you_said = _require_text(you_said, "The \u201cyou said\u201d summary cannot be empty.")
    we_did = _require_text(we_did, "The \u201cwe did\u201d text cannot be empty.")
    audit.record(
        actor,
        "resolution.edited",
        "resolution",
        resolution.id,
        old_you_said=resolution.you_said,
        old_we_did=resolution.we_did_source,
    )
    resolution.you_said = you_said[:200]
    resolution.we_did_source = we_did
    resolution.we_did_html = render_markdown(we_did)
    db.session.flush()
    return resolution


def move(
    item: Feedback,
    actor: User,
    to_state: FeedbackState,
    *,
    message: str = "",
    target_date: date | None = None,
    duplicate_of: Feedback | None = None,
    you_said: str = "",
    we_did: str = "",
) -> Feedback:
    """Move an item to a state, with what that move needs; used by the admin form and the API.
    Done publishes `we_did` and gives the customer `message`; without a `we_did` (the API, on
    public items only) the message is what is published."""
    if to_state is S.ACKNOWLEDGED:
        return acknowledge(item, actor, message)
    if to_state is S.INVESTIGATING:
        return investigate(item, actor, message)
    if to_state is S.PLANNED:
        return plan(item, actor, target_date, message)
    if to_state is S.IN_PROGRESS:
        return start_work(item, actor, message)
    if to_state is S.RESOLVED:
        if we_did.strip():
            resolve(item, actor, we_did, you_said, message)
        else:
            resolve(item, actor, message, you_said)
        return item
    if to_state is S.DECLINED:
        return decline(item, actor, message)
    if to_state is S.DUPLICATE:
        return merge(item, actor, duplicate_of, message)
    raise InvalidTransition(f"Nothing moves an item back to \u201c{to_state.label}\u201d.")


# Replies, notes and moderation -------------------------------------------------------------


def reply(item: Feedback, actor: User, body: str) -> Comment | None:
    """A public, official reply from the item's owner (or an admin).

    On an item still "Received" the reply is the acknowledgement: a person has answered, so
    the item moves to Acknowledged with the reply as its message (None is returned: the reply
    is on the timeline, not a comment). Otherwise the customer would have an answer while the
    item stayed unacknowledged, overdue in triage and late in the public figures."""
    _act_as_owner(item, actor)
    body = _require_text(body, "Please write the reply.")
    if item.state is S.RECEIVED:
        acknowledge(item, actor, body)
        return None
    _claim(item, actor)
    comment = Comment(
        feedback_id=item.id,
        author_id=actor.id,
        body_source=body,
        body_html=render_markdown(body),
        official=True,
    )
    db.session.add(comment)
    item.comment_count = Feedback.comment_count + 1
    audit.record(actor, "item.replied", "feedback", item.id)
    db.session.flush()
    notifications.notify_item_update(item, actor, "reply", body)
    return comment


def add_internal_note(item: Feedback, actor: User, body: str) -> Comment:
    """A note for staff only; customers never see it anywhere."""
    _require_staff(actor)
    body = _require_text(body, "Please write the note.")
    comment = Comment(
        feedback_id=item.id,
        author_id=actor.id,
        body_source=body,
        body_html=render_markdown(body),
        internal=True,
    )
    db.session.add(comment)
    audit.record(actor, "item.noted", "feedback", item.id)
    db.session.flush()
    return comment


def set_hidden(item: Feedback, actor: User, hidden: bool, reason: str = "") -> Feedback:
    """Hide an item from everyone but staff (or show it again). It is kept, never deleted."""
    _require_staff(actor)
    if hidden:
        reason = _require_text(reason, "Hiding an item needs a reason for the record.")
    item.hidden = hidden
    audit.record(
        actor, "item.hidden" if hidden else "item.unhidden", "feedback", item.id, reason=reason
    )
    db.session.flush()
    return item


def redact(item: Feedback, actor: User, reason: str) -> Feedback:
    """Remove the text from public view (personal details, abuse); staff still see it."""
    _require_staff(actor)
    reason = _require_text(reason, "Redacting needs a reason for the record.")
    item.redacted_at = _now()
    audit.record(
        actor,
        "item.redacted",
        "feedback",
        item.id,
        reason=reason,
        title=item.title,
        body=item.body_source,
    )
    db.session.flush()
    return item


def hide_comment(comment: Comment, actor: User, reason: str) -> Comment:
    """Hide a comment from public view; it is kept for the record."""
    _require_staff(actor)
    reason = _require_text(reason, "Hiding a comment needs a reason for the record.")
    if not comment.hidden and not comment.internal:
        db.session.execute(
            sa.update(Feedback)
            .where(Feedback.id == comment.feedback_id)
            .values(comment_count=Feedback.comment_count - 1)
            .execution_options(synchronize_session=False)
        )
    comment.hidden = True
    audit.record(
        actor, "comment.hidden", "comment", comment.id, reason=reason, body=comment.body_source
    )
    db.session.flush()
    return comment


def approve(item: Feedback, actor: User) -> Feedback:
    """Pre-moderation: let a waiting public item onto the board."""
    _require_staff(actor)
    item.awaiting_review = False
    audit.record(actor, "item.approved", "feedback", item.id)
    db.session.flush()
    return item


# The customer's side of "Did this fix it?" -------------------------------------------------


def _require_author_of_resolved(item: Feedback, author: User) -> None:
    if author.id != item.author_id:
        raise NotAllowed("Only the person who raised this can answer that.")
    if item.state is not S.RESOLVED:
        raise InvalidTransition("This item is not marked as done.")


def confirm_fixed(item: Feedback, author: User) -> Feedback:
    """The author says the resolution fixed it."""
    _require_author_of_resolved(item, author)
    item.fix_confirmed_at = _now()
    item.reopen_requested_at = None
    db.session.flush()
    return item


def request_reopen(item: Feedback, author: User, comment: str) -> Comment:
    """The author says "not yet": their comment goes on the item and the owner sees a reopen
    request in triage. Only staff reopen."""
    _require_author_of_resolved(item, author)
    comment = _require_text(comment, "Please tell us what is still not right.")
    note = Comment(
        feedback_id=item.id,
        author_id=author.id,
        body_source=comment,
        body_html=render_markdown(comment),
    )
    db.session.add(note)
    item.comment_count = Feedback.comment_count + 1
    item.reopen_requested_at = _now()
    item.fix_confirmed_at = None
    _event(item, author, TimelineKind.REOPEN_REQUESTED, comment)
    db.session.flush()
    notifications.notify_reopen_request(item, author, comment)
    return note
