"""Branding rules: an accent colour without WCAG AA contrast for text (4.5:1) against the page is
refused with the ratio it has; the logo goes through the image pipeline, PNG or JPEG only."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from portal.extensions import db
from portal.models import Role, User
from portal.services import attachments, branding, images
from portal.services.attachment_store import current_store
from portal.services.errors import DomainError, NotAllowed
from portal.services.site import get_site_settings


def _image(kind: str, size: tuple[int, int] = (600, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (29, 92, 99)).save(out, kind)
    return out.getvalue()


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


# Ratios as WebAIM's contrast checker gives them (against white, cut to two decimals): the
# formula is WCAG 2's.
REFERENCE_RATIOS = [
    ("#767676", "#ffffff", 4.54),
    ("#777777", "#ffffff", 4.47),
    ("#0000ff", "#ffffff", 8.59),
    ("#ff0000", "#ffffff", 3.99),
    ("#ffff00", "#ffffff", 1.07),
    ("#000000", "#ffffff", 21.0),
]


@pytest.mark.parametrize(("first", "second", "expected"), REFERENCE_RATIOS)
def test_contrast_is_measured_as_wcag_2_measures_it(
    first: str, second: str, expected: float
) -> None:
    assert math.floor(branding.contrast_ratio(first, second) * 100) / 100 == expected
    assert branding.contrast_ratio(second, first) == branding.contrast_ratio(first, second)


# Whether text in each colour may be read on the page (#f7f7f4, a little darker than white).
ACCENT_CASES = [
    ("#ffee00", False),  # yellow
    ("#f2b84b", False),  # the portal's own mark colour: fine on the header, not as text
    ("#ff0000", False),
    ("#767676", False),  # 4.54:1 on white, less on the page's off-white
    ("#6b6b6b", True),
    ("#0000ff", True),
    ("#1d5c63", True),  # the portal's own brand colour
    ("#000000", True),
]


@pytest.mark.parametrize(("colour", "readable"), ACCENT_CASES)
def test_an_accent_colour_needs_4_5_to_1_against_the_page(
    admin: User, colour: str, readable: bool
) -> None:
    ratio = branding.contrast_ratio(colour, branding.PAGE_BACKGROUND)
    assert (ratio >= 4.5) is readable
    if readable:
        assert branding.set_accent_colour(admin, colour).accent_colour == colour
        return
    with pytest.raises(branding.ContrastTooLow) as refused:
        branding.set_accent_colour(admin, colour)
    assert str(refused.value.message) == (
        f"{colour} has {branding.shown_ratio(ratio)}:1 against the page; it needs 4.5:1. "
        "Choose a darker colour."
    )
    assert get_site_settings().accent_colour is None


def test_the_ratio_is_rounded_down_so_a_refusal_never_says_enough() -> None:
    assert branding.shown_ratio(4.4999) == "4.4"
    assert branding.shown_ratio(4.5) == "4.5"


@pytest.mark.parametrize(
    ("typed", "kept"), [("#1D5C63", "#1d5c63"), ("1d5c63", "#1d5c63"), ("#000", "#000000")]
)
def test_a_colour_is_kept_as_rrggbb_however_it_was_typed(
    admin: User, typed: str, kept: str
) -> None:
    assert branding.set_accent_colour(admin, typed).accent_colour == kept


@pytest.mark.parametrize("typed", ["teal", "#12345", "rgb(0,0,0)", "#1d5c63;}body{"])
def test_a_colour_that_is_not_a_hex_code_is_refused(admin: User, typed: str) -> None:
    with pytest.raises(DomainError) as refused:
        branding.set_accent_colour(admin, typed)
    assert "hex code such as #1d5c63" in str(refused.value.message)


def test_only_admins_change_the_branding(make_user: Callable[..., User]) -> None:
    staff = make_user(role=Role.STAFF)
    with pytest.raises(NotAllowed):
        branding.set_accent_colour(staff, "#000000")
    with pytest.raises(NotAllowed):
        branding.set_logo(staff, _image("PNG"))


@pytest.mark.parametrize(("kind", "key_end"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_a_logo_is_re_encoded_and_kept_small(admin: User, kind: str, key_end: str) -> None:
    settings = branding.set_logo(admin, _image(kind, (1200, 400)))
    assert settings.logo_key is not None and settings.logo_key.endswith(key_end)
    assert (settings.logo_width, settings.logo_height) == (320, 107)
    stored = current_store().get(settings.logo_key)
    assert stored is not None
    assert Image.open(io.BytesIO(stored)).size == (320, 107)


@pytest.mark.parametrize("kind", ["GIF", "WEBP", "BMP", "SVG"])
def test_a_logo_other_than_png_or_jpeg_is_refused(admin: User, kind: str) -> None:
    data = b"<svg xmlns='http://www.w3.org/2000/svg'></svg>" if kind == "SVG" else _image(kind)
    with pytest.raises(images.ImageRefused) as refused:
        branding.set_logo(admin, data)
    assert refused.value.reason is images.Refusal.TYPE_NOT_TAKEN
    assert str(refused.value.message).startswith("A logo must be a PNG or JPEG image.")
    assert get_site_settings().logo_key is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", images.Refusal.EMPTY), (b"\x89PNG\r\n\x1a\n" + b"junk" * 10, images.Refusal.DAMAGED)],
    ids=["empty", "damaged"],
)
def test_an_empty_or_damaged_logo_gets_the_pipelines_refusal(
    admin: User, data: bytes, reason: images.Refusal
) -> None:
    with pytest.raises(images.ImageRefused) as refused:
        branding.set_logo(admin, data)
    assert refused.value.reason is reason


def test_a_new_logo_replaces_the_old_ones_bytes(admin: User) -> None:
    first = branding.set_logo(admin, _image("PNG")).logo_key
    db.session.commit()
    second = branding.set_logo(admin, _image("JPEG")).logo_key
    db.session.commit()
    assert first != second
    assert current_store().get(str(first)) is None
    assert current_store().get(str(second)) is not None
    branding.remove_logo(admin)
    db.session.commit()
    assert get_site_settings().logo_key is None
    assert current_store().get(str(second)) is None


def test_tidying_the_attachment_store_keeps_the_logo(admin: User) -> None:
    key = branding.set_logo(admin, _image("PNG")).logo_key
    db.session.commit()
    attachments.prune_unattached()
    db.session.commit()
    assert current_store().get(str(key)) is not None


def test_tidying_a_directory_store_keeps_the_logo_and_a_replaced_one_goes_on_commit(
    admin: User, tmp_path: Path, change_settings: Callable[..., object]
) -> None:
    change_settings(attachment_store="directory", attachment_directory=str(tmp_path / "files"))
    first = str(branding.set_logo(admin, _image("PNG")).logo_key)
    db.session.commit()
    # Bytes no upload names are tidied away; the logo's are named by the settings.
    attachments.prune_unattached(now=datetime.now(UTC) + timedelta(days=1))
    db.session.commit()
    assert current_store().get(first) is not None
    second = str(branding.set_logo(admin, _image("JPEG")).logo_key)
    assert current_store().get(first) is not None  # until the change commits
    db.session.commit()
    assert current_store().get(first) is None
    assert current_store().get(second) is not None
