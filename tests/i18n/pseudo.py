"""A pseudo-locale: every word from the catalog comes out accented, bracketed and about 30%
longer, so a page shows at a glance (and a test proves) which words did not pass through it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

# Esperanto stands in for the pseudo-locale: Babel knows it (an invented code would not
# parse), and the portal ships no catalog for it.
PSEUDO_LANGUAGE = "eo"
OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥîĵķĺɱñöþǫŕšţûvŵxýžÀßÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛVŴXÝŽ",
)
# Left as they are: placeholders (%(name)s, %s, {name}), markup and entities.
_KEEP = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}|<[^>]*>|&[a-z]+;|&#\d+;")
ROOT = Path(__file__).resolve().parents[2]


def pseudo(text: str) -> str:
    """⟦Ŝàɱþĺé ţéxţ····⟧: accented, about 30% longer, bracketed."""
    if not text:
        return text
    pieces, last = [], 0
    for kept in _KEEP.finditer(text):
        pieces.append(text[last : kept.start()].translate(_ACCENTED))
        pieces.append(kept.group(0))
        last = kept.end()
    pieces.append(text[last:].translate(_ACCENTED))
    padding = "\u00b7" * max(1, round(len(text) * 0.3))
    return f"{OPEN}{''.join(pieces)}{padding}{CLOSE}"


def extract(pot_path: Path) -> None:
    """Gather every marked word of the portal, as `make translations` does."""
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "-k",
            "t",
            "-k",
            "tn:1,2",
            "--ignore-dirs=.* ._ node_modules bench tests migrations",
            "-o",
            str(pot_path),
            str(ROOT),
        ]
    )


def write_pseudo_catalog(directory: Path) -> Path:
    """A compiled pseudo-locale catalog of every marked word, under directory/eo/."""
    pot_path = directory / "messages.pot"
    extract(pot_path)
    with pot_path.open("rb") as pot:
        template = read_po(pot)
    catalog = Catalog(locale=PSEUDO_LANGUAGE)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string: str | tuple[str, ...] = (pseudo(message.id[0]), pseudo(message.id[1]))
        else:
            string = pseudo(message.id)
        catalog.add(message.id, string, context=message.context)
    folder = directory / PSEUDO_LANGUAGE / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "messages.po").open("wb") as po:
        write_po(po, catalog)
    with (folder / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    return folder


# Dates and ages come from Babel, not the catalog; code (an event's name, a header, a field of
# a stored record) is not words in any language.
_HIDDEN_TEXT = {"script", "style", "time", "code", "kbd", "samp"}
_TEXT_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
_LETTERS = re.compile(r"[^\W\d_]{2,}")
# Innermost first: a message may hold another as a value (a state's label in a sentence).
_PSEUDO_SPAN = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._closes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # Words marked as another language (the switcher's language names, each in its own)
        # are not the page's; translate="no" marks what is shown as stored (an audit record).
        hidden = tag in _HIDDEN_TEXT or values.get("translate") == "no"
        if hidden or (tag != "html" and "lang" in values):
            self._hidden_depth += 1
            self._closes.append(tag)
            return
        for name in _TEXT_ATTRIBUTES & values.keys():
            self.parts.append(f" {values[name]} ")
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(f" {values.get('value') or ''} ")
        if tag == "meta" and values.get("name") == "description":
            self.parts.append(f" {values.get('content') or ''} ")
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._closes and self._closes[-1] == tag:
            self._closes.pop()
            self._hidden_depth -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def words_outside_the_catalog(html: str, data: list[str]) -> list[str]:
    """The words on a page that neither came through the catalog nor are people's own data
    (titles, names, categories, the site's name): each one is a word to mark."""
    reader = _VisibleText()
    reader.feed(html)
    text, found = "".join(reader.parts), 1
    while found:
        text, found = _PSEUDO_SPAN.subn(" ", text)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return _LETTERS.findall(text)
