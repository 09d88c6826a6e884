"""A shipped catalog (portal/translations/<language>/LC_MESSAGES/messages.po: the site offers
every one there) is whole: every message of messages.pot translated, every plural form
written, nothing fuzzy, each placeholder kept, and the formal address used throughout
(usted, Sie, vous). A catalog still being written lives in portal/translations/drafts/, which
the site does not offer and these rules do not yet hold.

The checks are functions, tried on a catalog made wrong on purpose, so they are known to catch
what they look for before they pass the shipped catalogs."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from portal.i18n import TRANSLATIONS_DIR

POT = TRANSLATIONS_DIR / "messages.pot"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_0-9]*\}")

# The informal forms of address, as whole words (lower case), for the formal-only languages.
INFORMAL: dict[str, tuple[str, ...]] = {
    "es": ("tú", "tu", "tus", "te", "ti", "contigo", "tienes", "puedes", "quieres", "eres"),
    "de": ("du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "deines"),
    "fr": ("tu", "te", "toi", "ton", "ta", "tes", "t'"),
}


def shipped_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    return sorted(directory.glob("*/LC_MESSAGES/messages.po"))


def _strings(message: Message) -> list[str]:
    value = message.string
    return list(value) if isinstance(value, tuple | list) else [value]


def _ids(message: Message) -> list[str]:
    value = message.id
    return list(value) if isinstance(value, tuple | list) else [value]


def catalog_problems(catalog: Catalog, template: Catalog) -> list[str]:
    """What keeps a catalog from being shipped, one line each."""
    problems = []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id, source.context)
        if message is None:
            problems.append(f"missing: {source.id!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {source.id!r}")
        strings = _strings(message)
        if not all(s.strip() for s in strings):
            problems.append(f"untranslated: {source.id!r}")
            continue
        if source.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"{catalog.num_plurals} plural forms wanted: {source.id!r}")
        wanted = set(PLACEHOLDER.findall(" ".join(_ids(source))))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            # A plural form may leave out the count (Arabic's "one" and "two" often do).
            if found - wanted or (not source.pluralizable and wanted - found):
                problems.append(f"placeholders {sorted(found)} for {sorted(wanted)}: {source.id!r}")
    return problems


def informal_forms(language: str, catalog: Catalog) -> list[str]:
    """Translations that address the reader informally, one line each."""
    words = INFORMAL.get(language, ())
    if not words:
        return []
    # A whole word; an elided one ("t'") runs into the next.
    pattern = re.compile(
        r"(?<![\w'])("
        + "|".join(re.escape(w) + ("" if w.endswith("'") else r"(?!\w)") for w in words)
        + ")",
        re.IGNORECASE,
    )
    found = []
    for message in catalog:
        for string in _strings(message) if message.id else []:
            match = pattern.search(re.sub(r"<[^>]+>|%\([a-z_]+\)[sd]", " ", string))
            if match:
                found.append(f"{match.group(0)!r} in {string!r}")
    return found


def _read(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=path.parent.parent.name if path.parent.name else None)


def _template() -> Catalog:
    with POT.open("rb") as pot_file:
        return read_po(pot_file)


def test_the_checks_catch_a_catalog_made_wrong_on_purpose() -> None:
    template = _template()
    catalog = Catalog(locale="es")
    for number, source in enumerate(template):
        if not source.id or number % 7 == 0:
            continue  # some missing
        strings = ["x %(y)s" for _ in _ids(source)] if source.pluralizable else "traducido"
        catalog.add(
            source.id, strings, context=source.context, flags=["fuzzy"] if number % 11 == 0 else []
        )
    # Round-trip through the file format, as a shipped catalog is read.
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    buffer.seek(0)
    problems = catalog_problems(read_po(buffer, locale="es"), template)
    kinds = {line.split(":")[0].split(" ")[0] for line in problems}
    assert {"missing", "fuzzy", "placeholders"} <= kinds

    informal = Catalog(locale="de")
    informal.add("Thank you", "Danke, dass du geschrieben hast.")
    informal.add("Your feedback", "Ihr Feedback")
    assert informal_forms("de", informal) == ["'du' in 'Danke, dass du geschrieben hast.'"]
    french = Catalog(locale="fr")
    french.add("We will tell you", "Nous te le dirons, t'inquiète.")
    french.add("Ta-da", "Vous l'aurez")
    assert [line.split(" in ")[0] for line in informal_forms("fr", french)] == ["'te'"]


def test_every_shipped_catalog_is_whole_and_formal() -> None:
    template = _template()
    problems = []
    for path in shipped_catalogs():
        language = path.parent.parent.name
        catalog = _read(path)
        problems += [f"{language}: {line}" for line in catalog_problems(catalog, template)]
        problems += [f"{language}: informal {line}" for line in informal_forms(language, catalog)]
    assert not problems, "\n".join(problems[:50]) + f"\n({len(problems)} in all)"
