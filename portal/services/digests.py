"""The email digest of resolutions: double opt-in subscriptions, one-click opt-out, and runs
that mail each confirmed subscriber a period's "you said, we did" exactly once."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from babel import UnknownLocaleError
from babel.dates import format_skeleton
from sqlalchemy.exc import IntegrityError

from portal.database import rows_changed, sqlite_write_intent
from portal.extensions import db
from portal.models import (
    Category,
    DigestDelivery,
    DigestFrequency,
    DigestRun,
    DigestSubscription,
    OutboxMessage,
    Resolution,
    Unsubscribe,
    User,
    digest_subscription_categories,
    resolution_categories,
)
from portal.services import environment, outbox
from portal.services.accounts import normalise_email
from portal.services.environment import RenderedEmail
from portal.services.errors import DomainError, NotFound
from portal.services.item_data import you_said_shown
from portal.services.notifications import content_language, offered_language, recipient_language
from portal.services.outbox import queue_email
from portal.services.resolutions import withheld_titles_by_resolution
from portal.services.tokens import (
    digest_change_token_matches,
    make_digest_change_token,
    make_digest_subscription_token,
    read_digest_change_token,
    read_digest_subscription_token,
)
from portal.services.wording import Text, t, tn

# Stands in for each subscriber's own unsubscribe link while a digest body is shared between
# everyone who gets the same resolutions: rendered once per selection, not once per person.
_UNSUBSCRIBE_PLACEHOLDER = "__digest-unsubscribe-url__"
# And for the link to each subscriber's own subscription page ("Change how often ...").
_SUBSCRIPTION_PLACEHOLDER = "__digest-subscription-url__"
# How many different selections of resolutions keep their rendered body at a time.
_RENDER_CACHE_SIZE = 64


def _now() -> datetime:
    return datetime.now(UTC)


def _new_token() -> str:
    return secrets.token_urlsafe(32)


# Subscribing ------------------------------------------------------------------------------


class SubscribeOutcome(StrEnum):
    """What a subscribe request did."""

    CONFIRMATION_SENT = "confirmation_sent"  # a new (or renewed) opt-in waits for the link
    UPDATED = "updated"  # already confirmed, changed by its signed-in, verified owner
    UNCHANGED = "unchanged"  # already confirmed, and its owner chose what it already has
    CHANGE_CONFIRMATION_SENT = "change_confirmation_sent"  # the change waits for the link


@dataclass(frozen=True)
class SubscribeResult:
    """The subscription and what happened to it."""

    subscription: DigestSubscription
    outcome: SubscribeOutcome


def find_subscription(email: str) -> DigestSubscription | None:
    """The subscription for an address, whatever its case."""
    return db.session.scalar(
        sa.select(DigestSubscription).where(
            sa.func.lower(DigestSubscription.email) == normalise_email(email)
        )
    )


def subscription_category_ids(subscription_id: int) -> list[int]:
    """The categories a subscription is limited to (empty: every category)."""
    column = digest_subscription_categories.c
    return list(
        db.session.scalars(
            sa.select(column.category_id)
            .where(column.subscription_id == subscription_id)
            .order_by(column.category_id)
        )
    )


def _checked_category_ids(category_ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(category_ids))
    if not wanted:
        return []
    known = set(db.session.scalars(sa.select(Category.id).where(Category.id.in_(wanted))))
    if known != set(wanted):
        raise DomainError(t("One of those categories no longer exists. Please choose again."))
    return wanted


def _set_categories(subscription_id: int, category_ids: list[int]) -> None:
    table = digest_subscription_categories
    db.session.execute(sa.delete(table).where(table.c.subscription_id == subscription_id))
    if category_ids:
        db.session.execute(
            sa.insert(table),
            [{"subscription_id": subscription_id, "category_id": c} for c in category_ids],
        )


def _is_active(subscription: DigestSubscription) -> bool:
    return subscription.confirmed_at is not None and subscription.unsubscribed_at is None


def _owns_address(user: User | None, address: str) -> bool:
    # Signed in with this very address, and the address proven: registering with an address
    # is not owning it until the verification link is followed.
    return (
        user is not None and user.verified_at is not None and normalise_email(user.email) == address
    )


def subscribe(
    email: str,
    frequency: DigestFrequency | str,
    category_ids: Iterable[int],
    user: User | None = None,
    language: str | None = None,
) -> SubscribeResult:
    """Ask for the digest: a new or lapsed address gets a confirmation link (double opt-in).
    A confirmed address changes its preferences at once only for its signed-in, verified
    owner; anyone else who types it gets a link sent to it, and nothing changes until that
    link is followed. `language`: the one the digest is written in (an offered one; the
    subscription keeps its own, or the site's default, otherwise); for someone not known to
    own the address, the change link carries it with the other choices."""
    address = normalise_email(email)
    language = offered_language(language)
    if not address or "@" not in address or len(address) > 254:
        raise DomainError(t("Please enter a valid email address."))
    try:
        frequency = DigestFrequency(frequency)
    except ValueError as exc:
        raise DomainError(t("Please choose weekly or monthly.")) from exc
    categories = _checked_category_ids(category_ids)
    # A signed-in person is linked only to their own address, never to one they typed.
    owner_id = user.id if user is not None and normalise_email(user.email) == address else None

    subscription = find_subscription(address)
    created = False
    if subscription is not None and _is_active(subscription):
        if not _owns_address(user, address):
            # Knowing an address is not owning it: its owner confirms by email.
            send_change_confirmation(subscription, frequency, categories, language)
            return SubscribeResult(subscription, SubscribeOutcome.CHANGE_CONFIRMATION_SENT)
        subscription.user_id = owner_id
        language = language or subscription.language
        if (
            subscription.frequency,
            subscription_category_ids(subscription.id),
            subscription.language,
        ) == (frequency, categories, language):
            db.session.flush()
            return SubscribeResult(subscription, SubscribeOutcome.UNCHANGED)
        subscription.language = language
        _apply_preferences(subscription, frequency, categories)
        return SubscribeResult(subscription, SubscribeOutcome.UPDATED)
    if subscription is None:
        try:
            with db.session.begin_nested():
                subscription = DigestSubscription(
                    email=address,
                    user_id=owner_id,
                    frequency=frequency,
                    language=language,
                    confirm_token=_new_token(),
                    unsubscribe_token=_new_token(),
                )
                db.session.add(subscription)
                db.session.flush()
            created = True
        except IntegrityError:
            # The same address was subscribed by a request that committed first.
            subscription = find_subscription(address)
            if subscription is None:
                raise
    if owner_id is not None:
        subscription.user_id = owner_id
    if _is_active(subscription):
        # Confirmed by a request that committed between the read above and now: the same
        # rule as above, without changing anything.
        send_change_confirmation(subscription, frequency, categories, language)
        return SubscribeResult(subscription, SubscribeOutcome.CHANGE_CONFIRMATION_SENT)
    # Not confirmed (yet, or any more): the confirmation link about to go out states these
    # choices, so the address's owner sees what they agree to.
    subscription.frequency = frequency
    subscription.language = language or subscription.language
    _set_categories(subscription.id, categories)
    if not created:
        # Only the newest email's link confirms, and it confirms what that email states.
        # Anyone may type an address: an older link must not confirm choices its email did
        # not show. Opting back in after opting out is likewise a new consent.
        subscription.unsubscribed_at = None
        subscription.confirmed_at = None
        subscription.confirm_token = _new_token()
    db.session.flush()
    send_confirmation(subscription)
    return SubscribeResult(subscription, SubscribeOutcome.CONFIRMATION_SENT)


def subscription_language(subscription: DigestSubscription) -> str:
    """The language a subscriber's emails are written in: the one chosen when subscribing,
    else (a subscription from before languages, or one no longer offered) the site's
    default."""
    return offered_language(subscription.language) or recipient_language(None)


def _email_subscriber(
    subscription: DigestSubscription, *, kind: str, subject: Text, **context: Any
) -> OutboxMessage:
    """Queue an email about the subscription itself to its address (template name = kind)."""
    rendered = environment.current().presenter.email(
        kind,
        subject,
        language=subscription_language(subscription),
        subscription=subscription,
        **context,
    )
    return queue_email(
        kind=kind,
        to_email=subscription.email,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
        user_id=subscription.user_id,
    )


def send_confirmation(subscription: DigestSubscription) -> OutboxMessage:
    """Queue the double opt-in link (to an address nobody has verified yet: it is the check)."""
    return _email_subscriber(
        subscription,
        kind="digest_confirm",
        subject=t("Please confirm your digest subscription"),
        frequency=subscription.frequency.value,
        category_names=subscription_category_names(subscription),
        confirm_url=environment.current().presenter.url(
            "digests.confirm", token=subscription.confirm_token
        ),
    )


def _apply_preferences(
    subscription: DigestSubscription, frequency: DigestFrequency, categories: list[int]
) -> None:
    subscription.frequency = frequency
    _set_categories(subscription.id, categories)
    db.session.flush()


def subscription_category_names(subscription: DigestSubscription) -> list[str]:
    """The names of the categories a subscription asks for (none: every category)."""
    return _category_names(subscription_category_ids(subscription.id))


def _category_names(category_ids: list[int]) -> list[str]:
    if not category_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Category.name).where(Category.id.in_(category_ids)).order_by(Category.name)
        )
    )


def send_change_confirmation(
    subscription: DigestSubscription,
    frequency: DigestFrequency,
    category_ids: list[int],
    language: str | None = None,
) -> OutboxMessage:
    """Queue a link, to the subscribed address, that makes these new choices take effect
    (`language`: None keeps the subscription's). The email is in the subscription's language
    until the link is followed."""
    token = make_digest_change_token(
        subscription.id,
        subscription.email,
        subscription.confirm_token,
        frequency.value,
        category_ids,
        language or "",
    )
    presenter = environment.current().presenter
    return _email_subscriber(
        subscription,
        kind="digest_change",
        subject=t("Please confirm the change to your digest"),
        frequency=frequency.value,
        category_names=_category_names(category_ids),
        change_url=presenter.url("digests.change", token=token),
        unsubscribe_url=presenter.url("digests.unsubscribe", token=subscription.unsubscribe_token),
    )


@dataclass(frozen=True)
class PendingChange:
    """The choices a change link carries, for the page that asks to confirm them."""

    subscription: DigestSubscription
    frequency: DigestFrequency
    category_ids: list[int]
    category_names: list[str]
    language: str  # the digest's language once the change is in effect


_BAD_CHANGE_LINK = t(
    "That link has expired or is not valid, so nothing changed. Choose again on the digest "
    "page and we will send a new one."
)


def pending_change(token: str) -> PendingChange:
    """What a change link would do, changing nothing; NotFound when the link is forged,
    expired, or from before the address opted out (or is no longer subscribed)."""
    payload = read_digest_change_token(token)
    if payload is None:
        raise NotFound(_BAD_CHANGE_LINK)
    subscription = db.session.get(DigestSubscription, payload["s"])
    if (
        subscription is None
        or not _is_active(subscription)
        or normalise_email(subscription.email) != normalise_email(payload["e"])
        or not digest_change_token_matches(payload, subscription.confirm_token)
    ):
        raise NotFound(_BAD_CHANGE_LINK)
    try:
        frequency = DigestFrequency(payload["f"])
    except ValueError as exc:
        raise NotFound(_BAD_CHANGE_LINK) from exc
    categories = _checked_category_ids(payload["c"])
    # A language no longer offered (or none in the link) leaves the subscription's as it is.
    language = offered_language(payload.get("l") or None) or subscription_language(subscription)
    return PendingChange(subscription, frequency, categories, _category_names(categories), language)


def change_in_effect(change: PendingChange) -> bool:
    """Whether the subscription already has the choices a change link carries (the link was
    used, or the same choices were made since)."""
    subscription = change.subscription
    return (
        subscription.frequency,
        subscription_category_ids(subscription.id),
        subscription_language(subscription),
    ) == (change.frequency, change.category_ids, change.language)


def apply_change(token: str) -> PendingChange:
    """Make the choices a change link carries take effect. Idempotent."""
    change = pending_change(token)
    change.subscription.language = change.language
    _apply_preferences(change.subscription, change.frequency, change.category_ids)
    return change


# A subscription's own page, linked from its digests ------------------------------------------

_BAD_SUBSCRIPTION_LINK = t(
    "That link is not valid any more. Choose again on the digest page, or use the link in "
    "your newest digest."
)


def subscription_page_url(subscription: DigestSubscription) -> str:
    """The link, for its digests, to this subscription's own page."""
    return environment.current().presenter.url(
        "digests.subscription",
        token=make_digest_subscription_token(subscription.id, subscription.confirm_token),
    )


def subscription_for_page_token(token: str) -> DigestSubscription:
    """The subscription a digest's "Change how often" link names, opted out or not; NotFound
    when the link is forged or from before the address last opted back in."""
    payload = read_digest_subscription_token(token)
    subscription = db.session.get(DigestSubscription, payload["s"]) if payload else None
    if (
        payload is None
        or subscription is None
        or not digest_change_token_matches(payload, subscription.confirm_token)
    ):
        raise NotFound(_BAD_SUBSCRIPTION_LINK)
    return subscription


def change_subscription(
    token: str,
    frequency: DigestFrequency | str,
    category_ids: Iterable[int],
    language: str | None = None,
) -> DigestSubscription:
    """Change a subscription from its own page. The link came in a digest to the address, so
    holding it is the proof a change link gives: the choices take effect at once. An address
    that opted out subscribes again on the digest page (a new consent, confirmed by email)."""
    subscription = subscription_for_page_token(token)
    if not _is_active(subscription):
        raise DomainError(
            t("This address no longer gets the digest. Subscribe again on the digest page.")
        )
    try:
        frequency = DigestFrequency(frequency)
    except ValueError as exc:
        raise DomainError(t("Please choose weekly or monthly.")) from exc
    subscription.language = offered_language(language) or subscription.language
    _apply_preferences(subscription, frequency, _checked_category_ids(category_ids))
    return subscription


@dataclass(frozen=True)
class ConfirmResult:
    """The subscription a confirmation link named, and whether this click confirmed it."""

    subscription: DigestSubscription
    confirmed_now: bool


def subscription_for_confirm_token(token: str) -> DigestSubscription:
    """The subscription a confirmation link names, changing nothing; NotFound when none."""
    subscription = db.session.scalar(
        sa.select(DigestSubscription).where(DigestSubscription.confirm_token == token)
    )
    if subscription is None:
        raise NotFound(
            t(
                "We do not recognise that confirmation link. It may be from an older email: "
                "subscribe again and we will send a new one."
            )
        )
    return subscription


def confirm(token: str) -> ConfirmResult:
    """Confirm a subscription from its emailed link. Idempotent; an opted-out subscription
    stays opted out (subscribing again sends a new link)."""
    subscription = subscription_for_confirm_token(token)
    if subscription.confirmed_at is not None or subscription.unsubscribed_at is not None:
        return ConfirmResult(subscription, confirmed_now=False)
    # Conditional, so two clicks at once confirm once.
    changed = rows_changed(
        db.session.execute(
            sa.update(DigestSubscription)
            .where(
                DigestSubscription.id == subscription.id,
                DigestSubscription.confirmed_at.is_(None),
                DigestSubscription.unsubscribed_at.is_(None),
            )
            .values(confirmed_at=_now())
            .execution_options(synchronize_session=False)
        )
    )
    db.session.refresh(subscription)
    return ConfirmResult(subscription, confirmed_now=bool(changed))


def subscription_for_unsubscribe_token(token: str) -> DigestSubscription:
    """The subscription an unsubscribe link names; NotFound when it names none."""
    subscription = db.session.scalar(
        sa.select(DigestSubscription).where(DigestSubscription.unsubscribe_token == token)
    )
    if subscription is None:
        raise NotFound(t("We do not recognise that unsubscribe link."))
    return subscription


def unsubscribe(token: str) -> bool:
    """Stop the digest for the subscription the link names. Idempotent; the opt-out is
    recorded once. Returns True when this call stopped it."""
    subscription = subscription_for_unsubscribe_token(token)
    # A conditional UPDATE, not read-then-write: of two clicks at once (a mail client's
    # one-click POST and a person's), exactly one changes the row and records the opt-out.
    changed = rows_changed(
        db.session.execute(
            sa.update(DigestSubscription)
            .where(
                DigestSubscription.id == subscription.id,
                DigestSubscription.unsubscribed_at.is_(None),
            )
            .values(unsubscribed_at=_now())
            .execution_options(synchronize_session=False)
        )
    )
    if changed:
        db.session.add(
            Unsubscribe(
                scope="digest", subscription_id=subscription.id, user_id=subscription.user_id
            )
        )
    db.session.flush()
    db.session.refresh(subscription)
    return bool(changed)


def unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers for a digest: a one-click https link and a mailto, and
    the RFC 2919 List-Id that lets mail programs file and filter the digest as a list."""
    current = environment.current()
    return {
        "List-Id": f'"You said, we did" <digest.{outbox.sender_domain()}>',
        **outbox.list_unsubscribe_headers(
            current.presenter.url("digests.unsubscribe", token=token),
            current.settings.unsubscribe_mailbox,
            "unsubscribe digest " + token,
        ),
    }


# Periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A complete week or month, [start, end) in UTC, with its run key."""

    frequency: DigestFrequency
    key: str
    start: datetime
    end: datetime

    def label(self, language: str) -> Text | str:
        """How the period reads in an email in this language: "the week of 16 November
        2026", "October 2026" (CLDR's month and year: "outubro de 2026")."""
        if self.frequency is DigestFrequency.WEEKLY:
            return t("the week of %(date)s", date=self.start.date())
        try:
            return str(format_skeleton("yMMMM", self.start, locale=language.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            return str(format_skeleton("yMMMM", self.start, locale="en"))


def period_for(frequency: DigestFrequency | str, now: datetime) -> Period:
    """The last complete period before `now`: the ISO week (Monday 00:00 UTC to the next
    Monday) or the calendar month, in UTC."""
    frequency = DigestFrequency(frequency)
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: pass a timezone-aware value")
    today = now.astimezone(UTC).date()
    if frequency is DigestFrequency.WEEKLY:
        start_day = today - timedelta(days=today.weekday() + 7)
        year, week, _ = start_day.isocalendar()
        start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
        return Period(frequency, f"weekly:{year}-W{week:02d}", start, start + timedelta(days=7))
    end = datetime(today.year, today.month, 1, tzinfo=UTC)
    last_month = end - timedelta(days=1)
    start = datetime(last_month.year, last_month.month, 1, tzinfo=UTC)
    return Period(frequency, f"monthly:{start:%Y-%m}", start, end)


# Sending ----------------------------------------------------------------------------------


@dataclass
class DigestReport:
    """What one send did: queued now, and passed over (already sent, or nothing for them)."""

    run_key: str
    resolutions: int = 0
    delivered: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class DigestEntry:
    """One resolution as the digest shows it: a plain snapshot that outlives each commit."""

    id: int
    you_said: str
    we_did_source: str
    we_did_html: str
    category_id: int | None
    category_name: str | None
    # Every category it answered an item of (a theme resolved together may span several).
    category_ids: frozenset[int] = frozenset()


def period_entries(period: Period) -> list[DigestEntry]:
    """The resolutions published in the period, oldest first."""
    # A period's resolutions are few next to its subscribers: read once per run, and kept as
    # snapshots so the per-batch commits do not expire and reload them.
    rows = db.session.execute(
        sa.select(Resolution, Category.name)
        .outerjoin(Category, Category.id == Resolution.category_id)
        .where(Resolution.published_at >= period.start, Resolution.published_at < period.end)
        .order_by(Resolution.published_at, Resolution.id)
    ).all()
    answered: dict[int, set[int]] = defaultdict(set)
    column = resolution_categories.c
    for resolution_id, category_id in db.session.execute(
        sa.select(column.resolution_id, column.category_id).where(
            column.resolution_id.in_([r.id for r, _ in rows])
        )
    ):
        answered[resolution_id].add(category_id)
    # A "you said" that was the title of an item whose words staff withheld is not sent.
    withheld = withheld_titles_by_resolution([r.id for r, _ in rows])
    return [
        DigestEntry(
            id=r.id,
            you_said=you_said_shown(r.you_said, withheld.get(r.id, [])),
            we_did_source=r.we_did_source,
            we_did_html=r.we_did_html,
            category_id=r.category_id,
            category_name=name,
            category_ids=frozenset(answered[r.id]),
        )
        for r, name in rows
    ]


def _get_or_create_run(period: Period) -> int:
    existing = db.session.scalar(sa.select(DigestRun.id).where(DigestRun.period_key == period.key))
    if existing is not None:
        return existing
    try:
        with db.session.begin_nested():
            run = DigestRun(
                period_key=period.key,
                frequency=period.frequency,
                period_start=period.start,
                period_end=period.end,
            )
            db.session.add(run)
            db.session.flush()
            return run.id
    except IntegrityError:
        # Another machine started this period first: its run is ours too.
        existing = db.session.scalar(
            sa.select(DigestRun.id).where(DigestRun.period_key == period.key)
        )
        if existing is None:
            raise
        return existing


def _subscriber_batch(
    frequency: DigestFrequency, after_id: int, limit: int
) -> list[DigestSubscription]:
    """The next confirmed, still-subscribed subscribers after `after_id`, in id order."""
    # Subscribers who signed up after the period ended are included on purpose: they asked
    # for the digest, and this is the first one there is to send them.
    return list(
        db.session.scalars(
            sa.select(DigestSubscription)
            .where(
                DigestSubscription.frequency == frequency,
                DigestSubscription.confirmed_at.is_not(None),
                DigestSubscription.unsubscribed_at.is_(None),
                DigestSubscription.id > after_id,
            )
            .order_by(DigestSubscription.id)
            .limit(limit)
        )
    )


def _already_delivered(run_id: int, subscription_ids: list[int]) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(DigestDelivery.subscription_id).where(
                DigestDelivery.run_id == run_id,
                DigestDelivery.subscription_id.in_(subscription_ids),
            )
        )
    )


def _categories_of(subscription_ids: list[int]) -> dict[int, set[int]]:
    column = digest_subscription_categories.c
    chosen: dict[int, set[int]] = defaultdict(set)
    for subscription_id, category_id in db.session.execute(
        sa.select(column.subscription_id, column.category_id).where(
            column.subscription_id.in_(subscription_ids)
        )
    ):
        chosen[subscription_id].add(category_id)
    return chosen


class _DigestRenderer:
    """Renders each distinct selection of resolutions once in each language; each person gets
    their own link."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self._cache: dict[tuple[str, tuple[int, ...]], RenderedEmail] = {}
        # For subscriptions with no language of their own; read once per run.
        self.default_language = recipient_language(None)

    def render(
        self,
        entries: Sequence[DigestEntry],
        unsubscribe_url: str,
        language: str,
        subscription_url: str = "",
    ) -> RenderedEmail:
        key = (language, tuple(e.id for e in entries))
        shared = self._cache.get(key)
        if shared is None:
            if len(self._cache) >= _RENDER_CACHE_SIZE:
                self._cache.clear()
            label = self.period.label(language)
            shared = environment.current().presenter.email(
                "digest",
                tn(
                    "You said, we did: %(num)d change in %(period)s",
                    "You said, we did: %(num)d changes in %(period)s",
                    len(entries),
                    period=label,
                ),
                language=language,
                period=self.period,
                period_label=label,
                frequency=self.period.frequency.value,
                resolutions=entries,
                unsubscribe_url=_UNSUBSCRIBE_PLACEHOLDER,
                subscription_url=_SUBSCRIPTION_PLACEHOLDER,
            )
            self._cache[key] = shared
        return RenderedEmail(
            subject=shared.subject,
            text=shared.text.replace(_UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url).replace(
                _SUBSCRIPTION_PLACEHOLDER, subscription_url
            ),
            html=shared.html.replace(_UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url).replace(
                _SUBSCRIPTION_PLACEHOLDER, subscription_url
            ),
            language=shared.language,
        )


def _queue_digest(
    subscription: DigestSubscription, entries: Sequence[DigestEntry], renderer: _DigestRenderer
) -> OutboxMessage:
    token = subscription.unsubscribe_token
    rendered = renderer.render(
        entries,
        environment.current().presenter.url("digests.unsubscribe", token=token),
        offered_language(subscription.language) or renderer.default_language,
        subscription_page_url(subscription),
    )
    return queue_email(
        kind="digest",
        to_email=subscription.email,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers={**unsubscribe_headers(token), **content_language(rendered.language)},
        user_id=subscription.user_id,
    )


def _deliver(
    run_id: int,
    subscription: DigestSubscription,
    entries: Sequence[DigestEntry],
    renderer: _DigestRenderer,
) -> bool:
    """Record one subscriber's copy and queue it, together or not at all."""
    try:
        with db.session.begin_nested():
            message = _queue_digest(subscription, entries, renderer)
            # The unique delivery row decides: if another sender holds it, the savepoint's
            # rollback takes this message back out of the outbox.
            db.session.add(
                DigestDelivery(
                    run_id=run_id, subscription_id=subscription.id, outbox_message_id=message.id
                )
            )
            db.session.flush()
    except IntegrityError:
        return False  # another sender delivered this one since the batch was read
    return True


def send_digest(
    frequency: DigestFrequency | str, now: datetime | None = None, batch_size: int = 500
) -> DigestReport:
    """Mail every confirmed subscriber the resolutions of the last complete period, once.

    Unlike other services this commits, once per batch of subscribers, as deliver_pending
    does: a run over 100,000 subscribers cannot be one transaction, and the committed batches
    are what let an interrupted run resume where it stopped. The unique run key and the unique
    (run, subscription) delivery make a second run, or one on another machine at the same
    time, skip whoever already has their copy. Call it with nothing of your own pending.
    """
    period = period_for(frequency, now or _now())
    report = DigestReport(run_key=period.key)
    # On SQLite, take the write lock as each transaction begins, so a second sender waits
    # for the first one's batch instead of failing when it upgrades a read to a write.
    intent = sqlite_write_intent.set(True)
    try:
        entries = period_entries(period)
        report.resolutions = len(entries)
        if not entries:
            return report
        run_id = _get_or_create_run(period)
        db.session.commit()

        renderer = _DigestRenderer(period)
        last_id = 0
        while True:
            batch = _subscriber_batch(period.frequency, last_id, batch_size)
            if not batch:
                break
            last_id = batch[-1].id
            ids = [s.id for s in batch]
            done = _already_delivered(run_id, ids)
            chosen_categories = _categories_of(ids)
            for subscription in batch:
                wanted = chosen_categories.get(subscription.id)
                theirs = [e for e in entries if not wanted or e.category_ids & wanted]
                # Already sent (a rerun, or another machine), or nothing in their categories
                # this time: no second copy, and no empty digest.
                if subscription.id in done or not theirs:
                    report.skipped += 1
                elif _deliver(run_id, subscription, theirs, renderer):
                    report.delivered += 1
                else:
                    report.skipped += 1
            db.session.commit()
            if len(batch) < batch_size:
                break

        # Counted, not added up, so it stays right across resumed runs and other machines.
        delivered = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DigestDelivery)
            .where(DigestDelivery.run_id == run_id)
        )
        run = db.session.get(DigestRun, run_id)
        if run is not None:
            run.delivered = delivered or 0
            run.finished_at = run.finished_at or _now()
        db.session.commit()
        return report
    except BaseException:
        # The batches already committed stand; a rerun resumes after them.
        db.session.rollback()
        raise
    finally:
        sqlite_write_intent.reset(intent)
