"""The tone check advises staff on a draft public reply; it never blocks one."""

from __future__ import annotations

import pytest

from portal.services.tone import ToneFinding, check_tone

GUIDE = (
    "Thank you for telling us about the delay to your delivery. We have passed your details to "
    "our delivery team, who will look into what went wrong and contact you within five working "
    "days."
)


def codes(
    draft: str, *, is_complaint: bool = True, name: str = "Nia", guide: str = GUIDE
) -> list[str]:
    return [
        f.code
        for f in check_tone(
            draft, is_complaint=is_complaint, preferred_name=name, response_guide=guide
        )
    ]


@pytest.mark.parametrize(
    ("draft", "is_complaint", "name", "expected"),
    [
        ("Hi Nia, did you call the helpline first? Sorry for the wait.", True, "Nia", {"blame"}),
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
    assert set(codes(draft, is_complaint=is_complaint, name=name)) == expected


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
    assert codes(draft, is_complaint=is_complaint, name=name) == []


def test_blaming_phrase_is_flagged_with_a_quote() -> None:
    [finding] = check_tone(
        "Hi Nia, sorry. Did you call us?", is_complaint=True, preferred_name="Nia"
    )
    assert finding == ToneFinding(
        "blame", 'Sounds like blame: "did you call". Say what we will do instead.'
    )


def test_blaming_phrases_are_all_quoted_in_reading_order() -> None:
    [finding] = check_tone(
        "Sorry Nia, you must have missed it; obviously it was user error.",
        is_complaint=True,
        preferred_name="Nia",
    )
    assert '"you must have", "obviously", "user error"' in finding.message


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
    assert codes("Thank you, Nia, what a lovely idea.", is_complaint=False) == []


def test_reply_to_mr_owen_must_use_the_full_name() -> None:
    assert codes("Dear Mr Owen, sorry for the wait.", name="Mr Owen") == []
    assert codes("Dear mr. owen, sorry for the wait.", name="Mr Owen") == []
    assert codes("Dear Owen, sorry for the wait.", name="Mr Owen") == ["not_addressed"]


def test_name_must_appear_as_a_whole_word() -> None:
    [finding] = check_tone("Alright, sorry for the wait.", is_complaint=True, preferred_name="Al")
    assert finding == ToneFinding("not_addressed", 'Address them as "Al", the name they chose.')


def test_blank_preferred_name_skips_the_address_check() -> None:
    assert codes("Sorry for the wait.", name="  ") == []


def test_guide_copied_with_one_word_changed_is_a_form_letter() -> None:
    draft = "Nia, sorry. " + GUIDE.replace("five", "ten")
    [finding] = check_tone(draft, is_complaint=True, preferred_name="Nia", response_guide=GUIDE)
    assert finding.code == "form_letter"
    assert finding.message.startswith("This reads like the response guide word for word.")


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
    [finding] = check_tone("WE ARE LOOKING INTO IT NOW", is_complaint=False, preferred_name="")
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
    assert check_tone(draft, is_complaint=True, preferred_name="Nia", response_guide=GUIDE) == []


def test_findings_come_in_a_fixed_order() -> None:
    draft = "Hello, USER ERROR, OBVIOUSLY!! " + GUIDE
    assert codes(draft) == ["blame", "no_apology", "not_addressed", "form_letter", "shouting"]
