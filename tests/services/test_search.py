"""Full-text search: ranking, visibility, filters, hostile input and an index kept in step."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from portal.extensions import db
from portal.models import Feedback, Follow, OutboxMessage, Role, TimelineEvent, Vote
from portal.services import workflow
from portal.services.board import BoardFilters, board_page
from portal.services.search import SearchQuery, apply_search, highlight, similar_items, snippet
from tests.helpers import database_independent


def _search(q: str, **args: str) -> list[str]:
    filters = BoardFilters.from_args({"q": q, **args})
    return [item.title for item in board_page(filters, per_page=100).items]


def test_a_title_match_ranks_above_a_body_match(make_feedback) -> None:
    make_feedback(title="Problem with my order", body="The refund never arrived at all.")
    make_feedback(title="Refund missing after return", body="I sent it back weeks ago.")
    assert _search("refund") == ["Refund missing after return", "Problem with my order"]


def test_the_more_searched_words_a_title_holds_the_higher_it_ranks(make_feedback) -> None:
    # Each database ranks its own way (SQLite counts the words in the title, PostgreSQL's
    # ts_rank_cd also weighs how close they stand); on both, a title with every searched
    # word comes first, the last word read as the start of longer words as well.
    make_feedback(title="Courier was late", body="The refund for the parcel never came.")
    make_feedback(title="Parcel refunded at last", body="Thanks.")
    make_feedback(title="Parcel lost", body="I want a refund.")
    found = _search("parcel refund")
    assert found[0] == "Parcel refunded at last"
    assert sorted(found[1:]) == ["Courier was late", "Parcel lost"]


def test_words_are_stemmed_and_the_last_one_matches_as_a_prefix(make_feedback) -> None:
    make_feedback(title="Deliveries keep arriving late")
    assert _search("delivery") == ["Deliveries keep arriving late"]
    assert _search("arriv") == ["Deliveries keep arriving late"]


def test_a_word_shorter_than_three_letters_is_not_searched_as_a_prefix(make_feedback) -> None:
    make_feedback(title="Opening hours are wrong online")
    make_feedback(title="Ö is missing from the keyboard")
    # The index folds accents: "ö" as a prefix ran as "o*" and found every word with an o.
    assert _search("ö") == ["Ö is missing from the keyboard"]
    assert _search("on") == []
    assert _search("ope") == ["Opening hours are wrong online"]


def test_all_words_must_match_on_the_board(make_feedback) -> None:
    make_feedback(title="Checkout times out")
    make_feedback(title="Checkout button is grey")
    assert _search("checkout grey") == ["Checkout button is grey"]


def test_private_hidden_and_held_items_are_not_found_on_the_board(make_feedback, make_user) -> None:
    staff = make_user(role=Role.STAFF)
    make_feedback(title="Parcel private complaint", visibility="private")
    hidden = make_feedback(title="Parcel hidden complaint")
    workflow.set_hidden(hidden.id, staff, True, "abusive")
    db.session.commit()
    make_feedback(title="Parcel public complaint")
    assert _search("parcel") == ["Parcel public complaint"]


def test_search_combines_with_filters_and_sorts(make_feedback, make_category, make_user) -> None:
    billing, delivery = make_category(name="Billing"), make_category(name="Delivery")
    make_feedback(title="Late refund", category=billing)
    make_feedback(title="Late parcel", category=delivery)
    newest = make_feedback(title="Late parcel again", category=delivery, kind="idea")
    assert sorted(_search("late", category="delivery")) == ["Late parcel", "Late parcel again"]
    assert _search("late", kind="idea") == ["Late parcel again"]
    assert _search("late", sort="new")[0] == newest.title
    assert _search("late", category="delivery", state="received", sort="top")


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "*",
        "NEAR(",
        "-",
        "'",
        "\\",
        "' OR 1=1 --",
        '"; DROP TABLE feedback; --',
        "title:refund",
        "refund AND",
        "(((",
        "a" * 2_000,
        "the",
        "NOT",
        "^",
        "-refund",
        "refund*",
        "{}",
        "\x00",
        "émoji 😀",
    ],
)
def test_hostile_queries_return_results_or_nothing_never_an_error(make_feedback, hostile) -> None:
    make_feedback(title="Refund missing")
    filters = BoardFilters.from_args({"q": hostile})
    board_page(filters, per_page=20)  # does not raise
    similar_items(hostile)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 1


def test_the_index_follows_edits_and_deletions(make_feedback) -> None:
    item = make_feedback(title="Kettle leaks")
    item.title = "Toaster burns bread"
    db.session.commit()
    assert _search("kettle") == []
    assert _search("toaster") == ["Toaster burns bread"]
    # Items are normally kept for ever; a row removed by hand must leave the index too.
    for model in (Vote, Follow, TimelineEvent, OutboxMessage):
        db.session.execute(sa.delete(model).where(model.feedback_id == item.id))
    db.session.execute(sa.delete(Feedback).where(Feedback.id == item.id))
    db.session.commit()
    assert _search("toaster") == []


def test_the_index_respects_merges_through_the_suggestions(make_feedback, make_user) -> None:
    staff = make_user(role=Role.STAFF)
    target = make_feedback(title="App crashes on login")
    duplicate = make_feedback(title="App crashes when logging in")
    workflow.merge(
        duplicate.id, staff, target.id, "Same crash, handled together.", post_anyway=True
    )
    db.session.commit()
    assert [i.title for i in similar_items("app crashes")] == ["App crashes on login"]


def test_similar_items_match_any_meaningful_word_and_skip_closed_ones(make_feedback, make_user):
    staff = make_user(role=Role.STAFF)
    make_feedback(title="Dark mode for the app")
    declined = make_feedback(title="Dark theme please")
    workflow.decline(
        declined.id, staff, "Sorry, we will not do a theme this year.", post_anyway=True
    )
    db.session.commit()
    for n in range(7):
        make_feedback(title=f"Night reading mode {n}")
    assert "Dark mode for the app" in [i.title for i in similar_items("a dark screen")]
    assert "Dark theme please" not in [i.title for i in similar_items("dark theme")]
    assert len(similar_items("reading mode")) == 5
    assert similar_items("the and of") == []


def test_staff_search_finds_private_items_in_triage(make_feedback, make_user) -> None:
    from portal.services.triage import TriageFilters, triage_query

    staff = make_user(role=Role.STAFF)
    make_feedback(title="Refund to old card", visibility="private")
    filters = TriageFilters.from_args({"q": "refund"})
    assert [i.title for i in db.session.scalars(triage_query(filters, staff))] == [
        "Refund to old card"
    ]


def test_highlight_escapes_user_html_and_marks_words() -> None:
    search = SearchQuery.parse("script refund")
    html = str(highlight('<script>alert("refund")</script> & refunds', search))
    assert "<script>" not in html
    assert "&lt;<mark>script</mark>&gt;" in html
    assert "<mark>refunds</mark>" in html and "&amp;" in html


def _marked_by_the_pattern(text: str, terms: tuple[str, ...]) -> str:
    """What highlight() wrote before it looked for the terms itself: a case-insensitive
    pattern run over the whole text (and still does, where folding changes its length)."""
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*",
        re.IGNORECASE,
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [str(escape(text[last : match.start()])), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    return "".join([*out, str(escape(text[last:]))])


# Letters in both cases, accented ones, digits, the underscore (a word character), spaces,
# punctuation and what HTML escapes; no characters whose case folding changes their count.
_TEXT = st.text(alphabet="abcREFUNDéÉ_1 -.,'<>&\"", max_size=40)


@database_independent
@settings(max_examples=300, deadline=None)
@given(
    text=_TEXT,
    words=st.lists(st.text(alphabet="abcrefundé", min_size=1, max_size=4), min_size=1, max_size=3),
)
@example(text="Refunds, REFUND and unrefunded refund_x", words=["refund"])
@example(text="ref refund", words=["ref", "refund"])
def test_highlight_marks_what_the_case_insensitive_pattern_marks(
    text: str, words: list[str]
) -> None:
    search = SearchQuery.parse(" ".join(words))
    assert str(highlight(text, search)) == _marked_by_the_pattern(text, search.terms)


@database_independent
def test_highlight_marks_words_whose_case_folding_changes_their_length() -> None:
    # "ß" folds to "ss": the folded text's positions are not the text's, so the pattern marks.
    search = SearchQuery.parse("strasse refund")
    html = str(highlight("Große STRASSE: Refund für Straße", search))
    assert html == "Große <mark>STRASSE</mark>: <mark>Refund</mark> für Straße"


@database_independent
def test_highlight_escapes_text_holding_its_own_control_characters() -> None:
    search = SearchQuery.parse("refund")
    html = str(highlight("a\x02<b>\x03 refund", search))
    assert html == "a\x02&lt;b&gt;\x03 <mark>refund</mark>"


@database_independent
def test_a_snippet_finds_a_word_whose_case_folding_changes_its_length() -> None:
    body = "Word " * 60 + "the Straße parcel never came. " + "End " * 60
    html = str(snippet(body, SearchQuery.parse("straße")))
    assert "<mark>Straße</mark> parcel" in html


@database_independent
def test_a_snippet_shows_the_words_around_the_first_match_marked() -> None:
    body = "Word " * 60 + "then the <refund> never came, and the REFUND form failed. " + "End " * 60
    html = str(snippet(body, SearchQuery.parse("refund")))
    assert html.startswith("\u2026") and html.endswith("\u2026")
    assert "&lt;<mark>refund</mark>&gt; never came, and the <mark>REFUND</mark> form" in html
    assert len(html) < len(body)


def test_an_empty_search_matches_nothing() -> None:
    query = apply_search(sa.select(Feedback), SearchQuery.parse("!!!"))
    assert list(db.session.scalars(query)) == []
