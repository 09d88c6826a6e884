"""Test helpers: service requirements, CSRF-aware requests and the SQL statement counter."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def require(available: bool, reason: str) -> None:
    """Skip with a reason when a service is missing locally; fail in CI, where it must exist."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)  # only outside CI (IN_CI fails above)


def csrf_token(client: FlaskClient) -> str:
    """A valid CSRF token for this client's session: from the meta tag of a signed-in page, or,
    for a visitor (whose pages carry none), from the sign-in form."""
    match = _CSRF_META.search(client.get("/").get_data(as_text=True))
    if match is None:
        match = _CSRF_INPUT.search(client.get("/account/login").get_data(as_text=True))
    assert match, "signed-in pages carry a csrf-token meta tag, the sign-in form a hidden token"
    return match.group(1)


def post(
    client: FlaskClient, url: str, data: dict | None = None, *, htmx: bool = False, **kw
) -> TestResponse:
    """POST a form the way a browser would: with the session's CSRF token."""
    data = dict(data or {})
    headers = dict(kw.pop("headers", {}))
    token = csrf_token(client)
    if htmx:
        headers.update({"HX-Request": "true", "X-CSRFToken": token})
    else:
        data.setdefault("csrf_token", token)
    return client.post(url, data=data, headers=headers, **kw)


def login(client: FlaskClient, email: str, password: str = "correct horse battery") -> TestResponse:
    """Sign in through the real sign-in form."""
    response = post(client, "/account/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@dataclass
class QueryLog:
    """SQL statements seen while counting."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(engine: sa.Engine) -> Iterator[QueryLog]:
    """Count the SQL statements an engine runs inside the block (transaction control excluded)."""
    log = QueryLog()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            log.statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield log
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)


def empty_read_cache(app: Flask) -> None:
    """Forget the app's per-process cache (portal.cache), so the next request pays the worst
    case: what the first request after a change costs."""
    app.extensions["portal.read_cache"].clear()


# Forms are left out: full pages carry the site's own; user HTML cannot contain one (bleach).
_DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "srcset", "data", "poster"}
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


def executable_markup(html: str) -> list[str]:
    """What in this HTML could run script: dangerous tags, event handlers, script URLs."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            # The site's own scripts come from /static/; any other script is injected.
            own_script = tag == "script" and (dict(attrs).get("src") or "").startswith("/static/")
            if tag in _DANGEROUS_TAGS and not own_script:
                found.append(f"<{tag}>")
            for name, value in attrs:
                if name.startswith("on"):
                    found.append(f"{tag} {name}=")
                cleaned = "".join((value or "").split()).lower()
                if name in _URL_ATTRS and cleaned.startswith(_BAD_SCHEMES):
                    found.append(f"{tag} {name}={value}")

    Finder(convert_charrefs=True).feed(html)
    return found


def newest_email_body(kind: str, address: str) -> str:
    """The text of the newest outbox email of this kind to this address."""
    from portal.extensions import db
    from portal.models import OutboxMessage

    body = db.session.scalar(
        sa.select(OutboxMessage.text_body)
        .where(OutboxMessage.kind == kind, OutboxMessage.to_email == address)
        .order_by(OutboxMessage.id.desc())
    )
    assert body, f"no {kind} email to {address}"
    return body


def emailed_token(kind: str, address: str, path: str) -> str:
    """The token after `path` in the link of the newest email of this kind to this address."""
    body = newest_email_body(kind, address)
    match = re.search(rf"{re.escape(path)}(\S+)", body)
    assert match, body
    return match.group(1)


class _FormReader(HTMLParser):
    """What a browser sends for one form: its inputs, selected options and textareas."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # The first form posting to the action: a page may hold several (one per move).
            self.inside = a.get("action") == self.action and not self.fields
        if not self.inside:
            return
        # A file input's files go as files, not as a form field.
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value", "on")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea:
            # Browsers drop the one newline that follows <textarea>.
            text = self._text
            text = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            self.fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def browser_form(html: str, action: str) -> list[tuple[str, str]]:
    """The fields a browser would send for the form on this page that posts to `action`."""
    reader = _FormReader(action)
    reader.feed(html)
    assert reader.fields, f"no form posting to {action}"
    return reader.fields


def resolve_together(items: list[Any], staff: Any, we_did: str, you_said: str = "") -> Any:
    """Publish one resolution for several items as staff do: each is answered personally
    first ("Resolve together" refuses items nobody has answered)."""
    from portal.models import FeedbackState
    from portal.services import workflow

    for item in items:
        if item.state is FeedbackState.RECEIVED:
            workflow.acknowledge(
                item.id, staff, "Thank you, I am looking at this now.", post_anyway=True
            )
    return workflow.publish_resolution(
        [item.id for item in items], staff, we_did, you_said, post_anyway=True
    )


def finish_registration(client: FlaskClient, address: str) -> TestResponse:
    """Follow the link in the newest registration email to this address and press its
    button, as the new person does."""
    token = emailed_token("registration", address, "/account/register/")
    return post(client, f"/account/register/{token}")


# Checks whose result does not depend on the database (the HTML and feed validators) run in
# the SQLite pass only; CI's second pass runs the suite on PostgreSQL (.ci/run).
ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgresql")
database_independent = pytest.mark.skipif(
    ON_POSTGRESQL, reason="does not depend on the database: checked in the SQLite pass"
)
# And the mirror: what only PostgreSQL does (row locks between concurrent writers) is
# checked in its pass.
postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="PostgreSQL's row locks: checked in the PostgreSQL pass"
)


def mail_text(message: Any) -> str:
    """The plain-text part of a received email, with plain line ends."""
    return str(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")


def mail_html(message: Any) -> str:
    """The HTML part of a received email."""
    return str(message.get_body(("html",)).get_content())


def delivered(smtp_server: Any) -> list[Any]:
    """Deliver what the outbox holds that is due; only the mails this run received."""
    from portal.services.outbox import deliver_pending

    before = len(smtp_server.messages)
    deliver_pending()
    return list(smtp_server.messages[before:])


def mail_to(messages: list[Any], user: Any) -> list[Any]:
    """The mails among these whose envelope went to this person."""
    return [m for m in messages if user.email in m["X-Envelope-To"]]
