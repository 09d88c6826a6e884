"""The OpenAPI 3.0 description of /api/v1, written by hand to match portal/api/views.py and
portal/api/schemas.py (tests/api/test_schemathesis.py checks the two against each other).

Its titles, summaries and descriptions are marked for the catalog (lazily: the document is
built from module constants) and served in the language the client asks for."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.api.schemas import (
    CHANNELS_TOLD,
    KINDS,
    MAX_REPLY_LENGTH,
    TARGET_STATES,
    VISIBILITIES,
)
from portal.models import FeedbackChannel, FeedbackState, TimelineKind
from portal.services.attachments import ALT_TEXT_LENGTH, MAX_PER_TARGET
from portal.services.board import BoardSort
from portal.services.customer_value import MAX_MONTHLY_VALUE_CENTS
from portal.services.languages import ITEM_LANGUAGES
from portal.services.search import MAX_QUERY_CHARS
from portal.validation import MAX_ID, name_problem

STATES = [s.value for s in FeedbackState]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{description}"}


# Patterns for what the parsers (portal/api/schemas.py) refuse, so a request the document calls
# valid is one the API takes. A NUL is refused everywhere (portal/security.py, 400); a required
# text must hold more than spaces, and a minimum length counts without the spaces around it.
NO_NUL = r"^[^\x00]*$"


def _not_blank(min_length: int = 1) -> str:
    """Text whose stripped length is at least `min_length`, without NUL: two non-space
    characters that far apart (or one, for a length of one). A space is what str.strip()
    removes (SPACES), not the regex's \\s, which JavaScript and JSON Schema read otherwise:
    they leave out U+001C-U+001F and U+0085 and add U+FEFF."""
    text = r"[^\x00]"
    solid = rf"[^\x00{SPACES}]"
    if min_length <= 1:
        return rf"^{text}*{solid}{text}*$"
    return rf"^{text}*{solid}{text}{{{min_length - 2},}}{solid}{text}*$"


def _escaped(code: int) -> str:
    # A four-digit \u escape means the same to Python's and JavaScript's regexes.
    return f"\\u{code:04x}"


def _class_of(characters: list[str]) -> str:
    """The inside of a regex character class listing these characters, in ranges."""
    parts: list[str] = []
    codes = sorted(ord(c) for c in characters)
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code == previous + 1:
            previous = code
            continue
        same = start == previous
        parts.append(_escaped(start) if same else f"{_escaped(start)}-{_escaped(previous)}")
        start = previous = code
    return "".join(parts)


# What str.strip() and str.split() take for a space (all of it in the Basic Multilingual Plane).
SPACES = _class_of([chr(code) for code in range(0xFFFF + 1) if chr(code).isspace()])


@cache
def name_pattern() -> str:
    """A name as portal.validation.name_problem takes it (no line breaks, controls, invisible
    or direction-changing characters), with something other than spaces in it. Its rules are
    per character, so the characters it refuses make the class; found once, on first use.

    Only the Basic Multilingual Plane: a regex cannot name a character beyond it in a way
    both Python and JavaScript read (schemathesis rewrites such patterns into ones its own
    validator then rejects). The few refused ones beyond it (tag characters, some scripts'
    format controls) are in the description instead."""
    suspects = (
        chr(code)
        for code in range(0xFFFF + 1)
        if unicodedata.category(chr(code)) in {"Cc", "Cf", "Zl", "Zp"}
    )
    refused = _class_of([c for c in suspects if name_problem(c)])
    return rf"^[^{refused}]*[^{refused}{SPACES}][^{refused}]*$"


EMAIL_RULE = _l(
    "An address at a special-use domain (.arpa, .invalid, .local, .localhost, .onion, .test) "
    "is refused (422)."
)

NAME_DOC = _l(
    "The customer's name, always required; only an account made for a new address takes it (an "
    "existing account keeps its own). No line breaks, controls or invisible characters (the "
    "pattern lists those of the Basic Multilingual Plane; tag characters U+E0000-U+E007F and "
    "the other format characters beyond it are refused too, which is what format person-name "
    "stands for)."
)

STRING = {"type": "string"}
# What an upload may be (sniffed from its bytes), and what it is kept as (GIFs become PNGs).
IMAGE_TYPES_TAKEN = ("image/jpeg", "image/png", "image/webp", "image/gif")
IMAGE_TYPES_KEPT = ("image/jpeg", "image/png", "image/webp")
DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
INTEGER = {"type": "integer"}
LINKS = {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}

# Said with posted words the tone check does not cover (code not_covered): they hold nothing.
TONE_NOTICES: dict[str, Any] = {
    "type": "array",
    "description": _l(
        "Notices about the posted words that held nothing: not_covered when the tone check "
        "has no words for their language (such as Arabic), so only capitals, the name and "
        "repeated words were checked. Empty when there are none."
    ),
    "items": _ref("ToneFinding"),
}


POST_ANYWAY: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": _l(
        "Post words the tone check held, as written (the admin "
        "page's \u201cPost anyway\u201d). Without it, findings answer 422."
    ),
}

CATEGORY_REF: dict[str, Any] = {
    "type": "object",
    "required": ["id", "slug", "name"],
    "properties": {"id": INTEGER, "slug": STRING, "name": STRING},
}

TIMELINE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "kind",
        "from_state",
        "to_state",
        "message",
        "message_html",
        "target_date",
        "actor_name",
        "new_owner_name",
        "created_at",
    ],
    "properties": {
        "id": INTEGER,
        "kind": {"type": "string", "enum": [k.value for k in TimelineKind]},
        "from_state": _nullable({"type": "string", "enum": STATES}),
        "to_state": _nullable({"type": "string", "enum": STATES}),
        "message": STRING,
        "message_html": STRING,
        "target_date": _nullable(DATE),
        "actor_name": _nullable(STRING),
        # On an owner_changed step, who looks after the item now (its message is the reason).
        "new_owner_name": _nullable(STRING),
        "created_at": DATE_TIME,
    },
}

REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "body", "body_html", "author_name", "created_at"],
    "properties": {
        "id": INTEGER,
        "body": {**STRING, "description": _l("Markdown.")},
        "body_html": {**STRING, "description": _l("Sanitised HTML.")},
        "author_name": STRING,
        "created_at": DATE_TIME,
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "message": STRING,
                    "fields": {
                        "type": "object",
                        "description": _l("For 422: what is wrong with each field."),
                        "additionalProperties": STRING,
                    },
                    "findings": {
                        "type": "array",
                        "description": _l(
                            "For 422 on a move or a reply: what the tone check "
                            "found in the words the customer would read; on a public item, and "
                            "on a new public item, what the guard for personal details found. "
                            "Change the words, or send them again with post_anyway: true."
                        ),
                        "items": _ref("ToneFinding"),
                    },
                },
            }
        },
    },
    "ToneFinding": {
        "type": "object",
        "required": ["field", "code", "message", "quotes", "advice"],
        "properties": {
            "field": {
                **STRING,
                "description": _l(
                    "Which words it is about: message, we_did (a move to resolved), "
                    "body (a reply, or a new item's text) or title (a new item's)."
                ),
            },
            "code": {
                **STRING,
                "description": _l(
                    "What was found, for programs: blame, stock_phrase (a greeting "
                    "or phrase from a form letter), non_apology (sorry for \u201cany "
                    "inconvenience\u201d), passing_around (sent to another team or address), "
                    "no_apology, not_addressed, no_next_step, form_letter (the category's "
                    "response guide word for word), copy_paste (nearly the same words sent to "
                    "other customers lately), shouting; from the guard for personal "
                    "details: phone_number, email_address, card_number, iban, reference (an "
                    "order or account number), street_address, postcode; ..."
                ),
            },
            "message": {
                **STRING,
                "description": _l(
                    "The finding in one sentence, as the admin page shows it: what "
                    "was found, the words quoted, and the advice."
                ),
            },
            "quotes": {
                "type": "array",
                "description": _l(
                    "The words objected to, exactly as written (a long one is cut "
                    "with \u201c\u2026\u201d); empty when the finding is about something missing, "
                    "such as an apology or a next step."
                ),
                "items": STRING,
            },
            "advice": {**STRING, "description": _l("What to write instead.")},
        },
    },
    "Index": {
        "type": "object",
        "required": ["name", "version", "links"],
        "properties": {"name": STRING, "version": STRING, "links": LINKS},
    },
    "CategoryRef": CATEGORY_REF,
    "Category": {
        "type": "object",
        "required": ["id", "slug", "name", "description"],
        "properties": {**CATEGORY_REF["properties"], "description": STRING},
    },
    "CategoryList": {
        "type": "object",
        "required": ["categories"],
        "properties": {"categories": {"type": "array", "items": _ref("Category")}},
    },
    "Item": {
        "type": "object",
        "description": _l("A public feedback item. Private and unapproved items are never shown."),
        "required": [
            "id",
            "kind",
            "title",
            "body",
            "body_html",
            "redacted",
            "category",
            "state",
            "state_label",
            "author_name",
            "owner_name",
            "vote_count",
            "comment_count",
            "target_date",
            "promise_outcome",
            "merged_into_id",
            "resolution_id",
            "created_at",
            "acknowledged_at",
            "resolved_at",
            "images",
            "links",
        ],
        "properties": {
            "id": INTEGER,
            "kind": {"type": "string", "enum": KINDS},
            "title": {
                **STRING,
                "description": _l("When redacted, a stand-in naming the item's number."),
            },
            "body": _nullable({**STRING, "description": _l("Markdown; null when redacted.")}),
            "body_html": _nullable({**STRING, "description": _l("Sanitised HTML.")}),
            "redacted": {"type": "boolean"},
            "category": _ref("CategoryRef"),
            "state": {"type": "string", "enum": STATES},
            "state_label": STRING,
            "author_name": STRING,
            "owner_name": _nullable(STRING),
            "vote_count": INTEGER,
            "comment_count": INTEGER,
            "target_date": _nullable(DATE),
            "promise_outcome": _nullable(
                {
                    **STRING,
                    "description": _l(
                        "What is promised by target_date, in one line; null when "
                        "nothing is promised, or for a promise made before outcomes were asked for."
                    ),
                }
            ),
            "merged_into_id": _nullable(INTEGER),
            "resolution_id": _nullable(INTEGER),
            "created_at": DATE_TIME,
            "acknowledged_at": _nullable(DATE_TIME),
            "resolved_at": _nullable(DATE_TIME),
            "images": {
                "type": "array",
                "items": _ref("Image"),
                "description": _l(
                    "The item's own images anyone may see, oldest first: none while staff "
                    "withhold the item's words, and none staff removed."
                ),
            },
            "links": LINKS,
        },
    },
    "Image": {
        "type": "object",
        "description": _l(
            "An image attached to an item, as it was re-encoded when it was kept (its metadata "
            "left behind)."
        ),
        "required": [
            "id",
            "content_type",
            "width",
            "height",
            "thumbnail_width",
            "thumbnail_height",
            "alt_text",
            "url",
            "thumbnail_url",
        ],
        "properties": {
            "id": STRING,
            "content_type": {"type": "string", "enum": list(IMAGE_TYPES_KEPT)},
            "width": INTEGER,
            "height": INTEGER,
            "thumbnail_width": INTEGER,
            "thumbnail_height": INTEGER,
            "alt_text": {
                **STRING,
                "description": _l("What the image shows, in its sender's words; may be empty."),
            },
            "url": {**STRING, "description": _l("The full image.")},
            "thumbnail_url": {**STRING, "description": _l("A small copy, at most 320 pixels.")},
        },
    },
    "ItemPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "pages", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref("Item")},
            "page": INTEGER,
            "per_page": INTEGER,
            "pages": INTEGER,
            "total": INTEGER,
        },
    },
    "TimelineEvent": TIMELINE_EVENT,
    "Timeline": {
        "type": "object",
        "required": ["item_id", "events"],
        "properties": {
            "item_id": INTEGER,
            "events": {"type": "array", "items": _ref("TimelineEvent")},
        },
    },
    "Resolution": {
        "type": "object",
        "required": [
            "id",
            "you_said",
            "we_did",
            "we_did_html",
            "category",
            "published_at",
            "voice_count",
            "item_ids",
            "links",
        ],
        "properties": {
            "id": INTEGER,
            "you_said": STRING,
            "we_did": STRING,
            "we_did_html": STRING,
            "category": _nullable(CATEGORY_REF),
            "published_at": DATE_TIME,
            "voice_count": {
                "type": "integer",
                "description": _l("People who raised or voted on its items, each counted once."),
            },
            "item_ids": {
                "type": "array",
                "items": INTEGER,
                "description": _l("The public items it answered."),
            },
            "links": {
                "type": "object",
                "required": ["html"],
                "properties": {
                    "html": {
                        "type": "string",
                        "format": "uri",
                        "description": _l("The resolution's own page on the site."),
                    }
                },
            },
        },
    },
    "ResolutionPage": {
        "type": "object",
        "required": ["resolutions", "page", "per_page", "pages", "total"],
        "properties": {
            "resolutions": {"type": "array", "items": _ref("Resolution")},
            "page": INTEGER,
            "per_page": INTEGER,
            "pages": INTEGER,
            "total": INTEGER,
        },
    },
    "NewItem": {
        "type": "object",
        "additionalProperties": False,
        "required": ["email", "name", "kind", "category", "title", "body"],
        "properties": {
            "email": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": _l(
                    "The customer. An account is created if none has this address. An address "
                    "at a special-use domain (.arpa, .invalid, .local, .localhost, .onion, "
                    ".test) is refused (422)."
                ),
            },
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 80,
                "description": NAME_DOC,
            },
            "kind": {"type": "string", "enum": KINDS},
            "category": {
                "type": "string",
                "minLength": 1,
                "maxLength": 80,
                "pattern": _not_blank(),
                "description": _l(
                    "A category slug: one of those at /categories when this "
                    "document was fetched (an unknown one is refused, 422)."
                ),
            },
            "title": {
                "type": "string",
                "minLength": 5,
                "maxLength": 160,
                "pattern": _not_blank(5),
                "description": _l("At least 5 characters besides the spaces around them."),
            },
            "body": {
                "type": "string",
                "minLength": 10,
                "maxLength": 10000,
                "pattern": _not_blank(10),
                "description": _l("At least 10 characters besides the spaces around them."),
            },
            "visibility": {"type": "string", "enum": VISIBILITIES, "default": "public"},
            "post_anyway": {
                "type": "boolean",
                "default": False,
                "description": _l(
                    "Post a public item as written though the guard for personal details "
                    "found phone numbers, email or street addresses, postcodes, card or "
                    "bank account numbers, or order references in it (the submit page's "
                    "\u201cPost it publicly as it is\u201d). Without it, findings answer 422; "
                    "a private item is not checked."
                ),
            },
            "channel": {
                "type": "string",
                "enum": CHANNELS_TOLD,
                "description": _l(
                    "How the customer told you: by phone, in a chat, in person, on social "
                    "media or by email. Without it the item's channel is api (or staff, "
                    "with acting_as)."
                ),
            },
            "acting_as": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": _l(
                    "The email of the member of staff who took it down for the customer, as "
                    "the admin page's \u201cRecord feedback for a customer\u201d does: the "
                    "customer gets the receipt (with a link to claim an account made for "
                    "them), and the item's timeline says who recorded it and how. Not an "
                    "active member of staff: 403."
                ),
            },
            "language": {
                "type": "string",
                "enum": list(ITEM_LANGUAGES),
                "description": _l(
                    "The language the title and text are written in, recorded as it is. "
                    "Without it, the language is detected from the words (when they are too "
                    "few to tell, the one Content-Language names)."
                ),
            },
        },
    },
    "Receipt": {
        "type": "object",
        "description": _l("The submitted item; a private one's text is not echoed."),
        "required": [
            "id",
            "state",
            "visibility",
            "channel",
            "awaiting_review",
            "public",
            "customer_created",
            "created_at",
            "links",
        ],
        "properties": {
            "id": INTEGER,
            "state": {"type": "string", "enum": STATES},
            "visibility": {"type": "string", "enum": VISIBILITIES},
            "channel": {"type": "string", "enum": [c.value for c in FeedbackChannel]},
            "awaiting_review": {"type": "boolean"},
            "public": {"type": "boolean"},
            "customer_created": {"type": "boolean"},
            "created_at": DATE_TIME,
            "links": LINKS,
        },
    },
    "NewVote": {
        "type": "object",
        "additionalProperties": False,
        "required": ["email", "name"],
        "properties": {
            "email": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": EMAIL_RULE,
            },
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 80,
                "description": NAME_DOC,
            },
        },
    },
    "VoteResult": {
        "type": "object",
        "required": ["item_id", "voted", "vote_count"],
        "properties": {"item_id": INTEGER, "voted": {"type": "boolean"}, "vote_count": INTEGER},
    },
    "SignalResult": {
        "type": "object",
        "required": ["item_id", "said", "count"],
        "properties": {
            "item_id": INTEGER,
            "said": {"type": "boolean"},
            "count": {
                **INTEGER,
                "description": _l(
                    "How many people say it now (for a Done item: since it was last done)."
                ),
            },
        },
    },
    "NewTransition": {
        "type": "object",
        "additionalProperties": False,
        "required": ["to_state", "acting_as"],
        "properties": {
            "to_state": {"type": "string", "enum": TARGET_STATES},
            "acting_as": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": _l("The email of the member of staff making the move."),
            },
            "message": {
                "type": "string",
                "maxLength": 10000,
                "pattern": NO_NUL,
                "description": _l(
                    "The message to the customer: the reason for the move. For "
                    "resolved without we_did, it is also the published \u201cwe did\u201d text."
                ),
            },
            "target_date": {**DATE, "description": _l("The promised date, for planned.")},
            "outcome": {
                "type": "string",
                "maxLength": 120,
                "pattern": NO_NUL,
                "description": _l(
                    "For planned, required: what the customer will have by "
                    "target_date, in one line (\u201ca replacement with you\u201d). Emails and the "
                    "item's page say it with the date."
                ),
            },
            "duplicate_of": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ID,
                "description": _l(
                    "For duplicate: the public item it merges into. Nothing "
                    "is merged into a Done or Not planned item (409): answer the late item with "
                    "the same resolution, or decline it with the same reason, instead."
                ),
            },
            "promise": {
                "type": "string",
                "enum": ["keep", "change"],
                "description": _l(
                    "For duplicate, when the item carries a promised date (required "
                    "then): keep it on the item it merges into (the earlier date wins), or change "
                    "it, saying why in promise_reason. Its people are told either way."
                ),
            },
            "promise_reason": {
                "type": "string",
                "maxLength": 2000,
                "pattern": NO_NUL,
                "description": _l(
                    "For duplicate with promise change: why the promised date "
                    "changes, told to everyone who spoke up on the item."
                ),
            },
            "you_said": {
                "type": "string",
                "maxLength": 200,
                "pattern": NO_NUL,
                "description": _l("For resolved: the \u201cyou said\u201d summary."),
            },
            "we_did": {
                "type": "string",
                "maxLength": 10000,
                "pattern": NO_NUL,
                "description": _l(
                    "For resolved: what was done, published on the board, in the "
                    "feeds and the digest, and sent to everyone who spoke up. The message then "
                    "stays the customer's (their timeline and email)."
                ),
            },
            "post_anyway": POST_ANYWAY,
        },
    },
    "TransitionResult": {
        "type": "object",
        "required": ["item", "event"],
        "properties": {
            "item": _ref("Item"),
            "event": _ref("TimelineEvent"),
            "notices": TONE_NOTICES,
        },
    },
    "NewReply": {
        "type": "object",
        "additionalProperties": False,
        "required": ["acting_as", "body"],
        "properties": {
            "acting_as": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": _l(
                    "The email of the member of staff replying: the item's owner "
                    "or an admin (or anyone on staff while nobody owns it, who then does)."
                ),
            },
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_REPLY_LENGTH,
                "pattern": _not_blank(),
                "description": _l("The public reply, in Markdown. The customer is emailed it."),
            },
            "post_anyway": POST_ANYWAY,
        },
    },
    "Reply": REPLY,
    "ReplyResult": {
        "type": "object",
        "required": ["item", "reply", "event"],
        "properties": {
            "item": _ref("Item"),
            "notices": TONE_NOTICES,
            "reply": _nullable(
                {**REPLY, "description": _l("The reply; null when it acknowledged the item.")}
            ),
            "event": _nullable(
                {
                    **TIMELINE_EVENT,
                    "description": _l(
                        "On an item still received, the reply is the "
                        "acknowledgement: this is the move to acknowledged, with the reply as its "
                        "message. Null otherwise."
                    ),
                }
            ),
        },
    },
}

# Customer value: staff data, read and changed with a write-scope token only.
_VALUE_LABEL = {
    "type": "string",
    "maxLength": 80,
    "description": _l(
        "One line: no line breaks, controls, invisible or direction-changing characters; "
        "spaces around and between words are tidied. Null clears it."
    ),
}
SCHEMAS["CustomerValue"] = {
    "type": "object",
    "required": [
        "email",
        "name",
        "plan",
        "monthly_value_cents",
        "monthly_value",
        "currency",
        "segment",
        "links",
    ],
    "properties": {
        "email": {**STRING, "format": "email"},
        "name": STRING,
        "plan": _nullable(STRING),
        "monthly_value_cents": _nullable(
            {**INTEGER, "description": _l("What they pay a month, in cents of the currency.")}
        ),
        "monthly_value": _nullable(
            {**STRING, "description": _l("The same with two decimals, such as 49.90.")}
        ),
        "currency": {**STRING, "description": _l("ISO 4217 (PORTAL_CURRENCY).")},
        "segment": _nullable(STRING),
        "links": {
            "type": "object",
            "required": ["self"],
            "properties": {"self": {**STRING, "format": "uri"}},
        },
    },
}
SCHEMAS["CustomerValueChange"] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": _l(
        "Any of plan, monthly_value_cents and segment: null clears one, one left out stays."
    ),
    "properties": {
        "plan": _nullable(_VALUE_LABEL),
        "monthly_value_cents": _nullable(
            {
                **INTEGER,
                "minimum": 0,
                "maximum": MAX_MONTHLY_VALUE_CENTS,
                "description": _l("What they pay a month, in cents of the site's currency."),
            }
        ),
        "segment": _nullable(_VALUE_LABEL),
    },
}

RESPONSES: dict[str, Any] = {
    name: _json(_ref("Error"), description)
    for name, description in {
        "BadRequest": _l(
            "A NUL character (U+0000) anywhere in the request (checked after the "
            "token, on writes after its scope), malformed JSON, a bad or repeated query "
            "parameter, or a move the workflow refuses for want of input."
        ),
        "Unauthorized": _l("No token, or an unknown or revoked one."),
        "Forbidden": _l(
            "A read-only token, or acting_as is not active staff, or another "
            "member of staff looks after the item."
        ),
        "NotFound": _l(
            "No such public item (private ones answer the same), or no customer with that "
            "email address."
        ),
        "Conflict": _l("The item's state does not allow this."),
        "UnsupportedMediaType": _l("The body was not sent as application/json."),
        "TooLarge": _l(
            "The body is larger than the route takes: 1 MB as JSON; with images, as large as "
            "five of the largest images kept."
        ),
        "Unprocessable": _l("Fields are missing or invalid; error.fields says which."),
        "UnprocessableOrHeld": _l(
            "Fields are missing or invalid (error.fields says which), or "
            "the tone check or the guard for personal details held words about to be read "
            "(error.findings lists what it found; send post_anyway: true to post them as "
            "written)."
        ),
        "TooManyRequests": _l("More than 60 writes a minute."),
        "Error": _l("Any other error, in the same shape."),
    }.items()
}
RESPONSES["Unauthorized"]["headers"] = {
    "WWW-Authenticate": {"schema": STRING, "description": _l("The Bearer challenge.")}
}

PARAMETERS: dict[str, Any] = {
    "CustomerEmail": {
        "name": "email",
        "in": "path",
        "required": True,
        "description": _l("The customer's email address (staff have no customer value)."),
        "schema": {"type": "string", "format": "email", "maxLength": 254},
    },
    "ItemId": {
        "name": "item_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    "Page": {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
    },
    "PerPage": {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "Category": {
        "name": "category",
        "in": "query",
        "description": _l("A category slug."),
        "schema": {"type": "string", "maxLength": 80, "pattern": NO_NUL},
    },
}

READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
WRITE_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _read(summary: str, ok: dict[str, Any], *extra: str, **more: Any) -> dict[str, Any]:
    # Any request may carry a NUL, which is refused (400) before the view reads anything.
    responses: dict[str, Any] = {"200": ok, "400": _error("BadRequest")}
    for code, name in (("401", "Unauthorized"), ("404", "NotFound")):
        if name in extra:
            responses[code] = _error(name)
    responses["default"] = _error("Error")
    return {"summary": summary, "security": READ_SECURITY, "responses": responses, **more}


def _write(
    summary: str,
    body: str,
    ok_code: str,
    ok: dict[str, Any],
    *,
    tone_checked: bool = False,
    **more: Any,
) -> dict[str, Any]:
    responses = {
        ok_code: ok,
        "400": _error("BadRequest"),
        "401": _error("Unauthorized"),
        "403": _error("Forbidden"),
        "404": _error("NotFound"),
        "409": _error("Conflict"),
        "415": _error("UnsupportedMediaType"),
        "422": _error("UnprocessableOrHeld" if tone_checked else "Unprocessable"),
        "429": _error("TooManyRequests"),
        "default": _error("Error"),
    }
    return {
        "summary": summary,
        "security": WRITE_SECURITY,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        },
        "responses": responses,
        **more,
    }


def _with_images(operation: dict[str, Any]) -> dict[str, Any]:
    """POST /items also takes multipart/form-data, with images (portal/api/uploads.py)."""
    content = operation["requestBody"]["content"]
    multipart = {
        "schema": {
            "type": "object",
            "required": ["item"],
            "additionalProperties": False,
            "properties": {
                "item": _ref("NewItem"),
                "images": {
                    "type": "array",
                    "maxItems": MAX_PER_TARGET,
                    "items": {"type": "string", "format": "binary"},
                },
                "alt_text": {
                    "type": "array",
                    "maxItems": MAX_PER_TARGET,
                    "items": {"type": "string", "maxLength": ALT_TEXT_LENGTH},
                },
            },
        },
        "encoding": {
            "item": {"contentType": "application/json"},
            "images": {"contentType": ", ".join(IMAGE_TYPES_TAKEN)},
        },
    }
    responses = {**operation["responses"], "413": _error("TooLarge")}
    return {
        **operation,
        "requestBody": {
            **operation["requestBody"],
            "content": {**content, "multipart/form-data": multipart},
        },
        "responses": responses,
    }


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _with_property(schema: dict[str, Any], name: str, **more: Any) -> dict[str, Any]:
    properties = schema["properties"]
    return {**schema, "properties": {**properties, name: {**properties[name], **more}}}


def _schemas(category_slugs: Sequence[str]) -> dict[str, Any]:
    """SCHEMAS with what is known only when the document is asked for: the name rule's
    pattern (a scan of Unicode, done once) and the categories there are now."""
    schemas = dict(SCHEMAS)
    for body in ("NewItem", "NewVote"):
        schemas[body] = _with_property(
            schemas[body], "name", pattern=name_pattern(), format="person-name"
        )
    # A plan or segment keeps the name rule (services/customer_value.py).
    for label in ("plan", "segment"):
        schemas["CustomerValueChange"] = _with_property(
            schemas["CustomerValueChange"], label, pattern=name_pattern(), format="person-name"
        )
    if category_slugs:  # an empty enum would be no valid schema
        schemas["NewItem"] = _with_property(
            schemas["NewItem"], "category", enum=list(category_slugs)
        )
    return schemas


def _in_words(part: Any) -> Any:
    """The document with its marked words (titles, summaries, descriptions) in the request's
    language; the rest as it is."""
    if isinstance(part, dict):
        return {key: _in_words(value) for key, value in part.items()}
    if isinstance(part, list):
        return [_in_words(value) for value in part]
    if isinstance(part, LazyString):
        return str(part)
    return part


def build_spec(category_slugs: Sequence[str] = ()) -> dict[str, Any]:
    """The OpenAPI document served at /api/v1/openapi.json, its words in the request's
    language; `category_slugs` are the categories an item can be submitted in (all of them,
    as /categories lists them)."""
    return _in_words(_spec(category_slugs))  # type: ignore[no-any-return]


def _spec(category_slugs: Sequence[str]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": _l("Customer feedback portal API"),
            "version": "1.0.0",
            "description": (
                _l(
                    "Read the public board, items, timelines and resolutions. With a write token "
                    "(Authorization: Bearer <token>, issued by an admin at /admin/tokens), submit "
                    "feedback and votes on customers' behalf, and move items through the workflow "
                    "and reply to customers as a member of staff. Words a customer reads are "
                    "tone-checked as on the admin page. Private and unapproved items never appear. "
                    "Messages, and this document, are in the language Accept-Language names, "
                    "else the site's default."
                )
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/": {
                "get": _read(
                    _l("Links to everything"),
                    _json(_ref("Index"), _l("The API's index.")),
                    "Unauthorized",
                    operationId="getIndex",
                )
            },
            "/openapi.json": {
                "get": _read(
                    _l("This document"),
                    _json({"type": "object"}, _l("The OpenAPI document.")),
                    "Unauthorized",
                    operationId="getOpenApi",
                )
            },
            "/items": {
                "get": _read(
                    _l("Public items, filtered, sorted, searched and paginated like the board"),
                    _json(_ref("ItemPage"), _l("A page of public items.")),
                    "BadRequest",
                    "Unauthorized",
                    operationId="listItems",
                    parameters=[
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {"type": "string", "enum": STATES},
                        },
                        _param("Category"),
                        {
                            "name": "kind",
                            "in": "query",
                            "schema": {"type": "string", "enum": KINDS},
                        },
                        {
                            "name": "sort",
                            "in": "query",
                            "description": _l(
                                "match (best match, the default when searching), "
                                "top (most votes, the default otherwise) or new."
                            ),
                            "schema": {"type": "string", "enum": [s.value for s in BoardSort]},
                        },
                        {
                            "name": "q",
                            "in": "query",
                            "description": _l("Words to search for."),
                            "schema": {
                                "type": "string",
                                "maxLength": MAX_QUERY_CHARS,
                                "pattern": NO_NUL,
                            },
                        },
                        _param("Page"),
                        _param("PerPage"),
                    ],
                ),
                "post": _with_images(
                    _write(
                        _l("Submit feedback on behalf of a customer (write scope)"),
                        "NewItem",
                        "201",
                        {
                            **_json(_ref("Receipt"), _l("Received.")),
                            "headers": {
                                "Location": {
                                    "schema": STRING,
                                    "description": _l("The item's address, when it is public."),
                                }
                            },
                        },
                        operationId="createItem",
                        tone_checked=True,
                        description=_l(
                            "As JSON (the NewItem object as the body), or with images as "
                            "multipart/form-data: the NewItem object as JSON in the part named "
                            "item, up to five files in parts named images (JPEG, PNG, WebP or GIF, "
                            "told by their bytes, at most 10 MB each by default), and optionally "
                            "what each shows in alt_text parts, in the same order. Every image is "
                            "re-encoded; one that cannot be kept refuses the whole submission "
                            "(422, with the reason under fields.images) and nothing is recorded. "
                            "A multipart body may be as large as its images together (413 beyond); "
                            "a JSON body at most 1 MB."
                        ),
                        parameters=[
                            {
                                "name": "Content-Language",
                                "in": "header",
                                "description": _l(
                                    "The language the customer wrote in (\u201cde\u201d, "
                                    "\u201cde-AT\u201d), for when the words are too few to tell "
                                    "theirs: the first of the portal's languages it names; "
                                    "otherwise the site's default language."
                                ),
                                "schema": STRING,
                            }
                        ],
                    )
                ),
            },
            "/items/{item_id}": {
                "get": _read(
                    _l("One public item"),
                    _json(_ref("Item"), _l("The item.")),
                    "Unauthorized",
                    "NotFound",
                    operationId="getItem",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/timeline": {
                "get": _read(
                    _l("A public item's history, oldest first"),
                    _json(_ref("Timeline"), _l("The timeline.")),
                    "Unauthorized",
                    "NotFound",
                    operationId="getTimeline",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/votes": {
                "post": _write(
                    _l(
                        "Add a customer's vote; idempotent (write scope). A Done, Not planned "
                        "or Merged item takes no votes (409)"
                    ),
                    "NewVote",
                    "200",
                    _json(_ref("VoteResult"), _l("The customer has voted.")),
                    operationId="addVote",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/still-happens": {
                "post": _write(
                    _l(
                        "A customer says a Done item still happens to them: a reopen request to "
                        "its owner, counted apart from votes; idempotent (write scope). Refused "
                        "(409) for an item that is not Done"
                    ),
                    "NewVote",
                    "200",
                    _json(_ref("SignalResult"), _l("The customer has said it.")),
                    operationId="sayStillHappens",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/still-wanted": {
                "post": _write(
                    _l(
                        "A customer says they still want a Not planned item, counted apart from "
                        "votes; idempotent (write scope). Refused (409) for an item that is not "
                        "Not planned"
                    ),
                    "NewVote",
                    "200",
                    _json(_ref("SignalResult"), _l("The customer has said it.")),
                    operationId="sayStillWanted",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/transitions": {
                "post": _write(
                    _l("Move an item through the workflow as a member of staff (write scope)"),
                    "NewTransition",
                    "200",
                    _json(_ref("TransitionResult"), _l("Moved; the event is on the timeline.")),
                    tone_checked=True,
                    operationId="moveItem",
                    parameters=[_param("ItemId")],
                )
            },
            "/items/{item_id}/replies": {
                "post": _write(
                    _l("Post a public reply as a member of staff (write scope)"),
                    "NewReply",
                    "201",
                    _json(_ref("ReplyResult"), _l("Posted; the customer is told.")),
                    tone_checked=True,
                    operationId="replyToItem",
                    parameters=[_param("ItemId")],
                )
            },
            "/customers/{email}": {
                "get": {
                    "summary": _l(
                        "A customer's plan, monthly value and segment (write scope: they are "
                        "for staff only)"
                    ),
                    "operationId": "getCustomerValue",
                    "security": WRITE_SECURITY,
                    "parameters": [_param("CustomerEmail")],
                    "responses": {
                        "200": _json(_ref("CustomerValue"), _l("The customer's value.")),
                        "400": _error("BadRequest"),
                        "401": _error("Unauthorized"),
                        "403": _error("Forbidden"),
                        "404": _error("NotFound"),
                        "default": _error("Error"),
                    },
                },
                "patch": _write(
                    _l(
                        "Change a customer's plan, monthly value or segment (write scope); "
                        "null clears one"
                    ),
                    "CustomerValueChange",
                    "200",
                    _json(_ref("CustomerValue"), _l("Saved.")),
                    operationId="changeCustomerValue",
                    parameters=[_param("CustomerEmail")],
                ),
            },
            "/resolutions": {
                "get": _read(
                    _l("Published resolutions, newest first"),
                    _json(_ref("ResolutionPage"), _l("A page of resolutions.")),
                    "BadRequest",
                    "Unauthorized",
                    operationId="listResolutions",
                    parameters=[_param("Category"), _param("Page"), _param("PerPage")],
                )
            },
            "/categories": {
                "get": _read(
                    _l("Every category"),
                    _json(_ref("CategoryList"), _l("The categories.")),
                    "Unauthorized",
                    operationId="listCategories",
                )
            },
        },
        "components": {
            "schemas": _schemas(category_slugs),
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": _l(
                        "An API token from /admin/tokens. Read tokens may read; "
                        "write tokens may also submit, vote, move items and reply."
                    ),
                }
            },
        },
    }
