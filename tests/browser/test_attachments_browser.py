"""Images in a real browser: a customer attaches photos to new feedback with JavaScript (htmx
previews them as they are chosen) and without it (the form carries the files; a refused one
keeps the form and the accepted image), and the item page shows each thumbnail, described,
opening the full image."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from portal.models import Category, User
from tests.browser.conftest import BrowserLog, screenshot, sign_in

TITLE = "Parcel left outside in the rain, box soaked"
BODY = "The courier left my parcel on the doorstep in heavy rain. The box was soaked through."
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png_file(name: str, colour: tuple[int, int, int] = (30, 110, 190)) -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", (240, 160), colour).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


@pytest.fixture
def delivery(make_category: Callable[..., Category]) -> Category:
    return make_category(name="Delivery")


@pytest.fixture
def nia(make_user: Callable[..., User]) -> User:
    # Made before the browser writes: the test's own SQLite reads must not turn into writes on
    # a snapshot older than the server's commits.
    return make_user(email="nia@example.com", display_name="Nia", preferred_name="Nia")


def fill_feedback(page: Page, title: str = TITLE) -> None:
    page.get_by_label("Which part of our service?").select_option(label="Delivery")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Tell us more").fill(BODY)
    page.get_by_label("Public: others can see it").check()


def send_and_open_the_item(page: Page) -> None:
    """Send the form, then go from the thank-you page to the item's own page."""
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("h1")).to_contain_text("We have received it.")
    page.get_by_role("link", name="See it, or add something").click()


def expect_shown_image(page: Page, alt: str) -> None:
    """The item page shows the thumbnail, loaded, described, linking to the full image."""
    thumbnail = page.locator(".gallery img").first
    expect(thumbnail).to_have_attribute("alt", alt)
    expect(thumbnail).to_have_attribute("src", re.compile(r"^/attachments/[\w-]+/thumbnail$"))
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0
    link = page.locator(".gallery a").first
    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/attachments/[\w-]+", href)
    full = page.request.get(href)
    assert full.status == 200 and full.headers["content-type"] == "image/png"


def test_a_customer_attaches_photos_without_javascript_and_a_refused_file_keeps_the_form(
    open_page: Callable[..., Page], delivery: Category, nia: User
) -> None:
    page = open_page(javascript=False)
    sign_in(page, nia.email)
    page.goto("/feedback/new")
    fill_feedback(page, title="Hi")  # too short: the form comes back
    page.get_by_label("Add up to 5 images").set_input_files(
        [
            png_file("doorstep.png"),
            {"name": "drawing.svg", "mimeType": "image/svg+xml", "buffer": SVG},
        ]
    )
    page.get_by_label("Describe your images").fill("The soaked box on the doorstep")
    page.get_by_role("button", name="Send feedback").click()

    # What was typed stays, the refused file is named, the accepted one is a preview.
    expect(page.locator("#new-images-error")).to_contain_text("drawing.svg:")
    expect(page.get_by_label("Tell us more")).to_have_value(BODY)
    expect(page.locator(".image-preview img")).to_have_count(1)
    expect(page.get_by_label("Description of image 1")).to_have_value(
        "The soaked box on the doorstep"
    )

    page.get_by_label("Title").fill(TITLE)
    send_and_open_the_item(page)

    expect(page.locator(".gallery img")).to_have_count(1)
    expect_shown_image(page, "The soaked box on the doorstep")
    screenshot(page, "item-with-image-no-js")


def test_with_javascript_chosen_photos_are_previewed_before_sending(
    open_page: Callable[..., Page], delivery: Category, nia: User, browser_log: BrowserLog
) -> None:
    page = open_page()
    sign_in(page, nia.email)
    page.goto("/feedback/new")
    fill_feedback(page)
    page.evaluate("window.__noReload = true")

    page.get_by_label("Add up to 5 images").set_input_files(
        [png_file("doorstep.png"), png_file("label.png", (200, 60, 40))]
    )

    # Uploaded in place: previews with a description each, and the file field emptied so the
    # form sends their ids, not the files again.
    expect(page.locator(".image-preview img")).to_have_count(2)
    assert page.evaluate("window.__noReload") is True
    assert page.get_by_label("Add up to 5 images").evaluate("input => input.files.length") == 0
    page.get_by_label("Description of image 1").fill("The soaked box")
    page.get_by_label("Description of image 2").fill("The torn label")
    page.get_by_label("Leave image 2 out").check()
    send_and_open_the_item(page)

    expect(page.locator(".gallery img")).to_have_count(1)
    expect_shown_image(page, "The soaked box")


def test_with_javascript_a_refused_file_is_said_at_once_and_the_others_stay(
    open_page: Callable[..., Page], delivery: Category, nia: User
) -> None:
    page = open_page()
    sign_in(page, nia.email)
    page.goto("/feedback/new")
    fill_feedback(page)
    page.get_by_label("Add up to 5 images").set_input_files([png_file("doorstep.png")])
    expect(page.locator(".image-preview img")).to_have_count(1)

    page.get_by_label("Add up to 5 images").set_input_files(
        [{"name": "drawing.svg", "mimeType": "image/svg+xml", "buffer": SVG}]
    )

    expect(page.locator("#new-images-error")).to_contain_text("drawing.svg:")
    expect(page.locator(".image-preview img")).to_have_count(1)
    expect(page.get_by_label("Tell us more")).to_have_value(BODY)
    send_and_open_the_item(page)
    expect(page.locator(".gallery img")).to_have_count(1)
    expect_shown_image(page, TITLE)
