"""JSON errors for /api/ requests: {"error": {"status": 404, "message": "..."}}, with
"fields" (what is wrong with each field) or "findings" (what the tone check found in words a
customer would read) when there are some.

The handlers are the api blueprint's own, so the site's HTML error pages stay as they are.
Routing errors (an unknown address or method under /api/) belong to no blueprint, so a
before-request hook answers those in JSON before Flask raises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.api.schemas import BadRequestBody, InvalidFields
from portal.database import CROSSED_MESSAGE, crossed_another_change
from portal.services.errors import DomainError
from portal.services.tone import ToneFinding
from portal.services.workflow import InvalidTransition, ToneHeld
from portal.unit_of_work import roll_back

HANDLED_CODES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)

BEARER_CHALLENGE = 'Bearer realm="api"'


class ApiError(Exception):
    """An API refusal with its status, message and any headers (such as WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int,
    message: str,
    *,
    fields: dict[str, str] | None = None,
    findings: Sequence[tuple[str, ToneFinding]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """The API's error body with the right status code."""
    error: dict[str, Any] = {"status": status, "message": message}
    if fields:
        error["fields"] = fields
    if findings:
        error["findings"] = [
            {
                "field": field,
                "code": f.code,
                "message": f.message,
                "quotes": list(f.quotes),
                "advice": f.advice,
            }
            for field, f in findings
        ]
    response = jsonify({"error": error})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_error(error: HTTPException) -> Response:
    roll_back()
    status = error.code or 500
    if status == 500:
        message = "Something went wrong on our side. Please try again in a moment."
    else:
        message = error.description or "That request could not be handled."
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return error_response(status, message, headers=headers)


def _domain_error(error: DomainError) -> Response:
    roll_back()
    # A move the item's state does not allow conflicts with where the item is.
    status = 409 if isinstance(error, InvalidTransition) else error.status_code
    # Words the tone check held come back with each finding, as the admin page lists them.
    findings = (
        [(field, f) for field, found in error.by_field.items() for f in found]
        if isinstance(error, ToneHeld)
        else ()
    )
    return error_response(status, error.message, findings=findings)


def _api_error(error: ApiError) -> Response:
    roll_back()
    return error_response(error.status, error.message, headers=error.headers)


def _bad_body(error: BadRequestBody) -> Response:
    return error_response(error.status, error.message)


def _invalid_fields(error: InvalidFields) -> Response:
    roll_back()
    return error_response(422, error.message, fields=error.fields)


def _database_unavailable(error: Exception) -> Response:
    roll_back()
    if crossed_another_change(error):
        current_app.logger.warning("concurrent change refused: %s", error)
        return error_response(409, CROSSED_MESSAGE)
    current_app.logger.error("database unavailable: %s", error)
    return error_response(
        503,
        "We cannot reach our records for a moment. Please try again in a minute.",
        headers={"Retry-After": "30"},
    )


def register(bp: Blueprint) -> None:
    """Attach the JSON handlers to the api blueprint."""
    for code in HANDLED_CODES:
        bp.register_error_handler(code, _http_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(BadRequestBody, _bad_body)
    bp.register_error_handler(InvalidFields, _invalid_fields)
    bp.register_error_handler(OperationalError, _database_unavailable)
    bp.register_error_handler(InterfaceError, _database_unavailable)

    @bp.before_app_request
    def api_routing_errors() -> Response | None:
        # No rule matched: Flask raises this after the before-request hooks, outside any
        # blueprint, so the site's HTML handler would answer. Under /api/ it is JSON.
        routing_error = request.routing_exception
        if routing_error is None or not request.path.startswith("/api/"):
            return None
        if isinstance(routing_error, HTTPException) and (routing_error.code or 0) >= 400:
            return _http_error(routing_error)
        return None
