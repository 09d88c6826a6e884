"""The JSON API at /api/v1. Reads are public; writes need a bearer token with write scope.

Writes are authenticated by the token alone, never by the session cookie, so they are exempt
from CSRF (portal.security.CSRF_EXEMPT_ENDPOINTS) and refuse any request without a token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from portal import unit_of_work
from portal.api import errors, schemas, uploads
from portal.api.errors import BEARER_CHALLENGE, ApiError
from portal.api.openapi import build_spec
from portal.attachments.uploads import takes_images
from portal.database import sqlite_write_intent
from portal.extensions import db, limiter
from portal.i18n import languages, site_language
from portal.models import (
    ApiToken,
    Category,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    SignalKind,
    TimelineEvent,
    TimelineKind,
    User,
)
from portal.security import api_nul_refusal
from portal.services import api as api_service
from portal.services import api_tokens, attachments, customer_value, recording, workflow
from portal.services.accounts import find_user_by_email
from portal.services.board import BoardFilters, BoardSort, board_page
from portal.services.errors import NotFound
from portal.services.feedback import categories, get_visible_item, item_timeline
from portal.services.languages import item_language
from portal.services.resolutions import (
    resolution_items,
    resolutions_page,
    voice_counts,
)
from portal.services.search import MAX_QUERY_CHARS
from portal.services.visibility import is_public
from portal.validation import MAX_ID

bp = Blueprint("api", __name__)
errors.register(bp)

F = TypeVar("F", bound=Callable[..., Any])

WRITE_LIMIT = "60 per minute"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000


# Authentication ----------------------------------------------------------------------------


@bp.before_request
def authenticate_token() -> Response | None:
    """A request that presents a token must present a valid one, on reads too. Then a NUL
    anywhere in the request is refused (400), on writes only once the token may write, so a
    caller without write scope learns that (401, 403) whatever it sent."""
    g.api_token = None
    header = request.headers.get("Authorization")
    if header is not None:
        _authenticate(header)
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "needs_write_scope", False):
        return None  # write_scope_required looks for a NUL after the scope check
    return api_nul_refusal()


def _authenticate(header: str) -> None:
    scheme, _space, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            _("Send the API token as: Authorization: Bearer <token>."),
            {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_request"'},
        )
    # Recording the token's last use writes, so take SQLite's write lock at BEGIN rather
    # than upgrading a read transaction part-way.
    sqlite_write_intent.set(True)
    token = api_tokens.authenticate(presented.strip())
    if token is None:
        raise ApiError(
            401,
            _("That API token is not valid: it is unknown or has been revoked."),
            {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
        )
    if api_tokens.touch(token):
        # Bookkeeping on its own: a refused write still shows the token was used.
        unit_of_work.commit_now()
    g.api_token = token


def write_scope_required(view: F) -> F:
    """Only a valid write-scope token gets through; the session cookie counts for nothing."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token: ApiToken | None = g.get("api_token")
        if token is None:
            raise ApiError(
                401,
                _("This needs an API token with write scope: Authorization: Bearer <token>."),
                {"WWW-Authenticate": BEARER_CHALLENGE},
            )
        if not token.can_write:
            raise ApiError(
                403,
                _("This token can only read. Writing needs a token with write scope."),
                {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="insufficient_scope"'},
            )
        refusal = api_nul_refusal()
        if refusal is not None:
            return refusal
        return view(*args, **kwargs)

    wrapped.needs_write_scope = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


# Helpers -----------------------------------------------------------------------------------


def _public_item(item_id: int, *, for_change: bool = False) -> Feedback:
    """A public item, or a 404 that says the same for missing, private and hidden items."""
    if not 1 <= item_id <= MAX_ID:
        raise ApiError(404, _("There is no public feedback item with that id."))
    # As an anonymous visitor: the API never shows private or unapproved items.
    return get_visible_item(item_id, None, for_change=for_change)


def _one_arg(args: MultiDict[str, str], name: str) -> str | None:
    """A query parameter given at most once: a repeated one is refused, not half read."""
    values = args.getlist(name)
    if len(values) > 1:
        raise ApiError(400, _("Give the %(name)s parameter once.", name=name))
    return values[0] if values else None


def _int_arg(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _one_arg(args, name)
    if raw is None:
        return default
    # Plain ASCII digits only: int() would also take " 5", "5_0" and Arabic-Indic digits.
    value = int(raw) if raw.isascii() and raw.isdecimal() else low - 1
    if not low <= value <= high:
        raise ApiError(
            400,
            _(
                "The %(name)s parameter must be a whole number from %(low)d to %(high)d.",
                name=name,
                low=low,
                high=high,
            ),
        )
    return value


def _choice_arg(args: MultiDict[str, str], name: str, choices: list[str]) -> str | None:
    raw = _one_arg(args, name)
    if raw is None:
        return None
    if raw not in choices:
        raise ApiError(
            400,
            _(
                "The %(name)s parameter must be one of: %(choices)s.",
                name=name,
                choices=", ".join(choices),
            ),
        )
    return raw


def _text_arg(args: MultiDict[str, str], name: str, max_length: int) -> str:
    raw = _one_arg(args, name) or ""
    if len(raw) > max_length:
        raise ApiError(
            400,
            ngettext(
                "The %(name)s parameter must be at most %(num)d character.",
                "The %(name)s parameter must be at most %(num)d characters.",
                max_length,
                name=name,
            ),
        )
    return raw.strip()


def _pagination(args: MultiDict[str, str]) -> tuple[int, int]:
    page = _int_arg(args, "page", 1, 1, MAX_PAGE)
    per_page = _int_arg(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return page, per_page


def _reload_item(item_id: int) -> Feedback:
    db.session.expire_all()
    return get_visible_item(item_id, None)


def _last_move(item: Feedback) -> TimelineEvent:
    """The item's newest change of state (the one a command just made)."""
    return next(e for e in reversed(item_timeline(item)) if e.kind is TimelineKind.STATE_CHANGED)


# Reads -------------------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    """Where everything is."""
    return jsonify(
        {
            "name": _("Customer feedback portal API"),
            "version": "v1",
            "links": {
                "self": schemas.link("api.index"),
                "items": schemas.link("api.items"),
                "resolutions": schemas.link("api.resolutions"),
                "categories": schemas.link("api.categories_list"),
                "openapi": schemas.link("api.openapi"),
            },
        }
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI description of this API, with the categories there are now."""
    return jsonify(build_spec(category_slugs=[c.slug for c in categories()]))


@bp.get("/items")
def items() -> Response:
    """Public items with the board's filters, sorts and search."""
    args = request.args
    page_number, per_page = _pagination(args)
    q = _text_arg(args, "q", MAX_QUERY_CHARS)
    sort = _choice_arg(args, "sort", [s.value for s in BoardSort])
    state = _choice_arg(args, "state", [s.value for s in FeedbackState])
    kind = _choice_arg(args, "kind", [k.value for k in FeedbackKind])
    category = _text_arg(args, "category", 80) or None
    # As on the board: best match is the default when searching, and means nothing without.
    chosen = BoardSort(sort) if sort else (BoardSort.MATCH if q else BoardSort.TOP)
    if chosen is BoardSort.MATCH and not q:
        chosen = BoardSort.TOP
    filters = BoardFilters(
        state=FeedbackState(state) if state else None,
        category=category,
        kind=FeedbackKind(kind) if kind else None,
        sort=chosen,
        page=page_number,
        q=q,
    )
    page = board_page(
        filters,
        per_page=per_page,
        options=(
            joinedload(Feedback.author),
            joinedload(Feedback.owner),
            joinedload(Feedback.merged_into),
        ),
    )
    shown = attachments.shown_on_items(page.items, None)
    rows = [schemas.item_json(i, shown[i.id]) for i in page.items]
    return jsonify(schemas.page_json("items", rows, page))


@bp.get("/items/<int:item_id>")
def item(item_id: int) -> Response:
    """One public item."""
    return jsonify(schemas.item_json(_public_item(item_id)))


@bp.get("/items/<int:item_id>/timeline")
def timeline(item_id: int) -> Response:
    """A public item's history, oldest first."""
    found = _public_item(item_id)
    return jsonify(
        {"item_id": found.id, "events": [schemas.event_json(e) for e in item_timeline(found)]}
    )


@bp.get("/resolutions")
def resolutions() -> Response:
    """Published resolutions, newest first, with voice counts and their public items."""
    page_number, per_page = _pagination(request.args)
    category = _text_arg(request.args, "category", 80) or None
    page = resolutions_page(category, page_number, per_page=per_page)
    ids = [r.id for r in page.items]
    voices = voice_counts(ids)
    shown = resolution_items(ids)
    rows = [
        schemas.resolution_json(
            r,
            voices.get(r.id, 0),
            [i.id for i in shown.listed.get(r.id, [])],
            shown.withheld_titles.get(r.id, []),
        )
        for r in page.items
    ]
    return jsonify(schemas.page_json("resolutions", rows, page))


@bp.get("/categories")
def categories_list() -> Response:
    """Every category, in display order."""
    return jsonify({"categories": [schemas.category_json(c) for c in categories()]})


# Writes ------------------------------------------------------------------------------------
# Each parses the body, calls one command in portal/services/api.py (which records the token
# that acted) and renders the answer. The unit of work commits once the answer is below 400.


def _written_in() -> str:
    """The language a submission says it is written in, for when its words are too few to
    tell: the first of the portal's languages the request's Content-Language names ("de-AT"
    is German), else the site's default."""
    for tag in request.headers.get("Content-Language", "").split(","):
        chosen = item_language(tag.strip())
        if chosen:
            return chosen
    return site_language(languages())


def _account_acting_as(email: str) -> User:
    """The account named by `acting_as`. Whether it may act is the command's to say; no
    account at all is no member of staff either (403, as for a customer's address)."""
    actor = find_user_by_email(email)
    if actor is None:
        raise ApiError(403, _("acting_as: no member of staff has that email address."))
    return actor


@bp.post("/items")
@limiter.limit(WRITE_LIMIT)
@takes_images
@write_scope_required
def create_item() -> tuple[Response, int, dict[str, str]]:
    """Submit feedback on behalf of a customer, creating their account if need be, with
    images when sent as multipart/form-data (portal/api/uploads.py)."""
    fields, images = uploads.submission()
    body = schemas.SubmitItem.parse(fields)
    category = db.session.scalar(sa.select(Category).where(Category.slug == body.category))
    if category is None:
        raise schemas.InvalidFields({"category": _("No category has that slug.")})
    submitted: recording.Recorded | api_service.Submission
    if body.acting_as is not None:
        # A member of staff took it down for the customer: the admin page's command.
        submitted = recording.record_for_customer(
            _account_acting_as(body.acting_as),
            email=body.email,
            name=body.name,
            channel=body.channel or FeedbackChannel.STAFF,
            kind=body.kind,
            category_id=category.id,
            title=body.title,
            body=body.body,
            visibility=body.visibility,
            language=_written_in(),
            written_in=body.language,
            files=images,
            post_anyway=body.post_anyway,
            token=g.api_token,
        )
    else:
        submitted = api_service.submit_for_customer(
            g.api_token,
            email=body.email,
            name=body.name,
            kind=body.kind,
            category_id=category.id,
            title=body.title,
            body=body.body,
            visibility=body.visibility,
            channel=body.channel or FeedbackChannel.API,
            language=_written_in(),
            written_in=body.language,
            images=images,
            post_anyway=body.post_anyway,
        )
    receipt = schemas.receipt_json(submitted.item, customer_created=submitted.customer_created)
    headers = {"Location": receipt["links"]["self"]} if is_public(submitted.item) else {}
    return jsonify(receipt), 201, headers


@bp.post("/items/<int:item_id>/votes")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def add_vote(item_id: int) -> Response:
    """A customer says "me too". Idempotent: voting twice leaves one vote."""
    found = _public_item(item_id)
    body = schemas.AddVote.parse(schemas.read_json_object())
    result = api_service.vote_for_customer(g.api_token, found, email=body.email, name=body.name)
    return jsonify({"item_id": item_id, "voted": result.voted, "vote_count": result.vote_count})


def _signal(item_id: int, kind: SignalKind) -> Response:
    found = _public_item(item_id)
    body = schemas.AddVote.parse(schemas.read_json_object())
    result = api_service.signal_for_customer(
        g.api_token, found, kind, email=body.email, name=body.name
    )
    return jsonify({"item_id": item_id, "said": result.said, "count": result.count})


@bp.post("/items/<int:item_id>/still-happens")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def still_happens(item_id: int) -> Response:
    """A customer says a Done item still happens to them: a reopen request to its owner.
    Idempotent: saying it twice counts once."""
    return _signal(item_id, SignalKind.STILL_HAPPENS)


@bp.post("/items/<int:item_id>/still-wanted")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def still_wanted(item_id: int) -> Response:
    """A customer says they still want a Not planned item. Idempotent."""
    return _signal(item_id, SignalKind.STILL_WANTED)


@bp.post("/items/<int:item_id>/transitions")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def transition(item_id: int) -> Response:
    """Move an item through the workflow as a member of staff, with what the move needs."""
    found = _public_item(item_id)
    body = schemas.Transition.parse(schemas.read_json_object())
    actor = _account_acting_as(body.acting_as)
    if body.duplicate_of is not None:
        # The API names public items only: a private target answers as a missing one, and
        # as the workflow answers a missing one (400): the body was well formed.
        try:
            get_visible_item(body.duplicate_of, None)
        except NotFound as exc:
            raise ApiError(
                400,
                _(
                    "duplicate_of: there is no public item #%(id)d to merge into.",
                    id=body.duplicate_of,
                ),
            ) from exc
    api_service.move_as_staff(
        g.api_token,
        found.id,
        actor,
        body.to_state,
        message=body.message,
        target_date=body.target_date,
        outcome=body.outcome,
        duplicate_of=body.duplicate_of,
        promise=body.promise,
        promise_reason=body.promise_reason,
        you_said=body.you_said,
        we_did=body.we_did,
        post_anyway=body.post_anyway,
    )
    moved = _reload_item(found.id)
    return jsonify(
        {
            "item": schemas.item_json(moved),
            "event": schemas.event_json(_last_move(moved)),
            "notices": schemas.notices_json(
                ("message", workflow.tone_notices(moved, body.message)),
                ("we_did", workflow.tone_notices(moved, body.we_did)),
            ),
        }
    )


@bp.post("/items/<int:item_id>/replies")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def reply(item_id: int) -> tuple[Response, int]:
    """Post a public reply as a member of staff. On a Received item it is the acknowledgement."""
    found = _public_item(item_id)
    body = schemas.Reply.parse(schemas.read_json_object())
    actor = _account_acting_as(body.acting_as)
    posted = api_service.reply_as_staff(
        g.api_token, found.id, actor, body.body, post_anyway=body.post_anyway
    )
    replied = _reload_item(found.id)
    answer = {
        "item": schemas.item_json(replied),
        "reply": schemas.reply_json(posted, actor) if posted is not None else None,
        "event": schemas.event_json(_last_move(replied)) if posted is None else None,
        "notices": schemas.notices_json(("body", workflow.tone_notices(replied, body.body))),
    }
    return jsonify(answer), 201


# Customer value: staff data, so even reading it needs a write-scope token ---------------------


def _customer(email: str, *, for_update: bool = False) -> User:
    """The customer with this address (a staff or closed account is none), or a 404."""
    try:
        return customer_value.customer_for_value(email=email, for_update=for_update)
    except NotFound as exc:
        raise ApiError(404, _("No customer has that email address.")) from exc


@bp.get("/customers/<email>")
@write_scope_required
def customer(email: str) -> Response:
    """A customer's plan, monthly value and segment (write scope: they are for staff)."""
    return jsonify(schemas.customer_value_json(_customer(email)))


@bp.patch("/customers/<email>")
@limiter.limit(WRITE_LIMIT)
@write_scope_required
def update_customer(email: str) -> Response:
    """Change some of a customer's plan, monthly value and segment; null clears one."""
    body = schemas.CustomerValueChange.parse(schemas.read_json_object())
    found = _customer(email, for_update=True)
    try:
        customer_value.change_customer_value(
            None, found, body.changes, token=g.api_token, via="api"
        )
    except customer_value.InvalidCustomerValue as invalid:
        named = {"monthly_value": "monthly_value_cents"}
        raise schemas.InvalidFields(
            {named.get(name, name): str(problem) for name, problem in invalid.fields.items()}
        ) from invalid
    return jsonify(schemas.customer_value_json(found))
