"""Security headers on every response, and the per-request SQLite transaction mode."""

from __future__ import annotations

from flask import Flask, Response, abort, request

from portal.database import sqlite_write_intent

# Everything the pages need is served from this site: htmx is vendored, its configuration and
# the CSRF header come from meta tags and a static script, so no inline script or style is allowed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The only POSTs without a CSRF token (DESIGN.md), and the CSRF test reads this same list:
# - one-click unsubscribes, where the token in the address is the proof;
# - the API's writes, which authenticate by an API token in the Authorization header alone
#   (never the session cookie) and refuse any request without a valid one, so a forged
#   cross-site request carries no credentials to abuse (portal/api/views.py).
CSRF_EXEMPT_ENDPOINTS: tuple[str, ...] = (
    "notifications.unsubscribe",
    "digests.unsubscribe",
    "api.create_item",
    "api.add_vote",
    "api.transition",
)


def exempt_from_csrf(app: Flask) -> None:
    """Exempt exactly the endpoints listed above; a name that does not exist is an error."""
    from portal.extensions import csrf

    for endpoint in CSRF_EXEMPT_ENDPOINTS:
        csrf.exempt(app.view_functions[endpoint])


def register(app: Flask) -> None:
    """Attach the request hooks."""

    @app.before_request
    def refuse_nul_characters() -> None:
        # No keyboard types a NUL, PostgreSQL cannot store one, and it has tricked parsers
        # before: such a request is refused whole, before anything reads it.
        for values in (request.args, request.form):
            for value in values.values():
                if "\x00" in value:
                    abort(400, "The text you sent contains a character we cannot store (NUL).")

    @app.before_request
    def choose_transaction_mode() -> None:
        # Readers begin deferred transactions so they never wait for a writer's lock.
        sqlite_write_intent.set(request.method not in SAFE_METHODS)

    @app.teardown_request
    def reset_transaction_mode(_exc: BaseException | None) -> None:
        sqlite_write_intent.set(True)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
