"""Service endpoints: the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.extensions import db

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness with a database round trip; 503 when the database does not answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:  # the 503 rolls the unit of work back
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
