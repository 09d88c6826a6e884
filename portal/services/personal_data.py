"""A person's own data, for the account's "Download my data": everything the portal holds about
them, in one JSON-ready document.

What it holds: the account (with their own customer value: plan, monthly value, segment, if
staff noted them); their items, each with the public staff replies, its timeline and the
resolution that answered it; their comments, votes and follows; their category follows, digest
subscriptions and opt-outs; their sessions; the changes their feedback led to; and the images
they uploaded, each as its file (base64, as we keep it: re-encoded, without metadata)
with what it is attached to, marked when staff removed it from view.

What it never holds: internal notes (staff-only, whoever wrote them) and other people's words
that staff withheld. Their own words that staff redacted or hid are theirs, so they are
included and marked (item_data.export_item). An item they may no longer see (another customer's
private item they once voted on) is named by number only.

A fixed number of statements, however much there is (no query per item).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only

from portal.extensions import db
from portal.models import (
    Category,
    CategoryFollow,
    Comment,
    DigestSubscription,
    Feedback,
    Follow,
    Resolution,
    TextVersion,
    TimelineEvent,
    Unsubscribe,
    User,
    UserSession,
    Vote,
    digest_subscription_categories,
)
from portal.services import attachments, environment
from portal.services.accounts import normalise_email
from portal.services.item_data import export_item, iso, title_for
from portal.services.resolutions import ChangeLedTo, changes_led_to
from portal.services.visibility import can_view
from portal.services.wording import Text, say


def export_data(person: User) -> dict[str, Any]:
    """Everything we hold about a person, as plain data for a JSON download."""
    items = list(
        db.session.scalars(
            sa.select(Feedback)
            .where(Feedback.author_id == person.id)
            .options(joinedload(Feedback.category), joinedload(Feedback.owner))
            .order_by(Feedback.id)
        )
    )
    item_ids = [item.id for item in items]
    comments = list(
        db.session.scalars(
            sa.select(Comment)
            # Internal notes never leave the staff pages, even the writer's own.
            .where(Comment.author_id == person.id, Comment.internal.is_(False))
            .order_by(Comment.id)
        )
    )
    votes = list(
        db.session.scalars(sa.select(Vote).where(Vote.user_id == person.id).order_by(Vote.id))
    )
    follows = list(
        db.session.scalars(sa.select(Follow).where(Follow.user_id == person.id).order_by(Follow.id))
    )
    # The items they voted on, follow or saw theirs merged into, named as they may read them.
    others = _items_named(
        person,
        {v.feedback_id for v in votes}
        | {f.feedback_id for f in follows}
        | {c.feedback_id for c in comments}
        | {i.merged_into_id for i in items if i.merged_into_id is not None},
    )
    changes = changes_led_to(person)
    versions = _earlier_versions(item_ids, [c.id for c in comments])
    return {
        "account": {
            "email": person.email,
            "display_name": person.display_name,
            "preferred_name": person.preferred_name,
            "role": person.role.value,
            "created_at": iso(person.created_at),
            "verified_at": iso(person.verified_at),
            "notification_preference": person.notification_preference.value,
            "thank_by_name": person.thank_by_name,
            # What staff noted of their custom (plan, monthly value in cents of the site's
            # currency, segment): it is about them, so it is theirs to see; only theirs.
            "customer_value": {
                "plan": person.plan,
                "monthly_value_cents": person.monthly_value_cents,
                "currency": environment.current().settings.currency,
                "segment": person.segment,
            },
            # When they last opened "What's new for me" (services/updates.py).
            "updates_seen_at": iso(person.updates_seen_at),
        },
        # Their own words, marked where staff redacted or hid them (see item_data), with what
        # was said and done about them in public.
        "feedback": [
            {**exported, "earlier_versions": versions.get((exported["id"], None), [])}
            for exported in _own_items(person, items, item_ids, others, changes)
        ],
        "comments": [
            {
                "id": c.id,
                "feedback_id": c.feedback_id,
                "feedback_title": others.get(c.feedback_id),
                "body": c.body_source,
                "created_at": iso(c.created_at),
                "hidden": c.hidden,
                "edited_at": iso(c.edited_at),
                "earlier_versions": versions.get((c.feedback_id, c.id), []),
            }
            for c in comments
        ],
        "votes": [
            {
                "feedback_id": v.feedback_id,
                "feedback_title": others.get(v.feedback_id),
                "created_at": iso(v.created_at),
            }
            for v in votes
        ],
        "follows": [
            {
                "feedback_id": f.feedback_id,
                "feedback_title": others.get(f.feedback_id),
                "created_at": iso(f.created_at),
            }
            for f in follows
        ],
        "category_follows": _category_follows(person),
        "digest_subscriptions": _digest_subscriptions(person),
        "unsubscribes": [
            {
                "scope": u.scope,
                "feedback_id": u.feedback_id,
                "created_at": iso(u.created_at),
            }
            for u in db.session.scalars(
                sa.select(Unsubscribe)
                .where(Unsubscribe.user_id == person.id)
                .order_by(Unsubscribe.id)
            )
        ],
        "sessions": [
            {
                "device": s.device,
                "signed_in_at": iso(s.created_at),
                "last_seen_at": iso(s.last_seen_at),
                "ended_at": iso(s.revoked_at),
            }
            for s in db.session.scalars(
                sa.select(UserSession)
                .where(UserSession.user_id == person.id)
                .order_by(UserSession.created_at)
            )
        ],
        "images": _images(person),
        "changes_led_to": [
            {
                "resolution_id": c.resolution_id,
                "you_said": c.you_said,
                "published_at": iso(c.published_at),
            }
            for c in changes
        ],
    }


def _images(person: User) -> list[dict[str, Any]]:
    """The images this person uploaded, with their files: every one but those on internal
    notes (which never leave the staff pages). Two statements, however many there are."""
    uploaded = attachments.uploaded_by(person)
    files = attachments.files_of(uploaded)
    return [
        {
            "id": image.public_id,
            "feedback_id": image.feedback_id,
            "comment_id": image.comment_id,
            "file_name": attachments.file_name(image),
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "alt_text": image.alt_text,
            "uploaded_at": iso(image.created_at),
            "attached_at": iso(image.attached_at),
            "removed_by_staff": image.removed_at is not None,
            "data_base64": base64.b64encode(files[image.public_id]).decode("ascii")
            if image.public_id in files
            else None,
        }
        for image in uploaded
    ]


def _label(label: str) -> str:
    """A label marked where it is defined (models: N_), in the reader's language: the export's
    keys are for machines, its labels for the person reading it."""
    return say(Text(label))


def _items_named(person: User, item_ids: Iterable[int]) -> dict[int, str | None]:
    """Each item's title as this person may read it, or None for one they may not see."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Feedback)
        .where(Feedback.id.in_(ids))
        .options(
            load_only(
                Feedback.id,
                Feedback.title,
                Feedback.author_id,
                Feedback.visibility,
                Feedback.hidden,
                Feedback.awaiting_review,
                Feedback.redacted_at,
                raiseload=True,
            )
        )
    )
    return {item.id: title_for(item, person) if can_view(item, person) else None for item in rows}


def _earlier_versions(
    item_ids: list[int], comment_ids: list[int]
) -> dict[tuple[int, int | None], list[dict[str, Any]]]:
    """The words the person's own items and comments had before they edited them (theirs,
    withheld or not, as their current words are), by (item, comment or None), oldest first."""
    if not item_ids and not comment_ids:
        return {}
    found: dict[tuple[int, int | None], list[dict[str, Any]]] = defaultdict(list)
    for version in db.session.scalars(
        sa.select(TextVersion)
        .where(
            sa.or_(
                sa.and_(TextVersion.comment_id.is_(None), TextVersion.feedback_id.in_(item_ids)),
                TextVersion.comment_id.in_(comment_ids),
            )
        )
        .order_by(TextVersion.replaced_at, TextVersion.id)
    ):
        entry: dict[str, Any] = {"body": version.body_source}
        if version.comment_id is None:
            entry = {"title": version.title, **entry}
        entry.update(written_at=iso(version.written_at), replaced_at=iso(version.replaced_at))
        found[(version.feedback_id, version.comment_id)].append(entry)
    return found


def _own_items(
    person: User,
    items: list[Feedback],
    item_ids: list[int],
    others: dict[int, str | None],
    changes: list[ChangeLedTo],
) -> list[dict[str, Any]]:
    replies = _public_staff_replies(item_ids)
    timelines = _timelines(item_ids)
    you_said = {change.resolution_id: change.you_said for change in changes}
    resolutions = _resolutions({i.resolution_id for i in items if i.resolution_id is not None})
    exported = []
    for item in items:
        resolution = resolutions.get(item.resolution_id) if item.resolution_id else None
        exported.append(
            {
                **export_item(item),
                "category": item.category.name,
                "state_label": _label(item.state.label),
                "looked_after_by": item.owner.display_name if item.owner else None,
                "promised_by": iso(item.target_date),
                "merged_into": (
                    {"id": item.merged_into_id, "title": others[item.merged_into_id]}
                    if item.merged_into_id is not None and others.get(item.merged_into_id)
                    else None
                ),
                "staff_replies": replies.get(item.id, []),
                "timeline": timelines.get(item.id, []),
                "resolution": (
                    {
                        "id": resolution.id,
                        "you_said": you_said.get(resolution.id, ""),
                        "we_did": resolution.we_did_source,
                        "published_at": iso(resolution.published_at),
                    }
                    if resolution is not None
                    else None
                ),
            }
        )
    return exported


def _public_staff_replies(item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """What staff said in public on these items: replies, never internal notes, and not the
    ones staff hid."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not item_ids:
        return grouped
    rows = db.session.scalars(
        sa.select(Comment)
        .where(
            Comment.feedback_id.in_(item_ids),
            Comment.official.is_(True),
            Comment.internal.is_(False),
            Comment.hidden.is_(False),
        )
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    for reply in rows:
        grouped[reply.feedback_id].append(
            {
                "id": reply.id,
                "from": str(reply.author.public_name),
                "body": reply.body_source,
                "created_at": iso(reply.created_at),
            }
        )
    return grouped


def _timelines(item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each item's tracking history, as its public page shows it (every timeline entry is a
    public change: see models.feedback.TimelineEvent)."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not item_ids:
        return grouped
    rows = db.session.scalars(
        sa.select(TimelineEvent)
        .where(TimelineEvent.feedback_id.in_(item_ids))
        .options(joinedload(TimelineEvent.actor))
        .order_by(TimelineEvent.created_at, TimelineEvent.id)
    )
    for event in rows:
        grouped[event.feedback_id].append(
            {
                "kind": event.kind.value,
                "state": _label(event.to_state.label) if event.to_state else None,
                "by": str(event.actor.public_name) if event.actor else None,
                "message": event.message,
                "promised_by": iso(event.target_date),
                "at": iso(event.created_at),
            }
        )
    return grouped


def _resolutions(resolution_ids: set[int]) -> dict[int, Resolution]:
    if not resolution_ids:
        return {}
    rows = db.session.scalars(sa.select(Resolution).where(Resolution.id.in_(resolution_ids)))
    return {r.id: r for r in rows}


def _category_follows(person: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Category.name, CategoryFollow.created_at)
        .join(Category, Category.id == CategoryFollow.category_id)
        .where(CategoryFollow.user_id == person.id)
        .order_by(Category.name)
    )
    return [{"category": name, "created_at": iso(created_at)} for name, created_at in rows]


def _digest_subscriptions(person: User) -> list[dict[str, Any]]:
    subscriptions = list(
        db.session.scalars(
            sa.select(DigestSubscription)
            .where(
                sa.or_(
                    DigestSubscription.user_id == person.id,
                    sa.func.lower(DigestSubscription.email) == normalise_email(person.email),
                )
            )
            .order_by(DigestSubscription.id)
        )
    )
    categories: dict[int, list[str]] = defaultdict(list)
    if subscriptions:
        column = digest_subscription_categories.c
        for subscription_id, name in db.session.execute(
            sa.select(column.subscription_id, Category.name)
            .join(Category, Category.id == column.category_id)
            .where(column.subscription_id.in_([s.id for s in subscriptions]))
            .order_by(Category.name)
        ):
            categories[subscription_id].append(name)
    return [
        {
            "email": s.email,
            "frequency": s.frequency.value,
            "categories": categories.get(s.id, []),
            "created_at": iso(s.created_at),
            "confirmed_at": iso(s.confirmed_at),
            "unsubscribed_at": iso(s.unsubscribed_at),
        }
        for s in subscriptions
    ]
