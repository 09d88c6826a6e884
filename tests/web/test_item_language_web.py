"""Items in another language than the page's are labelled with that language, named in the
page's language, and their title and text carry `lang` (and `dir` for Arabic) so screen
readers pronounce them right: on the board, in search results and on the item's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.i18n import babel
from portal.models import Feedback
from tests.conftest import make_test_app

# Small catalogs: the label's sentence, as a Spanish and an Arabic translator would write it.
CATALOGS = {"es": "en %(language)s", "ar": "ب%(language)s"}

SPANISH = ("El paquete llegó mojado", "Lo dejaron bajo la lluvia otra vez, delante de la puerta.")
ARABIC = ("تأخر التوصيل مرة أخرى", "ترك السائق الطرد أمام الباب تحت المطر.")
ENGLISH = ("The parcel was left in the rain", "The courier left it by the bins in the rain.")


@pytest.fixture
def site(database_uri: str, tmp_path: Path) -> Iterator[Flask]:
    """The portal offering English, Spanish and Arabic."""
    catalogs = tmp_path / "translations"
    for code, words in CATALOGS.items():
        folder = catalogs / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            f'msgid "in %(language)s"\nmsgstr "{words}"\n',
            encoding="utf-8",
        )
    # Flask-Babel keeps catalogs on the one shared Babel, by language: another test's app's
    # Spanish catalog must not answer for these, nor these for a later test's.
    babel.domain_instance.cache.clear()
    yield make_test_app(database_uri, tmp_path, PORTAL_TRANSLATIONS_DIR=str(catalogs))
    babel.domain_instance.cache.clear()


@pytest.fixture
def items(site, make_feedback) -> dict[str, int]:
    """Each item's id, by the language it is written in."""
    with site.app_context():
        return {
            code: make_feedback(title=title, body=body).id
            for code, (title, body) in {"es": SPANISH, "ar": ARABIC, "en": ENGLISH}.items()
        }


def _page(site: Flask, path: str, language: str, **headers: str) -> str:
    browser = site.test_client()
    browser.set_cookie("lang", language)
    answer = browser.get(path, headers=headers)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _title_attrs(html: str, title: str) -> str:
    """The attributes of the element whose text (or link's text) is this title."""
    found = re.search(r"<h[13]([^>]*)>(?:<a [^>]*>)?" + re.escape(title), html)
    assert found, title
    return found.group(1)


def _labels(html: str) -> list[str]:
    return re.findall(r'<span class="language-label">([^<]*)</span>', html)


def test_on_an_english_board_other_languages_are_labelled_and_marked(site, items) -> None:
    board = _page(site, "/", "en")
    assert sorted(_labels(board)) == ["in Arabic", "in Spanish"]
    assert 'lang="es" dir="ltr"' in _title_attrs(board, SPANISH[0])
    assert 'lang="ar" dir="rtl"' in _title_attrs(board, ARABIC[0])
    # The page's own language needs neither a label nor an attribute.
    assert "lang=" not in _title_attrs(board, ENGLISH[0])


def test_on_a_spanish_board_the_language_is_named_in_spanish(site, items) -> None:
    board = _page(site, "/", "es")
    assert sorted(_labels(board)) == ["en inglés", "en árabe"]
    assert "lang=" not in _title_attrs(board, SPANISH[0])
    assert 'lang="en" dir="ltr"' in _title_attrs(board, ENGLISH[0])


def test_on_an_arabic_page_english_words_keep_left_to_right(site, items) -> None:
    board = _page(site, "/", "ar")
    assert 'lang="en" dir="ltr"' in _title_attrs(board, ENGLISH[0])
    assert "بالإسبانية" in _labels(board)
    assert "lang=" not in _title_attrs(board, ARABIC[0])


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_search_results_are_labelled_too(site, items, htmx: bool) -> None:
    headers = {"HX-Request": "true"} if htmx else {}
    results = _page(site, "/?q=paquete", "en", **headers)
    assert _labels(results) == ["in Spanish"]
    # The searched word is marked inside the title.
    assert 'lang="es" dir="ltr"' in _title_attrs(results, "El <mark>paquete</mark>")
    snippet = re.search(r'<p class="item-card__snippet"([^>]*)>', results)
    assert snippet and 'lang="es"' in snippet.group(1)


def test_the_item_page_labels_it_and_marks_its_title_and_text(site, items) -> None:
    html = _page(site, f"/feedback/{items['ar']}", "en")
    assert _labels(html) == ["in Arabic"]
    assert 'lang="ar" dir="rtl"' in _title_attrs(html, ARABIC[0])
    body = re.search(r'<div class="prose item__body"([^>]*)>', html)
    assert body and 'lang="ar" dir="rtl"' in body.group(1)
    same = _page(site, f"/feedback/{items['en']}", "en")
    assert _labels(same) == []
    assert re.search(r'<div class="prose item__body">', same)


def test_an_item_of_unknown_language_reads_as_the_sites_default(site, items) -> None:
    with site.app_context():
        db.session.execute(sa.update(Feedback).values(language=None))
        db.session.commit()
    assert _labels(_page(site, "/", "en")) == []
    assert _labels(_page(site, "/", "es")) == ["en inglés"] * 3
