"""Reading a draft the way the tone check matches it, and quoting it as it was typed.

Phrases are matched on normalised words (case, spacing, punctuation and apostrophe variants
ignored: "You   Didn't" reads as "you didnt"; accents folded: "désolé" reads as "desole", and in
German "ä", "ö", "ü" as "ae", "oe", "ue", as they are typed without umlauts, and "ß" as "ss"),
but a finding quotes the words exactly as the writer typed them, so they can find them in their
draft.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property

# Apostrophes (straight or curly) are dropped, not spaced, so "didn't" and "didnt" read the same.
APOSTROPHES = "'\u2018\u2019\u02bc`\u00b4"
_DROP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)
# Every apostrophe as a straight one, character for character (so positions do not move).
_STRAIGHT = str.maketrans(APOSTROPHES, "'" * len(APOSTROPHES))
_TOKEN = re.compile(rf"[\w{re.escape(APOSTROPHES)}]+")
# French elides with an apostrophe ("j'appellerai", "n'hésitez"): there it separates words.
_ELIDING = frozenset({"fr"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def fold(word: str, language: str = "en") -> str:
    """A word as the check matches it: lower case, no apostrophes, no accents."""
    word = word.casefold().translate(_DROP_APOSTROPHES).translate(_LIGATURES)
    if language == "de":
        word = word.translate(_UMLAUTS)
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _token_pattern(language: str) -> re.Pattern[str]:
    return re.compile(r"\w+") if language in _ELIDING else _TOKEN


# A long quote is cut after this many words: enough for the writer to find the place.
QUOTE_WORDS = 12


def words(text: str, language: str = "en") -> list[str]:
    """Lower-case words of text, with punctuation, spacing, apostrophe variants and accents
    ignored."""
    found = (fold(m.group(), language) for m in _token_pattern(language).finditer(text))
    return [word for word in found if word]


def phrase_pattern(phrases: tuple[str, ...], language: str = "en") -> re.Pattern[str]:
    """One pattern for whole-word matches of any of the phrases in normalised text. A "*" in a
    phrase stands for any one word ("your * is important to us")."""
    alternatives = {
        " ".join(
            r"\w+" if part == "*" else " ".join(map(re.escape, words(part, language)))
            for part in p.split()
        )
        for p in phrases
    }
    # The longest first, so "dear sir or madam" is quoted whole rather than as "dear sir".
    body = "|".join(sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"\b(?:{body})\b")


@dataclass(frozen=True)
class Token:
    """One word of the draft: normalised, and where it was typed."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    """Words of the draft a rule objects to: as typed (for the quote) and as matched."""

    quote: str
    normalised: str
    first: int  # the index of its first word in Draft.tokens


class Draft:
    """A text as typed, and its normalised words with where each one was typed."""

    def __init__(self, text: str, language: str = "en") -> None:
        self.text = text
        self.language = language
        tokens = []
        for m in _token_pattern(language).finditer(text):
            raw = m.group()
            word = fold(raw, language)
            if not word:
                continue  # a lone apostrophe
            # Quote from the first letter to the last: no stray quote marks around a word.
            start = m.start() + len(raw) - len(raw.lstrip(APOSTROPHES))
            end = m.end() - (len(raw) - len(raw.rstrip(APOSTROPHES)))
            tokens.append(Token(word, start, end))
        self.tokens: tuple[Token, ...] = tuple(tokens)
        self.words: tuple[str, ...] = tuple(t.word for t in tokens)

    @cached_property
    def joined(self) -> str:
        """The normalised words, one space apart: what phrase patterns search."""
        return " ".join(self.words)

    @cached_property
    def _offsets(self) -> list[int]:
        """Where each word starts in `joined`."""
        offsets, at = [], 0
        for word in self.words:
            offsets.append(at)
            at += len(word) + 1
        return offsets

    @cached_property
    def straight(self) -> str:
        """The text as typed with straight apostrophes (positions unchanged), for patterns
        that need what normalising drops, such as an email address."""
        return self.text.translate(_STRAIGHT)

    def find_all(self, pattern: re.Pattern[str]) -> list[Match]:
        """Every match of a normalised-words pattern, in reading order, quoted as typed."""
        found = []
        for m in pattern.finditer(self.joined):
            first = bisect_right(self._offsets, m.start()) - 1
            last = bisect_right(self._offsets, m.end() - 1) - 1
            found.append(Match(self.quote(first, last + 1), m.group(), first))
        return found

    def quote(self, first: int, end: int) -> str:
        """Words first..end-1 as typed, whitespace tidied, cut after QUOTE_WORDS words."""
        if first >= end:
            return ""
        cut = min(end, first + QUOTE_WORDS)
        text = quoted(self.text[self.tokens[first].start : self.tokens[cut - 1].end])
        return text + "\u2026" if cut < end else text

    def opening(self) -> str:
        """The draft's first words, as typed: how a finding about the whole text quotes it."""
        return self.quote(0, len(self.tokens))


def quoted(text: str) -> str:
    """Text as typed with runs of whitespace (line breaks too) shown as one space."""
    return " ".join(text.split())
