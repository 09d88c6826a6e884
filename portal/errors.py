"""Error pages in the site's look; domain errors become 4xx answers after a rollback."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.extensions import db, htmx
from portal.services.errors import DomainError

ERROR_TITLES = {
    400: "That request did not look right",
    403: "That page is not for you",
    404: "We could not find that page",
    405: "That action is not available here",
    413: "That was too large",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "We are briefly unavailable",
}


def render_error(status: int, message: str) -> Response:
    """Render the error page, or for htmx a message swapped into the page's message area."""
    title = ERROR_TITLES.get(status, "Something went wrong")
    if htmx:
        response = make_response(
            render_template("errors/_message.html", status=status, title=title, message=message),
            status,
        )
        # Whatever the request aimed at, the message goes where people read messages.
        response.headers["HX-Retarget"] = "#htmx-messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return make_response(
        render_template("errors/error.html", status=status, title=title, message=message), status
    )


def register(app: Flask) -> None:
    """Attach the handlers to the app."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Response:
        db.session.rollback()
        return render_error(error.status_code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        db.session.rollback()
        return render_error(
            400,
            "Your form had expired or came from elsewhere. Please go back, reload and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.code < 400:
            return error
        db.session.rollback()
        if error.code == 500:
            # Flask logs the original exception; the person never sees a stack trace.
            return render_error(500, "We have been told about it. Please try again in a moment.")
        return render_error(error.code, error.description or "")
