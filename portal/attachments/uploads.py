"""Images sent with a form: the submit, comment, reply and note forms, and the htmx preview.

Without JavaScript the form carries the files themselves (`images`, one "describe your
images" text for them all). With htmx, choosing files sends them at once to
/attachments/uploads, which answers their previews; the form then carries their public ids.
Either way the files are kept first, each on its own (a refused file is said by its name and
the others stay), and committed at once: a browser cannot fill a file input again, so images
accepted before another field failed come back with the form as previews (hidden `image_id`
fields, a description each, a "remove" box), whatever the form's command then says. Uploads
never sent on are pruned after an hour (services/attachments.py).

Forms that carry files may be larger than the site's MAX_CONTENT_LENGTH: their views are
marked with `takes_images`, and the request class gives them room for five full images.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from portal.errors import render_error
from portal.extensions import db
from portal.i18n import LanguageRequest
from portal.models import Attachment
from portal.services import attachments, environment
from portal.services.errors import DomainError
from portal.unit_of_work import commit_now

MULTIPART = "multipart/form-data"
FILES_FIELD = "images"
ID_FIELD = "image_id"
REMOVE_FIELD = "image_remove"
DESCRIBE_FIELD = "images_alt"
ALT_FIELD_PREFIX = "image_alt_"
# Element ids on a page with several forms that take images (the admin page's reply and note).
PREFIX_PATTERN = re.compile(r"[a-z][a-z-]{0,19}")
MEGABYTE = 1024 * 1024
SHOWN_NAME_LENGTH = 60

View = TypeVar("View", bound=Callable[..., Any])


def takes_images(view: View) -> View:
    """Mark a view whose form carries image files: its requests may be as large as five
    images and the text."""
    view.takes_images = True  # type: ignore[attr-defined]
    return view


def _largest_image() -> int:
    """The largest image kept, in bytes (a setting: services/environment.py)."""
    return environment.current().settings.attachment_max_bytes


def images_request_limit(app: Flask) -> int:
    """The largest request a form with images may send: five images, and the room any form
    has for its text."""
    text_room = int(app.config.get("MAX_CONTENT_LENGTH") or MEGABYTE)
    return _largest_image() * attachments.MAX_PER_TARGET + text_room


class PortalRequest(LanguageRequest):
    """Flask's request, with room for files on the views marked `takes_images` (a multipart
    body only: any other body keeps the site's limit). Decided when the route is matched,
    before any request hook reads the form (the CSRF check does)."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.mimetype == MULTIPART and _takes_images(self):
            return images_request_limit(current_app)
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def _takes_images(req: Request) -> bool:
    if not current_app or req.url_rule is None or req.url_rule.endpoint is None:
        return False
    view = current_app.view_functions.get(req.url_rule.endpoint)
    return bool(getattr(view, "takes_images", False))


def init_app(app: Flask) -> None:
    """Use the request class above, and say what too many images means."""
    app.request_class = PortalRequest

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Response:
        if not _takes_images(request):
            return render_error(413, str(error.description))
        limit = max(1, _largest_image() // MEGABYTE)
        return render_error(
            413,
            ngettext(
                "That was more than we can take at once: up to %(num)d image of %(size)d MB. "
                "Please go back and attach fewer or smaller images.",
                "That was more than we can take at once: up to %(num)d images of %(size)d MB "
                "each. Please go back and attach fewer or smaller images.",
                attachments.MAX_PER_TARGET,
                size=limit,
            ),
        )


@dataclass
class FormImages:
    """The images of one form: the waiting uploads it carries (public ids, in order), what
    was said about refused files, and the description typed for new files."""

    prefix: str
    ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    describe: str = ""

    limit = attachments.MAX_PER_TARGET

    @property
    def max_megabytes(self) -> int:
        """The largest image taken, in MB, as the field's help says it."""
        return max(1, _largest_image() // MEGABYTE)

    @cached_property
    def previews(self) -> list[Attachment]:
        """The uploads to show as previews: the person's own, still waiting."""
        return attachments.waiting_uploads(current_user, self.ids)


def no_images(prefix: str) -> FormImages:
    """The image fields of a blank form."""
    return FormImages(prefix)


def images_sent(prefix: str) -> FormImages:
    """Keep the images this request's form carries, and commit them (see the module's
    docstring): its waiting uploads (less those ticked "remove", with their descriptions)
    and its new files, each refused on its own with its name."""
    form = request.form
    removed = set(form.getlist(REMOVE_FIELD))
    ids = [
        public_id
        for public_id in dict.fromkeys(form.getlist(ID_FIELD))
        if attachments.PUBLIC_ID_PATTERN.fullmatch(public_id) and public_id not in removed
    ]
    describe = " ".join(form.get(DESCRIBE_FIELD, "").split())[: attachments.ALT_TEXT_LENGTH]
    images = FormImages(prefix, ids=ids, describe=describe)
    files = [f for f in request.files.getlist(FILES_FIELD) if f.filename or f.content_length]
    # Each preview's own description, or else the one for all; an upload sent without its
    # description field keeps the one it has.
    described = {
        public_id: form[ALT_FIELD_PREFIX + public_id] or describe
        for public_id in ids
        if ALT_FIELD_PREFIX + public_id in form
    }
    if not ids and not files:
        return images
    attachments.describe_uploads(current_user, described)
    try:
        attachments.check_room(len(ids) + len(files))
    except DomainError as error:
        images.errors.append(error.message)
        files = []
    for storage in files:
        public_id = _keep(storage, describe, images.errors)
        if public_id is not None:
            images.ids.append(public_id)
    # The uploads stand whatever the form's command says next (its refusal rolls back only
    # what it did).
    commit_now()
    return images


def _keep(storage: FileStorage, alt_text: str, errors: list[str]) -> str | None:
    """Keep one file; None, with its refusal in `errors`, when it is not kept."""
    data = storage.read()
    try:
        # Its own savepoint: a refused file leaves the others and the form's work alone.
        with db.session.begin_nested():
            upload = attachments.upload_image(current_user, data, alt_text=alt_text)
    except DomainError as error:
        name = " ".join((storage.filename or "").split())[:SHOWN_NAME_LENGTH]
        errors.append(
            _("%(name)s: %(reason)s", name=name, reason=error.message) if name else error.message
        )
        return None
    return upload.public_id


def prefix_from(value: str | None, default: str) -> str:
    """A form's element-id prefix as a request names it, or the default."""
    return value if value and PREFIX_PATTERN.fullmatch(value) else default
