"""Branding: the organisation's logo and accent colour, shown on every page and in emails.

The logo goes through the attachments' image pipeline (images.process_image: sniffed, limited,
decoded and re-encoded, metadata left behind); PNG and JPEG are taken, and what is kept is the
pipeline's thumbnail (at most 320 pixels a side: a header shows it about 32 pixels high, twice
that on a sharp screen). Its bytes are in the attachment store under a key of its own, new
for each upload, so its address can be cached for good.

The accent colour is the colour of links, buttons and the header. People read text in it on
the page, so it must have WCAG AA contrast for text (4.5:1) against the page; a colour that
has less is refused, saying what it has and what it needs.
"""

from __future__ import annotations

import math
import re
import secrets

import sqlalchemy as sa

from portal.extensions import db
from portal.models import SiteSettings, User
from portal.services import environment, events, images
from portal.services.admin import require_active_admin
from portal.services.attachment_store import current_store
from portal.services.errors import DomainError, NotFound
from portal.services.site import settings_for_update
from portal.services.wording import t

# The page's background (static/css/site.css --paper): text in the accent colour is read on it.
PAGE_BACKGROUND = "#f7f7f4"
# WCAG 2 success criterion 1.4.3 (AA), for text of ordinary size.
TEXT_CONTRAST = 4.5
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg"}
_PNG_OR_JPEG = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
LOGO_KEY = re.compile(r"logo-[A-Za-z0-9_-]{16}\.(png|jpg)")


class ContrastTooLow(DomainError):
    """An accent colour people could not read on the page."""


def normalise_colour(text: str) -> str:
    """A colour as "#rrggbb" from "#RGB", "rrggbb" and the like; refused otherwise."""
    match = _HEX.fullmatch(text.strip())
    if match is None:
        raise DomainError(
            t(
                "“%(colour)s” is not a colour we can use: write it as a hex code such as #1d5c63.",
                colour=text.strip()[:20],
            )
        )
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return f"#{digits}"


def _luminance(colour: str) -> float:
    # WCAG 2 relative luminance of an sRGB colour.
    channels = []
    for i in (1, 3, 5):
        value = int(colour[i : i + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two "#rrggbb" colours, from 1 (none) to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shown_ratio(ratio: float) -> str:
    """A ratio as the refusal says it, rounded down to a tenth: 4.47 is "4.4", never a "4.5"
    that reads as enough."""
    return f"{math.floor(ratio * 10) / 10:.1f}"


def darker(colour: str, amount: float = 0.25) -> str:
    """The colour mixed with black (the hover shade of links and buttons): darker keeps the
    contrast against the page."""
    parts = [round(int(colour[i : i + 2], 16) * (1 - amount)) for i in (1, 3, 5)]
    return "#" + "".join(f"{part:02x}" for part in parts)


def set_accent_colour(actor: User, colour: str) -> SiteSettings:
    """Choose the accent colour ("" goes back to the portal's own); refused when text in it
    would not have 4.5:1 against the page."""
    require_active_admin(actor, t("Only admins can change the site's branding."))
    chosen = normalise_colour(colour) if colour.strip() else None
    if chosen is not None:
        ratio = contrast_ratio(chosen, PAGE_BACKGROUND)
        if ratio < TEXT_CONTRAST:
            raise ContrastTooLow(
                t(
                    "%(colour)s has %(ratio)s:1 against the page; it needs %(needed)s:1. "
                    "Choose a darker colour.",
                    colour=chosen,
                    ratio=shown_ratio(ratio),
                    needed="4.5",
                )
            )
    settings = settings_for_update()
    if settings.accent_colour != chosen:
        settings.accent_colour = chosen
        db.session.flush()
        events.emit(events.SettingsUpdated(settings, actor, {"accent_colour": chosen or ""}))
    return settings


def set_logo(actor: User, data: bytes) -> SiteSettings:
    """Keep a new logo (PNG or JPEG), re-encoded by the image pipeline; the old one goes."""
    require_active_admin(actor, t("Only admins can change the site's branding."))
    # Sniffed before the pipeline, whose refusals name the types attachments take; an empty,
    # oversized or damaged PNG or JPEG gets the pipeline's own words.
    if data and not data.startswith(_PNG_OR_JPEG):
        raise images.ImageRefused(
            images.Refusal.TYPE_NOT_TAKEN,
            t("A logo must be a PNG or JPEG image. Please save it as one and upload it again."),
        )
    limits = environment.current().settings
    kept = images.process_image(
        data, max_bytes=limits.attachment_max_bytes, max_pixels=limits.attachment_max_pixels
    )
    settings = settings_for_update()
    old = settings.logo_key
    key = f"logo-{secrets.token_urlsafe(12)}.{LOGO_TYPES[kept.content_type]}"
    current_store().put(key, kept.thumbnail)
    settings.logo_key = key
    settings.logo_width = kept.thumbnail_width
    settings.logo_height = kept.thumbnail_height
    db.session.flush()
    _forget(old)
    events.emit(events.SettingsUpdated(settings, actor, {"logo": key}))
    return settings


def remove_logo(actor: User) -> SiteSettings:
    """Show the organisation's name alone again."""
    require_active_admin(actor, t("Only admins can change the site's branding."))
    settings = settings_for_update()
    old = settings.logo_key
    if old is not None:
        settings.logo_key = settings.logo_width = settings.logo_height = None
        db.session.flush()
        _forget(old)
        events.emit(events.SettingsUpdated(settings, actor, {"logo": ""}))
    return settings


def _forget(key: str | None) -> None:
    if key is None:
        return
    store = current_store()
    if store.transactional:
        store.delete([key])
    else:
        # The file goes once the change is committed: a rolled-back one keeps the logo it had.
        events.after_commit(db.session(), lambda: store.delete([key]))


def logo_bytes(key: str) -> tuple[bytes, str]:
    """The bytes of the logo the settings name under this key, and its type; NotFound for any
    other key (an old logo's address stops answering once it is replaced)."""
    if (
        not LOGO_KEY.fullmatch(key)
        or db.session.scalar(sa.select(SiteSettings.id).where(SiteSettings.logo_key == key)) is None
    ):
        raise NotFound(t("We could not find that logo."))
    data = current_store().get(key)
    if data is None:
        raise NotFound(t("We could not find that logo."))
    content_type = "image/png" if key.endswith(".png") else "image/jpeg"
    return data, content_type
