"""Reading numbers and names from the outside world safely."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from werkzeug.routing import IntegerConverter
from werkzeug.routing.map import Map

from portal.services.wording import Text, t

# The largest id any table can hold on both databases (PostgreSQL INTEGER, SQLite's limits).
MAX_ID = 2**31 - 1

# Characters that change the direction of the text after them (embeddings, overrides and
# isolates): in a name they make what others read beside it come out reversed.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
DIRECTION_CONTROLS_MESSAGE = t(
    "Names cannot contain characters that change the direction of the text around them."
)
NAME_CONTROLS_MESSAGE = t("Names cannot contain line breaks, tabs or other invisible characters.")

# Invisible format characters (Unicode category Cf) a name may keep: the joiners that scripts
# (Persian, the Indic scripts) and emoji sequences need, and the direction marks that only
# place the punctuation beside them (unlike the controls above, they cannot reverse a run).
_NAME_FORMAT_CHARACTERS_KEPT = frozenset("\u200c\u200d\u200e\u200f\u061c")


def _breaks_a_line(character: str) -> bool:
    """Control characters (NUL, CR, LF, tab, escape, the C1 controls) and the line and paragraph
    separators: in a name they end an email header early or smuggle in a second one."""
    return unicodedata.category(character) in {"Cc", "Zl", "Zp"}


def _invisible(character: str) -> bool:
    """A format character a name may not hold (zero-width space, byte order mark, tags...)."""
    return unicodedata.category(character) == "Cf" and character not in _NAME_FORMAT_CHARACTERS_KEPT


def name_problem(name: str) -> Text | None:
    """Why a name a person typed cannot be used (None: it can), in the reader's language when
    shown. The one rule for every way a name comes in: the account forms, the API, and
    (cleaned, see clean_name) email intake."""
    if DIRECTION_CONTROLS.search(name):
        return DIRECTION_CONTROLS_MESSAGE
    if any(_breaks_a_line(c) or _invisible(c) for c in name):
        return NAME_CONTROLS_MESSAGE
    return None


def clean_name(name: str) -> str:
    """A name nobody typed for us (an email's From, an identity provider's claim) made one
    name_problem accepts: line breaks and other controls become spaces, invisible characters
    go, and runs of spaces become one."""
    # The direction controls are format characters too: they go with the invisible ones.
    kept = "".join(" " if _breaks_a_line(c) else "" if _invisible(c) else c for c in name)
    return " ".join(kept.split())


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
