"""The tone check's mechanics: normalising, quoting as typed, thresholds and order. The rules,
case by case, are in test_tone_cases.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.services.tone import (
    SentReply,
    ToneContext,
    ToneFinding,
    apologises,
    check_published,
    check_tone,
    upset_words,
)

GUIDE = (
    "Thank you for telling us about the delay to your delivery. We have passed your details to "
    "our delivery team, who will look into what went wrong and contact you within five working "
    "days."
)
# A message closing Nia's complaint (so no next step is owed) that has had no apology yet.
CLOSING = ToneContext(
    kind="complaint", preferred_name="Nia", response_guide=GUIDE, stays_open=False
)


def codes(
    draft: str, *, name: str = "Nia", guide: str = GUIDE, kind: str = "complaint"
) -> list[str]:
    context = replace(CLOSING, preferred_name=name, response_guide=guide, kind=kind)
    return [f.code for f in check_tone(draft, context)]


@pytest.mark.parametrize(
    ("draft", "is_complaint", "name", "expected"),
    [
        # Asking whether they called elsewhere first blames them and sends them there.
        (
            "Hi Nia, did you call the helpline first? Sorry for the wait.",
            True,
            "Nia",
            {"blame", "passing_around"},
        ),
        ("Hi Nia, this looks like user error to me.", True, "Nia", {"blame", "no_apology"}),
        ("Sorry Nia, you should\u2019ve read the leaflet.", True, "Nia", {"blame"}),
        ("Nia, have you tried turning it off and on again?", False, "Nia", {"blame"}),
        ("As we already told you, Nia, it is your fault.", True, "Nia", {"blame", "no_apology"}),
        (
            "Per my last email, the refund is on its way.",
            True,
            "Nia",
            {"blame", "no_apology", "not_addressed"},
        ),
        ("Hi Nia, we have fixed the timetable.", True, "Nia", {"no_apology"}),
        ("Sorry about the wait, we have fixed it.", True, "Nia", {"not_addressed"}),
        ("Dear Nia, sorry. " + GUIDE, True, "Nia", {"form_letter"}),
        (
            "Hello, " + GUIDE,
            True,
            "Mr Owen",
            {"no_apology", "not_addressed", "form_letter"},
        ),
        ("Sorry Nia, WE ARE LOOKING INTO IT NOW.", True, "Nia", {"shouting"}),
        ("Sorry Nia, it is fixed!!", True, "Nia", {"shouting"}),
        (
            "OBVIOUSLY THIS IS NOT OUR FAULT!!",
            True,
            "Nia",
            {"blame", "no_apology", "not_addressed", "shouting"},
        ),
    ],
)
def test_bad_replies_get_the_expected_findings(
    draft: str, is_complaint: bool, name: str, expected: set[str]
) -> None:
    kind = "complaint" if is_complaint else "idea"
    assert set(codes(draft, kind=kind, name=name)) == expected


@pytest.mark.parametrize(
    ("draft", "is_complaint", "name"),
    [
        (
            "Hi Nia, I'm so sorry the bus didn't turn up. "
            "We have added an extra service from Monday.",
            True,
            "Nia",
        ),
        (
            "Dear Mr Owen, we apologise for the mix-up with your bill. "
            "A refund of \u00a312 will reach you by Friday.",
            True,
            "Mr Owen",
        ),
        (
            "Thanks, Sam! We love this idea and have added it to our plans for the spring.",
            False,
            "Sam",
        ),
        (
            "Nia, I\u2019m sorry your parcel was three days late. I checked with our delivery "
            "team: the van broke down on Tuesday. Sam will ring you on Thursday about a refund.",
            True,
            "Nia",
        ),
        ("Hi Nia, sorry for the trouble. Your VAT receipt is attached as a PDF.", True, "Nia"),
        ("Nia, we regret the error on your invoice and have corrected it today.", True, "Nia"),
        ("Hi Siobh\u00e1n, sorry for the wait. We\u2019ve fixed the form.", True, "Siobh\u00e1n"),
        ("Hi Nia, thank you. The new UK and EU forms are live; see the FAQ.", False, "Nia"),
    ],
)
def test_kind_personal_replies_get_no_findings(draft: str, is_complaint: bool, name: str) -> None:
    assert codes(draft, kind="complaint" if is_complaint else "idea", name=name) == []


def test_blaming_phrase_is_flagged_with_a_quote() -> None:
    [finding] = check_tone("Hi Nia, sorry. Did you call us?", CLOSING)
    assert finding == ToneFinding(
        "blame", "Sounds like blame", "Say what we will do instead.", ("Did you call",)
    )
    assert finding.message == 'Sounds like blame: "Did you call". Say what we will do instead.'


def test_blaming_phrases_are_all_quoted_in_reading_order() -> None:
    [finding] = check_tone(
        "Sorry Nia, you must have missed it; obviously it was user error.", CLOSING
    )
    assert finding.quotes == ("you must have", "obviously", "user error")


def test_a_quote_is_the_words_as_typed_with_whitespace_tidied() -> None:
    [finding] = check_tone("Sorry Nia, You   Didn\u2019t\nRead the FAQ.", CLOSING)
    assert finding.quotes == ("You Didn\u2019t Read",)


def test_a_long_quote_is_cut_after_twelve_words() -> None:
    earlier = (
        "Thank you for your message. Our team is looking into the problem and we will be in "
        "touch as soon as we can with more news."
    )
    context = replace(CLOSING, earlier_replies=(SentReply(1, earlier),))
    [finding] = check_tone("Hi Nia, sorry. " + earlier, context)
    assert finding.quotes == (
        "Hi Nia, sorry. Thank you for your message. Our team is looking\u2026",
    )


@pytest.mark.parametrize(
    "draft",
    [
        "Sorry Nia, you didn\u2019t read the FAQ.",  # curly apostrophe
        "Sorry Nia, you didn't read the FAQ.",
        "Sorry Nia, you didnt read the FAQ.",
        "Sorry Nia, You   Didn't\nRead the FAQ.",
    ],
)
def test_blaming_phrase_tolerates_apostrophes_case_and_spacing(draft: str) -> None:
    assert codes(draft) == ["blame"]


def test_blaming_phrase_tolerates_punctuation_between_words() -> None:
    assert codes("Sorry Nia, did you... call?") == ["blame"]


def test_blaming_phrase_matches_whole_words_only() -> None:
    assert codes("Sorry Nia, your faulty part is being replaced today.") == []


def test_complaint_without_apology_is_flagged() -> None:
    assert codes("Nia, the refund has been sent.") == ["no_apology"]


@pytest.mark.parametrize("apology", ["apologies", "We apologize", "That was our mistake"])
def test_any_form_of_apology_satisfies_a_complaint(apology: str) -> None:
    assert codes(f"Nia, {apology}. The refund has been sent.") == []


def test_praise_or_idea_needs_no_apology() -> None:
    assert codes("Thank you, Nia, what a lovely idea.", kind="idea") == []
    assert codes("Thank you, Nia, what a lovely idea.", kind="praise") == []


def test_reply_to_mr_owen_must_use_the_full_name() -> None:
    assert codes("Dear Mr Owen, sorry for the wait.", name="Mr Owen") == []
    assert codes("Dear mr. owen, sorry for the wait.", name="Mr Owen") == []
    assert codes("Dear Owen, sorry for the wait.", name="Mr Owen") == ["not_addressed"]


def test_name_must_appear_as_a_whole_word() -> None:
    [finding] = check_tone("Alright, sorry for the wait.", replace(CLOSING, preferred_name="Al"))
    assert finding.code == "not_addressed"
    assert finding.advice == 'Address them as "Al", the name they chose.'
    assert finding.quotes == ()


def test_blank_preferred_name_skips_the_address_check() -> None:
    assert codes("Sorry for the wait.", name="  ") == []


def test_guide_copied_with_one_word_changed_is_a_form_letter() -> None:
    draft = "Nia, sorry. " + GUIDE.replace("five", "ten")
    [finding] = check_tone(draft, CLOSING)
    assert finding.code == "form_letter"
    assert finding.message.startswith("This reads like the response guide word for word: ")
    # The longest stretch copied from the guide, as typed, cut after twelve words.
    assert finding.quotes == (
        "Thank you for telling us about the delay to your delivery. We\u2026",
    )


def test_guide_wrapped_in_personal_text_is_still_a_form_letter() -> None:
    # Enough extra text to pull the overall similarity under the bar; the shingles still match.
    extra = (
        "I have read your message carefully and I understand how frustrating it was to wait in "
        "all week for a parcel that never came, especially with your daughter's birthday."
    )
    assert codes(f"Dear Nia, sorry. {GUIDE} {extra}") == ["form_letter"]


def test_guide_inspired_personal_reply_is_not_a_form_letter() -> None:
    draft = (
        "Nia, thank you for telling us, and sorry: your delivery was two days late because the "
        "van broke down. Our delivery team will contact you by Friday about a refund."
    )
    assert codes(draft) == []


def test_without_a_guide_there_is_no_form_letter_check() -> None:
    assert codes("Nia, sorry. " + GUIDE, guide="") == []


def test_capitals_in_a_row_are_shouting() -> None:
    [finding] = check_tone("WE ARE LOOKING INTO IT NOW", ToneContext(kind="idea"))
    assert finding.code == "shouting"
    assert '"WE ARE LOOKING"' in finding.message


def test_single_acronym_is_not_shouting() -> None:
    assert codes("Sorry Nia, the VAT was wrong.") == []


def test_acronyms_in_a_row_are_not_shouting() -> None:
    assert codes("Sorry Nia, send the VAT ID PDF by SMS.") == []


def test_mostly_capitals_is_shouting_even_without_a_run() -> None:
    assert codes("Sorry Nia, THIS is NOT what WE promised YOU at ALL.") == ["shouting"]


def test_one_exclamation_mark_is_not_shouting() -> None:
    assert codes("Sorry Nia, it is fixed!") == []


@pytest.mark.parametrize("draft", ["", "   ", "\n\t"])
def test_blank_draft_gets_no_findings(draft: str) -> None:
    assert check_tone(draft, CLOSING) == []


def test_findings_come_in_a_fixed_order() -> None:
    guide = "Thank you for telling us about the problem with your order. It has been passed on."
    draft = (
        "Hello, USER ERROR, OBVIOUSLY!! In due course: we apologise for any inconvenience. "
        "Please contact our returns team. " + guide
    )
    context = replace(
        CLOSING,
        response_guide=guide,
        stays_open=True,
        earlier_replies=(SentReply(1, draft.replace("Hello", "Hi")),),
    )
    assert [f.code for f in check_tone(draft, context)] == [
        *("blame", "stock_phrase", "non_apology", "passing_around", "not_addressed"),
        *("no_next_step", "form_letter", "copy_paste", "shouting"),
    ]
    # Without the non-apology, the missing apology is said in its place.
    draft = draft.replace("we apologise for any inconvenience", "thank you")
    assert "no_apology" in [f.code for f in check_tone(draft, context)]


def test_a_generic_greeting_is_said_once_not_also_as_a_missing_name() -> None:
    assert codes("Dear Sir or Madam, sorry for the wait.") == ["stock_phrase"]


def test_sorry_for_any_inconvenience_is_not_an_apology() -> None:
    assert apologises("We apologise for any inconvenience caused.") is False
    assert apologises("Sorry for the inconvenience this may have caused you.") is False
    assert apologises("We regret to inform you that it is sold out.") is False
    assert apologises("Sorry for any inconvenience, and I'm sorry the lid broke.") is True
    assert apologises("That was our mistake.") is True


def test_upset_words_are_quoted_as_the_customer_typed_them_each_once() -> None:
    text = "STILL WAITING. Fed up. Still waiting, and fed-up. This is unacceptable!"
    assert upset_words(text) == ["STILL WAITING", "Fed up", "unacceptable"]
    assert upset_words("Where can I find the opening hours?") == []


def test_nearly_the_same_words_under_the_bar_are_not_a_copy() -> None:
    sent = (
        "Hi Marta, I am sorry the checkout failed. We have found the fault in the payment "
        "page and will have it fixed by Thursday."
    )
    context = replace(CLOSING, earlier_replies=(SentReply(1, sent),))
    one_word = sent.replace("Marta", "Nia").replace("Thursday", "Friday")
    assert codes_in(one_word, context) == ["copy_paste"]
    rewritten = (
        "Hi Nia, I am sorry the checkout failed for you. The payment page had a fault when "
        "paying by card, and I will have it fixed by Friday."
    )
    assert codes_in(rewritten, context) == []


def test_a_published_we_did_is_checked_only_for_what_everyone_reads() -> None:
    we_did = "Dear customer, we fixed the lift. Please contact our facilities team."
    assert [f.code for f in check_published(we_did)] == ["stock_phrase", "passing_around"]
    assert check_published("We fixed the lift.") == []


def codes_in(draft: str, context: ToneContext) -> list[str]:
    return [f.code for f in check_tone(draft, context)]
