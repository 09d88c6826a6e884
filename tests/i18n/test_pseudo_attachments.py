"""Attachments in the pseudo-locale: the page an image someone may not see answers with, and
every refusal of an upload or an attaching, say their words through the catalog."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from portal import ENVIRONMENT_KEY
from portal.extensions import db
from portal.models import Category, Feedback, Role, User, Visibility
from portal.services import attachments, images, workflow
from portal.services.errors import DomainError
from tests.helpers import login, post
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog


def png(size: tuple[int, int] = (20, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("role", [None, Role.CUSTOMER])
def test_an_image_one_may_not_see_answers_through_the_catalog(
    pseudo_site: Flask,
    people_data: list[str],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    role: Role | None,
) -> None:
    author = make_user()
    image = attachments.upload_image(author, png())
    make_feedback(author=author, visibility=Visibility.PRIVATE, images=[image.public_id])
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    if role is not None:
        login(browser, make_user(role=role, display_name="Nia Okafor", preferred_name="Nia").email)

    answer = browser.get(f"/attachments/{image.public_id}", headers=ACCEPT)

    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert f'lang="{PSEUDO_LANGUAGE}"' in html
    assert words_outside_the_catalog(html, people_data) == []


def _refusals(author: User, item: Feedback, other: User, staff: User) -> dict[str, DomainError]:
    """One refusal of each kind, as the services raise them."""
    limits = {"max_bytes": 1024 * 1024, "max_pixels": 1000}
    files = {
        "empty": b"",
        "not an image": b"<html><script>alert(1)</script></html>",
        "a type we do not take": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "too large": b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 + 1),
        "too many pixels": png((100, 100)),
        "damaged": png()[:30],
    }
    found: dict[str, DomainError] = {}
    for name, data in files.items():
        with pytest.raises(images.ImageRefused) as refused:
            images.process_image(data, **limits)
        found[name] = refused.value
    with pytest.raises(DomainError) as too_many:
        attachments.upload_images(author, [(png(), "")] * 6)
    found["too many images"] = too_many.value
    with pytest.raises(DomainError) as gone:
        attachments.attach_uploads(author, item, None, ["x" * 32])
    found["an upload no longer waiting"] = gone.value
    with pytest.raises(DomainError) as acknowledging:
        workflow.reply(item.id, staff, "Thank you.", images=["x" * 32], post_anyway=True)
    found["images on the acknowledging reply"] = acknowledging.value
    with pytest.raises(DomainError) as not_staff:
        attachments.remove_attachment(other, "x" * 32, "Because")
    found["removal by a customer"] = not_staff.value
    return found


def test_every_refusal_says_its_words_through_the_catalog(
    pseudo_site: Flask,
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    author, other = make_user(), make_user()
    item = make_feedback(author=author)

    refusals = _refusals(author, item, other, make_user(role=Role.STAFF))

    assert len(refusals) == 10
    with pseudo_site.test_request_context("/", headers=ACCEPT):
        for name, refusal in refusals.items():
            words = words_outside_the_catalog(f"<p>{refusal.message}</p>", [])
            assert words == [], name


def test_the_image_fields_previews_galleries_and_refusals_speak_through_the_catalog(
    pseudo_site: Flask,
    people_data: list[str],
    make_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
    make_category: Callable[..., Category],
) -> None:
    """The submit form sent back with a refused file and a preview, an item page and its
    admin page with thumbnails (and the remove form), and the answer to too large a form."""
    category = make_category(name="Lost parcels")
    staff = make_user(role=Role.STAFF, display_name="Nia Okafor", preferred_name="Nia")
    author = make_user(display_name="Nia Okafor", preferred_name="Nia")
    photo = attachments.upload_image(author, png(), alt_text="Parcel left in the rain again")
    item = make_feedback(
        author=author,
        title="Parcel left in the rain again",
        body="Parcel left in the rain again",
        images=[photo.public_id],
    )
    db.session.commit()
    customer, admin = pseudo_site.test_client(), pseudo_site.test_client()
    for browser, person in ((customer, author), (admin, staff)):
        browser.set_cookie("lang", PSEUDO_LANGUAGE)
        login(browser, person.email)

    form = post(
        customer,
        "/feedback/new",
        {
            "kind": "complaint",
            "category_id": str(category.id),
            "title": "Hi",
            "body": "",
            "visibility": "public",
            "images": [(io.BytesIO(png()), "good.png"), (io.BytesIO(b"<svg/>"), "drawing.svg")],
        },
        headers=ACCEPT,
        content_type="multipart/form-data",
    )
    # The categories the form offers are named by people.
    names = list(db.session.scalars(sa.select(Category.name)))
    pages = {
        "form": form,
        "item": customer.get(f"/feedback/{item.id}", headers=ACCEPT),
        "admin": admin.get(f"/admin/feedback/{item.id}", headers=ACCEPT),
    }

    assert "drawing.svg" in pages["form"].get_data(as_text=True)
    assert photo.public_id in pages["admin"].get_data(as_text=True)
    for name, page in pages.items():
        html = page.get_data(as_text=True)
        assert words_outside_the_catalog(html, [*people_data, *names, "drawing.svg"]) == [], name


def test_too_large_a_form_with_images_is_said_through_the_catalog(
    pseudo_site: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    login(browser, make_user().email)
    # The services read the settings from the site's environment (as change_settings does).
    before = pseudo_site.extensions[ENVIRONMENT_KEY]
    smaller = replace(before, settings=replace(before.settings, attachment_max_bytes=1000))
    monkeypatch.setitem(pseudo_site.extensions, ENVIRONMENT_KEY, smaller)
    monkeypatch.setitem(pseudo_site.config, "MAX_CONTENT_LENGTH", 1000)

    answer = post(
        browser,
        "/attachments/uploads",
        {"images": [(io.BytesIO(b"x" * 9000), "big.png")]},
        headers=ACCEPT,
        content_type="multipart/form-data",
    )

    assert answer.status_code == 413
    assert words_outside_the_catalog(answer.get_data(as_text=True), ["Our organisation"]) == []
