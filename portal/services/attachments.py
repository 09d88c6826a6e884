"""Attachments: photos and screenshots on items and comments (issue #24).

An image is uploaded first: decoded and re-encoded (portal/services/images.py), its bytes put
in the attachment store (portal/services/attachment_store.py) and its row written, attached
to nothing; only its uploader sees it (a preview). Submitting the item or the comment attaches
it. Uploads never attached are removed after an hour (`flask attachments prune`).

Who attaches: a customer to their own item or comment, staff to their own reply or internal
note; at most five images on each. Staff may remove an image from view; it stays stored, for
staff and the record, like a hidden comment.

Who sees: exactly those who may see what it is attached to (`can_see`). An item's images
follow the item page: visibility.can_view, and when staff withheld the item's words (redacted
or hidden) only staff and its author. A comment's images follow the comment: an internal
note's or a hidden comment's only staff. Deleting an account deletes the files its person
uploaded.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Attachment, Comment, Feedback, SiteSettings, User
from portal.services import environment, events, images
from portal.services.attachment_store import AttachmentStore, current_store
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.visibility import can_view, words_withheld
from portal.services.wording import t, tn

MAX_PER_TARGET = 5
# Uploads attached to nothing this long are removed by prune (a form left open longer
# uploads again).
UNATTACHED_LIFETIME = timedelta(hours=1)
ALT_TEXT_LENGTH = 300
PUBLIC_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,43}")


class TooManyImages(DomainError):
    """More images than one item or comment takes."""


def _is_staff(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_staff


def _too_many() -> TooManyImages:
    return TooManyImages(
        tn(
            "You can attach %(num)d image to one item or comment.",
            "You can attach up to %(num)d images to one item or comment.",
            MAX_PER_TARGET,
        )
    )


def _plain_alt_text(alt_text: str) -> str:
    """Alt text on one line, without control characters, at most ALT_TEXT_LENGTH long."""
    shown = "".join(ch for ch in alt_text if unicodedata.category(ch) != "Cc" or ch.isspace())
    return " ".join(shown.split())[:ALT_TEXT_LENGTH]


# Commands --------------------------------------------------------------------------------


def upload_image(uploader: User, data: bytes, *, alt_text: str = "") -> Attachment:
    """Keep one image, re-encoded, attached to nothing yet (the uploader's preview)."""
    if not uploader.is_active:
        raise NotAllowed(t("Your account cannot attach images."))
    settings = environment.current().settings
    kept = images.process_image(
        data,
        max_bytes=settings.attachment_max_bytes,
        max_pixels=settings.attachment_max_pixels,
    )
    attachment = Attachment(
        public_id=secrets.token_urlsafe(24),
        uploader_id=uploader.id,
        content_type=kept.content_type,
        width=kept.width,
        height=kept.height,
        byte_size=len(kept.data),
        thumbnail_width=kept.thumbnail_width,
        thumbnail_height=kept.thumbnail_height,
        alt_text=_plain_alt_text(alt_text),
    )
    db.session.add(attachment)
    db.session.flush()
    full, thumbnail = attachment.storage_keys
    store = current_store()
    store.put(full, kept.data)
    store.put(thumbnail, kept.thumbnail)
    return attachment


def check_room(count: int) -> None:
    """Refuse more images than one item or comment takes, before any is decoded."""
    if count > MAX_PER_TARGET:
        raise _too_many()


def describe_uploads(uploader: User, alt_texts: Mapping[str, str]) -> None:
    """Set the alt text of the uploader's own uploads still waiting to be attached (a form's
    descriptions, typed after the preview); others' and attached ones are left alone."""
    if not alt_texts:
        return
    for upload in waiting_uploads(uploader, list(alt_texts)):
        described = _plain_alt_text(alt_texts[upload.public_id])
        if upload.alt_text != described:
            upload.alt_text = described
    db.session.flush()


def upload_images(uploader: User, files: Sequence[tuple[bytes, str]]) -> list[str]:
    """Keep several images at once (a form sent without JavaScript, the API, email intake):
    (bytes, alt text) pairs, each re-encoded; their public ids, in order, for the command that
    attaches them. Nothing is decoded when there are too many."""
    check_room(len(files))
    return [upload_image(uploader, data, alt_text=alt).public_id for data, alt in files]


def attach_uploads(
    actor: User, item: Feedback, comment: Comment | None, public_ids: Sequence[str]
) -> list[Attachment]:
    """Attach the actor's waiting uploads to the item or comment a command of theirs has just
    written (submit_feedback, add_comment, workflow.reply, workflow.add_internal_note): only
    their own uploads not attached yet, at most MAX_PER_TARGET on one item or comment."""
    wanted = list(dict.fromkeys(public_ids))
    if not wanted:
        return []
    already = db.session.scalar(
        sa.select(sa.func.count(Attachment.id)).where(
            Attachment.feedback_id == item.id,
            Attachment.comment_id == comment.id
            if comment is not None
            else Attachment.comment_id.is_(None),
            Attachment.removed_at.is_(None),
        )
    )
    if (already or 0) + len(wanted) > MAX_PER_TARGET:
        raise _too_many()
    uploads = list(
        db.session.scalars(
            sa.select(Attachment).where(
                Attachment.public_id.in_(wanted),
                Attachment.uploader_id == actor.id,
                Attachment.feedback_id.is_(None),
                Attachment.removed_at.is_(None),
            )
        )
    )
    if len(uploads) != len(wanted):
        raise NotFound(
            t("An image you chose is no longer waiting to be attached: please attach it again.")
        )
    now = datetime.now(UTC)
    order = {public_id: n for n, public_id in enumerate(wanted)}
    uploads.sort(key=lambda upload: order[upload.public_id])
    for upload in uploads:
        upload.feedback_id = item.id
        upload.comment_id = comment.id if comment is not None else None
        upload.attached_at = now
    db.session.flush()
    events.emit(events.ImagesAttached(item=item, comment=comment, attachments=uploads, actor=actor))
    return uploads


def remove_attachment(actor: User, public_id: str, reason: str) -> Attachment:
    """Staff take an image out of view, for a reason kept in the audit log; it stays stored,
    and staff still see it."""
    if not _is_staff(actor):
        raise NotAllowed(t("Only staff can remove an image."))
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(t("Please say why the image is removed (it is kept for the record)."))
    attachment = _by_public_id(public_id)
    if attachment is None:
        raise _not_found()
    if attachment.removed_at is None:
        attachment.removed_at = datetime.now(UTC)
        attachment.removed_by_id = actor.id
        db.session.flush()
        events.emit(events.AttachmentRemoved(attachment=attachment, actor=actor, reason=reason))
    return attachment


def delete_files_of(user: User) -> int:
    """Delete every image this person uploaded, rows and bytes (their account is deleted)."""
    doomed = list(
        db.session.scalars(sa.select(Attachment).where(Attachment.uploader_id == user.id))
    )
    _delete(doomed)
    return len(doomed)


def prune_unattached(now: datetime | None = None) -> int:
    """Delete uploads attached to nothing for longer than UNATTACHED_LIFETIME, and bytes a
    store holds for no upload at all (one whose transaction rolled back)."""
    cutoff = (now or datetime.now(UTC)) - UNATTACHED_LIFETIME
    doomed = list(
        db.session.scalars(
            sa.select(Attachment).where(
                Attachment.feedback_id.is_(None), Attachment.created_at < cutoff
            )
        )
    )
    _delete(doomed)
    store = current_store()
    if not store.transactional:
        # A transactional store's bytes rolled back with their rows; only the others keep
        # files of uploads whose transaction failed.
        known = set(db.session.scalars(sa.select(Attachment.public_id)))
        known |= _logo_stems()  # the site's logo (services/branding.py) is in the same store
        strays = [key for key in store.keys_before(cutoff) if key.split(".")[0] not in known]
        _forget(store, strays)
    return len(doomed)


def _logo_stems() -> set[str]:
    """The stems of the logo keys the site settings name."""
    return {
        (key or "").split(".")[0]
        for key in db.session.scalars(
            sa.select(SiteSettings.logo_key).where(SiteSettings.logo_key.is_not(None))
        )
    }


def _delete(doomed: Iterable[Attachment]) -> None:
    doomed = list(doomed)
    if not doomed:
        return
    keys = [key for attachment in doomed for key in attachment.storage_keys]
    db.session.execute(
        sa.delete(Attachment)
        .where(Attachment.id.in_([attachment.id for attachment in doomed]))
        .execution_options(synchronize_session=False)
    )
    for attachment in doomed:
        db.session.expunge(attachment)
    _forget(current_store(), keys)


def _forget(store: AttachmentStore, keys: list[str]) -> None:
    if not keys:
        return
    if store.transactional:
        store.delete(keys)
    else:
        # Files go once the rows are gone for good: a rolled-back deletion keeps its files.
        events.after_commit(db.session(), lambda: store.delete(keys))


# Queries ---------------------------------------------------------------------------------


def _by_public_id(public_id: str) -> Attachment | None:
    if not PUBLIC_ID_PATTERN.fullmatch(public_id):
        return None
    return db.session.scalar(sa.select(Attachment).where(Attachment.public_id == public_id))


def _not_found() -> NotFound:
    # Private and missing images answer alike, so an id tells nothing about what it names.
    return NotFound(t("We could not find that image. It may be private or may have been removed."))


def waiting_uploads(uploader: User, public_ids: Sequence[str]) -> list[Attachment]:
    """The uploader's own uploads among these ids that wait to be attached, in the order
    given (a form's previews)."""
    wanted = [public_id for public_id in public_ids if PUBLIC_ID_PATTERN.fullmatch(public_id)]
    if not wanted or not uploader.is_authenticated:
        return []
    found = {
        upload.public_id: upload
        for upload in db.session.scalars(
            sa.select(Attachment).where(
                Attachment.public_id.in_(wanted),
                Attachment.uploader_id == uploader.id,
                Attachment.feedback_id.is_(None),
            )
        )
    }
    return [found[public_id] for public_id in dict.fromkeys(wanted) if public_id in found]


def can_see(
    attachment: Attachment,
    user: User | None,
    item: Feedback | None,
    comment: Comment | None = None,
) -> bool:
    """Whether this person may see the image: exactly those who may see what it is attached
    to (the item, or the comment), given those loaded."""
    staff = _is_staff(user)
    if attachment.feedback_id is None:
        # An upload not attached yet is its uploader's preview.
        return user is not None and user.is_authenticated and user.id == attachment.uploader_id
    if item is None or not can_view(item, user):
        return False
    if attachment.removed_at is not None:
        return staff
    if attachment.comment_id is not None:
        if comment is None:
            return False
        return staff or not (comment.internal or comment.hidden)
    if words_withheld(item):
        # As the item page shows a redacted item's words: to staff only (a hidden item is
        # already staff's only, by can_view).
        return staff
    return True


# Built once: every item page reads it.
_IMAGES_ON_ITEM = (
    sa.select(Attachment)
    .where(Attachment.feedback_id == sa.bindparam("item_id"))
    .order_by(Attachment.attached_at, Attachment.id)
)


def images_on_item(
    item: Feedback, user: User | None, comments: Iterable[Comment] = ()
) -> dict[int | None, list[Attachment]]:
    """The images this person may see on an item page, in one query: the item's own under
    None, each comment's under its id (of the comments given, as the page loaded them),
    oldest first."""
    by_id = {comment.id: comment for comment in comments}
    shown: dict[int | None, list[Attachment]] = {}
    for attachment in db.session.scalars(_IMAGES_ON_ITEM, {"item_id": item.id}):
        comment = by_id.get(attachment.comment_id) if attachment.comment_id else None
        if can_see(attachment, user, item, comment):
            shown.setdefault(attachment.comment_id, []).append(attachment)
    return shown


def shown_on_items(items: Sequence[Feedback], user: User | None) -> dict[int, list[Attachment]]:
    """Each item's own images (not its comments') this person may see, oldest first, by item
    id, in one query: for the API's items and webhooks. Images staff removed are never
    listed here, to staff neither: these surfaces show what is in view."""
    by_id = {item.id: item for item in items}
    shown: dict[int, list[Attachment]] = {item_id: [] for item_id in by_id}
    if not by_id:
        return shown
    for attachment in db.session.scalars(
        sa.select(Attachment)
        .where(
            Attachment.feedback_id.in_(list(by_id)),
            Attachment.comment_id.is_(None),
            Attachment.removed_at.is_(None),
        )
        .order_by(Attachment.attached_at, Attachment.id)
    ):
        item_id = attachment.feedback_id
        if item_id is not None and can_see(attachment, user, by_id[item_id]):
            shown[item_id].append(attachment)
    return shown


@dataclass(frozen=True)
class ImageCount:
    """How many images a reader may see on an item (its own) and on one comment of it."""

    on_item: int = 0
    on_comment: int = 0


def image_count(item: Feedback, reader: User | None, comment: Comment | None = None) -> ImageCount:
    """How many of the item's own images, and of `comment`'s, this person may see (images
    staff removed are not counted): what an email tells its reader is on the item's page."""
    on_item = on_comment = 0
    for attachment in db.session.scalars(
        sa.select(Attachment).where(
            Attachment.feedback_id == item.id,
            Attachment.removed_at.is_(None),
            Attachment.comment_id.is_(None)
            if comment is None
            else sa.or_(Attachment.comment_id.is_(None), Attachment.comment_id == comment.id),
        )
    ):
        if not can_see(attachment, reader, item, comment):
            continue
        if attachment.comment_id is None:
            on_item += 1
        else:
            on_comment += 1
    return ImageCount(on_item=on_item, on_comment=on_comment)


def uploaded_by(person: User) -> list[Attachment]:
    """Every image this person uploaded that they may take with them (their data export): all
    but those on internal notes, which never leave the staff pages. Oldest first."""
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .outerjoin(Comment, Comment.id == Attachment.comment_id)
            .where(
                Attachment.uploader_id == person.id,
                sa.or_(Attachment.comment_id.is_(None), Comment.internal.is_(False)),
            )
            .order_by(Attachment.created_at, Attachment.id)
        )
    )


def files_of(attachments: Sequence[Attachment]) -> dict[str, bytes]:
    """The full images' bytes by public id, read from the store at once (missing ones are
    left out)."""
    keys = {attachment.storage_keys[0]: attachment.public_id for attachment in attachments}
    found = current_store().get_many(list(keys))
    return {keys[key]: data for key, data in found.items()}


def visible_attachment(public_id: str, user: User | None) -> Attachment:
    """The image with this id, if this person may see it; NotFound otherwise."""
    attachment = _by_public_id(public_id)
    if attachment is None:
        raise _not_found()
    item = db.session.get(Feedback, attachment.feedback_id) if attachment.feedback_id else None
    comment = db.session.get(Comment, attachment.comment_id) if attachment.comment_id else None
    if not can_see(attachment, user, item, comment):
        raise _not_found()
    return attachment


def image_bytes(attachment: Attachment, *, thumbnail: bool = False) -> bytes:
    """The stored bytes of the image, or of its thumbnail."""
    full, small = attachment.storage_keys
    data = current_store().get(small if thumbnail else full)
    if data is None:
        raise _not_found()
    return data


def file_name(attachment: Attachment, *, thumbnail: bool = False) -> str:
    """A safe name for the file, made by us (never one the person gave)."""
    extension = images.EXTENSIONS[attachment.content_type]
    suffix = "-thumbnail" if thumbnail else ""
    return f"image-{attachment.public_id}{suffix}.{extension}"
