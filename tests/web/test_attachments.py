"""Serving attached images: /attachments/<id> and its thumbnail answer exactly those who may see
what the image is attached to, with headers that keep a browser from taking it for anything
but an image; everyone else gets the same 404 as for an id that does not exist."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image

from portal.extensions import db
from portal.models import Attachment, AttachmentBlob, Feedback, Role, User, Visibility
from portal.services import attachments, workflow
from portal.services.feedback import add_comment
from tests.conftest import TEST_PASSWORD
from tests.helpers import login, post


def png(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue() + b"<script>trailing</script>"


def submitted_with_image(
    make_feedback: Callable[..., Feedback], author: User, **choices: object
) -> tuple[Feedback, Attachment]:
    """An item submitted with one image, as the submit form sends it."""
    upload = attachments.upload_image(author, png(), alt_text="The parcel in the rain")
    item = make_feedback(author=author, images=[upload.public_id], **choices)
    return item, upload


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    return {
        "author": make_user(),
        "other": make_user(),
        "staff": make_user(role=Role.STAFF),
    }


@pytest.fixture
def viewers(
    people: dict[str, User], make_client: Callable[[], FlaskClient]
) -> dict[str, FlaskClient]:
    """A browser for each: a visitor, the author, another customer, staff."""
    clients = {"visitor": make_client()}
    for name, person in people.items():
        clients[name] = make_client()
        login(clients[name], person.email)
    return clients


def statuses(viewers: dict[str, FlaskClient], url: str) -> dict[str, int]:
    return {name: client.get(url).status_code for name, client in viewers.items()}


def test_a_private_items_image_is_seen_by_its_author_and_staff_only(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    _item, image = submitted_with_image(
        make_feedback, people["author"], visibility=Visibility.PRIVATE
    )

    expected = {"visitor": 404, "author": 200, "other": 404, "staff": 200}
    assert statuses(viewers, f"/attachments/{image.public_id}") == expected
    assert statuses(viewers, f"/attachments/{image.public_id}/thumbnail") == expected


def test_a_public_items_image_is_seen_by_everyone(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    _, image = submitted_with_image(make_feedback, people["author"])

    assert set(statuses(viewers, f"/attachments/{image.public_id}").values()) == {200}


def test_an_image_comes_with_headers_that_keep_it_an_image(
    people: dict[str, User], client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    _, image = submitted_with_image(make_feedback, people["author"])

    response = client.get(f"/attachments/{image.public_id}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="image-{image.public_id}.png"'
    )
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    data = response.get_data()
    # The re-encoded copy: what followed the image is gone.
    assert data.startswith(b"\x89PNG") and b"script" not in data
    assert Image.open(io.BytesIO(data)).size == (60, 40)

    small = client.get(f"/attachments/{image.public_id}/thumbnail")
    assert small.headers["Content-Disposition"] == (
        f'inline; filename="image-{image.public_id}-thumbnail.png"'
    )
    assert small.headers["Content-Security-Policy"] == "sandbox"
    assert client.head(f"/attachments/{image.public_id}").status_code == 200


@pytest.mark.parametrize(
    "public_id", ["nothing-by-this-name-at-all", "x", "..%2F..%2Fetc%2Fpasswd", "a" * 60]
)
def test_an_unknown_id_answers_404(client: FlaskClient, public_id: str) -> None:
    assert client.get(f"/attachments/{public_id}").status_code == 404


def test_a_hidden_items_image_follows_the_item_page(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    item, image = submitted_with_image(make_feedback, people["author"])
    workflow.set_hidden(item.id, people["staff"], True, "Abusive words")
    db.session.commit()

    page = statuses(viewers, f"/feedback/{item.id}")
    assert page == {"visitor": 404, "author": 404, "other": 404, "staff": 200}
    assert statuses(viewers, f"/attachments/{image.public_id}") == page


def test_a_redacted_items_image_follows_its_words(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    item, image = submitted_with_image(make_feedback, people["author"])
    workflow.redact(item.id, people["staff"], "A home address in the text")
    db.session.commit()

    # The page stays, its words only for staff (the author sees they were removed): so does
    # the image.
    assert set(statuses(viewers, f"/feedback/{item.id}").values()) == {200}
    assert "was removed by our staff" in viewers["author"].get(f"/feedback/{item.id}").text
    assert statuses(viewers, f"/attachments/{image.public_id}") == {
        "visitor": 404,
        "author": 404,
        "other": 404,
        "staff": 200,
    }


def test_a_comments_image_follows_the_comment(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(author=people["author"])
    image = attachments.upload_image(people["other"], png())
    comment = add_comment(people["other"], item.id, "Same here, look", images=[image.public_id])
    db.session.commit()
    url = f"/attachments/{image.public_id}"
    assert set(statuses(viewers, url).values()) == {200}

    workflow.hide_comment(comment.id, people["staff"], "Off topic")
    db.session.commit()

    assert statuses(viewers, url) == {"visitor": 404, "author": 404, "other": 404, "staff": 200}


def test_an_internal_notes_image_is_for_staff(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(author=people["author"])
    image = attachments.upload_image(people["staff"], png())
    workflow.add_internal_note(
        item.id, people["staff"], "The courier's photo log", images=[image.public_id]
    )
    db.session.commit()

    assert statuses(viewers, f"/attachments/{image.public_id}") == {
        "visitor": 404,
        "author": 404,
        "other": 404,
        "staff": 200,
    }


def test_an_image_staff_removed_is_kept_for_staff(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    _, image = submitted_with_image(make_feedback, people["author"])
    attachments.remove_attachment(people["staff"], image.public_id, "Shows a neighbour's face")
    db.session.commit()

    assert statuses(viewers, f"/attachments/{image.public_id}") == {
        "visitor": 404,
        "author": 404,
        "other": 404,
        "staff": 200,
    }


def test_an_upload_not_attached_yet_is_its_uploaders_preview(
    people: dict[str, User], viewers: dict[str, FlaskClient]
) -> None:
    upload = attachments.upload_image(people["author"], png())
    db.session.commit()

    assert statuses(viewers, f"/attachments/{upload.public_id}") == {
        "visitor": 404,
        "author": 200,
        "other": 404,
        "staff": 404,
    }


def test_after_the_author_deletes_their_account_the_file_is_gone_for_everyone(
    people: dict[str, User], viewers: dict[str, FlaskClient], make_feedback: Callable[..., Feedback]
) -> None:
    _item, image = submitted_with_image(make_feedback, people["author"])
    _, other_image = submitted_with_image(make_feedback, people["other"])
    public_id, other_keys = image.public_id, set(other_image.storage_keys)
    other_url = f"/attachments/{other_image.public_id}"
    url = f"/attachments/{public_id}"
    assert set(statuses(viewers, url).values()) == {200}

    response = post(viewers["author"], "/account/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 302

    assert set(statuses(viewers, url).values()) == {404}
    assert db.session.scalar(sa.select(Attachment).filter_by(public_id=public_id)) is None
    stored = set(db.session.scalars(sa.select(AttachmentBlob.key)))
    assert not {key for key in stored if key.startswith(public_id)}
    # Only theirs: another person's image stays.
    assert other_keys <= stored
    assert viewers["visitor"].get(other_url).status_code == 200
