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


def images_of(item: Feedback) -> list[Attachment]:
    return list(
        db.session.scalars(
            sa.select(Attachment).filter_by(feedback_id=item.id).order_by(Attachment.id)
        )
    )


def test_the_author_submits_an_item_with_images_in_order(
    author: User, make_feedback: Callable[..., Feedback]
) -> None:
    chosen = uploads(author, 3)
    chosen.reverse()

    item = make_feedback(author=author, images=chosen)

    attached = sorted(images_of(item), key=lambda a: a.attached_at and chosen.index(a.public_id))
    assert [a.public_id for a in attached] == chosen
    assert all(a.comment_id is None and a.attached_at is not None for a in attached)


def test_only_ones_own_waiting_uploads_are_attached(
    author: User, make_user: Callable[..., User], make_feedback: Callable[..., Feedback]
) -> None:
    other = make_user()
    theirs = uploads(other, 1)
    with pytest.raises(NotFound):
        make_feedback(author=author, images=theirs)
    db.session.rollback()

    mine = uploads(author, 1)
    db.session.commit()
    make_feedback(author=author, images=mine)
    with pytest.raises(NotFound):  # already attached elsewhere
        make_feedback(author=author, images=mine)


def test_at_most_five_images_on_an_item(
    author: User, make_feedback: Callable[..., Feedback]
) -> None:
    with pytest.raises(attachments.TooManyImages) as refused:
        make_feedback(author=author, images=uploads(author, 6))

    assert refused.value.message == "You can attach up to 5 images to one item or comment."
    db.session.rollback()
    assert len(images_of(make_feedback(author=author, images=uploads(author, 5)))) == 5


def test_too_many_files_at_once_are_refused_before_any_is_decoded(
    author: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(images, "process_image", no_decoding)

    with pytest.raises(attachments.TooManyImages):
        attachments.upload_images(author, [(png(), "")] * 6)


def test_upload_images_keeps_each_with_its_alt_text(author: User) -> None:
    kept = attachments.upload_images(author, [(png(), "First"), (png(), "")])

    rows = {a.public_id: a for a in db.session.scalars(sa.select(Attachment))}
    assert [rows[public_id].alt_text for public_id in kept] == ["First", ""]


def test_a_customer_attaches_to_their_comment_and_staff_to_their_reply_or_note(
    author: User, staff: User, item: Feedback, make_user: Callable[..., User]
) -> None:
    commenter = make_user()
    comment = add_comment(commenter, item.id, "Mine too", images=uploads(commenter, 1))
    [on_comment] = [a for a in images_of(item) if a.comment_id == comment.id]
    assert on_comment.uploader_id == commenter.id

    note = workflow.add_internal_note(
        item.id, staff, "Photo from the depot", images=uploads(staff, 1)
    )
    workflow.acknowledge(item.id, staff, "Thank you.", post_anyway=True)
    reply = workflow.reply(
        item.id, staff, "Here is the part we changed.", images=uploads(staff, 2), post_anyway=True
    )

    assert reply is not None
    by_comment = {a.comment_id for a in images_of(item)}
    assert {comment.id, note.id, reply.id} <= by_comment


def test_the_acknowledging_reply_carries_no_images(staff: User, item: Feedback) -> None:
    with pytest.raises(attachments.DomainError) as refused:
        workflow.reply(item.id, staff, "Thank you.", images=uploads(staff, 1), post_anyway=True)

    assert "acknowledges" in refused.value.message


def test_removing_an_image_is_for_staff_with_a_reason_and_audited(
    author: User, staff: User, make_feedback: Callable[..., Feedback]
) -> None:
    [image] = images_of(make_feedback(author=author, images=uploads(author, 1)))
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


def test_prune_deletes_uploads_never_attached_after_an_hour(
    author: User, make_feedback: Callable[..., Feedback]
) -> None:
    [attached] = images_of(make_feedback(author=author, images=uploads(author, 1)))
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


def test_the_directory_store_keeps_private_files(
    author: User, make_feedback: Callable[..., Feedback], directory: Path
) -> None:
    [image] = images_of(make_feedback(author=author, images=uploads(author, 1)))
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
    app: Flask,
    author: User,
    staff: User,
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
) -> None:
    item = make_feedback(author=author, images=uploads(author, 2))
    own = images_of(item)
    commenter = make_user()
    comment = add_comment(commenter, item.id, "Mine too", images=uploads(commenter, 1))
    [on_comment] = [a for a in images_of(item) if a.comment_id == comment.id]
    note = workflow.add_internal_note(item.id, staff, "From the depot", images=uploads(staff, 1))
    [on_note] = [a for a in images_of(item) if a.comment_id == note.id]
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
