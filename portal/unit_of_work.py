"""The unit of work: one transaction per request or CLI command, committed in one place.

A request that answers below 400 is committed after its view returns; anything else is rolled
back. Views, API handlers and CLI commands never commit or roll back themselves. The only
deliberate exceptions are `commit_now()` (bookkeeping that must stand whatever follows, and a
response rendered from loaded values after the commit) and the outbox and digest deliverers,
which commit each claimed batch on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any, cast

from flask import Flask, Response, current_app, g, session
from flask.globals import request_ctx
from sqlalchemy.exc import SQLAlchemyError

from portal.database import commit_keeping_loaded, only_read
from portal.extensions import db
from portal.services.errors import DomainError


def commit_now() -> None:
    """End the unit of work here and commit it, keeping what it loaded.

    For bookkeeping that must stand whatever the rest of the request does (an API token's last
    use), and for a response rendered after the commit from values already loaded (the vote
    button), so no lock is held while it renders. The after-request commit then finds nothing
    left to do."""
    commit_keeping_loaded(db.session)


def roll_back() -> None:
    """Undo everything the unit of work changed. A lost connection has nothing to undo."""
    with suppress(SQLAlchemyError):
        db.session.rollback()


@contextmanager
def command_transaction() -> Iterator[None]:
    """One CLI command's unit of work: committed once when it succeeds, rolled back on any
    error, a failed commit's included (the error is raised again)."""
    try:
        yield
        commit_now()
    except BaseException:
        roll_back()
        raise


class Refusal:
    """A command run for a form (see refusal_shown_in): after the `with` block, truthy when
    the command was refused, with what it said and the status to answer with."""

    def __init__(self, errors: Sequence[str]) -> None:
        self._errors = errors
        self.message = ""
        self.status = 200
        self.error: DomainError | None = None
        # What the tone check found in words held back (shown instead of a message), all of
        # it and by the field each finding belongs to.
        self.findings: list[Any] = []
        self.findings_by_field: dict[str, list[Any]] = {}

    def __bool__(self) -> bool:
        return self.error is not None

    def __enter__(self) -> Refusal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if not isinstance(error, DomainError):
            return False  # success, or an error for the error handlers
        roll_back()
        self.error = error
        self.message = error.message
        self.status = error.status_code
        self.findings = list(getattr(error, "findings", []))
        self.findings_by_field = dict(getattr(error, "by_field", {}))
        if not self.findings:
            # A field's errors are a list once its form has been validated (WTForms' types
            # say Sequence, as they start as a tuple).
            cast(list[str], self._errors).append(error.message)
        return True


def refusal_shown_in(errors: Sequence[str]) -> Refusal:
    """Run a command for a form: a refusal rolls the unit of work back and its message joins
    `errors` (a field's or the form's), so the page is shown again with what was typed kept.
    The Refusal carries the status to answer with. Words held by the tone check come back as
    its findings instead of a message. Other errors pass through.

        with refusal_shown_in(form.form_errors) as refusal:
            command(...)
            return redirect(...)
        return render_template(...), refusal.status
    """
    return Refusal(errors)


SESSION_BEFORE_KEY = "unit_of_work_session_before"


def init_app(app: Flask) -> None:
    """Commit each request's unit of work once, after its view has answered."""

    @app.before_request
    def remember_the_session() -> None:
        # Read without marking the session accessed, which would add "Vary: Cookie" to every
        # page, the cached ones too.
        setattr(g, SESSION_BEFORE_KEY, _session_contents())

    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if not db.session.registry.has() or not db.session().in_transaction():
            return response  # a cached page, or nothing read: no session to finish
        if response.status_code >= 400:
            roll_back()
            return response
        if only_read(db.session):
            # A page or a feed that changed nothing: its reading transaction ends without a
            # commit, and what it loaded stays loaded.
            db.session.close()
            return response
        try:
            commit_now()
        except Exception as error:  # a failed commit answers like any other error
            roll_back()
            _forget_what_the_view_put_in_the_session()
            # The error handlers (a crossed change's 409, an outage's 503) answer it; one
            # without a handler is raised again and becomes the 500 page.
            return current_app.make_response(current_app.handle_user_exception(error))
        return response


def _session_contents() -> dict[str, Any]:
    # dict.copy on the session itself (not the proxy): its own reading methods would mark it
    # accessed.
    return dict.copy(cast(dict[str, Any], request_ctx.session))


def _forget_what_the_view_put_in_the_session() -> None:
    """What was not committed did not happen: a sign-in to an account that was never stored,
    a "Saved" message. The browser keeps the session it came with."""
    before = g.get(SESSION_BEFORE_KEY)
    if before is not None and _session_contents() != before:
        session.clear()
        session.update(before)
