"""Who is told what, by email: followers of an item, the author's receipt, staff who follow a
category, and the verification message. Every email goes through the outbox, written in its
reader's language (recipient_language)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from portal.database import insert_if_absent, rows_changed
from portal.extensions import db
from portal.models import (
    Category,
    CategoryFollow,
    Comment,
    Feedback,
    FeedbackChannel,
    FeedbackState,
    Follow,
    MergedVoice,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
    Resolution,
    Unsubscribe,
    User,
)
from portal.services import attachments, environment, events, outbox
from portal.services.feedback import get_visible_item
from portal.services.item_data import title_for, you_said_for
from portal.services.outbox import queue_email
from portal.services.resolutions import thanks_for, voice_counts
from portal.services.site import SOURCE_LANGUAGE, get_site_settings
from portal.services.tokens import (
    make_claim_token,
    make_reset_token,
    make_unsubscribe_token,
    make_verify_token,
    reply_address,
)
from portal.services.visibility import can_view
from portal.services.wording import Text, t, tn

# Kinds that count towards the daily cap; receipts, verification and summaries do not.
CAPPED_KINDS = ("state", "promise", "reply", "resolution", "merged", "new_item", "reopen_request")
# Counted, but never held for the summary: what was done is the answer everyone who spoke up
# is promised (at most one per item they follow); a summary line would leave the answer out.
NEVER_HELD = ("resolution",)
# Not counted against the cap: a folded update goes out inside the summary, and a withdrawn
# or given-up one never reached the person.
_NOT_SENT_ALONE = (OutboxStatus.FOLDED, OutboxStatus.WITHDRAWN, OutboxStatus.FAILED)


def _now() -> datetime:
    return datetime.now(UTC)


# Languages --------------------------------------------------------------------------------


def offered_language(code: str | None) -> str | None:
    """The offered language a code names ("pt-br" -> "pt_BR", "de-AT" -> "de" when only German
    is offered), or None when none is."""
    if not code:
        return None
    offered = environment.current().settings.languages
    wanted = code.replace("_", "-").casefold()
    by_tag = {language.replace("_", "-").casefold(): language for language in offered}
    return by_tag.get(wanted) or by_tag.get(wanted.split("-")[0])


def recipient_language(user: User | None, item: Feedback | None = None) -> str:
    """The language to write to this person in: the one they chose (users.language), else,
    for news of an item they wrote, the language they wrote it in, else the site's default.
    Never the language of whoever caused the email: staff working in English write to a
    customer who reads Spanish in Spanish."""
    chosen = offered_language(user.language) if user is not None else None
    if chosen is None and item is not None and user is not None and item.author_id == user.id:
        chosen = offered_language(item.language)
    return chosen or offered_language(get_site_settings().default_language) or SOURCE_LANGUAGE


def account_language(user: User) -> str | None:
    """The language of an email answering something the person just did (a reset, a sign-up):
    the one they chose, else None, the page's they did it on (the site's default outside a
    request)."""
    return offered_language(user.language)


# Following ---------------------------------------------------------------------------------


def follow(
    user: User,
    item: Feedback,
    *,
    via: sa.Connection | None = None,
    because_of_vote: bool = False,
) -> None:
    """Start telling this person about the item's changes (no-op when already following).
    `via`: the connection of a write already under way (a vote's), to skip the session.
    `because_of_vote`: the follow comes with a vote only, and ends when the vote is taken
    back; an existing follow keeps what it came from."""
    insert_if_absent(
        via or db.session,
        Follow,
        user_id=user.id,
        feedback_id=item.id,
        because_of_vote=because_of_vote,
    )


def unfollow(user_id: int, item_id: int) -> bool:
    """Stop telling this person about the item. True if they were following."""
    result = db.session.execute(
        sa.delete(Follow)
        .where(Follow.user_id == user_id, Follow.feedback_id == item_id)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(result))


class FollowChoice(NamedTuple):
    """Where a press of the follow button landed, and whether the person now follows it."""

    item: Feedback | None  # None: the conversation went on where this person cannot follow
    following: bool
    pressed: Feedback  # the item whose button was pressed


def set_following(user: User, item_id: int, want: bool | None) -> FollowChoice:
    """The follow button: start (True) or stop (False) hearing about an item, or switch (None,
    a form from before the button said which). A merged item's conversation goes on in the
    item it was merged into, and its followers follow that one, so the press counts there.

    That one item's row is read under a share lock, as a merge holds it while it moves
    follows: a follow never lands on an item whose followers were just moved away, nor
    collides with one moved onto it (on PostgreSQL; SQLite's write lock already makes them take
    turns). One lock only: holding a merged item's row and then its target's would deadlock
    with a merge of the target, which takes them the other way round."""
    item = get_visible_item(item_id, user)
    live_id = item.merged_into_id or item.id
    merged_since = db.session.scalar(
        sa.select(Feedback.merged_into_id).where(Feedback.id == live_id).with_for_update(read=True)
    )
    # Merged while the page was open: a merge points every item merged into it at its own
    # target, so that is where the conversation is now.
    live_id = merged_since or live_id
    live = item if live_id == item.id else db.session.get(Feedback, live_id)
    if live is None or not can_view(live, user):
        return FollowChoice(None, False, item)
    if want is None:
        want = not is_following(user, live.id)
    if want:
        if not insert_if_absent(db.session, Follow, user_id=user.id, feedback_id=live.id):
            # Already following, perhaps only through a vote: now it is their own choice, and
            # taking the vote back no longer ends it.
            db.session.execute(
                sa.update(Follow)
                .where(Follow.user_id == user.id, Follow.feedback_id == live.id)
                .values(because_of_vote=False)
                .execution_options(synchronize_session=False)
            )
    else:
        unfollow(user.id, live.id)
    return FollowChoice(live, want, item)


def is_following(user: User | None, item_id: int) -> bool:
    """Whether this person hears about the item's changes."""
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(_IS_FOLLOWING, {"user_id": user.id, "item_id": item_id}) is not None


# Built once: every signed-in item page asks.
_IS_FOLLOWING = sa.select(Follow.id).where(
    Follow.user_id == sa.bindparam("user_id"), Follow.feedback_id == sa.bindparam("item_id")
)


def move_follows(source: Feedback, target: Feedback) -> None:
    """A merged item's followers follow the target instead (nobody twice). Someone who
    followed either by choice follows the target by choice."""
    chosen_on_source = sa.select(Follow.user_id).where(
        Follow.feedback_id == source.id, Follow.because_of_vote.is_(False)
    )
    db.session.execute(
        sa.update(Follow)
        .where(Follow.feedback_id == target.id, Follow.user_id.in_(chosen_on_source))
        .values(because_of_vote=False)
        .execution_options(synchronize_session=False)
    )
    already = sa.select(Follow.user_id).where(Follow.feedback_id == target.id)
    db.session.execute(
        sa.delete(Follow)
        .where(Follow.feedback_id == source.id, Follow.user_id.in_(already))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Follow)
        .where(Follow.feedback_id == source.id)
        .values(feedback_id=target.id)
        .execution_options(synchronize_session=False)
    )


# Who may receive what ----------------------------------------------------------------------


def can_email(user: User) -> bool:
    """Email goes only to active, verified addresses of accounts that still exist."""
    return user.is_active and user.deleted_at is None and user.verified_at is not None


# The notifications a customer chooses with their preference and their follows; staff work
# mail (new items in a followed category, "not fixed yet") is queued regardless of them.
FOLLOWER_KINDS = ("state", "promise", "reply", "merged", "resolution")


def still_wanted(message: OutboxMessage) -> bool:
    """Whether a queued notification may still go out, asked again just before sending: the
    person may have stopped update emails, stopped following the item, lost sight of it or
    closed their account while it waited (a summary waits up to a day). What was queued
    without those choices (staff work mail, receipts, sign-in and digest links) goes."""
    if message.user_id is None or message.kind not in (*FOLLOWER_KINDS, "summary"):
        return True
    user = db.session.get(User, message.user_id)
    if user is None or not can_email(user):
        return False
    if message.kind == "summary":
        if not (user.is_staff or user.notification_preference is not NotificationPreference.NONE):
            return False
        return _summary_still_wanted(user, message)
    if not _wants(user, message.kind):
        return False
    item = db.session.get(Feedback, message.feedback_id) if message.feedback_id else None
    if item is None:
        return True
    if not can_view(item, user):
        return False
    # Merged since: its follows moved to the target, which is where to look. (A merge notice
    # is about the duplicate itself.)
    return message.kind == "merged" or is_following(user, item.merged_into_id or item.id)


# The deliverer asks this before each email it sends; the outbox sits below this module.
outbox.withdraw_unwanted_with(still_wanted)


def _summary_still_wanted(user: User, summary: OutboxMessage) -> bool:
    """A summary was written as its updates were folded in, over a day. What the person
    stopped since (an item, or all but resolutions) is withdrawn from it and the rest written
    again; with nothing left, the summary is not sent at all."""
    folded = _folded_into(summary)
    wanted = [update for update in folded if still_wanted(update)]
    unwanted = [update.id for update in folded if update not in wanted]
    if unwanted:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(unwanted))
            .values(
                status=OutboxStatus.WITHDRAWN,
                last_error="Not sent: the person stopped these emails.",
            )
            .execution_options(synchronize_session=False)
        )
    if wanted:
        # Written again even when nothing was withdrawn: an update folded in after the
        # deliverer claimed the summary is in it too.
        _render_summary(user, summary, wanted)
    return bool(wanted)


def _wants(user: User, kind: str) -> bool:
    preference = user.notification_preference
    if preference is NotificationPreference.NONE:
        return False
    if preference is NotificationPreference.RESOLUTIONS:
        return kind == "resolution"
    return True


def _followers(item_ids: Iterable[int]) -> list[tuple[User, int]]:
    """(follower, followed item id) pairs for these items."""
    rows = db.session.execute(
        sa.select(User, Follow.feedback_id)
        .join(Follow, Follow.user_id == User.id)
        .where(Follow.feedback_id.in_(list(item_ids)))
        .order_by(User.id, Follow.feedback_id)
    )
    return [(user, item_id) for user, item_id in rows]


def unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: an https link that works with one POST, and a mailto."""
    current = environment.current()
    return outbox.list_unsubscribe_headers(
        current.presenter.url("notifications.unsubscribe", token=token),
        current.settings.unsubscribe_mailbox,
        "unsubscribe " + token,
    )


def _sent_today(user_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.kind.in_(CAPPED_KINDS),
                OutboxMessage.status.not_in(_NOT_SENT_ALONE),
                OutboxMessage.created_at > _now() - timedelta(days=1),
            )
        )
        or 0
    )


def _queue_for(
    user: User,
    *,
    kind: str,
    template: str,
    subject: str | Text,
    item: Feedback | None,
    from_name: str = "",
    extra_headers: dict[str, str] | None = None,
    about_their_own: bool = False,
    written: Feedback | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render and queue one notification, folding it into a summary past the daily cap.
    `about_their_own`: it answers the person's own feedback (as any news of an item they
    wrote does), so it is never held back. `written`: the item whose language it is written
    in for a person who chose none, when not `item` (a merged report's)."""
    all_token = make_unsubscribe_token(user.id, None)
    item_token = make_unsubscribe_token(user.id, item.id) if item is not None else all_token
    current = environment.current()
    headers = {**unsubscribe_headers(all_token), **(extra_headers or {})}
    # Customers can answer by replying: email intake turns the reply into a comment. Staff
    # answer in the admin pages, where the tone check and ownership rules apply.
    if item is not None and not user.is_staff:
        reply_to = reply_address(item.id, user.email)
        if reply_to:
            headers["Reply-To"] = reply_to
    if item is not None:
        # How many images go with the item, and with the comment the email quotes, that this
        # reader may see: emails name them and link to the page (emails/_images.txt).
        quoted = context.get("comment")
        context.setdefault(
            "images",
            attachments.image_count(item, user, quoted if isinstance(quoted, Comment) else None),
        )
    rendered = current.presenter.email(
        template,
        subject,
        language=recipient_language(user, written or item),
        person=user,
        item=item,
        from_name=from_name,
        # How to answer, said in the email: by replying when intake takes replies, else on
        # the item's page.
        answer_by_email="Reply-To" in headers,
        unsubscribe_item_url=current.presenter.url("notifications.unsubscribe", token=item_token),
        unsubscribe_all_url=current.presenter.url("notifications.unsubscribe", token=all_token),
        **context,
    )
    # The cap keeps news of what someone follows from flooding them; an answer about their own
    # feedback is never held back, or a reply from a person would wait a day in a summary.
    about_their_own = about_their_own or (item is not None and item.author_id == user.id)
    over_cap = (
        kind in CAPPED_KINDS
        and kind not in NEVER_HELD
        and not about_their_own
        and _sent_today(user.id) >= current.settings.notification_daily_cap
    )
    message = queue_email(
        kind=kind,
        to_email=user.email,
        to_name=user.preferred_name,
        from_name=from_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers={**headers, **content_language(rendered.language)},
        user_id=user.id,
        feedback_id=item.id if item is not None else None,
        status=OutboxStatus.FOLDED if over_cap else OutboxStatus.PENDING,
    )
    if over_cap:
        _fold_into_summary(user, message)
    return message


def _fold_into_summary(user: User, message: OutboxMessage) -> None:
    """Past the cap, a person gets one summary when their day is over, not a flood."""
    summary = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.kind == "summary",
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.claim_token.is_(None),
        )
    )
    if summary is None:
        oldest = db.session.scalar(
            sa.select(sa.func.min(OutboxMessage.created_at)).where(
                OutboxMessage.user_id == user.id,
                OutboxMessage.kind.in_(CAPPED_KINDS),
                OutboxMessage.status.not_in(_NOT_SENT_ALONE),
                OutboxMessage.created_at > _now() - timedelta(days=1),
            )
        )
        summary = queue_email(
            kind="summary",
            to_email=user.email,
            to_name=user.preferred_name,
            subject="",
            text_body="",
            user_id=user.id,
            send_after=(oldest or _now()) + timedelta(days=1),
        )
    message.summary_id = summary.id
    db.session.flush()
    _render_summary(user, summary, _folded_into(summary))


def _folded_into(summary: OutboxMessage) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.summary_id == summary.id,
                OutboxMessage.status == OutboxStatus.FOLDED,
            )
            .order_by(OutboxMessage.id)
        )
    )


def _render_summary(user: User, summary: OutboxMessage, folded: list[OutboxMessage]) -> None:
    token = make_unsubscribe_token(user.id, None)
    presenter = environment.current().presenter
    rendered = presenter.email(
        "summary",
        tn(
            "%(num)d more update on what you follow",
            "%(num)d more updates on what you follow",
            len(folded),
        ),
        language=recipient_language(user),
        person=user,
        updates=folded,
        unsubscribe_all_url=presenter.url("notifications.unsubscribe", token=token),
    )
    summary.subject = rendered.subject
    summary.text_body = rendered.text
    summary.html_body = rendered.html
    summary.headers = {**unsubscribe_headers(token), **content_language(rendered.language)}


# What happens ------------------------------------------------------------------------------


def owner_of(item: Feedback, writer: User | None) -> User | None:
    """Who looks after the item, for its emails: its owner, else whoever wrote (acting on an
    unowned item makes the writer its owner)."""
    return db.session.get(User, item.owner_id) if item.owner_id else writer


def content_language(language: str) -> dict[str, str]:
    """The Content-Language header of an email written in this language (RFC 3282)."""
    return {"Content-Language": language} if language else {}


def _item_subject(
    kind: str, item: Feedback, title: str, owner: User | None, **context: Any
) -> Text:
    """A subject a person reads in a list of mail: the item, then what happened to it. Dates
    are values, written as the reader's language writes them."""
    if kind == "state":
        if item.state is FeedbackState.PLANNED and item.target_date is not None:
            return t("%(title)s: planned for %(date)s", title=title, date=item.target_date)
        return t("%(title)s: %(state)s", title=title, state=t(item.state.label))
    if kind == "promise":
        if context.get("previous_date"):
            return t("%(title)s: the date moves to %(date)s", title=title, date=context["new_date"])
        return t("%(title)s: promised for %(date)s", title=title, date=context["new_date"])
    if kind == "reply":
        writer = context.get("writer") or owner
        if writer is None:
            return t("We replied about %(title)s", title=title)
        return t("%(name)s replied about %(title)s", name=writer.preferred_name, title=title)
    return t("%(title)s: handled together with another report", title=title)


def notify_item_update(
    item: Feedback, actor: User | None, kind: str, message: str, **context: Any
) -> int:
    """Tell an item's followers, by name, what changed and why. Returns how many were told.

    Everything about one item comes from one sender, its owner (the From name); the message is
    signed by whoever wrote it (`actor`), and says so when that is not the owner ("Ada, for
    Priya, who looks after this")."""
    owner = owner_of(item, actor)
    from_name = owner.display_name if owner else ""
    told = 0
    for user, _item_id in _followers([item.id]):
        if actor is not None and user.id == actor.id:
            continue
        if not (can_email(user) and _wants(user, kind) and can_view(item, user)):
            continue
        # Words staff withheld reach only staff and the author (item_data.title_for).
        title = title_for(item, user)
        _queue_for(
            user,
            kind=kind,
            template="item_update",
            subject=_item_subject(kind, item, title, owner, writer=actor, **context),
            item=item,
            item_title=title,
            from_name=from_name,
            owner=owner,
            writer=actor or owner,
            message=message,
            update_kind=kind,
            **context,
        )
        told += 1
    return told


def notify_merge(
    duplicate: Feedback,
    target: Feedback,
    actor: User,
    message: str,
    promise: events.PromiseOnMerge,
) -> int:
    """Tell everyone who follows the duplicate, from the person who looks after the target now:
    where it went, who looks after it, where it stands, what became of the date promised
    (with the reason when it changed), and the words staff wrote. Returns how many were
    told."""
    owner = db.session.get(User, target.owner_id) if target.owner_id else None
    owner = owner or actor
    told = 0
    for user, _item_id in _followers([duplicate.id]):
        if user.id == actor.id:
            continue
        if not (can_email(user) and _wants(user, "merged") and can_view(target, user)):
            continue
        _queue_for(
            user,
            kind="merged",
            template="merged",
            subject=t(
                "%(name)s looks after this now (#%(duplicate)s joins #%(target)s)",
                name=owner.display_name,
                duplicate=duplicate.id,
                target=target.id,
            ),
            item=target,
            written=duplicate,
            about_their_own=user.id == duplicate.author_id,
            duplicate=duplicate,
            item_title=title_for(duplicate, user),
            target_title=title_for(target, user),
            owner=owner,
            writer=actor,
            from_name=owner.display_name,
            message=message,
            promise=promise,
        )
        told += 1
    return told


def _merged_voices(item_ids: Iterable[int]) -> dict[tuple[int, int], Feedback]:
    """(item id, person id) -> the duplicate where the person spoke up, for everyone whose
    voice was merged into these items."""
    rows = db.session.execute(
        sa.select(MergedVoice.feedback_id, MergedVoice.user_id, Feedback)
        .join(Feedback, Feedback.id == MergedVoice.merged_from_id)
        .where(MergedVoice.feedback_id.in_(list(item_ids)))
    )
    return {(item_id, user_id): duplicate for item_id, user_id, duplicate in rows}


def notify_resolution(
    resolution: Resolution, items: Sequence[Feedback], actor: User, *, message: str = ""
) -> int:
    """Tell everyone who spoke up on any of the resolved items, each person once; an item's
    author also gets the owner's own `message` to them, if there is one."""
    by_id = {item.id: item for item in items}
    merged_voices = _merged_voices(by_id)
    seen: set[int] = set()
    told = 0
    # The board's thanks line, read once for every email of this resolution.
    thanks = thanks_for([resolution.id], voice_counts([resolution.id])).get(resolution.id)
    for user, item_id in _followers(by_id):
        if user.id in seen or user.id == actor.id:
            continue
        item = by_id[item_id]
        # Someone who cannot see this item may still follow another item of the theme.
        if not (can_email(user) and _wants(user, "resolution") and can_view(item, user)):
            continue
        seen.add(user.id)
        owner = owner_of(item, actor)
        duplicate = merged_voices.get((item.id, user.id))
        if duplicate is not None:
            # Their voice was merged into this item: told as its author is, with what was
            # promised to them, and asked "Did this fix it?".
            _queue_for(
                user,
                kind="resolution",
                template="resolution_merged",
                subject=t(
                    "Done: %(you_said)s", you_said=you_said_for(resolution.you_said, items, user)
                ),
                item=item,
                about_their_own=True,
                written=duplicate,
                item_title=title_for(item, user),
                duplicate=duplicate,
                duplicate_title=title_for(duplicate, user),
                from_name=owner.display_name if owner else actor.display_name,
                owner=owner,
                writer=actor,
                resolution=resolution,
                thanks=thanks.sentence if thanks else "",
            )
            told += 1
            continue
        _queue_for(
            user,
            kind="resolution",
            template="resolution",
            subject=t(
                "Done: %(you_said)s", you_said=you_said_for(resolution.you_said, items, user)
            ),
            item=item,
            item_title=title_for(item, user),
            from_name=owner.display_name if owner else actor.display_name,
            owner=owner,
            writer=actor,
            resolution=resolution,
            personal_message=message if user.id == item.author_id else "",
            thanks=thanks.sentence if thanks else "",
        )
        told += 1
    return told


def send_receipt(
    item: Feedback,
    author: User,
    *,
    by_email: bool = False,
    in_reply_to: str = "",
    files: events.FilesByEmail | None = None,
    recorded_by: User | None = None,
    channel: FeedbackChannel | None = None,
    claim_link: bool = False,
) -> OutboxMessage | None:
    """The acknowledgement receipt: your reference, and when to expect a person's reply.

    For feedback that came by email (by_email, in_reply_to the sender's Message-ID) it answers
    that message, also to an address not verified yet: the sender has just written from it, as to
    any helpdesk. It carries a link to confirm the address for later updates, says which
    images were kept and which files were not (`files`), and is marked as an automatic reply
    (RFC 3834), so auto-responders do not answer it.

    For feedback staff recorded for the customer (`recorded_by`, heard through `channel`) it
    goes to their address too, verified or not (they gave it to staff), and says who took it
    down and how; with `claim_link` (an account made for them, without a password) it carries
    the link to claim it (set a password, which confirms the address), and any other unverified
    address gets the link to confirm it."""
    recorded = recorded_by is not None
    if not (can_email(author) or ((by_email or recorded) and author.is_active)):
        return None
    category = db.session.get(Category, item.category_id)
    headers: dict[str, str] = {}
    context: dict[str, Any] = {"by_email": by_email, "files": files or events.FilesByEmail()}
    if recorded_by is not None:
        context["recorded_by"] = recorded_by
        context["recorded_channel"] = channel
        if claim_link:
            context["claim_url"] = environment.current().presenter.url(
                "accounts.claim",
                token=make_claim_token(author.id, author.email, author.password_hash),
            )
        elif author.verified_at is None:
            context["verify_url"] = environment.current().presenter.url(
                "accounts.verify", token=make_verify_token(author.id, author.email)
            )
    if by_email:
        headers = {"Auto-Submitted": "auto-replied"}
        if in_reply_to:
            headers.update({"In-Reply-To": in_reply_to, "References": in_reply_to})
        if author.verified_at is None:
            context["verify_url"] = environment.current().presenter.url(
                "accounts.verify", token=make_verify_token(author.id, author.email)
            )
    return _queue_for(
        author,
        kind="receipt",
        template="receipt",
        subject=t("We have received your feedback (reference #%(id)s)", id=item.id),
        item=item,
        extra_headers=headers,
        category=category,
        **context,
    )


def notify_category_followers(item: Feedback) -> int:
    """Staff who follow the item's category hear of it."""
    told = 0
    staff = db.session.scalars(
        sa.select(User)
        .join(CategoryFollow, CategoryFollow.user_id == User.id)
        .where(CategoryFollow.category_id == item.category_id)
    )
    for user in staff:
        if user.id == item.author_id or not (user.is_staff and can_email(user)):
            continue
        _queue_for(
            user,
            kind="new_item",
            template="new_item",
            subject=_new_item_subject(item),
            item=item,
        )
        told += 1
    return told


def _new_item_subject(item: Feedback) -> Text:
    # One sentence per kind: the kind's word takes its own gender and article in other
    # languages.
    kind = item.kind.value
    if kind == "idea":
        return t("New idea #%(id)s: %(title)s", id=item.id, title=item.title)
    if kind == "question":
        return t("New question #%(id)s: %(title)s", id=item.id, title=item.title)
    if kind == "praise":
        return t("New praise #%(id)s: %(title)s", id=item.id, title=item.title)
    return t("New complaint #%(id)s: %(title)s", id=item.id, title=item.title)


def notify_reopen_request(item: Feedback, author: User, comment: str) -> int:
    """The owner hears that the customer says it is not fixed yet."""
    return _tell_owner_of_reopen(
        item,
        author,
        t(
            "Not fixed yet, says %(name)s: #%(id)s %(title)s",
            name=author.preferred_name,
            id=item.id,
            title=item.title,
        ),
        comment=comment,
    )


def notify_still_happens(item: Feedback, customer: User, count: int) -> int:
    """The owner hears that a customer says a Done item still happens to them: a reopen
    request without words of its own (signals.set_signal), with how many say so."""
    return _tell_owner_of_reopen(
        item,
        customer,
        t(
            "Still happens, says %(name)s: #%(id)s %(title)s",
            name=customer.preferred_name,
            id=item.id,
            title=item.title,
        ),
        comment="",
        still_happens=count,
    )


def _tell_owner_of_reopen(item: Feedback, customer: User, subject: Text, **context: Any) -> int:
    owner = db.session.get(User, item.owner_id) if item.owner_id else None
    if owner is None or not can_email(owner) or owner.id == customer.id:
        return 0
    _queue_for(
        owner,
        kind="reopen_request",
        template="reopen_request",
        subject=subject,
        item=item,
        author=customer,
        **context,
    )
    return 1


def email_account_holder(
    user: User, *, kind: str, template: str, subject: str | Text, **context: Any
) -> OutboxMessage:
    """Queue an email about the account itself (verification, password, claim) to its
    address, addressed by the name the person chose. Not capped and not folded: these are
    answers to something the person just did, in their language (account_language)."""
    rendered = environment.current().presenter.email(
        template, subject, language=account_language(user), person=user, **context
    )
    return queue_email(
        kind=kind,
        to_email=user.email,
        to_name=user.preferred_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
        user_id=user.id,
    )


def send_verification(user: User) -> OutboxMessage:
    """The link that proves the address is theirs (sent even before it is verified)."""
    return email_account_holder(
        user,
        kind="verification",
        template="verify",
        subject=t("Please confirm your email address"),
        verify_url=environment.current().presenter.url(
            "accounts.verify", token=make_verify_token(user.id, user.email)
        ),
    )


def send_claim_link(user: User) -> OutboxMessage:
    """A "set your password" link for an account made on someone's behalf. It goes to an
    address nobody has verified yet, like the verification link, because following it is the
    proof."""
    return email_account_holder(
        user,
        kind="account_claim",
        template="claim",
        subject=t("Set your password"),
        claim_url=environment.current().presenter.url(
            "accounts.claim", token=make_claim_token(user.id, user.email, user.password_hash)
        ),
    )


def send_password_reset(user: User) -> OutboxMessage:
    """A link to choose a new password (valid for an hour, and only once)."""
    return email_account_holder(
        user,
        kind="password_reset",
        template="reset",
        subject=t("Choose a new password"),
        reset_url=environment.current().presenter.url(
            "accounts.reset_password", token=make_reset_token(user.id, user.password_hash)
        ),
    )


def send_registration_link(email: str, preferred_name: str, token: str) -> OutboxMessage:
    """The link that finishes a registration, to an address nobody has verified yet:
    following it is the proof."""
    presenter = environment.current().presenter
    # Nobody is known yet: written in the language of the page they registered on.
    rendered = presenter.email(
        "register",
        t("Finish creating your account"),
        preferred_name=preferred_name,
        finish_url=presenter.url("accounts.finish_registration", token=token),
    )
    return queue_email(
        kind="registration",
        to_email=email,
        to_name=preferred_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
    )


def send_registration_attempt(user: User) -> OutboxMessage:
    """Tell an account's holder that someone tried to register their address, with the ways
    in: sign in, or choose a new password."""
    presenter = environment.current().presenter
    return email_account_holder(
        user,
        kind="signup_attempt",
        template="register_attempt",
        subject=t("Someone tried to register with your address"),
        login_url=presenter.url("accounts.login"),
        reset_url=presenter.url("accounts.reset_request"),
    )


def send_sign_in_link(user: User, token: str) -> OutboxMessage:
    """A link that signs the account in (valid for 15 minutes, once), to its address."""
    return email_account_holder(
        user,
        kind="sign_in_link",
        template="sign_in_link",
        subject=t("Your sign-in link"),
        sign_in_url=environment.current().presenter.url("accounts.sign_in_link", token=token),
    )


def send_email_change_link(user: User, new_email: str, token: str) -> OutboxMessage:
    """The link that confirms a new address for an account, to that address (following it
    is the proof), in the holder's language."""
    presenter = environment.current().presenter
    rendered = presenter.email(
        "email_change",
        t("Confirm your new email address"),
        language=account_language(user),
        person=user,
        new_email=new_email,
        confirm_url=presenter.url("accounts.confirm_email_change", token=token),
    )
    return queue_email(
        kind="email_change",
        to_email=new_email,
        to_name=user.preferred_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
        user_id=user.id,
    )


def send_email_changed(user: User, old_email: str) -> OutboxMessage:
    """Tell the address an account had that the account moved to another (confirmed from
    there), so a holder who did not do it hears at once."""
    rendered = environment.current().presenter.email(
        "email_changed",
        t("Your email address was changed"),
        language=account_language(user),
        person=user,
        old_email=old_email,
        new_email=user.email,
    )
    return queue_email(
        kind="email_changed",
        to_email=old_email,
        to_name=user.preferred_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        headers=content_language(rendered.language),
        user_id=user.id,
    )


# Opting out --------------------------------------------------------------------------------


def unsubscribe(user_id: int, feedback_id: int | None) -> bool:
    """Stop notifications about one item, or all of them. Idempotent; the opt-out is recorded
    once. Returns True when something changed."""
    user = db.session.get(User, user_id)
    if user is None:
        return False
    if feedback_id is None:
        if user.notification_preference is NotificationPreference.NONE:
            return False
        user.notification_preference = NotificationPreference.NONE
        db.session.add(Unsubscribe(scope="notifications", user_id=user.id))
        db.session.flush()
        return True
    if not unfollow(user.id, feedback_id):
        return False
    db.session.add(Unsubscribe(scope="item", user_id=user.id, feedback_id=feedback_id))
    db.session.flush()
    return True
