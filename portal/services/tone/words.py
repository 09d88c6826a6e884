"""The words the tone check looks for in English, kept in one place so they can be read and
extended. Spanish, German and French have theirs beside it (words_es.py, words_de.py,
words_fr.py), with the same names; check.py reads each through tone.LEXICONS.

Phrases are matched as whole words after normalising (case, spacing, punctuation and
apostrophes ignored: "didn't" is "didnt"); a "*" stands for any one word. The advice beside a
phrase is what the writer is told to do instead.
"""

from __future__ import annotations

from portal.models.base import N_

# Blame: the customer did not try, did it wrong, was already told, is at fault.
BLAME_PHRASES: tuple[str, ...] = (
    *("did you call", "did you try", "have you tried", "you forgot to", "you failed to"),
    *("user error", "you should have", "you should've", "you must have", "you must've"),
    *("you didn't read", "you did not read", "you need to read", "read the manual", "obviously"),
    *("as we already told you", "as stated before", "as previously stated", "as I said"),
    *("per my last email", "you were told", "your fault", "not our fault"),
)

# Form letters: greetings that fit anyone. The advice names the person (see rules.stock).
SALUTATIONS: tuple[str, ...] = (
    *("Dear Sir or Madam", "Dear Sir/Madam", "Dear Sirs", "Dear Sir", "Dear Madam"),
    *("Dear customer", "Dear valued customer", "valued customer", "To whom it may concern"),
    *("Dear user", "Dear client"),
)

# Form letters: stock phrases, each with what to write instead (advice staff read: marked
# for the catalog, and said in the reader's language by check.py).
_SAY_WHEN = N_("Say when: a day or a date.")
_SHOW_IT = N_("Show it instead: say what you are doing about their case.")
_PLAINLY = N_("Just say it, plainly.")
STOCK_PHRASES: dict[str, str] = {
    "in due course": _SAY_WHEN,
    "at the earliest opportunity": _SAY_WHEN,
    "at your earliest convenience": N_("Ask plainly, and say why it helps."),
    "we take * seriously": _SHOW_IT,
    "we take * very seriously": _SHOW_IT,
    "we take * * seriously": _SHOW_IT,
    "we take * * very seriously": _SHOW_IT,
    "your * is important to us": _SHOW_IT,
    "your * are important to us": _SHOW_IT,
    "we value your feedback": _SHOW_IT,
    "we value your custom": _SHOW_IT,
    "please be advised": _PLAINLY,
    "be advised that": _PLAINLY,
    "please be informed": _PLAINLY,
    "kindly note": _PLAINLY,
    "we regret to inform you": N_("Say it plainly, and say sorry if it is bad news."),
    "we have received your complaint": N_("They know they wrote to us: say what you are doing."),
    "we acknowledge receipt of": N_("They know they wrote to us: say what you are doing."),
    "we are in receipt of": N_("They know they wrote to us: say what you are doing."),
    "do not hesitate to contact us": N_("Say they can reply to you, by name."),
    "don't hesitate to contact us": N_("Say they can reply to you, by name."),
    "at this moment in time": N_('Say "now".'),
}

# The non-apology: sorry for "any inconvenience", not for what happened to them. A pattern
# over normalised words (see text.Draft.find_all).
NON_APOLOGY = (
    r"\b(?:we |i )?(?:apologi[sz]e|apologies|(?:are |am )?sorry|regret)"
    r" (?:for |about )?(?:any|the) inconvenience"
    r"(?: (?:this|that|it) (?:may |might )?(?:have |has )?(?:caused|cause))?"
    r"(?: (?:you|to you))?(?: caused)?\b"
)

# An apology: a pattern over normalised words. "We regret to inform you" is not one.
APOLOGY = (
    r"\b(?:sorry|apolog\w*|regret(?:s|ted)?(?! to inform)|(?:our|my) (?:mistake|error)"
    r"|we got (?:it|this|that) wrong|(?:we|i) let you down)\b"
)

# A customer plainly upset: any of these in their own words (the item's title and text,
# and their comments on it) asks for an apology on a question or an idea too.
UPSET_WORDS: tuple[str, ...] = (
    *("furious", "fuming", "livid", "outraged", "appalled", "appalling", "disgusted"),
    *("disgusting", "disgrace", "disgraceful", "unacceptable", "ridiculous", "shocking"),
    *("pathetic", "useless", "fed up", "sick of", "had enough", "at my wits end"),
    *("third time", "fourth time", "fifth time", "so many times", "still waiting"),
    *("still not", "still no", "nobody has replied", "no one has replied", "never again"),
    *("really upset", "very upset", "so upset", "extremely disappointed", "very disappointed"),
    *("so frustrated", "really frustrated", "very frustrated", "angry"),
)

# Passing the customer around: a pattern over the text as typed (apostrophes straightened),
# case ignored. A verb sending them somewhere, then a department, team or address.
_SEND = (
    r"(?:contact|call|phone|ring|e-?mail|write\s+to|speak\s+(?:to|with)|talk\s+to"
    r"|get\s+in\s+touch\s+with|reach\s+out\s+to|raise\s+(?:it|this|that)\s+with"
    r"|take\s+(?:it|this|that)\s+up\s+with|go\s+to|ask|try)"
)
_ELSEWHERE = (
    r"(?:(?:our|the|your)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:department|dept|team|desk|office|helpline|hotline|call\s+cent(?:re|er)|support\s+line)"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
)
_TEAM = r"(?:the|our|another)\s+(?:[\w-]+\s+){0,3}?(?:team|department|dept|office|people)"
PASSING_AROUND = (
    # "please contact our billing department", "you'll need to email support@example.com"
    rf"(?:(?:please|kindly|you(?:'ll|\s+will)?\s+(?:need|have)\s+to|you\s+(?:should|must|can|could"
    rf"|may)|(?:i|we)\s+(?:would\s+)?(?:suggest|recommend|advise)\s+(?:you|that\s+you))\s+)?"
    rf"\b{_SEND}\s+{_ELSEWHERE}",
    # "that's a matter for the delivery team", "this is one for our billing people"
    rf"\b(?:that|this|it)(?:'s|\s+is)\s+(?:a\s+matter|a\s+question|one|something)\s+for\s+{_TEAM}",
    # "it is dealt with by another department", "handled by the returns team"
    rf"\b(?:dealt\s+with|handled)\s+by\s+{_TEAM}",
    # "not our department", "outside my remit"
    r"\bnot\s+(?:our|my)\s+(?:department|team|area|responsibility|problem|remit)\b",
    r"\boutside\s+(?:our|my)\s+remit\b",
)

# "I will ask the app team", "we have called our courier": the writer doing it, not the
# customer sent to do it (just before a passing-around match, in the same sentence) ...
OUR_OWN_DOING = r"\b(?:i|we)(?:'ll|'ve|'m|'re|'d)?\s+(?:[\w']+\s+){0,3}$"
# ... unless the match itself tells them to ("I know you'll need to email ...").
TELLS_THEM = r"(?:please|kindly|you|i|we)\b"

# A next step: we or I will do something (over normalised words: "we're" is "were"), a few
# words on at most ("we are checking the order and will write"), but not someone else
# ("we have received your complaint and it will be dealt with" promises nothing of ours).
_NOT_US = r"(?!(?:it|they|he|she|you|this|that|which|who|someone|somebody)\b)"
FUTURE_ACTION = (
    rf"\b(?:we|i|were|im)\b(?: {_NOT_US}\w+){{0,6}}? (?:will|shall|going to|planning to"
    r"|plan to|intend to|about to|aim to)\b|\bnext steps?\b"
)
# ... "we'll", "I'll" (over the text as typed: normalised, "we'll" would be "well") ...
FUTURE_CONTRACTED = r"\b(?:we|i)'ll\b"
# ... or a when: a weekday, a date, a time, or a time from now (over normalised words).
WHEN = (
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight"
    r"|(?:this|next) (?:week|month|morning|afternoon|evening)|end of (?:the )?(?:day|week|month)"
    r"|(?:within|in) (?:\w+ ){1,2}(?:hours|days|weeks|minutes)"
    r"|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)\w*"
    r"|may \d{1,2}(?:st|nd|rd|th)?"
    r"|(?:january|february|march|april|june|july|august|september|october|november|december)"
    r"|\d{1,4} \d{1,2} \d{1,4}|\d{1,2} ?(?:am|pm))\b"
)

# Common acronyms are written in capitals; they are not shouting.
ACRONYMS = frozenset(
    {"OK", "UK", "EU", "USA", "VAT", "FAQ", "ASAP", "ID", "PDF", "URL", "SMS", "API", "NHS"}
    | {"GDPR", "HMRC", "PIN", "TV", "PC", "FYI", "ETA"}
)
