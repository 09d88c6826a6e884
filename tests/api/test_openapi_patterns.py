"""The OpenAPI document's text patterns read a space as the parsers do (str.strip()), under
the JSON Schema validator schemathesis and API clients use, not Python's re alone: a title of
U+001C characters was valid to the document and refused by the API."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from portal.api.openapi import build_spec
from portal.api.schemas import InvalidFields, Reply, SubmitItem

TEXTS = [
    "\x1c" * 12,  # information separators: spaces to str.strip(), not to JavaScript's \s
    "\x85" * 12,  # NEXT LINE, the same
    "\u3000" * 12,  # ideographic space: a space to both
    "\ufeff" * 12,  # byte order mark: a space to JavaScript's \s, not to str.strip()
    "  \ufeffwords\x1c ",
    "Bins were missed again",
]
ITEM = {
    "email": "nia@example.com",
    "name": "Nia",
    "kind": "complaint",
    "category": "bins",
    "title": "Bins were missed",
    "body": "Third week running now.",
}


def _document_accepts(schema: dict[str, Any], field: str, value: str) -> bool:
    return jsonschema_rs.validator_for(schema["properties"][field]).is_valid(value)


def _parser_accepts(parse: Any, body: dict[str, Any], field: str) -> bool:
    try:
        parse(body)
    except InvalidFields as refused:
        assert set(refused.fields) == {field}, refused.fields
        return False
    return True


@pytest.mark.parametrize("text", TEXTS, ids=repr)
@pytest.mark.parametrize(
    ("body", "field", "parse"),
    [
        ("NewItem", "title", SubmitItem.parse),
        ("NewItem", "body", SubmitItem.parse),
        ("NewItem", "name", SubmitItem.parse),
        ("NewReply", "body", Reply.parse),
    ],
)
def test_the_document_and_the_parser_agree_on_what_is_blank(
    body: str, field: str, parse: Any, text: str
) -> None:
    schema = build_spec(["bins"])["components"]["schemas"][body]
    sample = ITEM if body == "NewItem" else {"acting_as": "staff@example.com", "body": "Hello"}
    value = text[:80] if field == "name" else text
    assert _document_accepts(schema, field, value) == _parser_accepts(
        parse, {**sample, field: value}, field
    )
