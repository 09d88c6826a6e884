"""Domain events: a command emits one when it has changed something, and what follows the
change (timeline, audit, emails, webhooks, caches) subscribes to it, so adding a consumer
touches no command.

Consumers connected with `on()` run inside the command's transaction: what they write commits
or rolls back with the change. Work that must wait for the commit (waking a deliverer,
clearing a cache another request could fill again with old data) is registered with
`after_commit()` and dropped if the transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSet, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from blinker import Signal
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, scoped_session

if TYPE_CHECKING:
    from portal.models import (
        ApiToken,
        Attachment,
        Category,
        ChatChannel,
        Comment,
        Feedback,
        FeedbackChannel,
        FeedbackState,
        Identity,
        IdentityProvider,
        Invitation,
        Resolution,
        Role,
        SignalKind,
        SiteSettings,
        SsoSettings,
        User,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from portal.services.wording import Text

E = TypeVar("E")

AFTER_COMMIT_KEY = "portal.after_commit"


class _InsertionOrdered(MutableSet[Any]):
    """A set that iterates in the order things were added (blinker's own is unordered)."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._values = dict.fromkeys(values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: Any) -> None:
        self._values[value] = None

    def discard(self, value: Any) -> None:
        self._values.pop(value, None)

    def copy(self) -> _InsertionOrdered:
        return _InsertionOrdered(self._values)


class _OrderedSignal(Signal):
    # Consumers run in the order they were connected (consumers.py lists them in that order):
    # the timeline and audit before emails, and followers told before they move on a merge.
    set_class = _InsertionOrdered  # type: ignore[assignment]


_signals: dict[type[Any], _OrderedSignal] = {}


def _signal_for(event_type: type[Any]) -> _OrderedSignal:
    return _signals.setdefault(event_type, _OrderedSignal())


def emit(event: object) -> None:
    """Tell every consumer of this kind of event, in the current transaction."""
    _signal_for(type(event)).send(event)


def on(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Subscribe a consumer to one kind of event (kept for the life of the process)."""

    def connect(consumer: Callable[[E], None]) -> Callable[[E], None]:
        _signal_for(event_type).connect(_receiver(consumer), weak=False)
        return consumer

    return connect


def _receiver(consumer: Callable[[E], None]) -> Callable[[E], None]:
    # blinker calls receivers with the sender (the event) positionally and no keywords.
    def receive(sender: E, **_: Any) -> None:
        consumer(sender)

    receive.__name__ = receive.__qualname__ = consumer.__qualname__
    return receive


def after_commit(session: Session | scoped_session[Session], callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed; never if it rolls back."""
    plain = session() if isinstance(session, scoped_session) else session
    if not plain.in_transaction():
        plain.begin()  # so a rollback before anything is written drops it too
    plain.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(AFTER_COMMIT_KEY, []):
        callback()


def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(AFTER_COMMIT_KEY, None)


if not sa_event.contains(Session, "after_commit", _run_after_commit):
    sa_event.listen(Session, "after_commit", _run_after_commit)
    sa_event.listen(Session, "after_soft_rollback", _drop_after_commit)


# The events ---------------------------------------------------------------------------------
# Each carries what its consumers need, as loaded by the command that emits it. Consumers are
# wired in portal/services/consumers.py, in the order they run.


@dataclass(frozen=True)
class ItemSubmitted:
    """A customer (or staff for them, or email intake) recorded a new item."""

    item: Feedback
    author: User
    send_receipt: bool


@dataclass(frozen=True)
class StateChanged:
    """An item moved from one state to another, with its public message."""

    item: Feedback
    actor: User
    from_state: FeedbackState
    to_state: FeedbackState
    message: str
    # False when the command tells followers itself in a fuller way (a merge, a resolution).
    tell_followers: bool = True


@dataclass(frozen=True)
class OwnerChanged:
    """Someone else looks after an item now."""

    item: Feedback
    actor: User
    previous_owner_id: int | None
    owner: User
    reason: str


@dataclass(frozen=True)
class PromiseMade:
    """A date was promised, or a promised date moved (previous_date is set then)."""

    item: Feedback
    actor: User
    new_date: date
    previous_date: date | None
    reason: str
    # Planning promises the date with its move to Planned, whose message told followers.
    by_planning: bool = False
    # What is promised by the date, in one line ("a replacement with you"); empty only for a
    # promise made before outcomes were asked for.
    outcome: str = ""
    previous_outcome: str = ""


@dataclass(frozen=True)
class PromiseOnMerge:
    """What became of a duplicate's promised date when it was merged: kept on the target (the
    earlier date wins) or changed, with the reason its people are told."""

    promised: date | None  # the date the duplicate carried; None: nothing was promised
    kept: bool
    target_date: date | None  # the date the target carries after the merge
    reason: str = ""  # why it changes (empty when kept)


@dataclass(frozen=True)
class ItemMerged:
    """A duplicate was merged into its target; its people follow the target from now on, and
    are told who looks after it, where it stands and what became of their promise."""

    item: Feedback
    target: Feedback
    actor: User
    message: str
    promise: PromiseOnMerge


@dataclass(frozen=True)
class ResolutionPublished:
    """One "we did" answered these items."""

    resolution: Resolution
    items: Sequence[Feedback]
    actor: User
    we_did: str
    message: str


@dataclass(frozen=True)
class ResolutionEdited:
    """A published resolution's words were changed (the old words go to the audit)."""

    resolution: Resolution
    actor: User
    old_you_said: str
    old_we_did: str


@dataclass(frozen=True)
class ReplyPosted:
    """Staff answered publicly on an item."""

    item: Feedback
    comment: Comment
    actor: User


@dataclass(frozen=True)
class NoteAdded:
    """Staff wrote an internal note."""

    item: Feedback
    comment: Comment
    actor: User


@dataclass(frozen=True)
class ItemHiddenChanged:
    """Staff hid an item from everyone but staff, or showed it again."""

    item: Feedback
    actor: User
    hidden: bool
    reason: str


@dataclass(frozen=True)
class ItemRedacted:
    """Staff removed an item's words from public view (they stay in the audit)."""

    item: Feedback
    actor: User
    reason: str


@dataclass(frozen=True)
class CommentHidden:
    """Staff hid a comment."""

    comment: Comment
    actor: User
    reason: str


@dataclass(frozen=True)
class ItemApproved:
    """Pre-moderation: staff let a waiting item onto the board."""

    item: Feedback
    actor: User


@dataclass(frozen=True)
class ReopenRequested:
    """The author says a resolved item is not fixed yet."""

    item: Feedback
    author: User
    comment: str


@dataclass(frozen=True)
class ItemSignalled:
    """A customer said "This still happens to me" of a Done item or "I still want this" of a
    Not planned one (said=True), or took it back; count is how many say it now."""

    item: Feedback
    user: User
    kind: SignalKind
    said: bool
    count: int


@dataclass(frozen=True)
class CommentAdded:
    """A customer commented publicly on an item."""

    item: Feedback
    comment: Comment
    author: User


@dataclass(frozen=True)
class ItemEdited:
    """The author changed their item's title or text before staff answered (the words before
    are a TextVersion)."""

    item: Feedback
    author: User
    previous_title: str


@dataclass(frozen=True)
class CommentEdited:
    """The author changed their comment before staff answered it."""

    item: Feedback
    comment: Comment
    author: User


@dataclass(frozen=True)
class VoteChanged:
    """A person said "me too" to an item, or took it back."""

    item: Feedback
    voter: User
    voted: bool
    vote_count: int


@dataclass(frozen=True)
class ImagesAttached:
    """Someone attached images to their item, or to their comment, reply or note on it."""

    item: Feedback
    comment: Comment | None
    attachments: Sequence[Attachment]
    actor: User


@dataclass(frozen=True)
class AttachmentRemoved:
    """Staff removed an attached image from view (it stays stored, for staff and the record)."""

    attachment: Attachment
    actor: User
    reason: str


# Accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminCreated:
    """The operator made a new admin account at the server's console (`flask create-admin`)."""

    user: User


@dataclass(frozen=True)
class MadeAdmin:
    """The operator made an existing account an admin at the server's console."""

    user: User
    previous_role: Role


@dataclass(frozen=True)
class AccountDeleted:
    """A person deleted their account: the row is anonymised, and what is theirs alone (their
    uploaded files) goes with it."""

    user: User


@dataclass(frozen=True)
class SignedInWithSso:
    """A customer signed in with a token from the organisation's own site (their account made
    now when `created`; moved from `old_email` when the organisation gave a new address; the
    customer-value columns named in `attributes` set from the token)."""

    user: User
    created: bool
    old_email: str | None = None
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignedInWithProvider:
    """Someone signed in through an identity provider (OpenID Connect or GitHub); their
    account made now when `created`."""

    user: User
    provider_key: str
    created: bool


@dataclass(frozen=True)
class IdentityLinked:
    """An identity at a provider (issuer + subject) was linked to an account: at its first
    sign-in, or after a member of staff confirmed it (`confirmed_with`: "password")."""

    user: User
    identity: Identity
    confirmed_with: str | None = None


@dataclass(frozen=True)
class IdentityRemoved:
    """A person removed one of their linked identities from their account page."""

    user: User
    provider_key: str
    issuer: str
    subject: str


@dataclass(frozen=True)
class SsoConfigured:
    """An admin turned single sign-on on, or changed its algorithm, key or audience."""

    settings: SsoSettings
    actor: User


@dataclass(frozen=True)
class ClaimLinkRequested:
    """Someone asked for a password for an account made on a customer's behalf (by registering
    with its address, or asking for a reset): the address is to get a "set your password"
    link."""

    user: User


@dataclass(frozen=True)
class RegistrationRequested:
    """Someone asked to register an address that has no account: the address is to get the
    link that finishes it (the token carries what they typed)."""

    email: str
    preferred_name: str
    token: str


@dataclass(frozen=True)
class RegistrationOfKnownAddress:
    """Someone tried to register the address of an account that has a password: its holder
    is told, with links to sign in or choose a new password."""

    user: User


@dataclass(frozen=True)
class PasswordResetRequested:
    """Someone asked to choose a new password for an account we may email."""

    user: User


@dataclass(frozen=True)
class SignInLinkRequested:
    """Someone asked for a link that signs an account in: its address is to get one."""

    user: User
    token: str


@dataclass(frozen=True)
class EmailChangeRequested:
    """An account's holder asked to move it to a new address: that address is to get the
    link that confirms it."""

    user: User
    new_email: str
    token: str


@dataclass(frozen=True)
class EmailChanged:
    """An account moved to a new address (confirmed from it): the old address is told, and
    the change is audited."""

    user: User
    old_email: str


# Admin ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySaved:
    """An admin created a category, or changed one, with these values."""

    category: Category
    actor: User
    created: bool
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class UserUpdated:
    """An admin set someone's role and whether their account is active (the user holds the new
    values)."""

    user: User
    actor: User
    previous_role: Role
    was_active: bool


@dataclass(frozen=True)
class CustomerValueChanged:
    """A customer's plan, monthly value or segment changed (the user holds the new values):
    set by an admin (actor), through the API (token), or by single sign-on's claims."""

    customer: User
    actor: User | None
    before: Mapping[str, Any]
    via: str  # "admin", "api" or "sso"
    token: ApiToken | None = None


@dataclass(frozen=True)
class SettingsUpdated:
    """An admin changed the site's settings to these values."""

    settings: SiteSettings
    actor: User
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class FirstCategoryAdded:
    """`flask create-admin` found no category and added one ("General") for admins to rename."""

    category: Category


@dataclass(frozen=True)
class GetStartedDismissed:
    """An admin put the "Get started" checklist away before every step was done."""

    settings: SiteSettings
    actor: User


@dataclass(frozen=True)
class InvitationSent:
    """An admin invited someone to join the staff, or sent an invitation again. The token is
    the emailed link's (never stored: the invitation keeps a hash of its secret)."""

    invitation: Invitation
    actor: User
    token: str
    again: bool


@dataclass(frozen=True)
class InvitationRevoked:
    """An admin withdrew an invitation: its link no longer works."""

    invitation: Invitation
    actor: User


@dataclass(frozen=True)
class InvitationAccepted:
    """Someone followed an invitation's link and accepted it: their account was made with the
    invited role (created), or an existing account got it."""

    invitation: Invitation
    user: User
    created: bool
    previous_role: Role | None


@dataclass(frozen=True)
class ApiTokenCreated:
    """An admin created an API token (the event never holds its plain text)."""

    token: ApiToken
    actor: User


@dataclass(frozen=True)
class ApiTokenRevoked:
    """An admin revoked an API token."""

    token: ApiToken
    actor: User


@dataclass(frozen=True)
class WebhookEndpointCreated:
    """An admin registered a webhook receiver."""

    endpoint: WebhookEndpoint
    actor: User


@dataclass(frozen=True)
class WebhookEndpointActiveChanged:
    """An admin paused a webhook receiver, or resumed it."""

    endpoint: WebhookEndpoint
    actor: User
    active: bool


@dataclass(frozen=True)
class WebhookEndpointChanged:
    """An admin changed a receiver's events or description (the endpoint holds the new ones)."""

    endpoint: WebhookEndpoint
    actor: User
    events_before: Sequence[str]
    description_before: str


@dataclass(frozen=True)
class WebhookSecretRotated:
    """An admin gave a receiver a new signing secret (the event never holds it)."""

    endpoint: WebhookEndpoint
    actor: User


@dataclass(frozen=True)
class WebhookEndpointDeleted:
    """An admin removed a receiver; its undelivered deliveries were given up."""

    endpoint: WebhookEndpoint
    actor: User


@dataclass(frozen=True)
class WebhookPinged:
    """An admin queued a test delivery to a receiver."""

    endpoint: WebhookEndpoint
    actor: User
    delivery: WebhookDelivery


@dataclass(frozen=True)
class WebhookDeliverySentAgain:
    """An admin queued a given-up delivery for a fresh round of attempts."""

    endpoint: WebhookEndpoint
    actor: User
    delivery_id: int


@dataclass(frozen=True)
class ChatChannelChanged:
    """An admin added, changed, tested or removed a chat channel (action: chat.created,
    chat.changed, chat.tested, chat.deleted), with what the audit keeps of it (never its URL)."""

    channel: ChatChannel
    actor: User
    action: str
    details: Mapping[str, Any]


# The API: changes asked for with a token -----------------------------------------------------
# Each follows the event of the command the API called (ItemSubmitted, StateChanged...) and
# says which token asked.


@dataclass(frozen=True)
class CustomerCreatedViaApi:
    """A customer's account was made for them by an API request."""

    customer: User
    token: ApiToken


@dataclass(frozen=True)
class ItemSubmittedViaApi:
    """An API request submitted an item for a customer."""

    item: Feedback
    token: ApiToken


@dataclass(frozen=True)
class ItemMovedViaApi:
    """An API request moved an item as a member of staff."""

    item: Feedback
    actor: User
    to_state: FeedbackState
    token: ApiToken


@dataclass(frozen=True)
class ReplyPostedViaApi:
    """An API request replied on an item as a member of staff; no reply comment when the reply
    was the acknowledgement of a Received item."""

    item_id: int
    actor: User
    reply: Comment | None
    token: ApiToken


# Email intake: changes made from a customer's email ------------------------------------------


@dataclass(frozen=True)
class CustomerCreatedByEmail:
    """A customer's account was made for them from the email they sent."""

    customer: User


@dataclass(frozen=True)
class FileRefused:
    """A file that came by email and was not kept: the name its sender gave it, and why."""

    name: str
    reason: Text


@dataclass(frozen=True)
class FilesByEmail:
    """What became of an email's files, for its receipt: images kept on the item, files
    refused with a reason, other kinds of file, and images past the most an item takes."""

    images_kept: int = 0
    refused: tuple[FileRefused, ...] = ()
    other_files: int = 0
    over_limit: int = 0


@dataclass(frozen=True)
class ItemReceivedByEmail:
    """An email became a new item (after its ItemSubmitted); the sender is answered by a reply
    to their message."""

    item: Feedback
    author: User
    in_reply_to: str
    attachments_refused: int
    files: FilesByEmail = FilesByEmail()


@dataclass(frozen=True)
class CommentReceivedByEmail:
    """A reply by email became a comment on the item it answered (after its CommentAdded)."""

    comment: Comment


# Staff record for a customer: feedback heard by phone, chat, in person, social media or email --


@dataclass(frozen=True)
class CustomerCreatedByStaff:
    """A contact was made for a customer whose feedback staff recorded."""

    customer: User
    recorded_by: User


@dataclass(frozen=True)
class ItemRecordedForCustomer:
    """Staff recorded a new item for a customer (after its ItemSubmitted, which sent no
    receipt): the customer is its author and gets the receipt, with a link to claim their
    account when it was made for them."""

    item: Feedback
    customer: User
    recorded_by: User
    channel: FeedbackChannel
    customer_created: bool
    # The account was made for them and has no password yet: the receipt says how to claim it.
    claim_link: bool = False


@dataclass(frozen=True)
class MeTooRecordedForCustomer:
    """Staff recorded a customer's "me too" on an item (after its VoteChanged)."""

    item: Feedback
    customer: User
    recorded_by: User
    channel: FeedbackChannel
    customer_created: bool


# Sign-in: identity providers set up in the admin pages, and the site's sign-in policy.


@dataclass(frozen=True)
class IdentityProviderSaved:
    """An admin added an identity provider, or changed one; `changes` holds each changed
    field's value (the client secret only as whether it changed: it is never recorded)."""

    provider: IdentityProvider
    actor: User
    created: bool
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class IdentityProviderEnabledChanged:
    """An admin disabled an identity provider (nobody signs in through it), or enabled it."""

    provider: IdentityProvider
    actor: User
    enabled: bool


@dataclass(frozen=True)
class SignInPolicyChanged:
    """The sign-in policy changed (by an admin, or at the server's console when `actor` is
    None): the settings hold the new policy, `before` the old one."""

    settings: SiteSettings
    actor: User | None
    before: Mapping[str, Any]
