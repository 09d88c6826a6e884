"""The rules of the tone check, each a small function over the draft and what it is answering.

Pure: the caller (workflow.tone_context) gathers what a rule needs from the database into a
ToneContext, so the rules run the same in a view, the CLI or a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from types import ModuleType

from portal.services.tone import language as lang
from portal.services.tone import words as w
from portal.services.tone import words_de, words_es, words_fr
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
    # Whether it holds the words until the writer changes them or posts anyway. A notice
    # (the check does not cover the draft's language) is shown but holds nothing.
    holds: bool = True

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
    # The language the conversation is known to be in (the item's, else the customer's), for
    # a draft too short or mixed to tell its own (tone/language.py); None: English.
    language: str | None = None


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


@dataclass(frozen=True)
class Lexicon:
    """One language's words (tone/words*.py), compiled: the rules are the same in each."""

    language: str
    blame: re.Pattern[str]
    salutation: re.Pattern[str]
    stock: re.Pattern[str]
    stock_advice: tuple[tuple[re.Pattern[str], str], ...]
    non_apology: re.Pattern[str]
    apology: re.Pattern[str]
    upset: re.Pattern[str]
    passing_around: tuple[re.Pattern[str], ...]
    our_own_doing: re.Pattern[str]
    tells_them: re.Pattern[str]
    future: re.Pattern[str]
    future_contracted: re.Pattern[str]
    when: re.Pattern[str]


WORDS: dict[str, ModuleType] = {"en": w, "es": words_es, "de": words_de, "fr": words_fr}


@cache
def lexicon(language: str) -> Lexicon:
    """The compiled words of a language the check covers (see language.COVERED)."""
    m = WORDS[language]
    return Lexicon(
        language=language,
        blame=phrase_pattern(m.BLAME_PHRASES, language),
        salutation=phrase_pattern(m.SALUTATIONS, language),
        stock=phrase_pattern(tuple(m.STOCK_PHRASES), language),
        stock_advice=tuple(
            (phrase_pattern((phrase,), language), advice)
            for phrase, advice in m.STOCK_PHRASES.items()
        ),
        non_apology=re.compile(m.NON_APOLOGY),
        apology=re.compile(m.APOLOGY),
        upset=phrase_pattern(m.UPSET_WORDS, language),
        passing_around=tuple(re.compile(p, re.IGNORECASE) for p in m.PASSING_AROUND),
        our_own_doing=re.compile(m.OUR_OWN_DOING, re.IGNORECASE),
        tells_them=re.compile(m.TELLS_THEM, re.IGNORECASE),
        future=re.compile(m.FUTURE_ACTION),
        future_contracted=re.compile(m.FUTURE_CONTRACTED, re.IGNORECASE),
        when=re.compile(m.WHEN),
    )


def check_tone(draft: str, context: ToneContext) -> list[ToneFinding]:
    """Findings (advice, never a block) for words a customer will read, in a fixed order, with
    the words of the draft's language; a language the check has no words for gets a notice
    and only the rules that need none (the name, copied words, shouting)."""
    if not draft.strip():
        return []  # the form already says the words are required
    language = lang.detect(draft, context.language)
    text = Draft(draft, language)
    if language not in lang.COVERED:
        findings = [
            _not_covered(language),
            _not_addressed(text, context.preferred_name),
            _form_letter(text, context.response_guide),
            _copy_paste(text, context.earlier_replies),
            _shouting(draft),
        ]
        return [finding for finding in findings if finding is not None]
    words_of = lexicon(language)
    salutation = _generic_salutation(text, words_of, context.preferred_name)
    non_apology = _non_apology(text, words_of)
    findings = [
        _blame(text, words_of),
        salutation,
        *_stock_phrases(text, words_of),
        non_apology,
        _passing_around(text, words_of),
        None if non_apology else _no_apology(text, context),
        None if salutation else _not_addressed(text, context.preferred_name),
        _no_next_step(text, words_of, context),
        _form_letter(text, context.response_guide),
        _copy_paste(text, context.earlier_replies),
        _shouting(draft),
    ]
    return [finding for finding in findings if finding is not None]


# Codes that matter in words published to everyone (a "we did"): not the name, the apology,
# the next step or repeated words, which are about one customer.
PUBLISHED_CODES = frozenset(
    {
        *("blame", "stock_phrase", "non_apology", "passing_around", "form_letter", "shouting"),
        "not_covered",
    }
)


def check_published(
    draft: str, response_guide: str = "", language: str | None = None
) -> list[ToneFinding]:
    """Findings for words published to everyone who spoke up (a resolution's "we did")."""
    context = ToneContext(kind="", response_guide=response_guide, language=language)
    return [finding for finding in check_tone(draft, context) if finding.code in PUBLISHED_CODES]


def coverage_notice(draft: str, language: str | None = None) -> ToneFinding | None:
    """The notice that the check does not cover the draft's language (`language` if the draft
    is too short to tell), for a door that answers after the words are posted (the API)."""
    if not draft.strip():
        return None
    found = lang.detect(draft, language)
    return None if found in lang.COVERED else _not_covered(found)


def apologises(text: str, language: str | None = None) -> bool:
    """Whether the text says sorry, in its own language (`language` if too short to tell);
    "sorry for any inconvenience" does not. Words in a language the check does not cover
    are not known to."""
    found = lang.detect(text, language)
    if found not in lang.COVERED:
        return False
    words_of = lexicon(found)
    joined = words_of.non_apology.sub(" ", Draft(text, found).joined)
    return words_of.apology.search(joined) is not None


def upset_words(customer_text: str, language: str | None = None) -> list[str]:
    """The words that show a customer is plainly upset, as they typed them, each once (in
    their text's language; `language` if it is too short to tell)."""
    found = lang.detect(customer_text, language)
    if found not in lang.COVERED:
        return []
    seen: dict[str, str] = {}
    for match in Draft(customer_text, found).find_all(lexicon(found).upset):
        seen.setdefault(match.normalised, match.quote)
    return list(seen.values())


# The rules ------------------------------------------------------------------------------------


def _not_covered(language: str) -> ToneFinding:
    """The check has no words for this language: staff are told, and nothing is held."""
    name = lang.NAMES.get(language)
    return ToneFinding(
        "not_covered",
        say(
            t(
                "The tone check does not cover %(language)s yet",
                language=t(name) if name else language,
            )
        ),
        say(
            t(
                "It only looked at capitals, the name they chose and words used before: "
                "read it through yourself for blame, an apology and a next step."
            )
        ),
        holds=False,
    )


def _blame(text: Draft, words_of: Lexicon) -> ToneFinding | None:
    """One finding quoting every blaming phrase, in the order the reader meets them."""
    quotes = _distinct(m.quote for m in text.find_all(words_of.blame))
    if not quotes:
        return None
    return ToneFinding(
        "blame", say(t("Sounds like blame")), say(t("Say what we will do instead.")), quotes
    )


def _generic_salutation(text: Draft, words_of: Lexicon, name: str) -> ToneFinding | None:
    """ "Dear Sir or Madam", "valued customer": a greeting that fits anyone."""
    quotes = _distinct(m.quote for m in text.find_all(words_of.salutation))
    if not quotes:
        return None
    advice = (
        t('Greet them by the name they chose: "%(name)s".', name=name.strip())
        if words(name, text.language)
        else t("Greet them by name.")
    )
    return ToneFinding("stock_phrase", say(t("Reads like a form letter")), say(advice), quotes)


def _stock_phrases(text: Draft, words_of: Lexicon) -> list[ToneFinding]:
    """One finding per stock phrase, each with what to write instead."""
    findings: dict[str, ToneFinding] = {}
    for match in text.find_all(words_of.stock):
        advice = next(
            a for pattern, a in words_of.stock_advice if pattern.fullmatch(match.normalised)
        )
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


def _non_apology(text: Draft, words_of: Lexicon) -> ToneFinding | None:
    """Sorry for "any inconvenience": sorry for nothing in particular."""
    quotes = _distinct(m.quote for m in text.find_all(words_of.non_apology))
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


def _passing_around(text: Draft, words_of: Lexicon) -> ToneFinding | None:
    """Sending them to another department, team or address instead of taking it on."""
    quotes = _distinct(
        quoted(m.group())
        for pattern in words_of.passing_around
        for m in pattern.finditer(text.straight)
        if words_of.tells_them.match(m.group())
        or not words_of.our_own_doing.search(text.straight, 0, m.start())
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
    if context.apologised_before or apologises(text.text, text.language):
        return None
    if context.kind == "complaint":
        return ToneFinding(
            "no_apology",
            say(t("This is a complaint and nobody has said sorry yet")),
            say(t("Say sorry for what happened before explaining.")),
        )
    upset = (
        upset_words(context.customer_text, context.language) if context.kind in UPSET_KINDS else []
    )
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
    name_words = words(name, text.language)
    if not name_words:
        return None
    if f" {' '.join(name_words)} " in f" {text.joined} ":
        return None
    return ToneFinding(
        "not_addressed",
        say(t("They are not addressed by name")),
        say(t('Address them as "%(name)s", the name they chose.', name=name.strip())),
    )


def _no_next_step(text: Draft, words_of: Lexicon, context: ToneContext) -> ToneFinding | None:
    """An open complaint's reply says what happens next: something we will do, a when, or a
    question for the customer (their answer is the next step). A standing promised date is one."""
    if context.kind != "complaint" or not context.stays_open or context.promised:
        return None
    if (
        words_of.future.search(text.joined)
        or words_of.future_contracted.search(text.straight)
        or words_of.when.search(text.joined)
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
    guide_words = words(guide, text.language)
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
        matcher.set_seq1(words(reply.text, text.language))
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
