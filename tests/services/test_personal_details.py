"""The guard for personal details: what the detector finds (and must not), and the commands that
hold public words with personal details in them until the writer takes them out, makes what
they send private, or posts anyway."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Comment,
    Feedback,
    FeedbackState,
    Role,
    SiteSettings,
    Visibility,
)
from portal.services import accounts, workflow
from portal.services.feedback import add_comment, item_query, submit_feedback
from portal.services.personal_details import (
    CODES,
    PersonalDetailsHeld,
    find_details,
    iban_valid,
    luhn_valid,
    site_region,
)
from portal.services.site import settings_for_update
from tests.conftest import TEST_PASSWORD

# Each kind, as people type it: (text, the kind found, the words quoted as typed).
FOUND = [
    ("Call me on 07911 123456 after six.", "phone_number", "07911 123456"),
    ("Ring 020 7946 0958 and ask for me.", "phone_number", "020 7946 0958"),
    ("My cousin's is +1 212-555-0100.", "phone_number", "+1 212-555-0100"),
    (
        "Write to jo.bloggs+bins@example.co.uk please.",
        "email_address",
        "jo.bloggs+bins@example.co.uk",
    ),
    ("They charged 4111 1111 1111 1111 twice.", "card_number", "4111 1111 1111 1111"),
    ("Card 5500-0000-0000-0004 was used.", "card_number", "5500-0000-0000-0004"),
    ("Refund to GB82 WEST 1234 5698 7654 32 please.", "iban", "GB82 WEST 1234 5698 7654 32"),
    ("IBAN DE89370400440532013000 is mine.", "iban", "DE89370400440532013000"),
    ("Order #44821 never arrived.", "reference", "Order #44821"),
    ("It was #44821, again.", "reference", "#44821"),
    ("My order number 44821 never arrived.", "reference", "order number 44821"),
    ("See invoice INV-2024-0012 for it.", "reference", "invoice INV-2024-0012"),
    ("Account no. AB12CD is locked.", "reference", "Account no. AB12CD"),
    ("Reference: 7781 on the letter.", "reference", "Reference: 7781"),
    ("Deliver to 221B Baker Street next time.", "street_address", "221B Baker Street"),
    ("I live at 12 acacia avenue.", "street_address", "12 acacia avenue"),
    ("The bins at 3 Lime Way were missed.", "street_address", "3 Lime Way"),
    ("It's London NW1 6XE.", "postcode", "NW1 6XE"),
    ("postcode sw1a 1aa", "postcode", "sw1a 1aa"),
]

# What must NOT be flagged: numbers that are not anyone's details.
NOT_FOUND = [
    "44821",  # a bare 5-digit number
    "It happened 44821 times.",
    "Since 2019, and again in 2024.",  # years
    "From 1999 to 2005.",
    "I paid £1,299.99 and then $45.00.",  # prices
    "It was € 1.234,56 in the end.",
    "It cost 12500 pounds.",
    "The app says version 10.0.19045, build 2.14.1.",  # version numbers
    "On 12/03/2024 at 10:30.",  # dates and times
    "It came on 2024-03-12.",
    "I am #2 on the list.",  # a short "#"
    "My order was late again.",  # the word without a number
    "The account settings page is blank.",
    "It took 5 miles down the road.",  # a number and a street word, but no address
    "3 weeks on the road.",
    "We walked 2 miles to the Park.",
    "Took the A1 2nd exit.",
    "Card 4111 1111 1111 1112 fails the Luhn check.",
    "GB82 WEST 1234 5698 7654 33 has the wrong check digits.",
    "A fake phone: 07700 900123.",  # a drama number no phone can ring
]


@pytest.mark.parametrize(("text", "code", "quote"), FOUND)
def test_each_kind_of_personal_detail_is_found_and_quoted_as_typed(
    text: str, code: str, quote: str
) -> None:
    [detail] = find_details(text, "GB")
    assert (detail.code, detail.quote) == (code, quote)
    assert text[detail.start : detail.end] == quote


@pytest.mark.parametrize("text", NOT_FOUND)
def test_numbers_that_are_nobodys_details_are_not_flagged(text: str) -> None:
    assert find_details(text, "GB") == []


def test_details_are_listed_in_reading_order_each_read_once() -> None:
    text = "Order #44821 to 221B Baker Street, NW1 6XE; call 07911 123456 or jo@example.com."
    found = [(d.code, d.quote) for d in find_details(text, "GB")]
    assert found == [
        ("reference", "Order #44821"),
        ("street_address", "221B Baker Street"),
        ("postcode", "NW1 6XE"),
        ("phone_number", "07911 123456"),
        ("email_address", "jo@example.com"),
    ]


def test_a_card_number_after_the_word_order_is_found_as_a_card_not_a_reference() -> None:
    assert [d.code for d in find_details("order 4111111111111111", "GB")] == ["card_number"]


def test_phone_numbers_are_read_in_the_sites_region() -> None:
    national_us = "Call 212-555-0100 today."
    assert [d.code for d in find_details(national_us, "US")] == ["phone_number"]
    assert find_details(national_us, "GB") == []


def test_the_sites_own_contact_details_are_not_personal_details() -> None:
    text = "I rang 020 7946 0958 and wrote to help@example.org."
    assert find_details(text, "GB", allowed=("help@example.org", "+44 20 7946 0958")) == []


def test_luhn_and_iban_checks() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert not luhn_valid("123456789012")  # too short to be a card
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


@pytest.mark.parametrize(
    ("phone", "language", "region"),
    [
        ("+44 20 7946 0958", "en", "GB"),
        ("+1 212 555 0100", "en", "US"),  # the site's own number says where it is
        ("", "en", "GB"),  # English here is British
        ("", "en-US", "US"),
        ("", "de", "DE"),  # else the language's likely country
        ("0161 496 0000", "es", "ES"),  # a national number says nothing of the country
        ("", "eo", "GB"),  # a language of no one country: the default
        ("", "xx-not-a-language", "GB"),
    ],
)
def test_the_sites_region_comes_from_its_phone_number_then_its_language(
    phone: str, language: str, region: str
) -> None:
    settings = SiteSettings(contact_phone=phone, default_language=language)
    assert site_region(settings) == region


# The commands ----------------------------------------------------------------------------------


def _loaded(item: Feedback) -> Feedback:
    """The item with its people and category, as the admin page loads it."""
    return db.session.scalars(item_query(item.id)).one()


def _details(findings: list) -> list[str]:
    """The codes of the guard's findings among the tone check's."""
    return [f.code for f in findings if f.code in CODES]


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_a_public_item_with_personal_details_is_held_with_each_field_quoted(
    make_user, make_category
) -> None:
    author, category = make_user(), make_category()
    with pytest.raises(PersonalDetailsHeld) as held:
        submit_feedback(
            author,
            kind="complaint",
            category_id=category.id,
            title="Order #44821 never came",
            body="Ring me on 07911 123456.",
            visibility=Visibility.PUBLIC,
        )
    db.session.rollback()
    assert {field: [f.quotes for f in found] for field, found in held.value.by_field.items()} == {
        "title": [("Order #44821",)],
        "body": [("07911 123456",)],
    }
    assert held.value.status_code == 422
    assert held.value.message.startswith(
        "This will be public: make it private, or take the details out?"
    )
    assert '"07911 123456"' in held.value.message
    assert _count(Feedback) == 0


@pytest.mark.parametrize(
    ("visibility", "post_anyway"), [(Visibility.PRIVATE, False), (Visibility.PUBLIC, True)]
)
def test_a_private_item_or_one_posted_anyway_goes_through_as_written(
    make_user, make_category, visibility: Visibility, post_anyway: bool
) -> None:
    item = submit_feedback(
        make_user(),
        kind="complaint",
        category_id=make_category().id,
        title="Order #44821 never came",
        body="Ring me on 07911 123456.",
        visibility=visibility,
        post_anyway=post_anyway,
    )
    db.session.commit()
    assert item.visibility is visibility and item.body_source == "Ring me on 07911 123456."


def test_a_comment_on_a_public_item_is_held_and_on_a_private_one_is_not(
    make_user, make_feedback
) -> None:
    author = make_user()
    public = make_feedback(author=author)
    private = make_feedback(author=author, visibility=Visibility.PRIVATE)
    with pytest.raises(PersonalDetailsHeld) as held:
        add_comment(author, public.id, "It's 12 Acacia Avenue, the blue door.")
    db.session.rollback()
    assert held.value.message.startswith(
        "This will be public: take the details out, or post it anyway?"
    )
    assert _count(Comment) == 0
    add_comment(author, private.id, "It's 12 Acacia Avenue, the blue door.")
    add_comment(author, public.id, "It's 12 Acacia Avenue, the blue door.", post_anyway=True)
    db.session.commit()
    assert _count(Comment) == 2


def test_a_staff_reply_on_a_public_item_is_held_with_the_tone_checks_findings(
    make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    reply = "I'm sorry about this. I have refunded order 55120 and will write when it lands."
    with pytest.raises(workflow.ToneHeld) as held:
        workflow.reply(item.id, staff, reply)
    db.session.rollback()
    [finding] = [f for f in held.value.findings if f.code == "reference"]
    assert finding.quotes == ("order 55120",)
    assert finding.message == (
        'An order or account reference: "order 55120". Take it out before it goes public.'
    )
    workflow.reply(item.id, staff, reply, post_anyway=True)
    db.session.commit()
    assert db.session.get(Feedback, item.id).state is FeedbackState.ACKNOWLEDGED


def test_a_staff_reply_on_a_private_item_may_name_the_order(make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(author=make_user(preferred_name="Nia"), visibility=Visibility.PRIVATE)
    reply = "Nia, I'm sorry about this. I have refunded order 55120 and will write when it lands."
    assert _details(workflow.tone_findings(_loaded(item), reply, staff)) == []
    workflow.reply(item.id, staff, reply)
    db.session.commit()


def test_the_live_check_uses_the_sites_own_contact_details(make_user, make_feedback) -> None:
    settings_for_update().contact_phone = "+44 20 7946 0958"
    db.session.commit()
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    draft = "I'm sorry. Call us on 020 7946 0958 and I will sort it out today."
    assert _details(workflow.tone_findings(_loaded(item), draft, staff)) == []


# Deleting an account -----------------------------------------------------------------------------


def test_deleting_an_account_may_take_its_public_words_out_of_public_view(
    make_user, make_feedback
) -> None:
    leaving, other = make_user(), make_user()
    public = make_feedback(author=leaving)
    private = make_feedback(author=leaving, visibility=Visibility.PRIVATE)
    elsewhere = make_feedback(author=other)
    add_comment(leaving, elsewhere.id, "Same here, every week.")
    db.session.commit()

    accounts.delete_account(leaving, TEST_PASSWORD, redact_public=True)
    db.session.commit()

    assert db.session.get(Feedback, public.id).redacted_at is not None
    assert db.session.get(Feedback, private.id).redacted_at is None  # never public
    [comment] = db.session.scalars(sa.select(Comment)).all()
    assert comment.hidden and db.session.get(Feedback, elsewhere.id).comment_count == 0
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("item.redacted") == 1 and actions.count("comment.hidden") == 1


def test_deleting_an_account_without_asking_leaves_its_public_words(
    make_user, make_feedback
) -> None:
    leaving = make_user()
    public = make_feedback(author=leaving)
    accounts.delete_account(leaving, TEST_PASSWORD)
    db.session.commit()
    assert db.session.get(Feedback, public.id).redacted_at is None
