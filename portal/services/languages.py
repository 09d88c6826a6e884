"""The language an item is written in: detected from its words with py3langid (its model ships
in the package), among the languages the portal speaks; and how each language is searched.

Customers' words are never translated. Knowing their language lets search stem them as that
language does (PostgreSQL) and lets a page in another language say so, and set `lang` on them
so a screen reader pronounces them right.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback
from portal.services import environment, language_model
from portal.services.errors import DomainError
from portal.services.language_model import PORTAL_LANGUAGES
from portal.services.wording import t

# The languages the portal speaks: an item is recorded in one of these, or in none (None:
# unknown, read as the site's default language). A fifth language is added here and, for its
# stemming on PostgreSQL, in SEARCH_CONFIGURATIONS and a migration that rebuilds the index.
ITEM_LANGUAGES: tuple[str, ...] = PORTAL_LANGUAGES

# PostgreSQL's text search configuration for each language: PostgreSQL's own (its stemmer
# and stop words) with accents folded first (migration 59925e5c8a93). Arabic has no stemmer
# in PostgreSQL: it is searched word for word, as are unknown languages.
SEARCH_CONFIGURATIONS: dict[str, str] = {
    "en": "portal_english",
    "es": "portal_spanish",
    "de": "portal_german",
    "fr": "portal_french",
}
PLAIN_CONFIGURATION = "portal_simple"

# Fewer letters than this do not say which language they are ("OK", "Login broken"): the
# author's language is taken instead. And a guess the model is not this sure of neither.
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.9

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def item_language(code: str | None) -> str | None:
    """The language a code names as an item records it, or None: one of the portal's ("de-AT"
    -> "de", "ES" -> "es"), or another the site offers a catalog for (what a page in it says
    its words are in, when they are too few to tell)."""
    if not code or not _LANGUAGE_TAG.fullmatch(code.strip()):
        return None
    wanted = code.strip().replace("_", "-").casefold()
    primary = wanted.split("-")[0]
    if primary in ITEM_LANGUAGES:
        return primary
    offered = {c.replace("_", "-").casefold(): c for c in environment.current().settings.languages}
    return offered.get(wanted) or offered.get(primary)


def detect_language(text: str) -> str | None:
    """The portal's language these words are written in, or None when they are too few, or
    too mixed, to tell."""
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return None
    code, confidence = language_model.identifier().classify(text)
    return str(code) if confidence >= MIN_CONFIDENCE else None


def language_of_item(title: str, body: str, *, fallback: str | None) -> str | None:
    """The language an item's title and text are written in; when they cannot tell, the one
    the author chose (the page's, their saved one, their email's), if the portal speaks it."""
    return detect_language(f"{title}\n{body}") or item_language(fallback)


def stated_language(code: str) -> str:
    """A language a caller states an item is written in (the API's `language`): one of the
    portal's, else a refusal that lists them."""
    primary = code.strip().replace("_", "-").casefold().split("-")[0]
    found = primary if primary in ITEM_LANGUAGES else None
    if found is None:
        raise DomainError(
            t(
                "We do not know that language. Use one of: %(languages)s.",
                languages=", ".join(ITEM_LANGUAGES),
            )
        )
    return found


def detect_unknown_languages(batch_size: int = 500) -> int:
    """Tell the language of each item that has none recorded (items from before languages)
    from its words, where they are enough to tell; how many were told. Its search index
    follows (PostgreSQL's is generated from the language). A second run finds only what
    cannot be told."""
    told = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(Feedback.id, Feedback.title, Feedback.body_source)
            .where(Feedback.language.is_(None), Feedback.id > last_id)
            .order_by(Feedback.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        for item_id, title, body in rows:
            language = detect_language(f"{title}\n{body}")
            if language is not None:
                db.session.execute(
                    sa.update(Feedback).where(Feedback.id == item_id).values(language=language)
                )
                told += 1
        last_id = rows[-1][0]
    db.session.flush()
    return told
