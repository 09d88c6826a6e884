"""Every word a page shows passes through the translation catalog: each page, rendered in a
pseudo-locale that marks catalog text (⟦àççéñţéð, ~30% longer⟧), holds no other words than
people's own data (titles, names, categories, the site's name) and dates.

PAGES grows as each part of the portal is marked; #23 ends when it holds every page type for
every role, and every email kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_test_app
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog, write_pseudo_catalog

ACCEPT = {"Accept-Language": PSEUDO_LANGUAGE}


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("translations")
    write_pseudo_catalog(directory)
    return directory


@pytest.fixture
def pseudo_site(database_uri: str, tmp_path: Path, catalogs: Path) -> Flask:
    return make_test_app(database_uri, tmp_path, PORTAL_TRANSLATIONS_DIR=str(catalogs))


@pytest.fixture
def people_data(make_feedback, make_category) -> list[str]:
    """What people wrote and named, which is shown as written in any language."""
    category = make_category(name="Parcels and post")
    item = make_feedback(title="Parcel left in the rain again", category=category)
    return [item.title, category.name, "Our organisation"]


PAGES = {
    "the board, for a visitor": "/",
    "the board, filtered and empty": "/?q=zzzzqqq",
    "a page that is not there": "/no-such-page",
}


@pytest.mark.parametrize("page", PAGES, ids=list(PAGES))
def test_every_word_on_the_page_comes_from_the_catalog(pseudo_site, people_data, page) -> None:
    html = pseudo_site.test_client().get(PAGES[page], headers=ACCEPT).get_data(as_text=True)
    assert f'lang="{PSEUDO_LANGUAGE}"' in html
    assert words_outside_the_catalog(html, people_data) == []


def test_the_check_finds_a_word_that_is_not_marked() -> None:
    html = "<p>\u27e6Ţĥàñķš\u00b7\u00b7\u27e7 Parcel left <b>forgotten</b> <time>4 Dec</time></p>"
    assert words_outside_the_catalog(html, ["Parcel left"]) == ["forgotten"]
