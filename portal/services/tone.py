"""The tone check: advice, never a block, for a staff member's draft public reply.

Staff see findings before posting; the check only reads the text, so it runs the same in a
view, the CLI or a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class ToneFinding:
    """One piece of advice about a draft: a stable code for templates and a message for people."""

    code: str
    message: str


# Shown to staff as written; matched after the same normalising as the draft. Grouped by what
# the phrase implies: the customer did not try, did it wrong, was already told, is to blame.
BLAME_PHRASES: tuple[str, ...] = (
    *("did you call", "did you try", "have you tried", "you forgot to", "you failed to"),
    *("user error", "you should have", "you should've", "you must have", "you must've"),
    *("you didn't read", "you did not read", "you need to read", "read the manual", "obviously"),
    *("as we already told you", "as stated before", "as previously stated", "as I said"),
    *("per my last email", "you were told", "your fault", "not our fault"),
)

_APOLOGY = re.compile(
    r"\b(sorry|apolog\w*|regret\w*|(our|my) (mistake|error)|we got (it|this|that) wrong"
    r"|we let you down)\b"
)

# Common acronyms are written in capitals; they are not shouting.
ACRONYMS = frozenset(
    {"OK", "UK", "EU", "USA", "VAT", "FAQ", "ASAP", "ID", "PDF", "URL", "SMS", "API", "NHS"}
    | {"GDPR", "HMRC", "PIN", "TV", "PC", "FYI", "ETA"}
)

FORM_LETTER_RATIO = 0.8
SHINGLE_SIZE = 5
SHOUTING_RUN = 3
UPPERCASE_SHARE = 0.3
MIN_LETTERS_FOR_SHARE = 20

# Apostrophes (straight or curly) are dropped, not spaced, so "didn't" and "didnt" read the same.
_APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bc`\u00b4")


def _words(text: str) -> list[str]:
    """Lower-case words of text, with punctuation, spacing and apostrophe variants ignored."""
    return re.findall(r"\w+", text.casefold().translate(_APOSTROPHES))


def _padded(text: str) -> str:
    """Normalised text with a space either side, so a phrase matches only whole words."""
    return f" {' '.join(_words(text))} "


def _blame(padded: str) -> ToneFinding | None:
    """One finding quoting every blaming phrase in the normalised draft, if any."""
    positions = {phrase: padded.find(_padded(phrase)) for phrase in BLAME_PHRASES}
    # Quote them in the order the reader meets them.
    found = sorted((at, phrase) for phrase, at in positions.items() if at >= 0)
    if not found:
        return None
    quoted = ", ".join(f'"{phrase}"' for _, phrase in found)
    return ToneFinding("blame", f"Sounds like blame: {quoted}. Say what we will do instead.")


def _is_form_letter(draft: str, guide: str) -> bool:
    """Whether the draft is the response guide with little or nothing of its own."""
    draft_words, guide_words = _words(draft), _words(guide)
    if not guide_words:
        return False
    # Words, not characters: autojunk would also wreck a character-level ratio on long text.
    matcher = SequenceMatcher(None, draft_words, guide_words, autojunk=False)
    if matcher.ratio() >= FORM_LETTER_RATIO:
        return True
    # A greeting bolted onto the whole guide lowers the ratio but is still a form letter.
    if len(guide_words) < SHINGLE_SIZE:
        return False
    guide_shingles = _shingles(guide_words)
    shared = guide_shingles & _shingles(draft_words)
    return len(shared) >= FORM_LETTER_RATIO * len(guide_shingles)


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    """Every run of SHINGLE_SIZE consecutive words."""
    return {tuple(words[i : i + SHINGLE_SIZE]) for i in range(len(words) - SHINGLE_SIZE + 1)}


def _shouting(draft: str) -> ToneFinding | None:
    """A finding for a run of capitals, mostly capitals, or repeated exclamation marks."""
    run: list[str] = []
    for word in re.findall(r"[^\W\d_]+", draft):
        if len(word) >= 2 and word.isupper() and word not in ACRONYMS:
            run.append(word)
            if len(run) >= SHOUTING_RUN:
                quoted = " ".join(run)
                return ToneFinding(
                    "shouting", f'Capitals read as shouting: "{quoted}". Use sentence case.'
                )
        elif len(word) > 1 or not word.isupper():  # "I" and "A" neither start nor break a run
            run = []
    # Acronyms are left out of the share, so a reply full of "VAT" and "PDF" is not shouting.
    letters = [c for w in re.findall(r"\w+", draft) if w not in ACRONYMS for c in w if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    if len(letters) >= MIN_LETTERS_FOR_SHARE and upper > UPPERCASE_SHARE * len(letters):
        return ToneFinding("shouting", "So many capitals read as shouting. Use sentence case.")
    if "!!" in draft:
        return ToneFinding("shouting", "Several exclamation marks read as shouting. One is plenty.")
    return None


def check_tone(
    draft: str, *, is_complaint: bool, preferred_name: str, response_guide: str = ""
) -> list[ToneFinding]:
    """Findings (never blocks) for a draft public reply or state message."""
    if not draft.strip():
        return []  # the form already says the reply is required
    padded = _padded(draft)
    findings = [_blame(padded)]
    if is_complaint and not _APOLOGY.search(padded):
        findings.append(
            ToneFinding(
                "no_apology",
                "This is a complaint and the reply does not apologise. "
                "Say sorry for the trouble before explaining.",
            )
        )
    name = preferred_name.strip()
    if _words(name) and _padded(name) not in padded:
        findings.append(
            ToneFinding("not_addressed", f'Address them as "{name}", the name they chose.')
        )
    if response_guide.strip() and _is_form_letter(draft, response_guide):
        findings.append(
            ToneFinding(
                "form_letter",
                "This reads like the response guide word for word. Make it personal: "
                "say what happened in their case and what we will do next.",
            )
        )
    findings.append(_shouting(draft))
    return [finding for finding in findings if finding is not None]
