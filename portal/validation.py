"""Reading numbers and names from the outside world safely."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import IntegerConverter
from werkzeug.routing.map import Map

# The largest id any table can hold on both databases (PostgreSQL INTEGER, SQLite's limits).
MAX_ID = 2**31 - 1

# Characters that change the direction of the text after them (embeddings, overrides and
# isolates): in a name they make what others read beside it come out reversed.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
DIRECTION_CONTROLS_MESSAGE = (
    "Names cannot contain characters that change the direction of the text around them."
)


def parse_id(value: str | None) -> int | None:
    """An id from a query string or form: plain ASCII digits within range, else None.
    ("²".isdigit() is True but int("²") fails; huge numbers overflow the database.)"""
    if not value or not value.isascii() or not value.isdecimal():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


class BoundedIntConverter(IntegerConverter):
    """The <int:...> URL converter, capped at the largest id, so /feedback/99999999999999999999
    is a 404 rather than a database overflow."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
