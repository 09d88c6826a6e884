"""Attached images: the full image and its thumbnail, each at an address of its own.

An image answers 404 unless the viewer may see what it is attached to (services/attachments.py
says who), exactly like a missing one. Its headers keep a browser from treating it as anything
but an image: the type it was re-encoded to, no sniffing, a name we made, a sandbox should it
be opened as a document, and a short private cache life, so hiding or redacting takes effect
within minutes everywhere.
"""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template, request
from flask_login import current_user, login_required

from portal.attachments.uploads import images_sent, prefix_from, takes_images
from portal.extensions import limiter
from portal.services import attachments

bp = Blueprint("attachments", __name__)

CACHE_CONTROL = "private, max-age=300"


@bp.get("/attachments/<public_id>")
def image(public_id: str) -> Response:
    """The full image."""
    return _answer(public_id, thumbnail=False)


@bp.get("/attachments/<public_id>/thumbnail")
def thumbnail(public_id: str) -> Response:
    """The image's thumbnail, for pages that show it small."""
    return _answer(public_id, thumbnail=True)


@bp.post("/attachments/uploads")
@takes_images
@login_required
@limiter.limit("60 per hour")
def upload() -> Response:
    """Keep the files a form's file field was given (htmx, as they are chosen) and answer the
    form's previews: those it had, and the new ones (attachments/uploads.py)."""
    images = images_sent(prefix_from(request.args.get("form"), "images"))
    # Nothing kept and something refused is a failed request; htmx swaps it in all the same.
    status = 400 if images.errors and not images.ids else 200
    return make_response(render_template("attachments/_previews.html", images=images), status)


def _answer(public_id: str, *, thumbnail: bool) -> Response:
    attachment = attachments.visible_attachment(public_id, current_user)
    data = attachments.image_bytes(attachment, thumbnail=thumbnail)
    response = Response(data, mimetype=attachment.content_type)
    name = attachments.file_name(attachment, thumbnail=thumbnail)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the image gets no script, no forms, no origin of ours.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
