"""The rules of the tone check, each a small function over the draft and what it is answering.

Pure: the caller (workflow.tone_context) gathers what a rule needs from the database into a
ToneContext, so the rules run the same in a view, the CLI or a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from portal.services.tone import words as w
from portal.services.tone.text import Draft, phrase_pattern, quoted, words
from portal.services.wording import say, t, tn


@dataclass(frozen=True)
class ToneFinding:
    """One piece of advice about a draft: a stable code (the kind of finding, for templates
    and programs), what was found, the words objected to exactly as typed (none when the
    finding is about something missing), and what to do instead."""

    code: str
    what: str
    advice: str
    quotes: tuple[str, ...] = ()

    # A finding is worked out for the one person about to post (a page, an API call), so its
    # words are said at once, in that person's language (say(t(...))).

    @property
    def message(self) -> str:
        """The finding said in one go, as pages and the API show it."""
        said = ", ".join(f'"{quote}"' for quote in self.quotes)
        if said:
            return say(
                t(
                    "%(what)s: %(quotes)s. %(advice)s",
                    what=self.what,
                    quotes=said,
                    advice=self.advice,
                )
            )
        return say(t("%(what)s. %(advice)s", what=self.what, advice=self.advice))


@dataclass(frozen=True)
class SentReply:
    """Public words the writer sent another customer (who, as an id, and what)."""

    customer_id: int
    text: str


@dataclass(frozen=True)
class ToneContext:
    """What the check needs to know besides the draft; workflow.tone_context fills it in."""

    kind: str  # the item's kind: "complaint", "question", "idea" or "praise"
    preferred_name: str = ""  # what the customer asked to be called; "" skips that check
    response_guide: str = ""  # the category's guide, which a reply must not just copy
    # Whether the item is still open once these words are posted (a reply, or a move to an
    # open state), so the customer is owed a next step; and whether a promised date stands.
    stays_open: bool = True
    promised: bool = False
    # Whether staff's public words on the item (replies, state messages) already apologised.
    apologised_before: bool = False
    # The customer's own words on the item: its title and text, and their comments.
    customer_text: str = ""
    # What the writer sent other customers in the last COPY_DAYS days.
    earlier_replies: tuple[SentReply, ...] = ()


# A reply at least this similar (difflib's ratio over normalised words) to one sent to another
# customer is the same words; replies shorter than COPY_MIN_WORDS words are exempt ("Thank
# you, Nia, that is fixed now." is fine to send to everyone it is true for).
COPY_RATIO = 0.9
COPY_DAYS = 30  # how far back workflow.tone_context looks
COPY_MIN_WORDS = 12
FORM_LETTER_RATIO = 0.8
SHINGLE_SIZE = 5
SHOUTING_RUN = 3
UPPERCASE_SHARE = 0.3
MIN_LETTERS_FOR_SHARE = 20
# Kinds a customer may be plainly upset in and owed an apology for (a complaint always is).
UPSET_KINDS = frozenset({"question", "idea"})

_BLAME = phrase_pattern(w.BLAME_PHRASES)
_SALUTATION = phrase_pattern(w.SALUTATIONS)
_STOCK = phrase_pattern(tuple(w.STOCK_PHRASES))
_STOCK_ADVICE = [(phrase_pattern((phrase,)), advice) for phrase, advice in w.STOCK_PHRASES.items()]
_NON_APOLOGY = re.compile(w.NON_APOLOGY)
_APOLOGY = re.compile(w.APOLOGY)
_UPSET = phrase_pattern(w.UPSET_WORDS)
_PASSING_AROUND = [re.compile(p, re.IGNORECASE) for p in w.PASSING_AROUND]
# "I will ask the app team", "we have called our courier": the writer doing it, not the
# customer sent to do it (just before a passing-around match, in the same sentence).
_OUR_OWN_DOING = re.compile(
    r"\b(?:i|we)(?:'ll|'ve|'m|'re|'d)?\s+(?:[\w']+\s+){0,3}$", re.IGNORECASE
)
# ... unless the match itself tells them to ("I know you'll need to email ...").
_TELLS_THEM = re.compile(r"(?:please|kindly|you|i|we)\b", re.IGNORECASE)
_FUTURE = re.compile(w.FUTURE_ACTION)
_FUTURE_CONTRACTED = re.compile(w.FUTURE_CONTRACTED, re.IGNORECASE)
_WHEN = re.compile(w.WHEN)


def check_tone(draft: str, context: ToneContext) -> list[ToneFinding]:
    """Findings (advice, never a block) for words a customer will read, in a fixed order."""
    if not draft.strip():
        return []  # the form already says the words are required
    text = Draft(draft)
    salutation = _generic_salutation(text, context.preferred_name)
    non_apology = _non_apology(text)
    findings = [
        _blame(text),
        salutation,
        *_stock_phrases(text),
        non_apology,
        _passing_around(text),
        None if non_apology else _no_apology(text, context),
        None if salutation else _not_addressed(text, context.preferred_name),
        _no_next_step(text, context),
        _form_letter(text, context.response_guide),
        _copy_paste(text, context.earlier_replies),
        _shouting(draft),
    ]
    return [finding for finding in findings if finding is not None]


# Codes that matter in words published to everyone (a "we did"): not the name, the apology,
# the next step or repeated words, which are about one customer.
PUBLISHED_CODES = frozenset(
    {"blame", "stock_phrase", "non_apology", "passing_around", "form_letter", "shouting"}
)


def check_published(draft: str, response_guide: str = "") -> list[ToneFinding]:
    """Findings for words published to everyone who spoke up (a resolution's "we did")."""
    findings = check_tone(draft, ToneContext(kind="", response_guide=response_guide))
    return [finding for finding in findings if finding.code in PUBLISHED_CODES]


def apologises(text: str) -> bool:
    """Whether the text says sorry; "sorry for any inconvenience" does not."""
    joined = _NON_APOLOGY.sub(" ", Draft(text).joined)
    return _APOLOGY.search(joined) is not None


def upset_words(customer_text: str) -> list[str]:
    """The words that show a customer is plainly upset, as they typed them, each once."""
    seen: dict[str, str] = {}
    for match in Draft(customer_text).find_all(_UPSET):
        seen.setdefault(match.normalised, match.quote)
    return list(seen.values())


# The rules ------------------------------------------------------------------------------------


def _blame(text: Draft) -> ToneFinding | None:
    """One finding quoting every blaming phrase, in the order the reader meets them."""
    quotes = _distinct(m.quote for m in text.find_all(_BLAME))
    if not quotes:
        return None
    return ToneFinding(
        "blame", say(t("Sounds like blame")), say(t("Say what we will do instead.")), quotes
    )


def _generic_salutation(text: Draft, name: str) -> ToneFinding | None:
    """ "Dear Sir or Madam", "valued customer": a greeting that fits anyone."""
    quotes = _distinct(m.quote for m in text.find_all(_SALUTATION))
    if not quotes:
        return None
    advice = (
        t('Greet them by the name they chose: "%(name)s".', name=name.strip())
        if words(name)
        else t("Greet them by name.")
    )
    return ToneFinding("stock_phrase", say(t("Reads like a form letter")), say(advice), quotes)


def _stock_phrases(text: Draft) -> list[ToneFinding]:
    """One finding per stock phrase, each with what to write instead."""
    findings: dict[str, ToneFinding] = {}
    for match in text.find_all(_STOCK):
        advice = next(a for pattern, a in _STOCK_ADVICE if pattern.fullmatch(match.normalised))
        findings.setdefault(
            match.normalised,
            ToneFinding(
                "stock_phrase",
                say(t("Reads like a form letter")),
                say(t(advice)),
                (match.quote,),
            ),
        )
    return list(findings.values())


def _non_apology(text: Draft) -> ToneFinding | None:
    """Sorry for "any inconvenience": sorry for nothing in particular."""
    quotes = _distinct(m.quote for m in text.find_all(_NON_APOLOGY))
    if not quotes:
        return None
    return ToneFinding(
        "non_apology",
        say(t('Sorry for "any inconvenience" is not sorry for what happened')),
        say(
            t(
                "Say sorry for what happened to them, in plain words: "
                '"I\'m sorry your parcel was left in the rain."'
            )
        ),
        quotes,
    )


def _passing_around(text: Draft) -> ToneFinding | None:
    """Sending them to another department, team or address instead of taking it on."""
    quotes = _distinct(
        quoted(m.group())
        for pattern in _PASSING_AROUND
        for m in pattern.finditer(text.straight)
        if _TELLS_THEM.match(m.group()) or not _OUR_OWN_DOING.search(text.straight, 0, m.start())
    )
    if not quotes:
        return None
    return ToneFinding(
        "passing_around",
        say(t("Sends them somewhere else")),
        say(t("Take it on yourself: say what you will do, and let them reply to you.")),
        quotes,
    )


def _no_apology(text: Draft, context: ToneContext) -> ToneFinding | None:
    """A complaint is owed an apology until staff's public words on it have once said sorry;
    so is a question or idea whose customer is plainly upset."""
    if context.apologised_before or apologises(text.text):
        return None
    if context.kind == "complaint":
        return ToneFinding(
            "no_apology",
            say(t("This is a complaint and nobody has said sorry yet")),
            say(t("Say sorry for what happened before explaining.")),
        )
    upset = upset_words(context.customer_text) if context.kind in UPSET_KINDS else []
    if not upset:
        return None
    said = ", ".join(f'"{word}"' for word in upset[:3])
    return ToneFinding(
        "no_apology",
        say(t("They sound upset (%(words)s) and nobody has said sorry yet", words=said)),
        say(t("Say sorry for the trouble before answering.")),
    )


def _not_addressed(text: Draft, name: str) -> ToneFinding | None:
    """The customer addressed by the name they chose, as whole words."""
    name_words = words(name)
    if not name_words:
        return None
    if f" {' '.join(name_words)} " in f" {text.joined} ":
        return None
    return ToneFinding(
        "not_addressed",
        say(t("They are not addressed by name")),
        say(t('Address them as "%(name)s", the name they chose.', name=name.strip())),
    )


def _no_next_step(text: Draft, context: ToneContext) -> ToneFinding | None:
    """An open complaint's reply says what happens next: something we will do, a when, or a
    question for the customer (their answer is the next step). A standing promised date is one."""
    if context.kind != "complaint" or not context.stays_open or context.promised:
        return None
    if (
        _FUTURE.search(text.joined)
        or _FUTURE_CONTRACTED.search(text.straight)
        or _WHEN.search(text.joined)
        or "?" in text.text
    ):
        return None
    return ToneFinding(
        "no_next_step",
        say(t("Nothing says what happens next")),
        say(t('Say what you will do and by when, such as "I will ring you on Thursday."')),
    )


def _form_letter(text: Draft, guide: str) -> ToneFinding | None:
    """The category's response guide with little or nothing of the writer's own."""
    guide_words = words(guide)
    if not guide_words:
        return None
    draft_words = list(text.words)
    # Words, not characters: autojunk would also wreck a character-level ratio on long text.
    matcher = SequenceMatcher(None, draft_words, guide_words, autojunk=False)
    copied = matcher.ratio() >= FORM_LETTER_RATIO
    # A greeting bolted onto the whole guide lowers the ratio but is still a form letter.
    if not copied and len(guide_words) >= SHINGLE_SIZE:
        guide_shingles = _shingles(guide_words)
        shared = guide_shingles & _shingles(draft_words)
        copied = len(shared) >= FORM_LETTER_RATIO * len(guide_shingles)
    if not copied:
        return None
    run = matcher.find_longest_match(0, len(draft_words), 0, len(guide_words))
    return ToneFinding(
        "form_letter",
        say(t("This reads like the response guide word for word")),
        say(t("Make it personal: say what happened in their case and what we will do next.")),
        (text.quote(run.a, run.a + run.size),),
    )


def _shingles(word_list: list[str]) -> set[tuple[str, ...]]:
    """Every run of SHINGLE_SIZE consecutive words."""
    return {
        tuple(word_list[i : i + SHINGLE_SIZE]) for i in range(len(word_list) - SHINGLE_SIZE + 1)
    }


def _copy_paste(text: Draft, earlier: tuple[SentReply, ...]) -> ToneFinding | None:
    """Nearly the same words as the writer sent other customers lately: how many got them."""
    if len(text.words) < COPY_MIN_WORDS:
        return None
    draft_words = list(text.words)
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(draft_words)  # the draft is compared with each reply: analysed once
    customers = set()
    for reply in earlier:
        if reply.customer_id in customers:
            continue
        matcher.set_seq1(words(reply.text))
        if (
            matcher.real_quick_ratio() >= COPY_RATIO
            and matcher.quick_ratio() >= COPY_RATIO
            and matcher.ratio() >= COPY_RATIO
        ):
            customers.add(reply.customer_id)
    if not customers:
        return None
    count = len(customers)
    what = tn(
        "You sent nearly the same words to another customer in the last %(days)s days",
        "You sent nearly the same words to %(num)d other customers in the last %(days)s days",
        count,
        days=COPY_DAYS,
    )
    return ToneFinding(
        "copy_paste",
        say(what),
        say(t("Write to this customer about their own case.")),
        (text.opening(),),
    )


def _shouting(draft: str) -> ToneFinding | None:
    """A run of capitals, mostly capitals, or repeated exclamation marks."""
    run: list[str] = []
    capitals: list[str] = []
    for word in re.findall(r"[^\W\d_]+", draft):
        if len(word) >= 2 and word.isupper() and word not in w.ACRONYMS:
            run.append(word)
            capitals.append(word)
            if len(run) >= SHOUTING_RUN:
                return ToneFinding(
                    "shouting",
                    say(t("Capitals read as shouting")),
                    say(t("Use sentence case.")),
                    (_typed_run(draft, run),),
                )
        elif len(word) > 1 or not word.isupper():  # "I" and "A" neither start nor break a run
            run = []
    # Acronyms are left out of the share, so a reply full of "VAT" and "PDF" is not shouting.
    letters = [
        c for wd in re.findall(r"\w+", draft) if wd not in w.ACRONYMS for c in wd if c.isalpha()
    ]
    upper = sum(c.isupper() for c in letters)
    if len(letters) >= MIN_LETTERS_FOR_SHARE and upper > UPPERCASE_SHARE * len(letters):
        return ToneFinding(
            "shouting",
            say(t("So many capitals read as shouting")),
            say(t("Use sentence case.")),
            _distinct(capitals[:SHOUTING_RUN]),
        )
    exclaimed = re.findall(r"\S*!{2,}", draft)
    if exclaimed:
        return ToneFinding(
            "shouting",
            say(t("Several exclamation marks read as shouting")),
            say(t("One is plenty.")),
            _distinct(exclaimed),
        )
    return None


def _typed_run(draft: str, run: list[str]) -> str:
    """The run of capitals as typed, with whatever stood between its words."""
    pattern = r"\W+".join(map(re.escape, run))
    found = re.search(pattern, draft)
    return " ".join(found.group().split()) if found else " ".join(run)


def _distinct(quotes: Iterable[str]) -> tuple[str, ...]:
    """Each quote once, in reading order."""
    return tuple(dict.fromkeys(quotes))
