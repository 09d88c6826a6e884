"""Search per language: each item is searched as its own language is written. On PostgreSQL
its words are stemmed by its language's configuration (Spanish, German, French, English;
Arabic and unknown word for word); accents fold on both databases, in every language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback
from portal.services import editing
from portal.services.board import BoardFilters, board_page

SPANISH = ("Mi queja sobre la entrega", "El repartidor dejó el paquete en la calle bajo la lluvia.")
GERMAN = (
    "Die Lieferung kam wieder zu spät",
    "Der Fahrer hat das Paket einfach vor die Tür gelegt.",
)
FRENCH = ("Le remboursement de ma commande", "Le livreur a laissé le colis devant la porte.")
ENGLISH = ("The parcel was left in the rain", "The courier left it by the bins in the rain.")
ARABIC = ("تأخر التوصيل مرة أخرى", "ترك السائق الطرد أمام الباب تحت المطر.")


def _search(q: str) -> list[str]:
    return [item.title for item in board_page(BoardFilters.from_args({"q": q}), per_page=100).items]


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


# The words as the items write them, for the inflections only PostgreSQL's stemmers find.
AS_WRITTEN_ON_SQLITE = {
    "Lieferungen": "Lieferung",
    "Pakete": "Paket",
    "remboursements": "remboursement",
    "commandes": "commande",
}


@pytest.fixture
def items(make_feedback) -> dict[str, Feedback]:
    made = {}
    for code, (title, body) in {
        "es": SPANISH,
        "de": GERMAN,
        "fr": FRENCH,
        "en": ENGLISH,
        "ar": ARABIC,
    }.items():
        made[code] = make_feedback(title=title, body=body)
        assert made[code].language == code
    return made


@pytest.mark.parametrize(
    ("query", "found"),
    [
        pytest.param("quejas", SPANISH[0], id="Spanish plural finds the singular"),
        pytest.param("entregas", SPANISH[0], id="Spanish: entregas"),
        pytest.param("Lieferungen", GERMAN[0], id="German plural finds the singular"),
        pytest.param("Pakete", GERMAN[0], id="German: Pakete"),
        pytest.param("remboursements", FRENCH[0], id="French plural finds the singular"),
        pytest.param("commandes", FRENCH[0], id="French: commandes"),
        pytest.param("parcels", ENGLISH[0], id="English plural finds the singular"),
        pytest.param("التوصيل", ARABIC[0], id="Arabic word for word"),
    ],
)
def test_a_word_finds_an_item_in_its_language_however_that_language_inflects_it(
    items, query: str, found: str
) -> None:
    if not _postgres() and query in AS_WRITTEN_ON_SQLITE:
        # SQLite's FTS5 stems as English (porter) in every language: there a German or French
        # item is found by its words as written, and the inflection stays PostgreSQL's.
        query = AS_WRITTEN_ON_SQLITE[query]
    assert _search(query) == [found]


def test_a_languages_stop_words_do_not_keep_its_items_from_being_found(items) -> None:
    # Dropped from the search in the item's own language, as they are from its index.
    assert _search("la entrega") == [SPANISH[0]]
    assert _search("die Lieferung") == [GERMAN[0]]
    assert _search("le colis") == [FRENCH[0]]
    assert _search("the parcel") == [ENGLISH[0]]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        pytest.param("dejo", SPANISH[0], id="Spanish: dejó"),
        pytest.param("spat", GERMAN[0], id="German: spät"),
        pytest.param("Tur", GERMAN[0], id="German: Tür"),
        pytest.param("laisse", FRENCH[0], id="French: laissé"),
    ],
)
def test_a_word_typed_without_its_accents_finds_it(items, query: str, found) -> None:
    assert _search(query) == [found]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        pytest.param("dejó", SPANISH[0], id="Spanish"),
        pytest.param("spät", GERMAN[0], id="German"),
        pytest.param("laissé", FRENCH[0], id="French"),
    ],
)
def test_a_word_typed_with_its_accents_finds_it(items, query: str, found: str) -> None:
    assert _search(query) == [found]


def test_an_item_of_unknown_language_is_found_word_for_word(make_feedback) -> None:
    item = make_feedback(title="Lorem ipsum dolor", body="Sit amet.")
    db.session.execute(sa.update(Feedback).where(Feedback.id == item.id).values(language=None))
    db.session.commit()
    assert _search("ipsum") == ["Lorem ipsum dolor"]


def test_an_edit_into_another_language_is_searched_as_that_language(
    make_feedback, make_user
) -> None:
    author = make_user()
    item = make_feedback(author=author, title=ENGLISH[0], body=ENGLISH[1])
    editing.edit_item(author, item.id, title=GERMAN[0], body=GERMAN[1])
    db.session.commit()
    assert db.session.get(Feedback, item.id).language == "de"
    assert _search("parcel") == []
    if _postgres():
        assert _search("Lieferungen") == [GERMAN[0]]
    else:
        assert _search("Lieferung") == [GERMAN[0]]
