"""Every email kind, in each shipped language: the same story as the pseudo-locale's test
(tests/i18n/test_pseudo_emails.py), told to people who read Spanish, German, French or
Arabic, through the shipped catalogs. Each email is in its reader's language (marked so in
its HTML, right to left for Arabic), carries none of the English sentences it was written
from, and its HTML passes the Nu Html Checker, as the site's pages do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from portal import ENVIRONMENT_KEY
from portal.extensions import db
from portal.i18n import TRANSLATIONS_DIR
from portal.services.environment import RenderedEmail
from tests.i18n.test_pseudo_emails import KINDS, _tell_everything
from tests.i18n.test_pseudo_emails import written as written
from tests.validators.test_html_validity import RenderedPage, _check
from tests.validators.test_html_validity import nu_checker as nu_checker

LANGUAGES = ("es", "de", "fr", "ar")
# Long enough that finding one in an email means an English sentence got through.
SENTENCE = 30


def _english_sentences(language: str) -> list[str]:
    """The catalog's English messages that read as sentences, where its translation differs."""
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    found = []
    for message in catalog:
        if not isinstance(message.id, str) or len(message.id) < SENTENCE:
            continue
        if re.search(r"[%{<&]", message.id) or message.string == message.id:
            continue  # the placeholders and markup break it up as rendered
        found.append(message.id)
    return found


@pytest.fixture
def in_site(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app with its shipped catalogs, its context pushed; a follower's second update of a
    day is folded into a summary (so that email kind is written too)."""
    before = app.extensions[ENVIRONMENT_KEY]
    capped = replace(before, settings=replace(before.settings, notification_daily_cap=1))
    monkeypatch.setitem(app.extensions, ENVIRONMENT_KEY, capped)
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_kind_is_written_in_each_shipped_language(
    language: str,
    in_site: Flask,
    written: list[tuple[str, RenderedEmail]],
    nu_checker: Path,
    make_user,
    make_category,
    tmp_path: Path,
) -> None:
    _tell_everything(in_site, make_user, make_category, language)
    kinds_written = {template for template, _ in written}
    assert kinds_written >= set(KINDS), f"never written: {set(KINDS) - kinds_written}"

    english = _english_sentences(language)
    leaks = []
    pages = {}
    for number, (template, rendered) in enumerate(written):
        assert rendered.language == language, template
        assert f'lang="{language}"' in rendered.html, template
        if language == "ar":
            assert 'dir="rtl"' in rendered.html, template
        for part in (rendered.subject, rendered.text):
            leaks += [f"{template}: {sentence!r}" for sentence in english if sentence in part]
        pages[f"{number:02d}-{template}"] = RenderedPage(rendered.html, [template])
    assert not leaks, "English left in:\n" + "\n".join(sorted(set(leaks)))

    errors = [
        f"{Path(m.get('url', '?')).stem}, line {m.get('lastLine', '?')}: {m['message']}"
        for m in _check(nu_checker, pages, tmp_path)
        if m["type"] in ("error", "non-document-error")
    ]
    assert not errors, "\n".join(errors)
