"""The attachments commands' rules: who attaches what to which, at most five, staff removal
kept for the record, pruning uploads never attached, and both stores."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from portal.config import Config
from portal.extensions import db
from portal.models import Attachment, AttachmentBlob, AuditEntry, Feedback, Role, User
from portal.services import attachments, images, transfer, workflow
from portal.services.attachment_store import DatabaseStore, DirectoryStore, current_store
from portal.services.environment import Settings
from portal.services.errors import NotAllowed, NotFound
from portal.services.feedback import add_comment
from tests.helpers import count_queries


def png(size: tuple[int, int] = (30, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def uploads(person: User, count: int) -> list[str]:
    return [attachments.upload_image(person, png()).public_id for _ in range(count)]


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.STAFF)


@pytest.fixture
def item(author: User, make_feedback: Callable[..., Feedback]) -> Feedback:
    return make_feedback(author=author)


def test_an_upload_is_kept_reencoded_and_attached_to_nothing(author: User) -> None:
    upload = attachments.upload_image(author, png() + b"TRAILER", alt_text="  The\nbox \x07 ")

    assert upload.feedback_id is None and upload.comment_id is None
    assert (upload.width, upload.height, upload.content_type) == (30, 20, "image/png")
    assert upload.alt_text == "The box"
    assert len(upload.public_id) >= 32
    full, thumbnail = upload.storage_keys
    kept = current_store().get(full)
    assert kept is not None and b"TRAILER" not in kept and len(kept) == upload.byte_size
    assert current_store().get(thumbnail) is not None


def test_a_refused_image_keeps_nothing(author: User) -> None:
    with pytest.raises(images.ImageRefused):
        attachments.upload_image(author, b"<svg><script>alert(1)</script></svg>")

    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_the_limits_are_the_settings(
    author: User, change_settings: Callable[..., Settings]
) -> None:
    change_settings(attachment_max_pixels=100)

    with pytest.raises(images.ImageRefused) as refused:
        attachments.upload_image(author, png((20, 20)))

    assert refused.value.reason is images.Refusal.TOO_MANY_PIXELS


def test_the_author_attaches_images_to_their_item_in_order(author: User, item: Feedback) -> None:
    chosen = uploads(author, 3)

    attached = attachments.attach_to_item(author, item.id, chosen)

    assert [a.public_id for a in attached] == chosen
    assert all(a.feedback_id == item.id and a.attached_at is not None for a in attached)


def test_nobody_else_attaches_to_an_item(
    author: User, staff: User, item: Feedback, make_user: Callable[..., User]
) -> None:
    other = make_user()
    with pytest.raises(NotAllowed):
        attachments.attach_to_item(other, item.id, uploads(other, 1))
    with pytest.raises(NotAllowed):
        attachments.attach_to_item(staff, item.id, uploads(staff, 1))


def test_only_ones_own_waiting_uploads_are_attached(
    author: User, item: Feedback, make_user: Callable[..., User], make_feedback
) -> None:
    other = make_user()
    theirs = uploads(other, 1)
    with pytest.raises(NotFound):
        attachments.attach_to_item(author, item.id, theirs)

    mine = uploads(author, 1)
    attachments.attach_to_item(author, item.id, mine)
    second_item = make_feedback(author=author)
    with pytest.raises(NotFound):  # already attached elsewhere
        attachments.attach_to_item(author, second_item.id, mine)


def test_at_most_five_images_on_an_item_counting_those_already_there(
    author: User, item: Feedback
) -> None:
    attachments.attach_to_item(author, item.id, uploads(author, 4))

    with pytest.raises(attachments.TooManyImages) as refused:
        attachments.attach_to_item(author, item.id, uploads(author, 2))

    assert refused.value.message == "You can attach up to 5 images to one item or comment."
    attachments.attach_to_item(author, item.id, uploads(author, 1))


def test_too_many_files_at_once_are_refused_before_any_is_decoded(
    author: User, item: Feedback, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(images, "process_image", no_decoding)

    with pytest.raises(attachments.TooManyImages):
        attachments.add_images(author, [(png(), "")] * 6, item_id=item.id)


def test_add_images_uploads_and_attaches_in_one_go(author: User, item: Feedback) -> None:
    added = attachments.add_images(author, [(png(), "First"), (png(), "")], item_id=item.id)

    assert [a.alt_text for a in added] == ["First", ""]
    assert all(a.feedback_id == item.id for a in added)


def test_a_customer_attaches_to_their_comment_and_staff_to_their_reply_or_note(
    author: User, staff: User, item: Feedback, make_user: Callable[..., User]
) -> None:
    commenter = make_user()
    comment = add_comment(commenter, item.id, "Mine too")
    attached = attachments.attach_to_comment(commenter, comment.id, uploads(commenter, 1))
    assert attached[0].comment_id == comment.id and attached[0].feedback_id == item.id

    note = workflow.add_internal_note(item.id, staff, "Photo from the depot")
    attachments.attach_to_comment(staff, note.id, uploads(staff, 1))

    with pytest.raises(NotAllowed):  # someone else's comment
        attachments.attach_to_comment(author, comment.id, uploads(author, 1))
    with pytest.raises(NotAllowed):  # a staff member's note, by its author made customer
        note.author_id = author.id
        db.session.flush()
        attachments.attach_to_comment(author, note.id, uploads(author, 1))


def test_removing_an_image_is_for_staff_with_a_reason_and_audited(
    author: User, staff: User, item: Feedback
) -> None:
    [image] = attachments.attach_to_item(author, item.id, uploads(author, 1))
    with pytest.raises(NotAllowed):
        attachments.remove_attachment(author, image.public_id, "Mine")
    with pytest.raises(attachments.DomainError):
        attachments.remove_attachment(staff, image.public_id, "   ")

    attachments.remove_attachment(staff, image.public_id, "A stranger's face")

    assert image.removed_at is not None and image.removed_by_id == staff.id
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="attachment.removed"))
    assert entry is not None and entry.detail["reason"] == "A stranger's face"
    # Kept for the record: the bytes stay.
    assert current_store().get(image.storage_keys[0]) is not None
    # A removed image no longer counts towards the five.
    attachments.attach_to_item(author, item.id, uploads(author, 5))


def test_prune_deletes_uploads_never_attached_after_an_hour(author: User, item: Feedback) -> None:
    [attached] = attachments.attach_to_item(author, item.id, uploads(author, 1))
    [waiting] = uploads(author, 1)
    db.session.commit()

    assert attachments.prune_unattached() == 0  # a fresh upload waits for its form
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    assert attachments.prune_unattached(now=later) == 1
    db.session.commit()

    left = set(db.session.scalars(sa.select(Attachment.public_id)))
    assert left == {attached.public_id}
    keys = set(db.session.scalars(sa.select(AttachmentBlob.key)))
    assert keys == set(attached.storage_keys)
    assert not any(key.startswith(waiting) for key in keys)


def test_the_prune_command(app: Flask, author: User) -> None:
    upload = attachments.upload_image(author, png())
    upload.created_at = datetime.now(UTC) - timedelta(hours=2)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["attachments", "prune"])

    assert result.exit_code == 0, result.output
    assert "Uploads never attached, deleted: 1." in result.output
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


# The stores --------------------------------------------------------------------------------


def test_the_database_store_is_the_default() -> None:
    assert isinstance(current_store(), DatabaseStore)
    assert Config.ATTACHMENT_STORE == "database"


def test_the_directory_store_needs_its_folder() -> None:
    config = {key: getattr(Config, key) for key in dir(Config) if key.isupper()}
    config.update(SECRET_KEY="x" * 40, ATTACHMENT_STORE="directory", ATTACHMENT_DIRECTORY="")
    with pytest.raises(ValueError, match="ATTACHMENT_DIRECTORY"):
        Settings.from_config(config)
    config.update(ATTACHMENT_STORE="s3")
    with pytest.raises(ValueError, match="ATTACHMENT_STORE"):
        Settings.from_config(config)


@pytest.fixture
def directory(tmp_path: Path, change_settings: Callable[..., Settings]) -> Path:
    root = tmp_path / "attachments"
    change_settings(attachment_store="directory", attachment_directory=str(root))
    return root


def test_the_directory_store_keeps_private_files(author: User, item: Feedback, directory: Path):
    [image] = attachments.attach_to_item(author, item.id, uploads(author, 1))
    db.session.commit()

    assert isinstance(current_store(), DirectoryStore)
    full = directory / image.public_id[:2] / f"{image.public_id}.full"
    assert full.read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE(os.stat(full).st_mode) == 0o600
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentBlob)) == 0
    assert attachments.image_bytes(image, thumbnail=True).startswith(b"\x89PNG")


def test_the_directory_store_deletes_files_only_when_the_deletion_commits(
    author: User, directory: Path
) -> None:
    upload = attachments.upload_image(author, png())
    db.session.commit()
    full = directory / upload.public_id[:2] / f"{upload.public_id}.full"

    attachments.delete_files_of(author)
    db.session.rollback()
    assert full.exists()

    attachments.delete_files_of(author)
    db.session.commit()
    assert not full.exists()


def test_prune_removes_files_no_upload_names(author: User, directory: Path) -> None:
    upload = attachments.upload_image(author, png())
    public_id = upload.public_id
    db.session.rollback()  # the upload's transaction failed: its files stay behind
    stray = directory / public_id[:2] / f"{public_id}.full"
    assert stray.exists()

    attachments.prune_unattached(now=datetime.now(UTC) + timedelta(hours=2))
    db.session.commit()

    assert not stray.exists()


def test_store_keys_cannot_name_paths(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    for key in ("../../etc/passwd", "a/b.full", "", "abc"):
        with pytest.raises(ValueError):
            store.put(key, b"x")


def test_the_export_carries_images_kept_in_the_database(author: User) -> None:
    upload = attachments.upload_image(author, png())
    db.session.commit()
    full = upload.storage_keys[0]
    out = io.StringIO()

    transfer.export_data(out)

    rows = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    [blob] = [r["r"] for r in rows if r["t"] == "attachment_blobs" and r["r"]["key"] == full]
    assert transfer._restore(blob["data"]) == current_store().get(full)


def test_an_item_page_gets_the_images_its_reader_may_see_in_one_query(
    app: Flask, author: User, staff: User, item: Feedback, make_user: Callable[..., User]
) -> None:
    own = attachments.attach_to_item(author, item.id, uploads(author, 2))
    commenter = make_user()
    comment = add_comment(commenter, item.id, "Mine too")
    [on_comment] = attachments.attach_to_comment(commenter, comment.id, uploads(commenter, 1))
    note = workflow.add_internal_note(item.id, staff, "From the depot")
    [on_note] = attachments.attach_to_comment(staff, note.id, uploads(staff, 1))
    attachments.remove_attachment(staff, own[1].public_id, "Someone's face")
    db.session.commit()
    db.session.refresh(item)
    db.session.refresh(comment)  # as the page has them loaded

    with count_queries(db.engine) as queries:
        for_visitor = attachments.images_on_item(item, None, [comment])
    assert queries.count == 1
    assert for_visitor == {None: [own[0]], comment.id: [on_comment]}

    for_staff = attachments.images_on_item(item, staff, [comment, note])
    assert for_staff == {None: own, comment.id: [on_comment], note.id: [on_note]}
