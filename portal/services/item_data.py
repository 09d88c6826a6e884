"""One description of an item for everything that sends it out of the portal: the API, webhooks,
the account export, feeds, digests and emails.

The rule kept here: a redacted or hidden item's words (its title and body) reach no surface but
staff pages and the author's own data export, where they are marked as redacted or hidden.
Everywhere else a stand-in takes the title's place and the body is left out. Which items a
surface may describe at all (private ones, unapproved ones) is the caller's query; this module
never shows words that the rule withholds, whatever it is given.

Plain values in, plain data out: no request and no URL building. Links are the edge's business
and are passed in as strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from portal.models import Attachment, Feedback, User
from portal.models.base import N_
from portal.services.visibility import is_public, words_withheld
from portal.services.wording import t

# Stands in for a resolution's "you said" that was an item's title staff have since withheld
# (in English; shown through the catalog in the reader's language).
WITHHELD_YOU_SAID = N_("Feedback whose words our staff removed")


def iso(value: datetime | date | None) -> str | None:
    """A moment or a day as ISO 8601, or None."""
    return value.isoformat() if value is not None else None


def withheld_title(item_id: int) -> str:
    """What shows where a withheld item's title would: its number, and why there is no title."""
    return str(t("#%(id)d (its words were removed by our staff)", id=item_id))


def public_title(item: Feedback) -> str:
    """The title as anyone may read it: a stand-in once staff redacted or hid the item."""
    return withheld_title(item.id) if words_withheld(item) else item.title


def title_for(item: Feedback, reader: User) -> str:
    """The title as this person may read it. Staff and the item's author keep its words (they
    are the author's own); everyone else gets public_title."""
    if reader.is_staff or reader.id == item.author_id:
        return item.title
    return public_title(item)


# A card's line of the body: about a line on a desktop card (two on a phone, which wraps it).
EXCERPT_CHARS = 80


def excerpt(text: str, width: int = EXCERPT_CHARS) -> str:
    """The start of a text on one line, cut after a whole word, with an ellipsis if cut."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[:width].rsplit(" ", 1)[0] if " " in flat[:width] else flat[:width]
    return cut.rstrip(" ,.;:") + "\u2026"


def excerpt_for(item: Feedback, reader: User | None) -> str:
    """The start of the item's body as this person may read it: nothing once staff withheld
    its words, except for staff and its author (as title_for)."""
    if words_withheld(item) and not (
        reader is not None
        and reader.is_authenticated
        and (reader.is_staff or reader.id == item.author_id)
    ):
        return ""
    return excerpt(item.body_source)


def you_said_shown(you_said: str, withheld_titles: Iterable[str]) -> str:
    """A resolution's "you said" as the public may read it. Publishing takes the first public
    item's title when staff write none, so a "you said" equal to the title of an item whose
    words were withheld (before or after publishing) is replaced by a stand-in."""
    withheld = {title.strip() for title in withheld_titles}
    return str(t(WITHHELD_YOU_SAID)) if you_said.strip() in withheld else you_said


def you_said_for(you_said: str, items: Iterable[Feedback], reader: User) -> str:
    """A resolution's "you said" as this person may read it (see title_for)."""
    return you_said_shown(you_said, [i.title for i in items if title_for(i, reader) != i.title])


def public_item(item: Feedback) -> dict[str, Any]:
    """An item as the public may read it (the API's item). Needs category, author, owner and
    merged_into loaded. Only for items the public may see at all."""
    shown = not words_withheld(item)
    merged_into = item.merged_into
    return {
        "id": item.id,
        "kind": item.kind.value,
        "title": public_title(item),
        "body": item.body_source if shown else None,
        "body_html": item.body_html if shown else None,
        "redacted": item.redacted_at is not None,
        "category": {
            "id": item.category.id,
            "slug": item.category.slug,
            "name": item.category.name,
        },
        "state": item.state.value,
        "state_label": item.state.label,
        "author_name": str(item.author.public_name),
        "owner_name": item.owner.display_name if item.owner is not None else None,
        "vote_count": item.vote_count,
        "comment_count": item.comment_count,
        "target_date": iso(item.target_date),
        # What is promised by that date; null for a promise made before outcomes were asked for.
        "promise_outcome": item.promise_outcome if item.target_date is not None else None,
        # Only a public target is named: a private one's existence is not ours to tell.
        "merged_into_id": merged_into.id
        if merged_into is not None and is_public(merged_into)
        else None,
        "resolution_id": item.resolution_id,
        "created_at": iso(item.created_at),
        "acknowledged_at": iso(item.acknowledged_at),
        "resolved_at": iso(item.resolved_at),
    }


def image_data(attachment: Attachment, *, url: str, thumbnail_url: str) -> dict[str, Any]:
    """An attached image as the API and webhooks describe it, with the addresses of the full
    image and its thumbnail (which answer only those who may see it). Only for images the
    reader may see (attachments.shown_on_items)."""
    return {
        "id": attachment.public_id,
        "content_type": attachment.content_type,
        "width": attachment.width,
        "height": attachment.height,
        "thumbnail_width": attachment.thumbnail_width,
        "thumbnail_height": attachment.thumbnail_height,
        "alt_text": attachment.alt_text,
        "url": url,
        "thumbnail_url": thumbnail_url,
    }


def webhook_item(
    item: Feedback, *, url: str, admin_url: str, images: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """An item as webhooks describe it, any item. Its words, and its `images` (image_data of
    those anyone may see), go only with a publicly shown item whose words staff have not
    withheld: a private complaint's text and pictures, or a redacted one's, stay in the
    portal, and staff follow `admin_url` to see them. `url` is its public page, named only
    for a public item."""
    data: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind.value,
        "state": item.state.value,
        "channel": item.channel.value,
        "visibility": item.visibility.value,
        "public": is_public(item),
        "redacted": item.redacted_at is not None,
        "category_id": item.category_id,
        "vote_count": item.vote_count,
        "created_at": iso(item.created_at),
        "admin_url": admin_url,
    }
    if is_public(item):
        data["url"] = url
        if not words_withheld(item):
            data.update(title=item.title, body=item.body_source, images=list(images))
    return data


def export_item(item: Feedback) -> dict[str, Any]:
    """One of the author's own items for their data export: their words always (they are the
    author's), marked when staff redacted or hid them, so the author knows they are not shown."""
    return {
        "id": item.id,
        "kind": item.kind.value,
        "title": item.title,
        "body": item.body_source,
        "visibility": item.visibility.value,
        "state": item.state.value,
        "created_at": iso(item.created_at),
        "redacted": item.redacted_at is not None,
        "redacted_at": iso(item.redacted_at),
        "hidden": item.hidden,
        "edited_at": iso(item.edited_at),
        # The page of the organisation's site it was sent from through the widget (or None).
        "page_url": item.page_url,
    }
