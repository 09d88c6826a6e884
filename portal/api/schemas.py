"""Serialisers (models to JSON) and request-body parsers for the API.

Only what the public site shows goes out: no email addresses, no internal notes, no words of
redacted items (portal.services.item_data keeps that rule for every surface), and private or
unapproved items never at all. Request bodies are checked for
shape here; the services check the rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.models import (
    STAFF_CHANNELS,
    Attachment,
    Category,
    Comment,
    Feedback,
    FeedbackChannel,
    FeedbackKind,
    FeedbackState,
    Resolution,
    TimelineEvent,
    User,
    Visibility,
)
from portal.services import attachments, environment
from portal.services.customer_value import MAX_MONTHLY_VALUE_CENTS
from portal.services.item_data import image_data, iso, public_item, you_said_shown
from portal.services.languages import ITEM_LANGUAGES
from portal.services.tone import ToneFinding
from portal.services.visibility import is_public
from portal.services.workflow import PromiseChoice
from portal.validation import MAX_ID, name_problem


class BadRequestBody(Exception):
    """The body is not JSON, or not a JSON object (400), or not sent as JSON (415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidFields(Exception):
    """Well-formed JSON whose fields are missing or invalid (422), with a message per field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid fields")
        self.fields = fields

    @property
    def message(self) -> str:
        listed = ", ".join(sorted(self.fields))
        return str(_("Some fields are missing or invalid: %(fields)s.", fields=listed))


# Output ------------------------------------------------------------------------------------


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for the API's answers, from PORTAL_BASE_URL (the one builder the
    emails and feeds use too), so no Host header a client sends ends up in an answer."""
    return environment.current().presenter.url(endpoint, **values)


def category_json(category: Category) -> dict[str, Any]:
    """A category as the public sees it (the staff response guide stays inside)."""
    return {
        "id": category.id,
        "slug": category.slug,
        "name": category.name,
        "description": category.description,
    }


def _category_ref(category: Category) -> dict[str, Any]:
    return {"id": category.id, "slug": category.slug, "name": category.name}


def image_json(attachment: Attachment) -> dict[str, Any]:
    """An image anyone may see, with the addresses of the full image and its thumbnail."""
    return image_data(
        attachment,
        url=link("attachments.image", public_id=attachment.public_id),
        thumbnail_url=link("attachments.thumbnail", public_id=attachment.public_id),
    )


def item_json(item: Feedback, images: Sequence[Attachment] | None = None) -> dict[str, Any]:
    """A public item (see item_data.public_item), with its images anyone may see and the API's
    links. Needs category, author, owner and merged_into loaded. `images`: those images, when
    the caller read them for a whole page at once (attachments.shown_on_items)."""
    if images is None:
        images = attachments.shown_on_items([item], None)[item.id]
    return {
        **public_item(item),
        "images": [image_json(image) for image in images],
        "links": {
            "self": link("api.item", item_id=item.id),
            "timeline": link("api.timeline", item_id=item.id),
            "html": link("feedback.detail", item_id=item.id),
        },
    }


def receipt_json(item: Feedback, *, customer_created: bool) -> dict[str, Any]:
    """What a submission answers: enough to find the item again, none of a private item's text."""
    public = is_public(item)
    return {
        "id": item.id,
        "state": item.state.value,
        "visibility": item.visibility.value,
        "channel": item.channel.value,
        "awaiting_review": item.awaiting_review,
        "public": public,
        "customer_created": customer_created,
        "created_at": iso(item.created_at),
        "links": {"self": link("api.item", item_id=item.id)} if public else {},
    }


def event_json(event: TimelineEvent) -> dict[str, Any]:
    """One step of an item's public history."""
    return {
        "id": event.id,
        "kind": event.kind.value,
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value if event.to_state else None,
        "message": event.message,
        "message_html": event.message_html,
        "target_date": iso(event.target_date),
        "actor_name": str(event.actor.public_name) if event.actor is not None else None,
        "new_owner_name": str(event.new_owner.public_name) if event.new_owner else None,
        "created_at": iso(event.created_at),
    }


def notices_json(*by_field: tuple[str, list[ToneFinding]]) -> list[dict[str, Any]]:
    """Notices said with posted words (the tone check does not cover their language), shaped
    as the 422's findings are."""
    return [
        {
            "field": field,
            "code": notice.code,
            "message": str(notice.message),
            "quotes": list(notice.quotes),
            "advice": str(notice.advice),
        }
        for field, notices in by_field
        for notice in notices
    ]


def reply_json(reply: Comment, author: User) -> dict[str, Any]:
    """A public reply from staff, as the item's page shows it (`author` wrote it)."""
    return {
        "id": reply.id,
        "body": reply.body_source,
        "body_html": reply.body_html,
        "author_name": str(author.public_name),
        "created_at": iso(reply.created_at),
    }


def resolution_json(
    resolution: Resolution,
    voices: int,
    item_ids: list[int],
    withheld_titles: Iterable[str] = (),
) -> dict[str, Any]:
    """A published "we did", with how many people raised it and its public items. Its "you
    said" is withheld when it is one of `withheld_titles`, the titles of its items whose words
    staff withheld (resolutions.ResolutionItems.withheld_titles)."""
    return {
        "id": resolution.id,
        "you_said": you_said_shown(resolution.you_said, withheld_titles),
        "we_did": resolution.we_did_source,
        "we_did_html": resolution.we_did_html,
        "category": _category_ref(resolution.category) if resolution.category else None,
        "published_at": iso(resolution.published_at),
        "voice_count": voices,
        "item_ids": item_ids,
        "links": {"html": link("resolutions.detail", resolution_id=resolution.id)},
    }


def page_json(key: str, rows: list[dict[str, Any]], page: Any) -> dict[str, Any]:
    """A page of results in the API's envelope."""
    return {
        key: rows,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
        "total": page.total,
    }


# Input -------------------------------------------------------------------------------------


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 unless sent as JSON, 400 unless it parses."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise BadRequestBody(415, _("Send the body as JSON, with Content-Type: application/json."))
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestBody(400, _("The request body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise BadRequestBody(400, _("The request body must be a JSON object."))
    return data


class _Fields:
    """Collects every field's problem, so one answer lists them all. A field the body's
    schema does not name is one of them: a misspelt "post_anyway" must not pass unseen."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}
        self.read: set[str] = set()

    def _get(self, name: str) -> Any:
        self.read.add(name)
        return self.data.get(name)

    def text(
        self, name: str, *, required: bool, max_length: int, min_length: int = 0
    ) -> str | None:
        value = self._get(name)
        if value is None:
            if required:
                self.errors[name] = _("This field is required.")
            return None
        if not isinstance(value, str):
            self.errors[name] = _("Must be a string.")
            return None
        if "\x00" in value or not _encodable(value):
            self.errors[name] = _("Contains characters that cannot be stored.")
            return None
        stripped = value.strip()
        if required and not stripped:
            self.errors[name] = _("Must not be empty.")
            return None
        if len(stripped) < min_length:
            self.errors[name] = ngettext(
                "Must be at least %(num)d character long.",
                "Must be at least %(num)d characters long.",
                min_length,
            )
            return None
        if len(value) > max_length:
            self.errors[name] = ngettext(
                "Must be at most %(num)d character long.",
                "Must be at most %(num)d characters long.",
                max_length,
            )
            return None
        return value

    def person_name(self, name: str) -> str | None:
        """A person's name (required), under the one name rule of the account forms."""
        value = self.text(name, required=True, max_length=80)
        problem = name_problem(value) if value else None
        if problem:
            self.errors[name] = str(problem)
            return None
        return value

    def email(self, name: str) -> str | None:
        value = self.text(name, required=True, max_length=254)
        if value is None:
            return None
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            self.errors[name] = _("Must be a valid email address.")
            return None

    def choice(self, name: str, choices: list[str], *, required: bool) -> str | None:
        value = self._get(name)
        if value is None:
            if required:
                self.errors[name] = _("This field is required.")
            return None
        if value not in choices:
            self.errors[name] = _("Must be one of: %(choices)s.", choices=", ".join(choices))
            return None
        return str(value)

    def day(self, name: str) -> date | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.errors[name] = _("Must be a date (YYYY-MM-DD).")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = _("Must be a date (YYYY-MM-DD).")
            return None

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.errors[name] = _("Must be true or false.")
            return False
        return value

    def item_id(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            self.errors[name] = _("Must be an item id (a positive integer).")
            return None
        return value

    def done(self) -> None:
        for unknown in sorted(set(self.data) - self.read):
            self.errors[unknown] = _("Unknown field.")
        if self.errors:
            raise InvalidFields(self.errors)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes
        return False
    return True


KINDS = [k.value for k in FeedbackKind]
VISIBILITIES = [v.value for v in Visibility]
# The ways a customer tells us that the API may name for an item it records.
CHANNELS_TOLD = [c.value for c in STAFF_CHANNELS]
# Where a move can go; nothing moves an item back to "received".
TARGET_STATES = [s.value for s in FeedbackState if s is not FeedbackState.RECEIVED]
PROMISE_CHOICES = [c.value for c in PromiseChoice]


@dataclass(frozen=True)
class SubmitItem:
    """POST /items: feedback on behalf of a customer identified by email. The name is always
    required, though only a new account takes it (see AddVote)."""

    email: str
    name: str
    kind: FeedbackKind
    category: str
    title: str
    body: str
    visibility: Visibility
    # Post a public item's words the guard for personal details held, as written.
    post_anyway: bool = False
    # How the customer told us (phone, chat...): by default, the API itself.
    channel: FeedbackChannel | None = None
    # The member of staff who took it down for the customer (services/recording.py).
    acting_as: str | None = None
    # The language the caller says the words are in; without it, detected from them.
    language: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SubmitItem:
        f = _Fields(data)
        email = f.email("email")
        name = f.person_name("name")
        kind = f.choice("kind", KINDS, required=True)
        category = f.text("category", required=True, max_length=80)
        title = f.text("title", required=True, min_length=5, max_length=160)
        body = f.text("body", required=True, min_length=10, max_length=10_000)
        visibility = f.choice("visibility", VISIBILITIES, required=False)
        post_anyway = f.flag("post_anyway")
        channel = f.choice("channel", CHANNELS_TOLD, required=False)
        acting_as = f.email("acting_as") if "acting_as" in data else None
        language = f.choice("language", list(ITEM_LANGUAGES), required=False)
        f.done()
        return cls(
            channel=FeedbackChannel(channel) if channel else None,
            acting_as=acting_as,
            language=language,
            email=email or "",
            name=name or "",
            kind=FeedbackKind(kind or ""),  # done() refused a missing kind
            category=(category or "").strip(),
            title=title or "",
            body=body or "",
            visibility=Visibility(visibility or Visibility.PUBLIC.value),
            post_anyway=post_anyway,
        )


@dataclass(frozen=True)
class AddVote:
    """POST /items/<id>/votes: a customer's "me too".

    The name is always required, though only an account made for a new address takes it (an
    existing one keeps its own). Whether an address has an account is no part of a request's
    shape, so a name needed only sometimes could not be said in the OpenAPI document: a body
    valid for one address would be refused for another, and a caller would learn which
    addresses have accounts from which bodies pass. A caller cannot know that in advance
    anyway, so it sends the name every time."""

    email: str
    name: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AddVote:
        f = _Fields(data)
        email = f.email("email")
        name = f.person_name("name")
        f.done()
        return cls(email=email or "", name=name or "")


@dataclass(frozen=True)
class Transition:
    """POST /items/<id>/transitions: a move made as a member of staff."""

    to_state: FeedbackState
    acting_as: str
    message: str
    target_date: date | None
    outcome: str
    duplicate_of: int | None
    # For duplicate, when the item carries a promised date: keep it on the target, or change
    # it with a reason (workflow.merge refuses a merge that says neither).
    promise: PromiseChoice | None
    promise_reason: str
    you_said: str
    we_did: str
    # As "Post anyway" on the admin page: post words the tone check held, as written.
    post_anyway: bool

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Transition:
        f = _Fields(data)
        to_state = f.choice("to_state", TARGET_STATES, required=True)
        acting_as = f.email("acting_as")
        message = f.text("message", required=False, max_length=10_000)
        target_date = f.day("target_date")
        outcome = f.text("outcome", required=False, max_length=120)
        duplicate_of = f.item_id("duplicate_of")
        promise = f.choice("promise", PROMISE_CHOICES, required=False)
        promise_reason = f.text("promise_reason", required=False, max_length=2_000)
        you_said = f.text("you_said", required=False, max_length=200)
        we_did = f.text("we_did", required=False, max_length=10_000)
        post_anyway = f.flag("post_anyway")
        f.done()
        return cls(
            to_state=FeedbackState(to_state or ""),  # done() refused a missing state
            acting_as=acting_as or "",
            message=message or "",
            target_date=target_date,
            outcome=outcome or "",
            duplicate_of=duplicate_of,
            promise=PromiseChoice(promise) if promise else None,
            promise_reason=promise_reason or "",
            you_said=you_said or "",
            we_did=we_did or "",
            post_anyway=post_anyway,
        )


# As long as the admin page's reply form allows.
MAX_REPLY_LENGTH = 5_000


@dataclass(frozen=True)
class Reply:
    """POST /items/<id>/replies: a public reply posted as a member of staff."""

    acting_as: str
    body: str
    post_anyway: bool

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Reply:
        f = _Fields(data)
        acting_as = f.email("acting_as")
        body = f.text("body", required=True, max_length=MAX_REPLY_LENGTH)
        post_anyway = f.flag("post_anyway")
        f.done()
        return cls(acting_as=acting_as or "", body=body or "", post_anyway=post_anyway)


# Customer value (write scope only: staff data, never in the public payloads above) ----------


def customer_value_json(customer: User) -> dict[str, Any]:
    """A customer's plan, monthly value and segment, for a write-scope token only."""
    cents = customer.monthly_value_cents
    return {
        "email": customer.email,
        "name": customer.display_name,
        "plan": customer.plan,
        "monthly_value_cents": cents,
        "monthly_value": None if cents is None else f"{cents // 100}.{cents % 100:02d}",
        "currency": environment.current().settings.currency,
        "segment": customer.segment,
        "links": {"self": link("api.customer", email=customer.email)},
    }


@dataclass(frozen=True)
class CustomerValueChange:
    """PATCH /customers/<email>: some of plan, monthly_value_cents and segment; null clears
    one, one left out stays as it is. A blank plan or segment is refused (null clears it)."""

    changes: dict[str, object]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> CustomerValueChange:
        f = _Fields(data)
        changes: dict[str, object] = {}
        for name in ("plan", "segment"):
            if name in data and data[name] is None:
                f.read.add(name)
                changes[name] = None
                continue
            value = f.text(name, required=False, max_length=80)
            if value is not None and not value.strip():
                f.errors[name] = _("Must not be empty: send null to clear it.")
            elif value is not None:
                problem = name_problem(value)
                if problem:
                    f.errors[name] = _(
                        "Must not contain line breaks, controls or invisible characters."
                    )
                else:
                    changes[name] = value
        if "monthly_value_cents" in data:
            cents = f._get("monthly_value_cents")
            if cents is None:
                changes["monthly_value"] = None
            elif (
                isinstance(cents, bool)
                or not isinstance(cents, int)
                or not 0 <= cents <= MAX_MONTHLY_VALUE_CENTS
            ):
                f.errors["monthly_value_cents"] = _(
                    "Must be a whole number of cents from 0 to %(most)d, or null.",
                    most=MAX_MONTHLY_VALUE_CENTS,
                )
            else:
                changes["monthly_value"] = Decimal(cents) / 100
        if not data:
            f.errors["plan"] = _("Send at least one of plan, monthly_value_cents and segment.")
        f.done()
        return cls(changes=changes)
