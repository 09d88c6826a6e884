"""Security headers on every response, and the per-request SQLite transaction mode."""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Flask, Response, abort, current_app, g, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from portal.api.errors import error_response
from portal.database import sqlite_write_intent
from portal.extensions import csrf
from portal.models.base import N_
from portal.unit_of_work import SESSION_BEFORE_KEY

NUL = "\x00"
NUL_MESSAGE = _l("The text you sent contains a character we cannot store (NUL).")

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


def policy_framed_by(origins: list[str]) -> str:
    """The same policy for a page these origins may frame (the feedback widget's pages,
    portal/widget/); no origins, no framing. Every other page keeps frame-ancestors 'none'."""
    ancestors = " ".join(origins) if origins else "'none'"
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


# Browser features no page here uses (htmx needs none of them): switched off for this site and
# anything it might embed, and no interest-based advertising cohorts.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
HSTS = "max-age=31536000; includeSubDomains"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The bodies Werkzeug parses into request.form (any other leaves it empty).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

# The only POSTs without a CSRF token (docs/design.md), and the CSRF test reads this same list:
# - one-click unsubscribes, where the token in the address is the proof;
# - single sign-on (/sso), posted by the organisation's page: its signed, short-lived,
#   single-use token is the proof (portal/services/sso.py);
# - the feedback widget's form, its single sign-on hand-over and its "sign in to send" step,
#   framed by (or opened from) the organisation's site, where a browser sends no SameSite=Lax
#   session cookie: each checks the widget token its page carries instead, signed, dated and
#   naming the visitor, which another site can neither read nor make (portal/services/widget.py);
#   the hand-over's proof is the organisation's signed single sign-on token, and "sign in to
#   send" also takes only requests whose Origin is this site;
# - the API's writes, which authenticate by an API token in the Authorization header alone
#   (never the session cookie) and refuse any request without a valid one, so a forged
#   cross-site request carries no credentials to abuse (portal/api/views.py).
CSRF_EXEMPT_ENDPOINTS: tuple[str, ...] = (
    "notifications.unsubscribe",
    "digests.unsubscribe",
    "sso.sign_in",
    "widget.send",
    "widget.sign_in",
    "widget.continue_on_site",
    "api.create_item",
    "api.add_vote",
    "api.still_happens",
    "api.still_wanted",
    "api.transition",
    "api.reply",
    "api.update_customer",
)


def exempt_from_csrf(app: Flask) -> None:
    """Exempt exactly the endpoints listed above; a name that does not exist is an error."""
    for endpoint in CSRF_EXEMPT_ENDPOINTS:
        csrf.exempt(app.view_functions[endpoint])


def reuse_checked_csrf_token() -> None:
    """Give this answer's forms the CSRF token the request was just checked with, instead of
    signing a new one (the busiest write, the vote, answers with a form). Tokens do not expire
    (WTF_CSRF_TIME_LIMIT is None): the one sent is as good as a new one. Otherwise, or when
    the request was not checked, Flask-WTF makes one as before."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if config.get("WTF_CSRF_TIME_LIMIT") is not None or not g.get("csrf_valid") or field in g:
        return
    token = csrf._get_csrf_token()
    if token:
        setattr(g, field, token)


def csrf_field() -> Markup:
    """The CSRF token's hidden field, as a form without a form class carries it (templates'
    hidden_fields(), and every vote form of a page, made once: VoteFormParts)."""
    # An f-string: Markup.format escapes through a formatter, dearer on pages of many forms.
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">')


def _has_nul(values: MultiDict[str, str]) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


def _json_has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def _api_body_has_nul() -> bool:
    """Whether an API request's body carries a NUL, raw or as the JSON escape \\u0000."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if length is None or (limit is not None and length > limit):
        return False  # the view reads it and answers 413 (or finds nothing to parse)
    raw = request.get_data(cache=True)
    if b"\x00" not in raw and b"\\u0000" not in raw:
        return False
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        # A raw NUL is not valid JSON either; naming the NUL is the clearer answer.
        return b"\x00" in raw
    # Parsed, so "\\u0000" above may have been an escaped backslash: look at the strings.
    return _json_has_nul(data)


def _nul_in_api_request() -> str | None:
    """Where an /api/ request carries a NUL, in words, or None."""
    if _has_nul(request.args):
        return N_("query string")
    if _has_nul(request.form):
        return N_("form data")
    if _api_body_has_nul():
        return N_("JSON body")
    return None


def api_nul_refusal() -> Response | None:
    """The API's 400 for a request carrying a NUL, or None. The api blueprint calls it after
    its token checks (portal/api/views.py); the hook below, for /api/ requests no API route
    answers."""
    where = _nul_in_api_request()
    if where is None:
        return None
    return error_response(
        400,
        _(
            "The request's %(part)s contains a NUL character (U+0000), which we cannot "
            "store. Remove it and send the request again.",
            part=_(where),
        ),
    )


def _answer_is_personal() -> bool:
    """Whether this answer is for one person: someone signed in (before or after this
    request, by session or remember-me cookie), or a page carrying a CSRF token (the sign-in
    and register forms). No cache, the browser's back-forward one included, may keep it."""
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return True
    if current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g:
        return True
    # The session as it came (a copy) and as it is now, read without marking it accessed
    # (that would add "Vary: Cookie" to every page).
    before: dict[str, Any] = g.get(SESSION_BEFORE_KEY) or {}
    now = cast(dict[str, Any], request_ctx.session)
    return "_user_id" in before or dict.__contains__(now, "_user_id")


def _served_over_https() -> bool:
    """HTTPS as the browser sees it: this request came over it (directly, or as trusted
    proxies say when PROXY_FIX_HOPS is set), or the site's public address uses it (a proxy
    that terminates TLS without PROXY_FIX_HOPS). Browsers ignore HSTS on plain http."""
    return request.is_secure or str(current_app.config.get("PORTAL_BASE_URL", "")).startswith(
        "https://"
    )


def register(app: Flask) -> None:
    """Attach the request hooks."""

    @app.before_request
    def refuse_nul_characters() -> Response | None:
        # No keyboard types a NUL, PostgreSQL cannot store one, and it has tricked parsers
        # before: such a request is refused whole, before anything reads it.
        if request.path.startswith("/api/"):
            # The api blueprint refuses it itself, after its token checks, so a caller without
            # a token or write scope hears that first (401, 403). API clients get the API's
            # JSON error here where no API route matched (a redirect to a trailing slash).
            if request.blueprint == "api":
                return None
            return api_nul_refusal()
        # Only what was sent is parsed: a page asked for without a query or a form (most of
        # them) has nothing to read.
        if (request.query_string and _has_nul(request.args)) or (
            request.mimetype in FORM_TYPES and _has_nul(request.form)
        ):
            abort(400, str(NUL_MESSAGE))
        return None

    @app.before_request
    def choose_transaction_mode() -> None:
        # Readers begin deferred transactions so they never wait for a writer's lock; so do
        # views marked reads_first, until their service calls begin_write().
        view = app.view_functions.get(request.endpoint or "")
        writes = request.method not in SAFE_METHODS and not getattr(view, "reads_first", False)
        sqlite_write_intent.set(writes)

    @app.teardown_request
    def reset_transaction_mode(_exc: BaseException | None) -> None:
        sqlite_write_intent.set(True)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        # The names the view set, read once: asking Headers for one it lacks (setdefault, `in`)
        # raises and catches an HTTP exception inside Werkzeug, about ten per response.
        present = {name.lower() for name, _value in headers}

        def default(name: str, value: str) -> None:
            if name.lower() not in present:
                headers.add(name, value)

        if "content-security-policy" in present:
            policy = headers.get("Content-Security-Policy", "")
        else:
            policy = CONTENT_SECURITY_POLICY
            headers.add("Content-Security-Policy", policy)
        default("X-Content-Type-Options", "nosniff")
        default("Referrer-Policy", "strict-origin-when-cross-origin")
        if "frame-ancestors 'none'" in policy:
            # A page that may be framed (the widget's) says where in its policy alone: a
            # browser honouring X-Frame-Options would refuse every frame.
            default("X-Frame-Options", "DENY")
        default("Permissions-Policy", PERMISSIONS_POLICY)
        # No other site's window keeps a handle on ours (window.opener), nor ours on theirs.
        default("Cross-Origin-Opener-Policy", "same-origin")
        if _served_over_https():
            default("Strict-Transport-Security", HSTS)
        if "cache-control" not in present and _answer_is_personal():
            # Public pages for visitors keep their caching (and the page cache its copies);
            # feeds set their own.
            headers["Cache-Control"] = "no-store"
        return response
