"""The resolution workflow: the only code that changes an item's state, owner or promise.

Each public function is a command: it takes the acting person and ids or plain values, loads
and locks what it needs (in a fixed order), checks who may act and every rule (the tone check
of public words among them), changes the item, emits an event and flushes. What follows the
change (the timeline, the audit entry, emails, webhooks) consumes the event
(portal/services/consumers.py). The unit of work commits. A refused command raises a
WorkflowError or another DomainError, and its transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from portal.database import insert_if_absent
from portal.extensions import db
from portal.models import (
    Comment,
    Feedback,
    FeedbackState,
    MergedVoice,
    Resolution,
    TimelineEvent,
    TimelineKind,
    User,
    Visibility,
    Vote,
    resolution_categories,
)
from portal.services import attachments, events, notifications, personal_details, tone
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.feedback import get_visible_item, held_for_change, item_query
from portal.services.sanitize import render_markdown
from portal.services.states import move_fields as move_fields  # pages ask the workflow
from portal.services.states import next_states as next_states  # pages ask the workflow
from portal.services.tone import SentReply, ToneContext, ToneFinding
from portal.services.visibility import is_public
from portal.services.wording import Text, t, tn

S = FeedbackState


class WorkflowError(DomainError):
    """A move the workflow refuses, with the reason in words staff can act on."""


class InvalidTransition(WorkflowError):
    """The item cannot go from its state to the one asked for."""


class MissingInput(WorkflowError):
    """The move needs something that was not given: a message, a date, a reason..."""


class NotYetAnswered(WorkflowError):
    """Items resolved together must each have had a personal answer first."""

    status_code = 409


class ClosedTarget(WorkflowError):
    """Nothing is merged into a Done or Not planned item: its people have had their answer,
    and its published count of voices is closed. The late item gets the same answer instead."""

    status_code = 409


class PromiseChoice(StrEnum):
    """What a merge does with the date the duplicate promised its customer."""

    KEEP = "keep"  # the target carries it: the earlier of the two dates wins
    CHANGE = "change"  # the target's own date (or none) stands, and the reason is told


class ToneHeld(WorkflowError):
    """The tone check found something in words the customer would read. They are held until
    the writer changes them or chooses to post anyway."""

    status_code = 422

    def __init__(self, by_field: dict[str, list[ToneFinding]]) -> None:
        self.by_field = by_field
        # Every finding, in the order of the fields: the message first, then the "we did".
        self.findings = [finding for found in by_field.values() for finding in found]
        super().__init__(
            t(
                "Not sent yet: the tone check found something to look at. %(findings)s",
                findings=" ".join(str(finding.message) for finding in self.findings),
            )
        )


# Loading and locking -----------------------------------------------------------------------


def _item_for_change(item_id: int) -> Feedback:
    """The item, its row held until the commit: two people acting on one item take turns,
    and each sees the state the other left (see feedback.item_query)."""
    item = db.session.scalar(item_query(item_id, for_change=True))
    if item is None:
        raise NotFound(t("There is no item #%(id)d.", id=item_id))
    return item


def _hold_lower_id_first(item_id: int, other_id: int | None) -> None:
    """Two items held by one change are taken lowest id first (as "Resolve together" takes
    its items), so two merges of two items into each other take turns instead of
    deadlocking, and the second is told the other is merged already."""
    if other_id is not None and 0 < other_id < item_id:
        db.session.execute(held_for_change(sa.select(Feedback.id).where(Feedback.id == other_id)))


# The tone check, for words the customer reads ------------------------------------------------
# The check itself is pure (portal/services/tone); tone_context is the one place that reads
# what it needs from the database, for every command that posts public words and for the live
# check as staff type.

# "Copy-paste across customers" looks at this many of the writer's latest replies (within
# tone.COPY_DAYS days).
RECENT_REPLY_LIMIT = 500


def tone_context(
    item: Feedback,
    writer: User,
    *,
    to_state: FeedbackState | None = None,
    target_date: date | None = None,
) -> ToneContext:
    """What the tone check needs to know about words `writer` is about to send this item's
    customer: as a reply (no `to_state`), or as the message of a move to `to_state`
    (`target_date` being the date a move to Planned promises)."""
    stays_open = (to_state or item.state).is_open
    promise = target_date if to_state is S.PLANNED else item.target_date
    customer = item.author
    # A draft too short to tell its language is read in the item's, else the customer's.
    language = item.language or customer.language
    return ToneContext(
        kind=item.kind.value,
        preferred_name=customer.preferred_name if customer.deleted_at is None else "",
        response_guide=item.category.response_guide,
        stays_open=stays_open,
        promised=promise is not None and promise >= _now().date(),
        apologised_before=any(tone.apologises(text, language) for text in _staff_words_on(item.id)),
        customer_text="\n".join(_customer_words_on(item)),
        earlier_replies=_recent_replies(writer.id, item),
        language=language,
    )


def _staff_words_on(item_id: int) -> list[str]:
    """Staff's public words on the item so far: official replies and state messages. (Every
    state change is a member of staff's; the customer's own steps are other kinds.)"""
    replies = sa.select(Comment.body_source).where(
        Comment.feedback_id == item_id, Comment.official, sa.not_(Comment.internal)
    )
    messages = sa.select(TimelineEvent.message).where(
        TimelineEvent.feedback_id == item_id,
        TimelineEvent.kind == TimelineKind.STATE_CHANGED,
        TimelineEvent.message != "",
    )
    return list(db.session.scalars(sa.union_all(replies, messages)))


def _customer_words_on(item: Feedback) -> list[str]:
    """The customer's own words on the item: its title and text, and their comments."""
    comments = db.session.scalars(
        sa.select(Comment.body_source)
        .where(
            Comment.feedback_id == item.id,
            Comment.author_id == item.author_id,
            sa.not_(Comment.official),
            sa.not_(Comment.internal),
        )
        .order_by(Comment.created_at, Comment.id)
    )
    return [item.title, item.body_source, *comments]


def _recent_replies(writer_id: int, item: Feedback) -> tuple[SentReply, ...]:
    """What the writer sent other customers lately (replies and state messages on their
    items, newest first), each with the customer it went to."""
    since = _now() - timedelta(days=tone.COPY_DAYS)
    elsewhere = sa.and_(Feedback.id != item.id, Feedback.author_id != item.author_id)
    replies = (
        sa.select(Feedback.author_id, Comment.body_source.label("text"), Comment.created_at)
        .join(Feedback, Feedback.id == Comment.feedback_id)
        .where(
            Comment.author_id == writer_id,
            Comment.official,
            sa.not_(Comment.internal),
            Comment.created_at >= since,
            elsewhere,
        )
    )
    messages = (
        sa.select(Feedback.author_id, TimelineEvent.message.label("text"), TimelineEvent.created_at)
        .join(Feedback, Feedback.id == TimelineEvent.feedback_id)
        .where(
            TimelineEvent.actor_id == writer_id,
            TimelineEvent.kind == TimelineKind.STATE_CHANGED,
            TimelineEvent.message != "",
            TimelineEvent.created_at >= since,
            elsewhere,
        )
    )
    sent = sa.union_all(replies, messages).subquery()
    rows = db.session.execute(
        sa.select(sent.c.author_id, sent.c.text)
        .order_by(sent.c.created_at.desc())
        .limit(RECENT_REPLY_LIMIT)
    )
    return tuple(SentReply(customer_id, text) for customer_id, text in rows)


def tone_findings(
    item: Feedback,
    draft: str,
    writer: User,
    *,
    to_state: FeedbackState | None = None,
    target_date: date | None = None,
) -> list[ToneFinding]:
    """What the tone check says of a draft reply (or a move's message, see tone_context) to
    this item's customer; on a public item, also what the guard for personal details finds
    (everyone reads staff's words there)."""
    if not draft.strip():
        return []
    findings = tone.check_tone(
        draft, tone_context(item, writer, to_state=to_state, target_date=target_date)
    )
    if item.visibility is Visibility.PUBLIC:
        findings += personal_details.details_in(draft, may_make_private=False)
    return findings


def tone_notices(item: Feedback, *texts: str) -> list[ToneFinding]:
    """Notices that hold nothing about words posted on the item (the check does not cover
    their language), for a door that answers once they are posted (the API)."""
    language = item.language or item.author.language
    return [
        notice for text in texts if (notice := tone.coverage_notice(text, language)) is not None
    ]


def we_did_findings(item: Feedback, draft: str) -> list[ToneFinding]:
    """The "we did" goes to everyone: the findings about one customer (their name, an apology,
    a next step, words sent to others) do not apply there; personal details do."""
    return [
        *tone.check_published(draft, item.category.response_guide, item.language),
        *personal_details.details_in(draft, may_make_private=False),
    ]


def _check_tone(
    item: Feedback,
    actor: User,
    post_anyway: bool,
    *,
    field: str = "message",
    text: str = "",
    to_state: FeedbackState | None = None,
    target_date: date | None = None,
    we_did: str = "",
) -> None:
    """Hold the words unless the writer chose to post anyway: what the customer reads (in
    `field`; a reply, or the message of a move to `to_state`) and the published "we did",
    all findings said together, each beside its field. A notice that holds nothing (the
    check does not cover the language) is said with them, but alone lets the words through."""
    found = {
        name: findings
        for name, findings in (
            (field, tone_findings(item, text, actor, to_state=to_state, target_date=target_date)),
            ("we_did", we_did_findings(item, we_did) if we_did.strip() else []),
        )
        if findings
    }
    holding = any(finding.holds for findings in found.values() for finding in findings)
    if holding and not post_anyway:
        raise ToneHeld(found)


def _now() -> datetime:
    return datetime.now(UTC)


def _require_staff(actor: User) -> None:
    if not _is_active_staff(actor):
        raise NotAllowed(t("Only staff can do that."))


def _require_text(value: str | None, message: Text) -> str:
    text = (value or "").strip()
    if not text:
        raise MissingInput(message)
    return text


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
            raise NotAllowed(t("Only active staff can act on items."))
        raise WorkflowError(t("Items can only be assigned to active staff."))
    previous = item.owner_id
    item.owner_id = owner.id
    item.owner = owner
    events.emit(events.OwnerChanged(item, actor, previous, owner, reason))


def _is_active_staff(actor: User) -> bool:
    return bool(actor.is_authenticated and actor.is_staff and actor.is_active)


def may_act_as_owner(item: Feedback, actor: User) -> bool:
    """Whether this person may reply publicly, move the item and promise dates: its owner, an
    admin, or any member of staff while nobody (still on the staff) owns it."""
    return _is_active_staff(actor) and (
        item.owner_id is None or item.owner_id == actor.id or actor.is_admin or _owner_left(item)
    )


def _act_as_owner(item: Feedback, actor: User) -> None:
    """Public replies and moves come from the item's owner (or an admin). This only checks;
    _claim() makes the actor the owner once the move is known to be valid."""
    _require_staff(actor)
    if not may_act_as_owner(item, actor):
        owner = db.session.get(User, item.owner_id)
        if owner is None:
            raise NotAllowed(
                t(
                    "Another member of staff looks after this item. Ask them, or an admin, to "
                    "reassign it to you."
                )
            )
        raise NotAllowed(
            t(
                "%(name)s looks after this item. Ask them, or an admin, to reassign it to you.",
                name=owner.display_name,
            )
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
    if to_state not in next_states(item):
        raise InvalidTransition(
            t(
                "An item that is \u201c%(state)s\u201d cannot move to \u201c%(to_state)s\u201d.",
                state=t(item.state.label),
                to_state=t(to_state.label),
            )
        )


def _change_state(
    item: Feedback, actor: User, to_state: FeedbackState, message: str, *, notify: bool = True
) -> None:
    from_state = item.state
    _check_transition(item, to_state)
    if from_state is S.RECEIVED:
        message = _require_text(
            message,
            t(
                "Leaving \u201cReceived\u201d is the acknowledgement: write the customer a "
                "personal message."
            ),
        )
    message = _require_text(message, t("Every change of state needs a public message."))
    _claim(item, actor)
    item.state = to_state
    if from_state is S.RECEIVED and item.acknowledged_at is None:
        item.acknowledged_at = _now()
    events.emit(events.StateChanged(item, actor, from_state, to_state, message, notify))


# Ownership ---------------------------------------------------------------------------------


def may_take(item: Feedback, actor: User) -> bool:
    """Whether this member of staff may take the item: one nobody owns, or any as an admin."""
    return item.owner_id is None or actor.is_admin


def may_hand_on(item: Feedback, actor: User) -> bool:
    """Whether this member of staff may give the item to someone: its owner, an admin, or
    anyone while nobody owns it. One owner per item; nobody else passes it around."""
    return item.owner_id is None or item.owner_id == actor.id or actor.is_admin


@dataclass(frozen=True)
class ItemPermissions:
    """What one member of staff may do with one item, from the same predicates the commands
    check: a page offers exactly these, so nothing it shows is then refused."""

    reply: bool  # reply publicly (on a Received item the reply acknowledges it)
    move: bool  # move it on (with the states of next_states)
    promise: bool  # promise a date or move it
    take: bool
    hand_on: bool
    note: bool  # internal notes, hiding and redacting: any member of staff
    moderate: bool

    @property
    def owner_only(self) -> bool:
        """Whether replies, moves and promises are for the item's owner (or an admin) alone:
        the page says whom to ask instead."""
        return self.note and not self.reply


def permissions(item: Feedback, actor: User) -> ItemPermissions:
    """What `actor` may do with `item` now (reply, move, promise, take, hand on, ...)."""
    staff = _is_active_staff(actor)
    as_owner = may_act_as_owner(item, actor)
    return ItemPermissions(
        reply=as_owner,
        move=as_owner and bool(next_states(item)),
        promise=as_owner and item.state.is_open,
        take=staff and item.owner_id != actor.id and may_take(item, actor),
        hand_on=staff and may_hand_on(item, actor),
        note=staff,
        moderate=staff,
    )


def take(item_id: int, actor: User) -> Feedback:
    """A member of staff takes an unowned item (or an admin takes any item)."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    if item.owner_id == actor.id:
        return item
    if not may_take(item, actor):
        raise NotAllowed(t("Someone already looks after this item; it needs reassigning instead."))
    _set_owner(item, actor, actor, "" if item.owner_id is None else "Reassigned by an admin.")
    db.session.flush()
    return item


def assign(item_id: int, actor: User, new_owner_id: int, reason: str = "") -> Feedback:
    """Give an item to a member of staff. Taking it from someone else needs a reason."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    new_owner = db.session.get(User, new_owner_id)
    if new_owner is None or not new_owner.is_staff or not new_owner.is_active:
        raise WorkflowError(t("Items can only be assigned to active staff."))
    if item.owner_id == new_owner.id:
        return item
    if item.owner_id is not None:
        if not may_hand_on(item, actor):
            raise NotAllowed(t("Only the current owner or an admin can reassign this item."))
        reason = _require_text(
            reason, t("Reassigning an item needs a reason: the customer sees who looks after it.")
        )
    _set_owner(item, actor, new_owner, reason)
    db.session.flush()
    return item


# State changes -----------------------------------------------------------------------------
# Each command that posts words the customer reads runs the tone check on them first: it
# refuses with the findings (ToneHeld) unless the writer chose to post anyway.


def acknowledge(item_id: int, actor: User, message: str, *, post_anyway: bool = False) -> Feedback:
    """Tell the customer, personally, that a person has read their feedback."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.ACKNOWLEDGED)
    return _acknowledge(item, actor, message)


def _acknowledge(item: Feedback, actor: User, message: str) -> Feedback:
    _change_state(item, actor, S.ACKNOWLEDGED, message)
    db.session.flush()
    return item


def investigate(item_id: int, actor: User, message: str, *, post_anyway: bool = False) -> Feedback:
    """We are looking into it. On a resolved item this is a reopening."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.INVESTIGATING)
    return _investigate(item, actor, message)


def _investigate(item: Feedback, actor: User, message: str) -> Feedback:
    if item.state is S.RESOLVED:
        return _reopen(item, actor, message)
    _change_state(item, actor, S.INVESTIGATING, message)
    db.session.flush()
    return item


def plan(
    item_id: int,
    actor: User,
    target_date: date | None,
    message: str,
    *,
    outcome: str = "",
    post_anyway: bool = False,
) -> Feedback:
    """Plan the work and promise an outcome by a date ("a replacement with you" by Friday 12
    December): planning without both is not a plan."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.PLANNED, target_date=target_date)
    return _plan(item, actor, target_date, message, outcome)


# As long as a subject line can carry it, beside the date and a name.
MAX_OUTCOME_LENGTH = 120


def _promised_outcome(outcome: str | None) -> str:
    """The one line a promise makes, checked: what the customer will have, not a title."""
    outcome = " ".join((outcome or "").split())
    if not outcome:
        raise MissingInput(
            t(
                "Say what we promise by that date, in one line the customer reads: "
                "\u201ca replacement with you\u201d, \u201cthe lift working again\u201d."
            )
        )
    if len(outcome) > MAX_OUTCOME_LENGTH:
        raise WorkflowError(
            tn(
                "Keep what we promise to one line of at most %(most)d characters (this one "
                "has %(num)d).",
                "Keep what we promise to one line of at most %(most)d characters (this one "
                "has %(num)d).",
                len(outcome),
                most=MAX_OUTCOME_LENGTH,
            )
        )
    return outcome


def _plan(
    item: Feedback, actor: User, target_date: date | None, message: str, outcome: str
) -> Feedback:
    if target_date is None:
        raise MissingInput(t("Planning needs a target date: the date we promise the customer."))
    if target_date < _now().date():
        raise WorkflowError(t("The promised date cannot be in the past."))
    _check_transition(item, S.PLANNED)
    outcome = _promised_outcome(outcome)
    # The promise is set first so the customer's email already carries it.
    previous_outcome = item.promise_outcome or ""
    item.target_date = target_date
    item.promise_outcome = outcome
    _change_state(item, actor, S.PLANNED, message)
    events.emit(
        events.PromiseMade(
            item,
            actor,
            target_date,
            None,
            "",
            by_planning=True,
            outcome=outcome,
            previous_outcome=previous_outcome,
        )
    )
    db.session.flush()
    return item


def start_work(item_id: int, actor: User, message: str, *, post_anyway: bool = False) -> Feedback:
    """The fix is in progress."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.IN_PROGRESS)
    return _start_work(item, actor, message)


def _start_work(item: Feedback, actor: User, message: str) -> Feedback:
    _change_state(item, actor, S.IN_PROGRESS, message)
    db.session.flush()
    return item


def decline(item_id: int, actor: User, reason: str, *, post_anyway: bool = False) -> Feedback:
    """Say honestly, and with respect, that we will not do this, and why."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=reason, to_state=S.DECLINED)
    return _decline(item, actor, reason)


def _decline(item: Feedback, actor: User, reason: str) -> Feedback:
    reason = _require_text(reason, t("Declining needs a reason, said with respect."))
    _change_state(item, actor, S.DECLINED, reason)
    db.session.flush()
    return item


def move_promise(
    item_id: int, actor: User, new_date: date | None, reason: str, outcome: str = ""
) -> Feedback:
    """Promise an outcome by a date, or move the date (with a reason). The customer is told.
    Without a new `outcome` the promise keeps the one it has; one made before outcomes were
    asked for needs one now."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    if new_date is None:
        raise MissingInput(t("Please give the new date."))
    if not item.state.is_open:
        raise InvalidTransition(t("Only an open item can have its promised date moved."))
    if new_date < _now().date():
        raise WorkflowError(t("The promised date cannot be in the past."))
    if item.target_date == new_date:
        raise WorkflowError(t("That is already the promised date."))
    outcome = _promised_outcome(outcome.strip() or item.promise_outcome)
    if item.target_date is not None:
        reason = _require_text(
            reason, t("Moving a promised date needs a reason: the customer is told why.")
        )
    _claim(item, actor)
    previous, previous_outcome = item.target_date, item.promise_outcome or ""
    item.target_date = new_date
    item.promise_outcome = outcome
    events.emit(
        events.PromiseMade(
            item,
            actor,
            new_date,
            previous,
            reason,
            outcome=outcome,
            previous_outcome=previous_outcome,
        )
    )
    db.session.flush()
    return item


def reopen(item_id: int, actor: User, reason: str, *, post_anyway: bool = False) -> Feedback:
    """Reopen a resolved item (staff only): it was not fixed after all."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=reason, to_state=S.INVESTIGATING)
    return _reopen(item, actor, reason)


def _reopen(item: Feedback, actor: User, reason: str) -> Feedback:
    reason = _require_text(reason, t("Reopening needs a reason the customer can read."))
    _change_state(item, actor, S.INVESTIGATING, reason)
    item.resolved_at = None
    item.reopen_requested_at = None
    item.fix_confirmed_at = None
    _forget_answers_of_merged_voices(item.id)
    db.session.flush()
    return item


def merge(
    item_id: int,
    actor: User,
    target_id: int | None,
    message: str = "",
    *,
    promise: PromiseChoice | None = None,
    promise_reason: str = "",
    post_anyway: bool = False,
) -> Feedback:
    """Merge a duplicate into the item that already says it: votes and voices move there, and
    its people are told who looks after it now. A duplicate that carries a promised date needs
    `promise`: keep the date on the target (the earlier date wins), or change it with a
    `promise_reason` its people are told."""
    _hold_lower_id_first(item_id, target_id)
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _refuse_closed_target(item.id, target_id)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.DUPLICATE)
    return _merge(item, actor, target_id, message, promise, promise_reason)


def _refuse_closed_target(
    item_id: int, target_id: int | None, state: FeedbackState | None = None
) -> None:
    """Refuse a merge into a Done or Not planned item, saying how to answer the late item
    instead. Asked first, before the tone check; `_merge` asks again with the state it read
    under the target's lock (`state`), as it may have closed meanwhile."""
    if target_id is None:
        return
    if state is None:
        state = db.session.scalar(sa.select(Feedback.state).where(Feedback.id == target_id))
    if state is S.RESOLVED:
        raise ClosedTarget(
            t(
                "#%(target)d is Done, and nothing is merged into a closed item. Answer "
                "#%(item)d with the same resolution instead (\u201cResolve together\u201d: "
                "\u201cAnswer it as #%(target)d was\u201d on #%(item)d's page), so its people "
                "hear what was done.",
                target=target_id,
                item=item_id,
            )
        )
    if state is S.DECLINED:
        raise ClosedTarget(
            t(
                "#%(target)d is Not planned, and nothing is merged into a closed item. Decline "
                "#%(item)d with the same reason instead, so its people hear why.",
                target=target_id,
                item=item_id,
            )
        )


def _merge(
    item: Feedback,
    actor: User,
    target_id: int | None,
    message: str,
    promise: PromiseChoice | None = None,
    promise_reason: str = "",
) -> Feedback:
    if target_id is None:
        raise MissingInput(t("Merging needs the item to merge into."))
    if target_id == item.id:
        raise WorkflowError(t("An item cannot be merged into itself."))
    target = db.session.get(Feedback, target_id)
    if target is None:
        raise WorkflowError(t("There is no item #%(id)d.", id=target_id))
    if target.visibility is Visibility.PRIVATE and not (
        item.visibility is Visibility.PRIVATE and item.author_id == target.author_id
    ):
        # Everyone who spoke up on this item follows the target and is told its title: a
        # private item is for its author alone (the API allows public targets only, too).
        raise WorkflowError(
            t(
                "#%(id)d is private: only the same customer's private reports can be merged "
                "into it. Merge into a public item, or answer this one on its own.",
                id=target.id,
            )
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
            t(
                "#%(id)d was itself merged into #%(into)d; merge into that one.",
                id=target.id,
                into=target_now.merged_into_id,
            )
        )
    _refuse_closed_target(item.id, target.id, target_now.state)
    carried = _promise_on_merge(item, target, promise, promise_reason)
    if not message.strip() and item.state is not S.RECEIVED:
        message = (
            f"This is being handled together with #{target.id}; the conversation continues there."
        )
    _change_state(item, actor, S.DUPLICATE, message, notify=False)
    item.merged_into_id = target.id
    # Its people are handed to a person, never to nobody: merging into an item nobody looks
    # after (or whose owner has left) makes the one merging its owner.
    _claim(target, actor)
    kept_date = carried.target_date if carried.kept else None
    if kept_date is not None and kept_date != target.target_date:
        # Kept: the duplicate's date was earlier than the target's (or the target had none).
        previous, previous_outcome = target.target_date, target.promise_outcome or ""
        target.target_date = kept_date
        # The outcome comes with the date it was promised by, unless the target promised one.
        target.promise_outcome = target.promise_outcome or item.promise_outcome
        events.emit(
            events.PromiseMade(
                target,
                actor,
                kept_date,
                previous,
                f"The date promised on #{item.id} holds here.",
                outcome=target.promise_outcome or "",
                previous_outcome=previous_outcome,
            )
        )
    db.session.flush()
    # Who spoke up there, recorded before their votes move and merge with the target's.
    _record_merged_voices(item, target)
    # Followers hear where the conversation went, then follow the target instead.
    events.emit(events.ItemMerged(item, target, actor, message, carried))
    notifications.move_follows(item, target)
    # Items merged into this one follow it to the new target, so no chain forms.
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.merged_into_id == item.id)
        .values(merged_into_id=target.id)
        .execution_options(synchronize_session=False)
    )
    _move_votes(item, target)
    db.session.flush()
    db.session.refresh(target, ["vote_count"])
    return item


def _promise_on_merge(
    item: Feedback, target: Feedback, choice: PromiseChoice | None, reason: str
) -> events.PromiseOnMerge:
    """A promise is never dropped without a word: the duplicate's date is kept on the target
    (the earlier date wins) or staff say why it changes."""
    promised = item.target_date
    if promised is None:
        return events.PromiseOnMerge(None, kept=True, target_date=target.target_date)
    when = f"{promised.day} {promised:%B %Y}"
    if choice is None:
        raise MissingInput(
            t(
                "#%(id)d carries a promise: by %(when)s. Choose to keep it on #%(target)d (the "
                "earlier date wins), or say why it changes: its people are told either way.",
                id=item.id,
                when=when,
                target=target.id,
            )
        )
    if choice is PromiseChoice.KEEP:
        dates = [d for d in (promised, target.target_date) if d is not None]
        return events.PromiseOnMerge(promised, kept=True, target_date=min(dates))
    reason = _require_text(
        reason,
        t(
            "Say why the date promised on #%(id)d (by %(when)s) changes: its people are told.",
            id=item.id,
            when=when,
        ),
    )
    return events.PromiseOnMerge(
        promised, kept=False, target_date=target.target_date, reason=reason
    )


def _record_merged_voices(duplicate: Feedback, target: Feedback) -> None:
    """Everyone who spoke up on the duplicate (its author, voters and public commenters, and
    the voices merged into it before) is heard on the target from now on. Its own author
    needs no such row."""
    already = sa.select(MergedVoice.user_id).where(MergedVoice.feedback_id == target.id)
    db.session.execute(
        sa.delete(MergedVoice)
        .where(
            MergedVoice.feedback_id == duplicate.id,
            sa.or_(MergedVoice.user_id.in_(already), MergedVoice.user_id == target.author_id),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(MergedVoice)
        .where(MergedVoice.feedback_id == duplicate.id)
        .values(feedback_id=target.id)
        .execution_options(synchronize_session=False)
    )
    voters = sa.select(Vote.user_id).where(Vote.feedback_id == duplicate.id)
    commenters = sa.select(Comment.author_id).where(
        Comment.feedback_id == duplicate.id,
        Comment.official.is_(False),
        Comment.internal.is_(False),
        Comment.hidden.is_(False),
    )
    people = {duplicate.author_id, *db.session.scalars(sa.union(voters, commenters))}
    people.discard(target.author_id)
    for user_id in sorted(people):
        insert_if_absent(
            db.session,
            MergedVoice,
            feedback_id=target.id,
            user_id=user_id,
            merged_from_id=duplicate.id,
        )


def merged_voice(item_id: int, user: User | None) -> MergedVoice | None:
    """This person's voice merged into the item (their answer to "Did this fix it?" with it),
    or None if they did not speak up on an item merged into it."""
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(MergedVoice).where(
            MergedVoice.feedback_id == item_id, MergedVoice.user_id == user.id
        )
    )


def _forget_answers_of_merged_voices(item_id: int) -> None:
    # A reopened item will be resolved again, and everyone asked again.
    db.session.execute(
        sa.update(MergedVoice)
        .where(MergedVoice.feedback_id == item_id)
        .values(fix_confirmed_at=None, reopen_requested_at=None)
        .execution_options(synchronize_session=False)
    )


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


def items_to_resolve(item_ids: Sequence[int], *, for_change: bool = False) -> list[Feedback]:
    """The items "Resolve together" names, oldest first: the order every such change takes
    their rows in, so two of them take turns."""
    query = (
        sa.select(Feedback)
        .where(Feedback.id.in_(list(item_ids)))
        .options(sa.orm.joinedload(Feedback.category), sa.orm.joinedload(Feedback.author))
        .order_by(Feedback.created_at, Feedback.id)
    )
    return list(db.session.scalars(held_for_change(query) if for_change else query))


def unanswered_message(items: Sequence[Feedback]) -> Text:
    """Why "Resolve together" refuses these items, naming each with its customer."""
    return tn(
        "Nobody has answered %(items)s yet. Acknowledge it personally first: resolving "
        "together sends everyone the same words.",
        "Nobody has answered %(items)s yet. Acknowledge each one personally first: resolving "
        "together sends everyone the same words.",
        len(items),
        items=", ".join(f"#{item.id} ({item.author.preferred_name})" for item in items),
    )


def publish_resolution(
    item_ids: Sequence[int],
    actor: User,
    we_did: str,
    you_said: str = "",
    message: str = "",
    *,
    post_anyway: bool = False,
) -> Resolution:
    """Resolve one item, or a theme of several, with one published "we did". The `message` is
    the owner's own words to the customer: it goes on the item's timeline and to its author,
    never on the public board. Several items must each have been answered first."""
    items = items_to_resolve(item_ids, for_change=True)
    if not items:
        raise MissingInput(t("Pick at least one item to resolve."))
    unanswered = not_yet_answered(items)
    if unanswered:
        raise NotYetAnswered(unanswered_message(unanswered))
    for item in items:
        _act_as_owner(item, actor)
    _check_tone(items[0], actor, post_anyway, text=message, to_state=S.RESOLVED, we_did=we_did)
    return _publish_resolution(items, actor, we_did, you_said, message)


def _publish_resolution(
    items: Sequence[Feedback], actor: User, we_did: str, you_said: str, message: str
) -> Resolution:
    we_did = _require_text(we_did, t("Resolving needs the \u201cwe did\u201d text: what was done."))
    for item in items:
        if S.RESOLVED not in next_states(item):
            raise InvalidTransition(
                t(
                    "#%(id)d is \u201c%(state)s\u201d and cannot be resolved.",
                    id=item.id,
                    state=t(item.state.label),
                )
            )
    you_said = you_said.strip() or default_you_said(items)
    if not you_said:
        raise MissingInput(
            t(
                "These items are private: write a \u201cyou said\u201d summary that shares no "
                "private details."
            )
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
        _forget_answers_of_merged_voices(item.id)
    db.session.flush()
    events.emit(events.ResolutionPublished(resolution, items, actor, we_did, message.strip()))
    return resolution


def default_you_said(items: Sequence[Feedback]) -> str:
    """The first publicly shown item's title; never a private one, as it goes on the board."""
    return next((item.title for item in items if is_public(item)), "")


def resolve(
    item_id: int,
    actor: User,
    we_did: str,
    you_said: str = "",
    message: str = "",
    *,
    post_anyway: bool = False,
) -> Resolution:
    """Resolve a single item and publish its "we did" (see publish_resolution); the
    `message`, if any, is the owner's own words to its customer."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    _check_tone(item, actor, post_anyway, text=message, to_state=S.RESOLVED, we_did=we_did)
    return _publish_resolution([item], actor, we_did, you_said, message)


def update_resolution(resolution_id: int, actor: User, *, you_said: str, we_did: str) -> Resolution:
    """Edit a published resolution's summary or text (the previous text stays in the audit)."""
    _require_staff(actor)
    resolution = db.session.get(Resolution, resolution_id, with_for_update=True)
    if resolution is None:
        raise NotFound(t("We could not find that resolution."))
    you_said = _require_text(you_said, t("The \u201cyou said\u201d summary cannot be empty."))
    we_did = _require_text(we_did, t("The \u201cwe did\u201d text cannot be empty."))
    events.emit(
        events.ResolutionEdited(resolution, actor, resolution.you_said, resolution.we_did_source)
    )
    resolution.you_said = you_said[:200]
    resolution.we_did_source = we_did
    resolution.we_did_html = render_markdown(we_did)
    db.session.flush()
    return resolution


def move(
    item_id: int,
    actor: User,
    to_state: FeedbackState,
    *,
    message: str = "",
    target_date: date | None = None,
    outcome: str = "",
    duplicate_of: int | None = None,
    promise: PromiseChoice | None = None,
    promise_reason: str = "",
    you_said: str = "",
    we_did: str = "",
    post_anyway: bool = False,
) -> Feedback:
    """Move an item to a state, with what that move needs (Planned: the date and the
    `outcome` promised by it; Merged, `duplicate_of`: what becomes of a promised date, see
    merge); used by the admin form and the API.
    Done publishes `we_did` and gives the customer `message`; without a `we_did` (the API, on
    public items only) the message is what is published. Both texts are checked for tone:
    the published "we did" is read by everyone who spoke up."""
    if to_state is S.DUPLICATE:
        _hold_lower_id_first(item_id, duplicate_of)
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    if to_state is S.DUPLICATE:
        _refuse_closed_target(item.id, duplicate_of)
    if to_state is not S.RESOLVED:
        we_did = ""
    _check_tone(
        item,
        actor,
        post_anyway,
        text=message,
        to_state=to_state,
        target_date=target_date,
        we_did=we_did,
    )
    if to_state is S.ACKNOWLEDGED:
        return _acknowledge(item, actor, message)
    if to_state is S.INVESTIGATING:
        return _investigate(item, actor, message)
    if to_state is S.PLANNED:
        return _plan(item, actor, target_date, message, outcome)
    if to_state is S.IN_PROGRESS:
        return _start_work(item, actor, message)
    if to_state is S.RESOLVED:
        if we_did.strip():
            _publish_resolution([item], actor, we_did, you_said, message)
        else:
            _publish_resolution([item], actor, message, you_said, "")
        return item
    if to_state is S.DECLINED:
        return _decline(item, actor, message)
    if to_state is S.DUPLICATE:
        return _merge(item, actor, duplicate_of, message, promise, promise_reason)
    raise InvalidTransition(
        t("Nothing moves an item back to \u201c%(state)s\u201d.", state=t(to_state.label))
    )


# Replies, notes and moderation -------------------------------------------------------------


def reply(
    item_id: int,
    actor: User,
    body: str,
    *,
    post_anyway: bool = False,
    images: Sequence[str] = (),
) -> Comment | None:
    """A public, official reply from the item's owner (or an admin), with the images they
    uploaded for it.

    On an item still "Received" the reply is the acknowledgement: a person has answered, so
    the item moves to Acknowledged with the reply as its message (None is returned: the reply
    is on the timeline, not a comment). Otherwise the customer would have an answer while the
    item stayed unacknowledged, overdue in triage and late in the public figures."""
    item = _item_for_change(item_id)
    _act_as_owner(item, actor)
    body = _require_text(body, t("Please write the reply."))
    _check_tone(item, actor, post_anyway, field="body", text=body)
    if item.state is S.RECEIVED:
        if images:
            # The acknowledgement is a step of the item's history, which holds no images.
            raise DomainError(
                t(
                    "Your first answer acknowledges the item and cannot carry images: send it "
                    "without them, then add the images in a reply."
                )
            )
        _acknowledge(item, actor, body)
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
    db.session.flush()
    attachments.attach_uploads(actor, item, comment, images)
    events.emit(events.ReplyPosted(item, comment, actor))
    return comment


def add_internal_note(
    item_id: int, actor: User, body: str, *, images: Sequence[str] = ()
) -> Comment:
    """A note for staff only, with the images they uploaded for it; customers never see it
    anywhere."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    body = _require_text(body, t("Please write the note."))
    comment = Comment(
        feedback_id=item.id,
        author_id=actor.id,
        body_source=body,
        body_html=render_markdown(body),
        internal=True,
    )
    db.session.add(comment)
    db.session.flush()
    attachments.attach_uploads(actor, item, comment, images)
    events.emit(events.NoteAdded(item, comment, actor))
    return comment


def set_hidden(item_id: int, actor: User, hidden: bool, reason: str = "") -> Feedback:
    """Hide an item from everyone but staff (or show it again). It is kept, never deleted."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    if hidden:
        reason = _require_text(reason, t("Hiding an item needs a reason for the record."))
    item.hidden = hidden
    events.emit(events.ItemHiddenChanged(item, actor, hidden, reason))
    db.session.flush()
    return item


def redact(item_id: int, actor: User, reason: str) -> Feedback:
    """Remove the text from public view (personal details, abuse); staff still see it."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    reason = _require_text(reason, t("Redacting needs a reason for the record."))
    item.redacted_at = _now()
    events.emit(events.ItemRedacted(item, actor, reason))
    db.session.flush()
    return item


def hide_comment(comment_id: int, actor: User, reason: str) -> Comment:
    """Hide a comment from public view; it is kept for the record."""
    _require_staff(actor)
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(t("We could not find that comment."))
    reason = _require_text(reason, t("Hiding a comment needs a reason for the record."))
    if not comment.hidden and not comment.internal:
        _count_out(comment)
    comment.hidden = True
    events.emit(events.CommentHidden(comment, actor, reason))
    db.session.flush()
    return comment


def _count_out(comment: Comment) -> None:
    """A public comment leaves its item's count: counted down in SQL, so a comment posted
    meanwhile still counts."""
    db.session.execute(
        sa.update(Feedback)
        .where(Feedback.id == comment.feedback_id)
        .values(comment_count=Feedback.comment_count - 1)
        .execution_options(synchronize_session=False)
    )


def redact_public_words(author: User, reason: str) -> int:
    """Take a person's public words out of public view, as staff redact an item and hide a
    comment (kept for the record): their public items are redacted, their comments hidden.
    For an account being deleted whose owner asked for it; the author is the actor. Returns
    how many items and comments it took out."""
    items = db.session.scalars(
        held_for_change(
            sa.select(Feedback).where(
                Feedback.author_id == author.id,
                Feedback.visibility == Visibility.PUBLIC,
                Feedback.redacted_at.is_(None),
            )
        ).order_by(Feedback.id)
    ).all()
    now = _now()
    for item in items:
        item.redacted_at = now
        events.emit(events.ItemRedacted(item, author, reason))
    comments = db.session.scalars(
        sa.select(Comment)
        .where(
            Comment.author_id == author.id,
            Comment.official.is_(False),
            Comment.internal.is_(False),
            Comment.hidden.is_(False),
        )
        .order_by(Comment.id)
    ).all()
    for comment in comments:
        _count_out(comment)
        comment.hidden = True
        events.emit(events.CommentHidden(comment, author, reason))
    db.session.flush()
    return len(items) + len(comments)


def approve(item_id: int, actor: User) -> Feedback:
    """Pre-moderation: let a waiting public item onto the board."""
    _require_staff(actor)
    item = _item_for_change(item_id)
    item.awaiting_review = False
    events.emit(events.ItemApproved(item, actor))
    db.session.flush()
    return item


# The customer's side of "Did this fix it?" -------------------------------------------------


def _resolved_item_of(item_id: int, person: User) -> tuple[Feedback, MergedVoice | None]:
    """The resolved item, and the person's merged voice when they are not its author: the
    author and everyone whose voice was merged into it are asked "Did this fix it?"."""
    item = get_visible_item(item_id, person, for_change=True)
    voice = None
    if person.id != item.author_id:
        voice = merged_voice(item.id, person)
        if voice is None:
            raise NotAllowed(
                t(
                    "Only the person who raised this, or someone whose report was merged into "
                    "it, can answer that."
                )
            )
    if item.state is not S.RESOLVED:
        raise InvalidTransition(t("This item is not marked as done."))
    return item, voice


def _merged_voices_waiting(item_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(MergedVoice.id)
            .where(MergedVoice.feedback_id == item_id, MergedVoice.reopen_requested_at.is_not(None))
            .limit(1)
        )
        is not None
    )


class FixAnswer(StrEnum):
    """Where a person is with "Did this fix it?" on a resolved item."""

    UNANSWERED = "unanswered"
    FIXED = "fixed"
    NOT_YET = "not_yet"


def fix_answer(item: Feedback, person: User | None) -> FixAnswer | None:
    """This person's answer to "Did this fix it?" on the item, or None when they are not
    asked: it is not resolved, or they are neither its author nor a voice merged into it."""
    if item.state is not S.RESOLVED or person is None or not person.is_authenticated:
        return None
    if person.id == item.author_id:
        if item.fix_confirmed_at is not None:
            return FixAnswer.FIXED
        # The item's reopen request may be someone else's (a voice merged into it): the
        # author's own "not yet" is theirs on its timeline, since it was resolved.
        asked_again = item.reopen_requested_at is not None and db.session.scalar(
            sa.select(TimelineEvent.id)
            .where(
                TimelineEvent.feedback_id == item.id,
                TimelineEvent.kind == TimelineKind.REOPEN_REQUESTED,
                TimelineEvent.actor_id == person.id,
                TimelineEvent.created_at >= (item.resolved_at or item.created_at),
            )
            .limit(1)
        )
        return FixAnswer.NOT_YET if asked_again else FixAnswer.UNANSWERED
    voice = merged_voice(item.id, person)
    if voice is None:
        return None
    if voice.fix_confirmed_at is not None:
        return FixAnswer.FIXED
    return FixAnswer.NOT_YET if voice.reopen_requested_at else FixAnswer.UNANSWERED


def confirm_fixed(item_id: int, person: User) -> Feedback:
    """The author, or someone whose voice was merged into the item, says the resolution fixed
    it. Someone else's "not yet" still stands in triage."""
    item, voice = _resolved_item_of(item_id, person)
    if voice is not None:
        voice.fix_confirmed_at = _now()
        voice.reopen_requested_at = None
    else:
        item.fix_confirmed_at = _now()
        if not _merged_voices_waiting(item.id):
            item.reopen_requested_at = None
    db.session.flush()
    return item


def request_reopen(
    item_id: int, person: User, comment: str, *, post_anyway: bool = False
) -> Comment:
    """The author, or someone whose voice was merged into the item, says "not yet": their
    comment goes on the item and the owner sees a reopen request in triage. Only staff
    reopen. On a public item the comment is public: the guard for personal details reads it
    first."""
    item, voice = _resolved_item_of(item_id, person)
    comment = _require_text(comment, t("Please tell us what is still not right."))
    if item.visibility is Visibility.PUBLIC:
        personal_details.check_public_words(
            {"body": comment}, post_anyway=post_anyway, may_make_private=False
        )
    note = Comment(
        feedback_id=item.id,
        author_id=person.id,
        body_source=comment,
        body_html=render_markdown(comment),
    )
    db.session.add(note)
    item.comment_count = Feedback.comment_count + 1
    item.reopen_requested_at = _now()
    if voice is not None:
        voice.reopen_requested_at = item.reopen_requested_at
        voice.fix_confirmed_at = None
    else:
        item.fix_confirmed_at = None
    db.session.flush()
    events.emit(events.ReopenRequested(item, person, comment))
    return note
