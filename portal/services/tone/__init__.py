"""The tone check: advice, never a block, on the words staff send a customer.

It warns about what the writing this product was born from warns about: blame, form letters
(the category's response guide copied, generic greetings, stock phrases, sorry for "any
inconvenience"), passing the customer around, the same words sent to other customers, no next
step on an open complaint, no apology where one is owed, the customer not called by the name
they chose, and shouting. Each finding quotes the words it objects to, as typed, and says what
to do instead.

Each language has its own words: the draft's language is told from its text (tone/language.py,
limited to the portal's languages; the item's or customer's language, else English, when the
text is too short to tell), and English, Spanish, German and French are read with their own
phrase lists (tone/words.py, words_es.py, words_de.py, words_fr.py) by the same rules. A draft
in another language (Arabic) gets a notice that the check does not cover it, which holds
nothing, and only the rules that need no words (the name, copied words, shouting).

The check is pure: `check_tone(draft, ToneContext(...))`. What it needs from the database (the
item, the customer's words, the writer's recent replies) is gathered by workflow.tone_context.
"""

from portal.services.tone.check import (
    COPY_DAYS,
    COPY_MIN_WORDS,
    COPY_RATIO,
    PUBLISHED_CODES,
    SentReply,
    ToneContext,
    ToneFinding,
    apologises,
    check_published,
    check_tone,
    coverage_notice,
    upset_words,
)

__all__ = [
    "COPY_DAYS",
    "COPY_MIN_WORDS",
    "COPY_RATIO",
    "PUBLISHED_CODES",
    "SentReply",
    "ToneContext",
    "ToneFinding",
    "apologises",
    "check_published",
    "check_tone",
    "coverage_notice",
    "upset_words",
]
