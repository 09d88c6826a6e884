"""JSON errors for /api/ requests: {"error": {"status": 404, "message": "..."}}, with
"fields" (what is wrong with each field) or "findings" (what the tone check found in words a
customer would read, or the guard for personal details in words about to be public) when there
are some.

Messages are in the language the client asks for (Accept-Language, else the site's default:
portal.i18n.select_language); the codes, field names and finding codes are not words.

The handlers are the api blueprint's own, so the site's HTML error pages stay as they are.
Routing errors (an unknown address or method under /api/) belong to no blueprint, so a
before-request hook answers those in JSON before Flask raises them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.api.schemas import BadRequestBody, InvalidFields
from portal.database import CROSSED_MESSAGE, crossed_another_change
from portal.services.attachments import TooManyImages
from portal.services.errors import DomainError
from portal.services.images import ImageRefused
from portal.services.personal_details import PersonalDetailsHeld
from portal.services.tone import ToneFinding
from portal.services.wording import Text
from portal.services.workflow import InvalidTransition, ToneHeld
from portal.unit_of_work import roll_back

HANDLED_CODES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)

BEARER_CHALLENGE = 'Bearer realm="api"'

# In place of Werkzeug's own descriptions, which are written for the server's developers (and
# in English); a description given on purpose (abort(404, "...")) is kept.
STATUS_WORDS = {
    400: _l("That request could not be understood. Check its parameters and body."),
    401: _l("This needs an API token: Authorization: Bearer <token>."),
    403: _l("This token may not do that."),
    404: _l("There is nothing at this address. The index at /api/v1/ lists what there is."),
    405: _l("This address does not take that method. The Allow header lists the ones it does."),
    409: _l("That conflicts with how things stand now. Read it again and retry."),
    413: _l("The request is too large."),
    415: _l("Send the body as JSON, with Content-Type: application/json."),
    422: _l("The request is well formed, but its values cannot be used."),
    429: _l("Too many requests for now. Wait a moment, then try again."),
}


class ApiError(Exception):
    """An API refusal with its status, message and any headers (such as WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int,
    message: str | Text,
    *,
    fields: Mapping[str, str | Text] | None = None,
    findings: Sequence[tuple[str, ToneFinding]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """The API's error body with the right status code."""
    error: dict[str, Any] = {"status": status, "message": str(message)}
    if fields:
        error["fields"] = {name: str(problem) for name, problem in fields.items()}
    if findings:
        error["findings"] = [
            {
                "field": field,
                "code": f.code,
                "message": str(f.message),
                "quotes": list(f.quotes),
                "advice": str(f.advice),
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
    stock = error.description == type(error).description
    if status == 500:
        message = _("Something went wrong on our side. Please try again in a moment.")
    elif status == 429:
        # Flask-Limiter says which limit was reached ("60 per 1 minute"), in English.
        message = str(STATUS_WORDS[429])
    elif stock or not error.description:
        message = str(STATUS_WORDS.get(status) or _("That request could not be handled."))
    else:
        message = error.description
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return error_response(status, message, headers=headers)


def _domain_error(error: DomainError) -> Response:
    roll_back()
    # A move the item's state does not allow conflicts with where the item is.
    status = 409 if isinstance(error, InvalidTransition) else error.status_code
    # Words the tone check or the guard for personal details held come back with each
    # finding, as the pages list them.
    findings = (
        [(field, f) for field, found in error.by_field.items() for f in found]
        if isinstance(error, ToneHeld | PersonalDetailsHeld)
        else ()
    )
    return error_response(status, error.message, findings=findings)


def _image_refused(error: ImageRefused | TooManyImages) -> Response:
    # An image the pipeline refuses (or one too many) is the images field's problem, said in
    # the pipeline's words (POST /items as multipart, portal/api/uploads.py).
    roll_back()
    return error_response(
        422, InvalidFields({"images": error.message}).message, fields={"images": error.message}
    )


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
        return error_response(409, str(CROSSED_MESSAGE))
    current_app.logger.error("database unavailable: %s", error)
    return error_response(
        503,
        _("We cannot reach our records for a moment. Please try again in a minute."),
        headers={"Retry-After": "30"},
    )


def register(bp: Blueprint) -> None:
    """Attach the JSON handlers to the api blueprint."""
    for code in HANDLED_CODES:
        bp.register_error_handler(code, _http_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(ImageRefused, _image_refused)
    bp.register_error_handler(TooManyImages, _image_refused)
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
