"""The pseudo-locale's site: a catalog of every marked word, accented and bracketed (pseudo.py),
and the words people wrote themselves, which no catalog holds. Each part of the portal has its
own test_pseudo_<part>.py using these."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_test_app
from tests.i18n.pseudo import PSEUDO_LANGUAGE, write_pseudo_catalog

ACCEPT = {"Accept-Language": PSEUDO_LANGUAGE}


@pytest.fixture(scope="session")
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
    # Last, the body: the board's cards show a line of it (tests read the others by place).
    return [item.title, category.name, "Our organisation", "Nia Okafor", "Nia", item.body_source]
