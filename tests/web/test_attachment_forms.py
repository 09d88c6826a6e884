"""Images on the forms and pages: customers attach them to a new item or a comment, staff to
a reply or a note, with or without JavaScript (htmx previews them first); a refused file is
said by its name and the rest of the form stays, images already accepted included; pages show
thumbnails with alt text that open the full image; staff remove one, for a reason."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from portal.extensions import db, limiter
from portal.models import (
    Attachment,
    AuditEntry,
    Category,
    Comment,
    Feedback,
    FeedbackState,
    Role,
    User,
)
from portal.services import attachments
from portal.services.environment import Settings
from tests.conftest import make_test_app
from tests.helpers import login, post

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png(colour: tuple[int, int, int] = (20, 120, 200), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def file(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def waiting_ids(page: str) -> list[str]:
    """The public ids a re-rendered form carries back as hidden fields."""
    return re.findall(r'name="image_id" value="([^"]+)"', page)


def last_comment_id(item_id: int) -> int | None:
    return db.session.scalar(
        sa.select(sa.func.max(Comment.id)).where(Comment.feedback_id == item_id)
    )


def images_of(item_id: int, comment_id: int | None = None) -> list[Attachment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.feedback_id == item_id, Attachment.comment_id == comment_id)
            .order_by(Attachment.id)
        )
    )


@pytest.fixture
def customer(client: FlaskClient, make_user: Callable[..., User]) -> User:
    person = make_user()
    login(client, person.email)
    return person


@pytest.fixture
def staff_client(
    make_client: Callable[[], FlaskClient], make_user: Callable[..., User]
) -> FlaskClient:
    browser = make_client()
    login(browser, make_user(role=Role.STAFF).email)
    return browser


@pytest.fixture
def category(make_category: Callable[..., Category]) -> Category:
    return make_category()


def new_item_form(category: Category, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "kind": "complaint",
        "category_id": str(category.id),
        "title": "The parcel arrived soaked",
        "body": "It was left outside in the rain for hours.",
        "visibility": "public",
    }
    form.update(changes)
    return form


def submit(client: FlaskClient, form: dict[str, object], **kw: object) -> TestResponse:
    return post(client, "/feedback/new", form, content_type="multipart/form-data", **kw)


def newest_item() -> Feedback:
    item = db.session.scalar(sa.select(Feedback).order_by(Feedback.id.desc()))
    assert item is not None
    return item


# Submitting --------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_customer_submits_an_item_with_images_and_its_page_shows_them(
    client: FlaskClient, customer: User, category: Category, htmx: bool
) -> None:
    response = submit(
        client,
        new_item_form(
            category,
            images=[file(png(), "wet-box.png"), file(png((9, 9, 9)), "label.png")],
            images_alt="The soaked box on the doorstep",
        ),
        htmx=htmx,
    )

    assert response.status_code == 302
    item = newest_item()
    kept = images_of(item.id)
    assert [image.alt_text for image in kept] == ["The soaked box on the doorstep"] * 2
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    for image in kept:
        # A thumbnail that opens the full image, described by the person's words.
        assert (
            f'<a href="/attachments/{image.public_id}"><img src="/attachments/'
            f'{image.public_id}/thumbnail" alt="The soaked box on the doorstep"'
        ) in page
    assert client.get(f"/attachments/{kept[0].public_id}").status_code == 200


def test_an_image_nobody_described_is_described_by_the_items_title(
    client: FlaskClient, make_client: Callable[[], FlaskClient], customer: User, category: Category
) -> None:
    submit(client, new_item_form(category, images=[file(png(), "a.png")]))
    item = newest_item()
    (image,) = images_of(item.id)

    # A visitor's page too: the item is public.
    page = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)

    assert image.alt_text == ""
    assert f'alt="{item.title}"' in page


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_file_is_said_by_name_and_keeps_the_form_and_the_accepted_image(
    client: FlaskClient, customer: User, category: Category, htmx: bool
) -> None:
    response = submit(
        client,
        new_item_form(
            category,
            title="My title",
            images=[file(png(), "good.png"), file(SVG, "drawing.svg")],
            images_alt="The label",
        ),
        htmx=htmx,
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0
    assert "drawing.svg:" in page
    assert 'value="My title"' in page and "It was left outside in the rain for hours." in page
    (kept,) = waiting_ids(page)
    assert f'src="/attachments/{kept}/thumbnail"' in page
    assert f'name="image_alt_{kept}" maxlength="300" value="The label"' in page

    # Sent again without the file (a browser cannot refill it): the image comes along.
    again = submit(client, new_item_form(category, image_id=kept, **{f"image_alt_{kept}": "Label"}))

    assert again.status_code == 302
    assert [(i.public_id, i.alt_text) for i in images_of(newest_item().id)] == [(kept, "Label")]


def test_images_accepted_before_another_field_failed_survive_the_failed_form(
    client: FlaskClient, customer: User, category: Category
) -> None:
    page = submit(
        client, new_item_form(category, title="Hi", images=[file(png(), "a.png")])
    ).get_data(as_text=True)

    (kept,) = waiting_ids(page)
    assert "Titles are 5 to 160 characters long." in page
    assert client.get(f"/attachments/{kept}/thumbnail").status_code == 200
    assert submit(client, new_item_form(category, image_id=kept)).status_code == 302
    assert [i.public_id for i in images_of(newest_item().id)] == [kept]


def test_an_upload_sent_without_its_description_field_keeps_its_description(
    client: FlaskClient, customer: User, category: Category
) -> None:
    upload = attachments.upload_image(customer, png(), alt_text="The dented corner")
    db.session.commit()

    submit(client, new_item_form(category, image_id=upload.public_id))

    assert [i.alt_text for i in images_of(newest_item().id)] == ["The dented corner"]


def test_an_image_ticked_remove_is_left_out(
    client: FlaskClient, customer: User, category: Category
) -> None:
    page = submit(
        client,
        new_item_form(category, title="Hi", images=[file(png(), "a.png"), file(png(), "b.png")]),
    ).get_data(as_text=True)
    first, second = waiting_ids(page)

    submit(client, new_item_form(category, image_id=[first, second], image_remove=first))

    assert [i.public_id for i in images_of(newest_item().id)] == [second]


def test_more_than_five_images_are_refused_and_none_is_kept(
    client: FlaskClient, customer: User, category: Category
) -> None:
    response = submit(
        client, new_item_form(category, images=[file(png(), f"{n}.png") for n in range(6)])
    )

    page = response.get_data(as_text=True)
    assert "You can attach up to 5 images to one item or comment." in page
    assert waiting_ids(page) == []
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_someone_elses_upload_cannot_be_attached(
    client: FlaskClient, customer: User, category: Category, make_user: Callable[..., User]
) -> None:
    theirs = attachments.upload_image(make_user(), png())
    db.session.commit()

    page = submit(client, new_item_form(category, image_id=theirs.public_id)).get_data(as_text=True)

    assert "no longer waiting to be attached" in page
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0
    # Their preview is not shown to this person either.
    assert theirs.public_id not in page


# The htmx preview ---------------------------------------------------------------------------


def test_choosing_files_with_htmx_answers_their_previews(
    client: FlaskClient, customer: User, category: Category
) -> None:
    response = post(
        client,
        "/attachments/uploads?form=new",
        {"images": [file(png(), "a.png"), file(b"not an image", "notes.txt")]},
        htmx=True,
        content_type="multipart/form-data",
    )

    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in fragment and 'id="new-previews"' in fragment
    (kept,) = waiting_ids(fragment)
    assert "notes.txt:" in fragment
    assert f'id="new-alt-1" type="text" name="image_alt_{kept}"' in fragment

    # The form then sends the id, with the description typed beside the preview.
    sent = submit(
        client, new_item_form(category, image_id=kept, **{f"image_alt_{kept}": "Torn label"})
    )

    assert sent.status_code == 302
    assert [(i.public_id, i.alt_text) for i in images_of(newest_item().id)] == [
        (kept, "Torn label")
    ]


def test_a_second_choice_keeps_the_previews_of_the_first(
    client: FlaskClient, customer: User
) -> None:
    first = waiting_ids(
        post(
            client,
            "/attachments/uploads?form=new",
            {"images": [file(png(), "a.png")]},
            htmx=True,
            content_type="multipart/form-data",
        ).get_data(as_text=True)
    )

    # htmx sends the whole form: the ids it already carries, and the new files.
    both = waiting_ids(
        post(
            client,
            "/attachments/uploads?form=new",
            {"image_id": first, "images": [file(png(), "b.png")]},
            htmx=True,
            content_type="multipart/form-data",
        ).get_data(as_text=True)
    )

    assert len(both) == 2 and both[0] == first[0]


def test_only_refused_files_is_a_failed_upload(client: FlaskClient, customer: User) -> None:
    response = post(
        client,
        "/attachments/uploads",
        {"images": [file(SVG, "x.svg")]},
        htmx=True,
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "x.svg:" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_the_upload_endpoint_needs_the_csrf_token_and_a_signed_in_person(
    client: FlaskClient, make_client: Callable[[], FlaskClient], customer: User
) -> None:
    forged = client.post(
        "/attachments/uploads",
        data={"images": [file(png(), "a.png")]},
        content_type="multipart/form-data",
    )
    visitor = post(
        make_client(),
        "/attachments/uploads",
        {"images": [file(png(), "a.png")]},
        content_type="multipart/form-data",
    )

    assert forged.status_code == 400
    assert visitor.status_code in (302, 401)
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_uploads_are_rate_limited(
    database_uri: str, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    """Sixty uploads an hour per client address; then a 429, and nothing is kept."""
    person = make_user()
    limited = make_test_app(database_uri, tmp_path, RATELIMIT_ENABLED=True)
    try:
        browser = limited.test_client()
        login(browser, person.email)
        for n in range(60):
            assert post(browser, "/attachments/uploads", {}, htmx=True).status_code == 200, n
        refused = post(
            browser,
            "/attachments/uploads",
            {"images": [file(png(), "a.png")]},
            htmx=True,
            content_type="multipart/form-data",
        )
        assert refused.status_code == 429
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


# Request size ------------------------------------------------------------------------------


def test_a_form_with_images_may_be_larger_than_other_requests(
    app: Flask,
    client: FlaskClient,
    customer: User,
    category: Category,
    make_feedback: Callable[..., Feedback],
    monkeypatch: pytest.MonkeyPatch,
    change_settings: Callable[..., Settings],
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    change_settings(attachment_max_bytes=30_000)
    item = make_feedback(author=customer)
    db.session.commit()
    bulky = os.urandom(25_000)

    other = post(
        client,
        f"/feedback/{item.id}/not-fixed",
        {"body": "Still broken", "images": [file(bulky, "a.png")]},
        content_type="multipart/form-data",
    )
    with_images = submit(client, new_item_form(category, images=[file(bulky, "a.png")]))
    too_many = submit(
        client, new_item_form(category, images=[file(bulky, f"{n}.png") for n in range(7)])
    )

    assert other.status_code == 413
    # Read, and the file refused as what it is (not an image), not as too large a request.
    assert with_images.status_code == 200 and "a.png:" in with_images.get_data(as_text=True)
    assert too_many.status_code == 413
    assert "attach fewer or smaller images" in too_many.get_data(as_text=True)


# Comments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_customer_comments_with_images(
    client: FlaskClient,
    customer: User,
    make_feedback: Callable[..., Feedback],
    make_user: Callable[..., User],
    htmx: bool,
) -> None:
    item = make_feedback(author=make_user())
    db.session.commit()

    response = post(
        client,
        f"/feedback/{item.id}/comments",
        {"body": "Mine too, look", "images": [file(png(), "mine.png")], "images_alt": "My box"},
        htmx=htmx,
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    db.session.expire_all()
    (image,) = images_of(item.id, last_comment_id(item.id))
    assert image.alt_text == "My box"
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert f'src="/attachments/{image.public_id}/thumbnail" alt="My box"' in page


def test_a_comment_refused_for_its_text_keeps_its_images(
    client: FlaskClient, customer: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(author=customer)
    db.session.commit()

    response = post(
        client,
        f"/feedback/{item.id}/comments",
        {"body": "", "images": [file(png(), "a.png")]},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    (kept,) = waiting_ids(response.get_data(as_text=True))
    again = post(client, f"/feedback/{item.id}/comments", {"body": "Here", "image_id": kept})
    assert again.status_code == 302
    db.session.expire_all()
    assert [i.public_id for i in images_of(item.id, last_comment_id(item.id))] == [kept]


def test_a_refused_file_on_a_comment_keeps_what_was_typed(
    client: FlaskClient, customer: User, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback(author=customer)
    db.session.commit()

    response = post(
        client,
        f"/feedback/{item.id}/comments",
        {"body": "The label, torn", "images": [file(b"GIF89a broken", "label.gif")]},
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "label.gif:" in page and "The label, torn</textarea>" in page
    assert last_comment_id(item.id) is None


# Staff -------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_reply_with_images(
    staff_client: FlaskClient, make_feedback: Callable[..., Feedback], htmx: bool
) -> None:
    item = make_feedback()
    item.state = FeedbackState.ACKNOWLEDGED
    db.session.commit()

    response = post(
        staff_client,
        f"/admin/feedback/{item.id}/reply",
        {"body": "Here is where it went", "post_anyway": "1", "images": [file(png(), "map.png")]},
        htmx=htmx,
        content_type="multipart/form-data",
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    (image,) = images_of(item.id, last_comment_id(item.id))
    # On the public page, described by the item's title.
    page = staff_client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert f'src="/attachments/{image.public_id}/thumbnail" alt="{item.title}"' in page


def test_the_acknowledging_reply_refuses_images_and_keeps_them_waiting(
    staff_client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    db.session.commit()

    response = post(
        staff_client,
        f"/admin/feedback/{item.id}/reply",
        {"body": "Thanks, we are on it", "post_anyway": "1", "images": [file(png(), "map.png")]},
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "cannot carry images" in page
    (kept,) = waiting_ids(page)
    assert 'id="reply-previews"' in page and "Thanks, we are on it" in page
    db.session.expire_all()
    assert item.state is FeedbackState.RECEIVED
    assert images_of(item.id) == []
    assert db.session.scalar(sa.select(Attachment.feedback_id).filter_by(public_id=kept)) is None


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_note_with_images_is_for_staff_only(
    staff_client: FlaskClient,
    client: FlaskClient,
    customer: User,
    make_feedback: Callable[..., Feedback],
    htmx: bool,
) -> None:
    item = make_feedback(author=customer)
    db.session.commit()

    response = post(
        staff_client,
        f"/admin/feedback/{item.id}/note",
        {"note": "The courier's photo", "images": [file(png(), "log.png")]},
        htmx=htmx,
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    db.session.expire_all()
    (image,) = images_of(item.id, last_comment_id(item.id))
    assert image.public_id in staff_client.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert image.public_id not in client.get(f"/feedback/{item.id}").get_data(as_text=True)


def test_a_refused_file_on_a_note_keeps_the_note(
    staff_client: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    db.session.commit()

    response = post(
        staff_client,
        f"/admin/feedback/{item.id}/note",
        {"note": "See the drawing", "images": [file(SVG, "drawing.svg")]},
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "drawing.svg:" in page and "See the drawing" in page
    assert last_comment_id(item.id) is None


# Removal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_remove_an_image_for_a_reason_and_it_is_kept_for_the_record(
    staff_client: FlaskClient,
    client: FlaskClient,
    customer: User,
    make_feedback: Callable[..., Feedback],
    htmx: bool,
) -> None:
    upload = attachments.upload_image(customer, png())
    item = make_feedback(author=customer, images=[upload.public_id])
    db.session.commit()
    public_id = upload.public_id

    blank = post(staff_client, f"/admin/attachments/{public_id}/remove", {"reason": ""}, htmx=htmx)
    assert blank.status_code == 400
    assert "Removing an image needs a reason." in blank.get_data(as_text=True)
    assert public_id in client.get(f"/feedback/{item.id}").get_data(as_text=True)

    removed = post(
        staff_client,
        f"/admin/attachments/{public_id}/remove",
        {"reason": "A neighbour's face"},
        htmx=htmx,
    )

    assert removed.status_code == 302
    assert public_id not in client.get(f"/feedback/{item.id}").get_data(as_text=True)
    admin_page = staff_client.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert public_id in admin_page and "Removed from view: only staff see it." in admin_page
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="attachment.removed"))
    assert entry is not None


def test_a_customer_cannot_remove_an_image(
    client: FlaskClient, customer: User, make_feedback: Callable[..., Feedback]
) -> None:
    upload = attachments.upload_image(customer, png())
    make_feedback(author=customer, images=[upload.public_id])
    db.session.commit()

    response = post(client, f"/admin/attachments/{upload.public_id}/remove", {"reason": "Mine"})

    assert response.status_code in (302, 403, 404)
    db.session.expire_all()
    assert db.session.get(Attachment, upload.id).removed_at is None  # type: ignore[union-attr]


def test_staff_see_images_on_the_admin_page_with_remove_forms(
    staff_client: FlaskClient, customer: User, make_feedback: Callable[..., Feedback]
) -> None:
    upload = attachments.upload_image(customer, png(), alt_text="The dent")
    item = make_feedback(author=customer, images=[upload.public_id])
    db.session.commit()

    page = staff_client.get(f"/admin/feedback/{item.id}").get_data(as_text=True)

    assert f'src="/attachments/{upload.public_id}/thumbnail" alt="The dent"' in page
    assert f'action="/admin/attachments/{upload.public_id}/remove"' in page
