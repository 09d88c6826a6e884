"""Staff take feedback for a customer: what a customer said by phone, in a chat, in person, on
social media or by email, recorded in the admin pages as theirs.

The customer is found by their email address (any case), or made a contact as email intake
and the API make them (customer_for_email). They are the author of the item staff record, get
its receipt (with the link to claim their account when it was made for them) and follow it as
if they had written it; a "me too" recorded for them is their own vote, once. Each recording
keeps who took it down and how (StaffRecording), which the staff view of the timeline and
insights show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.database import insert_if_absent
from portal.extensions import db
from portal.models import (
    STAFF_CHANNELS,
    ApiToken,
    Attachment,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    RecordedKind,
    StaffRecording,
    TimelineEvent,
    User,
    Visibility,
)
from portal.models.base import utcnow
from portal.services import attachments, events
from portal.services.accounts import find_user_by_email, has_usable_password, normalise_email
from portal.services.api import AccountUnavailable, customer_for_email
from portal.services.errors import DomainError, NotAllowed
from portal.services.feedback import get_visible_item, has_voted, item_timeline, submit_feedback
from portal.services.visibility import can_view
from portal.services.votes import (
    CLOSED_FOR_VOTES,
    ClosedForVotes,
    closed_for_votes_message,
    set_vote,
)
from portal.services.wording import Text, t
from portal.validation import clean_name


class CustomerNeeded(DomainError):
    """The address given is no customer's that staff may record for, or names nobody yet and
    comes without a name. `about` names what to fix: "email" or "name"."""

    status_code = 422

    def __init__(self, message: str | Text, about: str = "email") -> None:
        super().__init__(message)
        self.about = about


class StaffAddress(NotAllowed):
    """The address given is a member of staff's: staff record feedback for customers only."""


class AlreadySaidMeToo(DomainError):
    """The customer's "me too" is on the item already: one per person."""

    status_code = 409


@dataclass(frozen=True)
class Recorded:
    """What staff recorded: the item, its customer, and whether their contact was made now."""

    item: Feedback
    customer: User
    customer_created: bool


def staff_channel(channel: FeedbackChannel | str) -> FeedbackChannel:
    """The channel a customer told staff through (or "staff", when the API does not say how);
    refused unless staff may record it."""
    try:
        chosen = FeedbackChannel(channel)
    except ValueError:
        chosen = None
    if chosen is None or (chosen not in STAFF_CHANNELS and chosen is not FeedbackChannel.STAFF):
        raise DomainError(
            t(
                "Please say how the customer told you: by phone, chat, in person, social media "
                "or email."
            )
        )
    return chosen


def _require_staff(actor: User) -> None:
    if not (actor.is_active and actor.is_staff):
        raise NotAllowed(t("Only staff record feedback for a customer."))


def _clean_email(email: str) -> str:
    email = normalise_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise CustomerNeeded(
            t("Please give the customer's email address, such as name@example.com.")
        )
    return email


def _existing_customer(email: str) -> User | None:
    """The customer with this address (any case), or None; refused for staff and for an account
    that cannot act."""
    user = find_user_by_email(email)
    if user is None:
        return None
    if user.is_staff:
        raise StaffAddress(
            t("That address is a member of staff's: record feedback for customers only.")
        )
    if not user.is_active:
        raise CustomerNeeded(t("That customer's account is deactivated."))
    return user


def _customer(email: str, name: str) -> tuple[User, bool]:
    """The customer with this address, or a new contact with this name (as email intake and
    the API make them)."""
    found = _existing_customer(email)
    if found is not None:
        return found, False
    if not clean_name(name):
        raise CustomerNeeded(
            t("No customer has that address yet: give their name, and they become a contact."),
            about="name",
        )
    try:
        return customer_for_email(email, name[:80])
    except AccountUnavailable as exc:  # deactivated between the two reads
        raise CustomerNeeded(exc.message) from exc


def record_for_customer(
    staff: User,
    *,
    email: str,
    name: str = "",
    channel: FeedbackChannel | str,
    kind: FeedbackKind | str,
    category_id: int,
    title: str,
    body: str,
    visibility: Visibility | str,
    language: str | None = None,
    written_in: str | None = None,
    images: Sequence[str] = (),
    files: Sequence[tuple[bytes, str]] = (),
    post_anyway: bool = False,
    token: ApiToken | None = None,
) -> Recorded:
    """Record a new item for the customer with this email (found, or made a contact with
    `name`), heard through `channel`: the customer is its author, as if they had written it
    (submit_feedback's rules, the guard for personal details among them; `post_anyway` as its
    "Post it publicly as it is"), and gets its receipt. The images that go with it are the
    customer's: `images`, the public ids of the staff member's own waiting uploads (the
    page's), handed over to the customer; `files`, (bytes, alt text) each, kept as the
    customer's (the API's; a refused one refuses it all). `token`:
    the API token that asked, when staff record through the API (its audit entry names it)."""
    _require_staff(staff)
    chosen = staff_channel(channel)
    customer, created = _customer(_clean_email(email), name)
    uploaded = _hand_over(staff, customer, images) + attachments.upload_images(customer, files)
    item = submit_feedback(
        customer,
        kind=kind,
        category_id=category_id,
        title=title,
        body=body,
        visibility=visibility,
        channel=chosen,
        # The receipt follows ItemRecordedForCustomer: it says who took it down, and how.
        send_receipt=False,
        language=language,
        written_in=written_in,
        images=uploaded,
        post_anyway=post_anyway,
    )
    db.session.add(
        StaffRecording(
            feedback_id=item.id,
            customer_id=customer.id,
            recorded_by_id=staff.id,
            kind=RecordedKind.ITEM,
            channel=chosen,
            created_at=item.created_at,
        )
    )
    if created:
        events.emit(events.CustomerCreatedByStaff(customer, staff))
    if token is not None:
        events.emit(events.ItemSubmittedViaApi(item, token))
    events.emit(
        events.ItemRecordedForCustomer(
            item, customer, staff, chosen, created, claim_link=not has_usable_password(customer)
        )
    )
    db.session.flush()
    return Recorded(item=item, customer=customer, customer_created=created)


def _hand_over(staff: User, customer: User, public_ids: Sequence[str]) -> list[str]:
    """Make the staff member's waiting uploads the customer's, so they go with the customer's
    item as if the customer had sent them (submit_feedback attaches only its author's);
    their public ids. One that is not the staff member's own, or no longer waiting, stays as
    it is, and attaching it is refused."""
    wanted = list(dict.fromkeys(public_ids))
    if wanted:
        db.session.execute(
            sa.update(Attachment)
            .where(
                Attachment.public_id.in_(wanted),
                Attachment.uploader_id == staff.id,
                Attachment.feedback_id.is_(None),
                Attachment.removed_at.is_(None),
            )
            .values(uploader_id=customer.id)
            .execution_options(synchronize_session="fetch")
        )
    return wanted


def me_too_for_customer(
    staff: User,
    item_id: int,
    *,
    email: str,
    name: str = "",
    channel: FeedbackChannel | str,
) -> Recorded:
    """Record the "me too" of the customer with this email (found, or made a contact with
    `name`) on an item, heard through `channel`: their vote, and their follow. Once per
    person: a second time is refused, saying they have already."""
    _require_staff(staff)
    chosen = staff_channel(channel)
    email = _clean_email(email)
    item = get_visible_item(item_id, staff, with_people=False)
    if item.state in CLOSED_FOR_VOTES:
        raise ClosedForVotes(closed_for_votes_message(item.state, item.resolved_at))
    found = _existing_customer(email)
    if found is not None and has_voted(found, item.id):
        raise AlreadySaidMeToo(
            t("%(name)s has already said \u201cme too\u201d to this item.", name=found.display_name)
        )
    # Checked before any contact is made: a customer who may not see the item cannot vote on it.
    if item.visibility is Visibility.PRIVATE and (found is None or found.id != item.author_id):
        raise CustomerNeeded(
            t(
                "This item is private: only its author can see it, so nobody else can say "
                "\u201cme too\u201d to it."
            )
        )
    if found is not None and not can_view(item, found):
        raise CustomerNeeded(
            t("That customer cannot see this item, so cannot say \u201cme too\u201d to it.")
        )
    customer, created = (found, False) if found is not None else _customer(email, name)
    if created:
        events.emit(events.CustomerCreatedByStaff(customer, staff))
    result = set_vote(customer, item.id, want=True)
    recorded = {"recorded_by_id": staff.id, "channel": chosen.value, "created_at": utcnow()}
    key = {"feedback_id": item.id, "customer_id": customer.id, "kind": RecordedKind.ME_TOO.value}
    if not insert_if_absent(db.session, StaffRecording, **key, **recorded):
        # Recorded before, and the vote taken back since (or another member of staff recording
        # the same voice this moment): the latest recording is the one that stands.
        db.session.execute(
            sa.update(StaffRecording)
            .where(*(getattr(StaffRecording, name) == value for name, value in key.items()))
            .values(**recorded)
            .execution_options(synchronize_session=False)
        )
    events.emit(events.MeTooRecordedForCustomer(result.item, customer, staff, chosen, created))
    return Recorded(item=result.item, customer=customer, customer_created=created)


# Reading --------------------------------------------------------------------------------------


def recordings(item: Feedback) -> list[StaffRecording]:
    """What staff recorded on the item, oldest first, with the customer and who recorded it."""
    return list(
        db.session.scalars(
            sa.select(StaffRecording)
            .where(StaffRecording.feedback_id == item.id)
            .options(joinedload(StaffRecording.customer), joinedload(StaffRecording.recorded_by))
            .order_by(StaffRecording.created_at, StaffRecording.id)
        )
    )


def _when(step: TimelineEvent | StaffRecording) -> tuple[datetime, int]:
    # The item's own recording sits right after its "received" step (dated the same).
    return step.created_at, 1 if isinstance(step, StaffRecording) else 0


def staff_timeline(item: Feedback) -> list[TimelineEvent | StaffRecording]:
    """The item's timeline as staff see it: its public steps, and what staff recorded for
    customers (who, who took it down, and how), oldest first."""
    steps: list[TimelineEvent | StaffRecording] = [*item_timeline(item), *recordings(item)]
    return sorted(steps, key=_when)
