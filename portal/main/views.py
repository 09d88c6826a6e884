"""Service endpoints: the health check, and the site's branding (its logo and accent colour)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.services import branding

bp = Blueprint("main", __name__)

# A logo's address changes with each upload and the accent's names its colour, so either can
# be kept by browsers, proxies and mail clients' image caches for as long as they like.
FOREVER = "public, max-age=31536000, immutable"
_ACCENT = re.compile(r"[0-9a-f]{6}")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness with a database round trip; 503 when the database does not answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:  # the 503 rolls the unit of work back
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200


@bp.get("/brand/<key>")
def logo(key: str) -> Response:
    """The site's logo, with an attached image's headers, but public and cacheable: it is on
    every page and in emails, whose mail clients fetch it from elsewhere."""
    data, content_type = branding.logo_bytes(key)
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{key}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    # Emails show it from the mail client's origin (webmail is a page elsewhere).
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Cache-Control"] = FOREVER
    return response


@bp.get("/brand/accent-<colour>.css")
def accent_css(colour: str) -> Response:
    """The accent colour as the stylesheet's custom properties: the Content Security Policy
    allows no inline style, so the colour comes as a stylesheet of its own, named by it."""
    if not _ACCENT.fullmatch(colour):
        abort(404)
    accent = f"#{colour}"
    css = f":root {{ --brand: {accent}; --brand-dark: {branding.darker(accent)}; }}\n"
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = FOREVER
    return response
