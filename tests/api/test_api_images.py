"""Images through the API: POST /items takes them as multipart/form-data (the item as a JSON
part), a refused file refuses the whole submission with the pipeline's reason, and items list
only the images anyone may see."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from portal.extensions import db
from portal.models import Attachment, Feedback, FeedbackChannel, Role, User
from portal.services import attachments, workflow
from portal.services.environment import Settings
from portal.services.feedback import add_comment
from tests.api.test_api import API, assert_error, bearer, new_item_body


def png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    picture = Image.new("RGB", (80, 60), (200, 30, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif)
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def multipart(values: list[tuple[str, Any]]) -> tuple[bytes, str]:
    """A multipart/form-data body, in memory (the test client would spool a large one to a
    temporary file that a request refused unread never closes)."""
    fields = MultiDict(
        [
            (name, FileStorage(io.BytesIO(value[0]), value[1], content_type=value[2]))
            if isinstance(value, tuple)
            else (name, value)
            for name, value in values
        ]
    )
    boundary, body = encode_multipart(fields)
    return body, f"multipart/form-data; boundary={boundary}"


def post_with_images(
    client: FlaskClient,
    token: str,
    files: list[tuple[bytes, str]],
    item: dict[str, Any] | None = None,
    **extra: Any,
) -> TestResponse:
    """POST /items as multipart/form-data: the item as JSON in the part named item, and each
    file in a part named images (with a name and a type that say nothing trusted)."""
    values: list[tuple[str, Any]] = [
        ("item", (json.dumps(item or new_item_body()).encode(), "item.json", "application/json"))
    ]
    values += [("images", (raw, name, "image/jpeg")) for raw, name in files]
    for name, given in extra.items():
        values += [(name, value) for value in (given if isinstance(given, list) else [given])]
    body, content_type = multipart(values)
    return client.post(f"{API}/items", data=body, headers=bearer(token), content_type=content_type)


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


@pytest.fixture
def bins(make_category):
    return make_category(name="Bins")


def test_post_items_as_multipart_keeps_the_images_in_order_with_their_alt_texts(
    client: FlaskClient, bins, write_token: str
) -> None:
    response = post_with_images(
        client,
        write_token,
        [(png(), "bins.png"), (jpeg_with_gps(), "street.jpg")],
        alt_text=["The overflowing bins", "The street on Tuesday"],
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    item = db.session.get(Feedback, response.get_json()["id"])
    assert item is not None and item.channel is FeedbackChannel.API
    listed = client.get(f"{API}/items/{item.id}").get_json()["images"]
    assert [image["alt_text"] for image in listed] == [
        "The overflowing bins",
        "The street on Tuesday",
    ]
    assert [image["content_type"] for image in listed] == ["image/png", "image/jpeg"]
    assert (listed[0]["width"], listed[0]["height"]) == (64, 48)
    # The addresses answer anyone for a public item, with the re-encoded image (no GPS left).
    full = client.get(listed[1]["url"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(full.data)).getexif().get(0x8825) is None
    assert client.get(listed[1]["thumbnail_url"]).status_code == 200
    # Kept as the customer's own uploads, attached to the item they submitted.
    kept = db.session.scalars(sa.select(Attachment).filter_by(feedback_id=item.id)).all()
    assert {a.uploader_id for a in kept} == {item.author_id}


def test_the_item_can_also_be_sent_as_a_plain_form_field(
    client: FlaskClient, bins, write_token: str
) -> None:
    body, content_type = multipart(
        [("item", json.dumps(new_item_body())), ("images", (png(), "a.png", "image/png"))]
    )
    response = client.post(
        f"{API}/items", data=body, headers=bearer(write_token), content_type=content_type
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(client.get(f"{API}/items/{response.get_json()['id']}").get_json()["images"]) == 1


def test_a_json_request_still_works_and_lists_no_images(
    client: FlaskClient, bins, write_token: str
) -> None:
    response = client.post(f"{API}/items", json=new_item_body(), headers=bearer(write_token))

    assert response.status_code == 201
    assert client.get(f"{API}/items/{response.get_json()['id']}").get_json()["images"] == []


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"<html><script>alert(1)</script></html>", "not an image we can read"),
        (png()[:60], "damaged"),
    ],
)
def test_a_refused_file_answers_422_with_its_reason_and_records_nothing(
    client: FlaskClient, bins, write_token: str, raw: bytes, said: str
) -> None:
    users_before = count(User)

    response = post_with_images(client, write_token, [(png(), "ok.png"), (raw, "photo.jpg")])

    error = assert_error(response, 422)
    assert said in error["fields"]["images"]
    assert (count(Feedback), count(Attachment), count(User)) == (0, 0, users_before)


def test_more_than_five_images_are_refused_before_any_is_read(
    client: FlaskClient, bins, write_token: str
) -> None:
    response = post_with_images(client, write_token, [(png(), f"{n}.png") for n in range(6)])

    error = assert_error(response, 422)
    assert "5" in error["fields"]["images"]
    assert (count(Feedback), count(Attachment)) == (0, 0)


def test_bad_multipart_shapes_are_refused_with_a_message_for_the_field(
    client: FlaskClient, bins, write_token: str
) -> None:
    body, content_type = multipart([("images", (png(), "a.png", "image/png"))])
    no_item = client.post(
        f"{API}/items", data=body, headers=bearer(write_token), content_type=content_type
    )
    assert "item" in assert_error(no_item, 422)["fields"]
    too_many_alts = post_with_images(client, write_token, [(png(), "a.png")], alt_text=["a", "b"])
    assert "alt_text" in assert_error(too_many_alts, 422)["fields"]
    unknown = post_with_images(client, write_token, [(png(), "a.png")], caption="hello")
    assert "caption" in assert_error(unknown, 422)["fields"]
    body, content_type = multipart([("item", "{not json")])
    not_json = client.post(
        f"{API}/items", data=body, headers=bearer(write_token), content_type=content_type
    )
    assert_error(not_json, 400, "JSON")
    bad_fields = post_with_images(
        client, write_token, [(png(), "a.png")], item=new_item_body(kind="rant")
    )
    assert "kind" in assert_error(bad_fields, 422)["fields"]
    # Images sent as text (a number, a file name) rather than as files are said, not ignored.
    body, content_type = multipart([("item", json.dumps(new_item_body())), ("images", "5")])
    text_image = client.post(
        f"{API}/items", data=body, headers=bearer(write_token), content_type=content_type
    )
    assert "images" in assert_error(text_image, 422)["fields"]
    assert count(Feedback) == 0


def test_a_multipart_body_may_be_larger_than_the_sites_limit_but_not_than_its_images(
    client: FlaskClient, bins, write_token: str, change_settings: Callable[..., Settings]
) -> None:
    # A JSON body stays within 1 MB (tests/api/test_api.py); images together may be larger.
    big = noise_png(700)
    assert len(big) > 1024 * 1024
    accepted = post_with_images(client, write_token, [(big, "big.png")])
    assert accepted.status_code == 201, accepted.get_data(as_text=True)

    change_settings(attachment_max_bytes=300_000)
    beyond = post_with_images(client, write_token, [(big, "big.png")] * 5)
    assert_error(beyond, 413)
    one_too_large = post_with_images(client, write_token, [(big, "big.png")])
    assert "larger than" in assert_error(one_too_large, 422)["fields"]["images"]
    assert count(Feedback) == 1


def test_a_write_token_is_checked_before_the_images_are_read(
    client: FlaskClient, bins, read_token: str
) -> None:
    response = post_with_images(client, read_token, [(png(), "a.png")])

    assert_error(response, 403)
    assert count(Attachment) == 0


# What is listed, to whom ------------------------------------------------------------------


@pytest.fixture
def staff(make_user) -> User:
    return make_user(role=Role.STAFF)


def _with_image(make_feedback, make_user, **choices: Any) -> tuple[Feedback, Attachment]:
    author = make_user()
    upload = attachments.upload_image(author, png(), alt_text="What I saw")
    item = make_feedback(author=author, images=[upload.public_id], **choices)
    return item, upload


def test_items_list_their_images_on_the_list_and_on_their_own_page(
    client: FlaskClient, make_feedback, make_user
) -> None:
    item, upload = _with_image(make_feedback, make_user)
    plain = make_feedback()

    page = client.get(f"{API}/items?sort=new").get_json()["items"]

    by_id = {row["id"]: row for row in page}
    assert [image["id"] for image in by_id[item.id]["images"]] == [upload.public_id]
    assert by_id[plain.id]["images"] == []


def test_a_redacted_items_images_are_not_listed(
    client: FlaskClient, make_feedback, make_user, staff
) -> None:
    item, _upload = _with_image(make_feedback, make_user)
    workflow.redact(item.id, staff, "It named a neighbour.")
    db.session.commit()

    assert client.get(f"{API}/items/{item.id}").get_json()["images"] == []
    listed = client.get(f"{API}/items").get_json()["items"]
    assert all(row["images"] == [] for row in listed)


def test_an_image_staff_removed_is_not_listed(
    client: FlaskClient, make_feedback, make_user, staff
) -> None:
    item, upload = _with_image(make_feedback, make_user)
    attachments.remove_attachment(staff, upload.public_id, "A car's number plate.")
    db.session.commit()

    assert client.get(f"{API}/items/{item.id}").get_json()["images"] == []
    assert client.get(f"/attachments/{upload.public_id}").status_code == 404


def test_a_comments_images_are_not_the_items(client: FlaskClient, make_feedback, make_user) -> None:
    item = make_feedback()
    neighbour = make_user()
    upload = attachments.upload_image(neighbour, png())
    add_comment(neighbour, item.id, "Same here.", images=[upload.public_id])
    db.session.commit()

    assert client.get(f"{API}/items/{item.id}").get_json()["images"] == []


def test_a_private_items_images_are_never_in_an_answer(
    client: FlaskClient, bins, write_token: str
) -> None:
    response = post_with_images(
        client, write_token, [(png(), "a.png")], item=new_item_body(visibility="private")
    )
    assert response.status_code == 201
    [kept] = db.session.scalars(sa.select(Attachment)).all()

    assert kept.public_id not in client.get(f"{API}/items").get_data(as_text=True)
    assert response.get_json()["links"] == {}
    assert kept.public_id not in response.get_data(as_text=True)
    assert client.get(f"/attachments/{kept.public_id}").status_code == 404
