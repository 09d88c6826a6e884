"""Error pages in the site's look; domain errors become 4xx answers after a rollback."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.accounts.kept import keep_submission, offer_to_keep
from portal.auth import answer_outage_as_it_came, page_before
from portal.database import CROSSED_MESSAGE, crossed_another_change
from portal.extensions import htmx
from portal.services.errors import DomainError
from portal.unit_of_work import roll_back

ERROR_TITLES = {
    400: _l("That request did not look right"),
    403: _l("That page is not for you"),
    404: _l("We could not find that page"),
    405: _l("That action is not available here"),
    409: _l("That changed in the meantime"),
    413: _l("That was too large"),
    429: _l("Slow down a little"),
    500: _l("Something went wrong on our side"),
    503: _l("We are briefly unavailable"),
}


PLAIN_WORDS = {
    400: _l("Something in that request was not as we expected. Please go back and try again."),
    403: _l(
        "This page is for other people. If you think you should see it, sign in with the "
        "account that may."
    ),
    404: _l("The page may have moved or been removed, or the address may be mistyped."),
    405: _l("That address does not do that. Go back to the page you came from and try again."),
    409: _l("That changed while you were looking at it. Please reload the page and try again."),
    413: _l("That was more than we can take at once. Please send something smaller."),
    429: _l("That was a lot of requests in a short time. Please wait a minute, then try again."),
}


# A refused action is not a missing or forbidden page: "That page is not for you" above
# "Someone already looks after this item" read wrongly on the triage queue.
REFUSAL_TITLES = {
    403: _l("That is not yours to do"),
    404: _l("We could not find that"),
    409: _l("That changed in the meantime"),
}


def render_error(status: int, message: str, *, title: str | None = None) -> Response:
    """Render the error page, or for htmx a message swapped into the page's message area."""
    title = title or str(ERROR_TITLES.get(status) or _("Something went wrong"))
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
        roll_back()
        title = str(REFUSAL_TITLES.get(error.status_code) or _("That could not be done"))
        return render_error(error.status_code, error.message, title=title)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception) -> Response:
        roll_back()
        if crossed_another_change(error):
            # PostgreSQL stopped one of two requests that each waited for the other (two
            # people merging two items into each other): not an outage, and it is safe to retry.
            app.logger.warning("concurrent change refused: %s", error)
            return render_error(409, str(CROSSED_MESSAGE))
        # Lost connections and an unreachable server: a friendly 503, never a stack trace,
        # and nobody signed out by it.
        app.logger.error("database unavailable: %s", error)
        answer_outage_as_it_came()
        response = render_error(
            503,
            _(
                "We cannot reach our records for a moment. Nothing you sent was lost; "
                "please try again in a minute."
            ),
        )
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(DataError)
    def data_not_storable(error: DataError) -> Response:
        # A value the database cannot hold (a NUL in JSON text, a number out of range...).
        roll_back()
        return render_error(
            400, _("Something you sent cannot be stored as it is. Please check it.")
        )

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        roll_back()
        # The session ended or changed while the form was open: what was written is kept.
        kept = keep_submission(request)
        if kept is not None:
            return offer_to_keep(kept, page_before(request), 400)
        return render_error(
            400,
            # An htmx request came from the page still in front of them: no going back.
            _("This page had expired or came from elsewhere. Please reload it and try again.")
            if htmx
            else _(
                "Your form had expired or came from elsewhere. "
                "Please go back, reload and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.code < 400:
            return error
        roll_back()
        if error.code == 500:
            # Flask logs the original exception; the person never sees a stack trace.
            return render_error(500, _("We have been told about it. Please try again in a moment."))
        # Werkzeug's own descriptions ("...read-protected or not readable by the server") are
        # written for developers; a description given on purpose (abort(404, "...")) is kept.
        stock = type(error).description
        # Flask-Limiter's description is the limit reached ("20 per 1 hour"), in English.
        planned = error.description != stock and error.code != 429
        message = error.description if planned else str(PLAIN_WORDS.get(error.code) or "")
        return render_error(error.code, message or error.description or "")
