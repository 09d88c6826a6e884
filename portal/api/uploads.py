"""POST /items with images: the item as multipart/form-data.

A submission with images is one multipart/form-data request (RFC 7578) of three kinds of part:

- `item`: the same JSON object a JSON request sends as its whole body (as a field or as a file
  part, with Content-Type application/json or none);
- `images`: up to five files (JPEG, PNG, WebP or GIF, sniffed from the bytes: the part's
  Content-Type and file name are not trusted, nor kept);
- `alt_text`: optional, what each image shows, in the order of the images (repeat the field).

A JSON body works as before, without images. The site's request size limit (MAX_CONTENT_LENGTH)
is small; this route takes a multipart body as large as its images may be together, as the
pages' forms with images do (`takes_images`, portal/attachments/uploads.py).
"""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.api.schemas import BadRequestBody, InvalidFields, read_json_object
from portal.attachments.uploads import MULTIPART
from portal.services import attachments, environment
from portal.services.attachments import MAX_PER_TARGET

# The JSON part is small: read no more of it than the room a request has beside its images.
ROOM_BESIDE_IMAGES = 1024 * 1024


def submission() -> tuple[dict[str, Any], list[tuple[bytes, str]]]:
    """The item's fields and its images as (bytes, alt text) pairs, from a JSON body (no
    images) or a multipart one."""
    if request.mimetype != MULTIPART:
        return read_json_object(), []
    unknown = sorted({*request.form, *request.files} - {"item", "images", "alt_text"})
    if unknown:
        raise InvalidFields(dict.fromkeys(unknown, _("Unknown field.")))
    if "images" in request.form:
        # A text part named images (a number, a name) is no image: said, not passed over.
        raise InvalidFields({"images": _("Send each image as a file part named images.")})
    return _item_part(), _images()


def _item_part() -> dict[str, Any]:
    texts = request.form.getlist("item")
    files = request.files.getlist("item")
    if len(texts) + len(files) != 1:
        raise InvalidFields(
            {"item": _("Send the item once, as a JSON object in the part named item.")}
        )
    raw: bytes | str = texts[0] if texts else files[0].stream.read(ROOM_BESIDE_IMAGES)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestBody(400, _("The part named item is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise BadRequestBody(400, _("The part named item must be a JSON object."))
    return data


def _images() -> list[tuple[bytes, str]]:
    files = request.files.getlist("images")
    alt_texts = request.form.getlist("alt_text")
    if len(files) > MAX_PER_TARGET:
        # Refused before any is read, as the service refuses before decoding.
        raise InvalidFields(
            {
                "images": ngettext(
                    "You can attach %(num)d image to one item or comment.",
                    "You can attach up to %(num)d images to one item or comment.",
                    MAX_PER_TARGET,
                )
            }
        )
    if len(alt_texts) > len(files):
        raise InvalidFields({"alt_text": _("Give at most one alt text for each image.")})
    longest = attachments.ALT_TEXT_LENGTH
    if any(len(text) > longest for text in alt_texts):
        raise InvalidFields(
            {
                "alt_text": ngettext(
                    "Must be at most %(num)d character long.",
                    "Must be at most %(num)d characters long.",
                    longest,
                )
            }
        )
    most = environment.current().settings.attachment_max_bytes
    # One byte past the limit is enough for the pipeline to refuse a file as too large.
    kept = [upload.stream.read(most + 1) for upload in files]
    return [(data, alt_texts[n] if n < len(alt_texts) else "") for n, data in enumerate(kept)]
