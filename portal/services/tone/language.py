"""Which language a draft is written in, so the tone check reads it with that language's words.

Detected from the text with py3langid (its model ships in the package), limited to the portal's
languages. Text too short or too mixed to tell (under MIN_WORDS words, or the best guess below
MIN_CONFIDENCE) is taken to be in the language the caller knows the conversation is in (the
item's, else the customer's), else English, the language the portal is written in.
"""

from __future__ import annotations

import re

from portal.models.base import N_
from portal.services import language_model

# The languages the tone check has words for (tone/words*.py), among the portal's
# (language_model.PORTAL_LANGUAGES).
COVERED = frozenset({"en", "es", "de", "fr"})
DEFAULT = "en"
# Their names, for the notice on a language the check does not cover (said in the reader's).
NAMES = {
    "en": N_("English"),
    "es": N_("Spanish"),
    "de": N_("German"),
    "fr": N_("French"),
    "ar": N_("Arabic"),
}

MIN_WORDS = 3
MIN_CONFIDENCE = 0.9
_WORD = re.compile(r"[^\W\d_]+")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def detect(text: str, fallback: str | None = None) -> str:
    """The language code of text, one of language_model.PORTAL_LANGUAGES; `fallback` (else
    English) when the text is too short or mixed to tell."""
    known = fallback.replace("_", "-").split("-")[0].lower() if fallback else DEFAULT
    found = _WORD.findall(text)
    if not found:
        return known
    letters = "".join(found)
    # Arabic script is Arabic here, however short: none of the other languages use it.
    if len(_ARABIC_LETTER.findall(letters)) > len(letters) / 2:
        return "ar"
    if len(found) < MIN_WORDS:
        return known
    language, confidence = language_model.identifier().classify(text)
    return str(language) if confidence >= MIN_CONFIDENCE else known
