"""The tone check, case by case: what a reply says, what it answers, what the check finds, why.

Read as examples. Each case is a draft as a member of staff might write it, the context it is
written in (see ToneContext: the item's kind, whether it stays open, whether staff already said
sorry, the customer's own words, what the writer sent other customers lately), and the kinds of
finding expected: none for a good reply. The mechanics (quoting as typed, normalising, order)
are in test_tone.py; the context gathered from the database in test_tone_context.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from portal.services.tone import SentReply, ToneContext, check_tone

# Contexts ----------------------------------------------------------------------------------

# Nia's complaint, answered for the first time: owed an apology and a next step.
COMPLAINT = ToneContext(kind="complaint", preferred_name="Nia")
# A later message on Nia's complaint: the first reply already said sorry.
LATER = replace(COMPLAINT, apologised_before=True)
# A message that closes Nia's complaint (Done, Not planned, Merged): no next step is owed.
CLOSING = replace(LATER, stays_open=False)
# Nia's complaint has a promised date standing: that is its next step.
PROMISED = replace(LATER, promised=True)
QUESTION = ToneContext(kind="question", preferred_name="Nia")
UPSET_QUESTION = replace(
    QUESTION,
    customer_text="Where is my refund?\nThis is the third time I have asked and I am fed up.",
)
IDEA = ToneContext(kind="idea", preferred_name="Nia")
UPSET_IDEA = replace(
    IDEA, customer_text="Dark mode please\nStill waiting for this after two years. Ridiculous."
)
PRAISE = ToneContext(kind="praise", preferred_name="Nia")
GUIDE = (
    "Thank you for telling us about the delay to your delivery. We have passed your details to "
    "our delivery team, who will look into what went wrong and contact you within five working "
    "days."
)
WITH_GUIDE = replace(LATER, response_guide=GUIDE)

# What Sam sent two other customers this month, and the same words again to one of them.
SENT_BEFORE = (
    "Hi Marta, thank you for your patience. Our team is looking into the problem with the "
    "checkout and we will update you as soon as we know more."
)
SENT_AGAIN = SENT_BEFORE.replace("Marta", "Jo")
SAM_SENT = replace(
    LATER,
    earlier_replies=(
        SentReply(7, SENT_BEFORE),
        SentReply(8, SENT_AGAIN),
        SentReply(7, SENT_BEFORE),
    ),
)
SAM_SENT_ONE = replace(LATER, earlier_replies=(SentReply(7, SENT_BEFORE),))


@dataclass(frozen=True)
class Case:
    why: str
    text: str
    context: ToneContext
    expected: frozenset[str]


def case(why: str, text: str, context: ToneContext, *expected: str) -> Case:
    return Case(why, text, context, frozenset(expected))


CASES = [
    # A clean pass for good replies ---------------------------------------------------------
    case(
        "apology, honesty and a question back: the example the product was born from",
        "We apologise; it's not a perfect system, but we're working on it! "
        "What item were you looking for?",
        replace(QUESTION, preferred_name=""),
    ),
    case(
        "the same words pass on a complaint too: the question is the next step",
        "We apologise; it's not a perfect system, but we're working on it! "
        "What item were you looking for?",
        replace(COMPLAINT, preferred_name=""),
    ),
    case(
        "a name, an apology and a dated next step",
        "Nia, I'm so sorry your parcel was left in the rain. I've ordered a replacement and "
        "I will have it with you by Friday 12 December.",
        COMPLAINT,
    ),
    case(
        "the full name they chose, a specific apology, and tomorrow's call",
        "Dear Mr Owen, I'm sorry we charged you twice. I've refunded the \u00a312 today and "
        "I'll ring you tomorrow to check it has arrived.",
        replace(COMPLAINT, preferred_name="Mr Owen"),
    ),
    case(
        "thanks for an idea, with what happens to it",
        "Thanks, Nia! We love this idea and will add it to our plans for the spring.",
        IDEA,
    ),
    # Form letters without a guide ----------------------------------------------------------
    case(
        "the form letter from the issue: a greeting for anyone, stock phrases, no sorry, "
        "no when (it will be dealt with by nobody in particular)",
        "Dear Sir or Madam, we have received your complaint and it will be dealt with in due "
        "course.",
        COMPLAINT,
        "stock_phrase",
        "no_apology",
        "no_next_step",
    ),
    case(
        "Dear customer, and a phrase that says nothing",
        "Dear customer, sorry for the trouble. Your feedback is important to us and we will "
        "reply on Monday.",
        COMPLAINT,
        "stock_phrase",
    ),
    case(
        "valued customer, in the middle of a sentence",
        "Nia, as a valued customer you will get a refund. I'll send it on Monday.",
        LATER,
        "stock_phrase",
    ),
    case(
        "To whom it may concern: a letter to nobody",
        "To whom it may concern, the shop opens at nine on Sundays.",
        QUESTION,
        "stock_phrase",
    ),
    case(
        "taking it very seriously is said, not shown",
        "Nia, we take your complaint very seriously. I will call you on Thursday.",
        LATER,
        "stock_phrase",
    ),
    case(
        "please be advised",
        "Please be advised, Nia, that the shop opens at nine on Sundays.",
        QUESTION,
        "stock_phrase",
    ),
    case(
        "we regret to inform you is not an apology",
        "Nia, we regret to inform you that the crew cannot come back until Friday.",
        COMPLAINT,
        "stock_phrase",
        "no_apology",
    ),
    case(
        "sorry for any inconvenience caused: sorry for nothing in particular",
        "Nia, we apologise for any inconvenience caused. A new kettle will reach you on Tuesday.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "the American spelling, and the inconvenience with no 'any'",
        "Sorry for the inconvenience, Nia. We apologize. I'll post the refund on Monday.",
        COMPLAINT,
        "non_apology",
    ),
    case(
        "saying sorry for what actually happened",
        "Nia, I'm sorry the kettle leaked all over your worktop. A new one will reach you on "
        "Tuesday.",
        COMPLAINT,
    ),
    case(
        "a greeting by name is not a form letter",
        "Dear Nia, thank you for asking: the shop opens at nine on Sundays.",
        QUESTION,
    ),
    # Passing the customer around -----------------------------------------------------------
    case(
        "sent to another department",
        "Nia, sorry about the double charge. Please contact our billing department on "
        "0800 123 456 by Friday.",
        COMPLAINT,
        "passing_around",
    ),
    case(
        "sent to an address",
        "Sorry about the double charge, Nia. You'll need to email billing@example.com by Friday "
        "to get the refund.",
        COMPLAINT,
        "passing_around",
    ),
    case(
        "a matter for another team",
        "Nia, that's a matter for the delivery team. They can tell you more on Monday.",
        LATER,
        "passing_around",
    ),
    case(
        "not our department",
        "Sorry Nia, parking is not our department. I'll pass it on today.",
        COMPLAINT,
        "passing_around",
    ),
    case(
        "the owner talks to the team and comes back: nobody is sent anywhere",
        "Nia, I've spoken to our billing team myself: the refund will reach you by Friday.",
        LATER,
    ),
    case(
        "sympathy does not make sending them elsewhere the writer's own doing",
        "Sorry Nia, I know you'll need to email returns@shop.example, but I will remind them "
        "on Monday.",
        COMPLAINT,
        "passing_around",
    ),
    case(
        "the owner asking a team is taking it on, not sending them there",
        "Nia, sorry about the double charge. I will contact our billing department today and "
        "write to you by Friday.",
        COMPLAINT,
    ),
    case(
        "a team that will contact the customer is not sending them anywhere",
        "Nia, our delivery team will contact you on Monday to book a new slot.",
        LATER,
    ),
    # Copy-paste across customers -----------------------------------------------------------
    case(
        "nearly the words Sam sent two other customers (one of them twice)",
        "Hi Nia, thank you for your patience. Our team is looking into the problem with the "
        "checkout and we will update you as soon as we know more.",
        SAM_SENT,
        "copy_paste",
    ),
    case(
        "a short thank-you may go to everyone it is true for",
        "Thank you, Nia. I will write again on Friday.",
        replace(
            SAM_SENT,
            earlier_replies=(SentReply(7, "Thank you, Marta. I will write again on Friday."),),
        ),
    ),
    case(
        "a reply written for this customer",
        "Hi Nia, I'm sorry the checkout failed on your phone. I have found the fault in the "
        "payment page and will have it fixed by Thursday; I'll write to you then.",
        SAM_SENT,
    ),
    # No next step --------------------------------------------------------------------------
    case(
        "sorry, and then nothing",
        "Nia, I'm sorry the bins were missed again.",
        COMPLAINT,
        "no_next_step",
    ),
    case(
        "looking into it is not a next step",
        "Nia, sorry the bins were missed again. We are looking into it.",
        COMPLAINT,
        "no_next_step",
    ),
    case(
        "what we will do",
        "Nia, sorry the bins were missed again. I'll ask the crew to come back for them.",
        COMPLAINT,
    ),
    case(
        "a weekday is a when",
        "Nia, sorry the bins were missed again. The crew come back on Thursday.",
        COMPLAINT,
    ),
    case(
        "a question back: their answer is the next step",
        "Nia, sorry the bins were missed again. Which street are they on?",
        COMPLAINT,
    ),
    case(
        "closing the complaint: nothing more to come",
        "Nia, the new rota has fixed the missed collections. Thank you for telling us.",
        CLOSING,
    ),
    case(
        "a promised date stands: that is the next step",
        "Nia, the part has arrived at our workshop.",
        PROMISED,
    ),
    case(
        "a question needs no next step",
        "Nia, the shop opens at nine on Sundays.",
        QUESTION,
    ),
    # Apology where it belongs --------------------------------------------------------------
    case(
        "the first reply to a complaint says sorry",
        "Nia, the crew will come back for the bins on Friday.",
        COMPLAINT,
        "no_apology",
    ),
    case(
        "a later message does not have to say sorry again",
        "Nia, the crew will come back for the bins on Friday.",
        LATER,
    ),
    case(
        "a question from someone plainly upset",
        "Nia, your refund went out on Monday and will reach you by Thursday.",
        UPSET_QUESTION,
        "no_apology",
    ),
    case(
        "the same answer to a calm question",
        "Nia, your refund went out on Monday and will reach you by Thursday.",
        QUESTION,
    ),
    case(
        "an upset question, answered with an apology",
        "Nia, I'm sorry you had to ask three times. Your refund went out on Monday.",
        UPSET_QUESTION,
    ),
    case(
        "an idea whose customer is plainly upset",
        "Nia, dark mode is on our list for the spring.",
        UPSET_IDEA,
        "no_apology",
    ),
    case(
        "praise needs no apology",
        "Thank you, Nia, that made our day.",
        PRAISE,
    ),
    # Blame, the name, the guide, shouting --------------------------------------------------
    case(
        "blame",
        "Nia, did you try putting the bin out before seven? It is not our fault.",
        LATER,
        "blame",
    ),
    case(
        "the customer's name left out",
        "Sorry about the wait. The refund will reach you by Friday.",
        COMPLAINT,
        "not_addressed",
    ),
    case(
        "the response guide word for word",
        "Dear Nia, sorry. " + GUIDE,
        WITH_GUIDE,
        "form_letter",
    ),
    case(
        "the guide's facts in the writer's own words",
        "Nia, sorry: your delivery was two days late because the van broke down. Our delivery "
        "team will contact you by Friday about a refund.",
        WITH_GUIDE,
    ),
    case(
        "capitals read as shouting",
        "Sorry Nia, WE ARE LOOKING INTO IT and will write on Monday.",
        COMPLAINT,
        "shouting",
    ),
    case(
        "acronyms are not shouting",
        "Hi Nia, sorry for the trouble. Your VAT receipt is attached as a PDF; I'll post one "
        "too on Monday.",
        COMPLAINT,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_tone_case(case: Case) -> None:
    found = {finding.code for finding in check_tone(case.text, case.context)}
    assert found == case.expected, [f.message for f in check_tone(case.text, case.context)]


def test_copied_words_say_how_many_customers_got_them() -> None:
    """Two other customers got the words; the same customer twice is counted once."""
    [finding] = check_tone(
        "Hi Nia, thank you for your patience. Our team is looking into the problem with the "
        "checkout and we will update you as soon as we know more.",
        SAM_SENT,
    )
    assert finding.what == "You sent nearly the same words to 2 other customers in the last 30 days"
    assert finding.quotes == (
        "Hi Nia, thank you for your patience. Our team is looking into\u2026",
    )
    [finding] = check_tone(SENT_AGAIN.replace("Jo", "Nia"), SAM_SENT_ONE)
    assert "to another customer in the last 30 days" in finding.message


# Each finding quotes the words it objects to, as typed, and says what to do instead.
QUOTED = [
    (
        "Dear Sir or Madam, we have received your complaint and it will be dealt with in due "
        "course.",
        COMPLAINT,
        [
            ("stock_phrase", ("Dear Sir or Madam",), 'Greet them by the name they chose: "Nia".'),
            (
                "stock_phrase",
                ("we have received your complaint",),
                "They know they wrote to us: say what you are doing.",
            ),
            ("stock_phrase", ("in due course",), "Say when: a day or a date."),
            ("no_apology", (), "Say sorry for what happened before explaining."),
            (
                "no_next_step",
                (),
                'Say what you will do and by when, such as "I will ring you on Thursday."',
            ),
        ],
    ),
    (
        "Nia, we APOLOGISE for any inconvenience caused. Please contact our Billing Department.",
        LATER,
        [
            (
                "non_apology",
                ("we APOLOGISE for any inconvenience caused",),
                "Say sorry for what happened to them, in plain words: "
                '"I\'m sorry your parcel was left in the rain."',
            ),
            (
                "passing_around",
                ("Please contact our Billing Department",),
                "Take it on yourself: say what you will do, and let them reply to you.",
            ),
            (
                "no_next_step",
                (),
                'Say what you will do and by when, such as "I will ring you on Thursday."',
            ),
        ],
    ),
    (
        "Nia, you\u2019ll need to e-mail refunds@shop.example by Friday.",
        LATER,
        [
            (
                "passing_around",
                ("you'll need to e-mail refunds@shop.example",),
                "Take it on yourself: say what you will do, and let them reply to you.",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("text", "context", "expected"), QUOTED)
def test_findings_quote_the_words_as_typed_and_say_what_to_do(
    text: str, context: ToneContext, expected: list[tuple[str, tuple[str, ...], str]]
) -> None:
    found = [(f.code, f.quotes, f.advice) for f in check_tone(text, context)]
    assert found == expected


def test_an_upset_customer_is_told_which_words_show_it() -> None:
    [finding] = check_tone("Nia, the refund went out on Monday.", UPSET_QUESTION)
    assert finding.message == (
        'They sound upset ("third time", "fed up") and nobody has said sorry yet. '
        "Say sorry for the trouble before answering."
    )
