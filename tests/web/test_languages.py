"""Choosing the language a page speaks: the person's preference, the switcher's cookie, the
browser's Accept-Language, the site's default; `lang` and `dir` on every page; the page cache
keeping each language's page apart; catalogs compiled at start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from portal.extensions import db
from portal.i18n import catalog_languages, compile_catalogs, negotiate
from portal.models import Feedback, Role, SiteSettings, User
from portal.services.site import SETTINGS_ID
from tests.conftest import make_test_app
from tests.helpers import login

# Two small catalogs: Spanish, and Arabic (written right to left). One word each is enough to
# see which catalog answered: the age of something just posted.
CATALOGS = {
    "es": "ahora mismo",
    "ar": "الآن",
}


def _write_catalogs(directory: Path) -> None:
    for code, just_now in CATALOGS.items():
        folder = directory / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            f'msgid "just now"\nmsgstr "{just_now}"\n',
            encoding="utf-8",
        )


@pytest.fixture
def site(database_uri: str, tmp_path: Path) -> Flask:
    """The portal offering English, Spanish and Arabic, with its page cache on."""
    catalogs = tmp_path / "translations"
    _write_catalogs(catalogs)
    return make_test_app(
        database_uri, tmp_path, PORTAL_TRANSLATIONS_DIR=str(catalogs), PAGE_CACHE_SECONDS=30.0
    )


def _language(page: str) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert found, "the page names no language"
    return found.group(1), found.group(2)


def test_the_catalogs_are_compiled_at_start_and_offered_with_english_first(tmp_path) -> None:
    _write_catalogs(tmp_path)
    assert catalog_languages(tmp_path) == ("en", "ar", "es")
    compiled = compile_catalogs(tmp_path)
    assert sorted(p.parent.parent.name for p in compiled) == ["ar", "es"]
    assert all(p.exists() for p in compiled)
    # Unchanged catalogs are not compiled again.
    assert compile_catalogs(tmp_path) == []


def test_a_page_with_only_english_offers_no_switcher_and_says_lang_en(
    database_uri: str, tmp_path: Path
) -> None:
    # A site whose translations folder holds no catalog: English alone.
    only_english = tmp_path / "no-catalogs"
    only_english.mkdir()
    app = make_test_app(database_uri, tmp_path, PORTAL_TRANSLATIONS_DIR=str(only_english))
    page = app.test_client().get("/").get_data(as_text=True)
    assert _language(page) == ("en", "ltr")
    assert 'aria-label="Language"' not in page


def test_the_shipped_catalogs_are_offered(client) -> None:
    page = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert _language(page) == ("fr", "ltr")
    assert '<span aria-current="true" lang="fr">Français</span>' in page


def test_the_browser_language_answers_a_visitor_and_the_switcher_offers_the_others(site):
    page = site.test_client().get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert _language(html) == ("es", "ltr")
    assert "Accept-Language" in page.headers["Vary"]
    # Plain links, each named in its own language; the current one is marked, not linked.
    assert '<span aria-current="true" lang="es">Español</span>' in html
    assert 'href="/language/ar?next=/"' in html
    assert 'href="/language/en?next=/"' in html


def test_a_right_to_left_language_sets_dir_rtl(site):
    page = site.test_client().get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert _language(page) == ("ar", "rtl")


def test_the_switcher_sets_a_cookie_that_outranks_the_browser_and_returns_to_the_page(site):
    browser = site.test_client()
    answer = browser.get("/language/es?next=/you-said-we-did")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/you-said-we-did"
    cookie = browser.get_cookie("lang")
    assert cookie is not None and cookie.value == "es" and cookie.http_only
    page = browser.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert _language(page) == ("es", "ltr")


def test_the_switcher_refuses_a_language_not_on_offer_and_a_next_that_leaves_the_site(site):
    browser = site.test_client()
    assert browser.get("/language/klingon").status_code == 404
    assert browser.get_cookie("lang") is None
    answer = browser.get("/language/es?next=//evil.example/")
    assert answer.headers["Location"] == "/"


def test_a_signed_in_persons_choice_is_saved_and_outranks_cookie_and_browser(site, make_user):
    person = make_user()
    browser = site.test_client()
    login(browser, person.email)
    browser.get("/language/ar?next=/")
    db.session.expire_all()
    assert db.session.get(User, person.id).language == "ar"
    # Another browser of theirs, with another cookie and another browser language.
    elsewhere = site.test_client()
    elsewhere.set_cookie("lang", "es")
    login(elsewhere, person.email)
    page = elsewhere.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _language(page) == ("ar", "rtl")


def test_the_site_default_answers_when_the_browser_names_no_language_on_offer(site, make_user):
    admin = make_user(role=Role.ADMIN)
    with site.app_context():
        settings = db.session.get(SiteSettings, SETTINGS_ID) or SiteSettings(id=SETTINGS_ID)
        settings.default_language = "es"
        db.session.add(settings)
        db.session.commit()
    assert admin.id
    page = site.test_client().get("/", headers={"Accept-Language": "fi"}).get_data(as_text=True)
    assert _language(page) == ("es", "ltr")


def test_the_page_cache_serves_each_language_its_own_page(site, make_feedback):
    make_feedback()
    spanish = site.test_client().get("/", headers={"Accept-Language": "es"})
    english = site.test_client().get("/", headers={"Accept-Language": "en"})
    again = site.test_client().get("/", headers={"Accept-Language": "es"})
    assert _language(spanish.get_data(as_text=True))[0] == "es"
    assert _language(english.get_data(as_text=True))[0] == "en"
    assert again.get_data() == spanish.get_data()
    # The cookie's language is a key too (the cookie is not a session: the page stays cached).
    by_cookie = site.test_client()
    by_cookie.set_cookie("lang", "ar")
    assert _language(by_cookie.get("/").get_data(as_text=True))[0] == "ar"


def test_ages_are_told_in_the_readers_language(site, make_feedback):
    make_feedback(title="Parcel left in the rain")
    page = site.test_client().get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "ahora mismo" in page


def test_negotiation_prefers_the_cookie_then_the_best_accepted_language() -> None:
    offered = ("en", "de", "es")
    assert negotiate("de", "es", offered) == "de"
    assert negotiate("fr", "fr-CA,es;q=0.8,en;q=0.5", offered) == "es"
    assert negotiate(None, "fi", offered) == ""
    assert negotiate(None, None, offered) == ""


def test_an_item_records_the_language_it_was_written_in(site, make_user, make_category):
    from tests.helpers import post

    person = make_user()
    category = make_category()
    browser = site.test_client()
    browser.set_cookie("lang", "es")
    login(browser, person.email)
    answer = post(
        browser,
        "/feedback/new",
        {
            "kind": "complaint",
            "category_id": str(category.id),
            "title": "El paquete llegó mojado",
            "body": "Lo dejaron bajo la lluvia otra vez.",
            "visibility": "public",
        },
    )
    assert answer.status_code == 302
    from portal.models import Feedback

    item = db.session.scalars(
        db.select(Feedback).where(Feedback.title == "El paquete llegó mojado")
    ).one()
    assert item.language == "es"


def test_an_admin_chooses_the_site_default_among_the_languages_on_offer(site, make_user):
    from tests.helpers import post

    admin = make_user(role=Role.ADMIN)
    browser = site.test_client()
    login(browser, admin.email)
    form = browser.get("/admin/settings").get_data(as_text=True)
    assert '<option lang="es" value="es">Español</option>' in form
    settings = {
        "organisation_name": "Harbour Water",
        "contact_email": "help@harbour.example",
        "time_zone": "Europe/Madrid",
    }
    refused = post(browser, "/admin/settings", {**settings, "default_language": "fi"})
    assert refused.status_code == 400
    assert "Harbour Water" in refused.get_data(as_text=True)  # what was typed is kept
    assert (
        post(browser, "/admin/settings", {**settings, "default_language": "es"}).status_code == 302
    )
    visitor = site.test_client().get("/", headers={"Accept-Language": "fi"})
    assert _language(visitor.get_data(as_text=True)) == ("es", "ltr")


def _rename_elsewhere(item_id: int, title: str) -> None:
    # Committed by the tests' own app: for `site` that is another process, whose kept pages
    # do not know of it until they age out. A page still showing the old title was kept.
    db.session.get(Feedback, item_id).title = title  # type: ignore[union-attr]
    db.session.commit()


# Three ways a visitor names a language: the browser's Accept-Language, the switcher's cookie,
# or nothing (the site's default: English).
ASKING = {
    "es": {"headers": {"Accept-Language": "es-ES,es;q=0.9"}},
    "ar": {"cookie": "ar"},
    "en": {},
}


@pytest.mark.parametrize("path", ["/", "/feedback/{item_id}"], ids=["board", "item"])
@pytest.mark.parametrize("session_cookie", [False, True], ids=["no-session", "session-cookie"])
def test_each_language_gets_its_own_kept_page(site, make_feedback, path, session_cookie) -> None:
    """A public page is kept once per language, and each language's visitors are answered
    with their own: whether the middleware answers (no session cookie) or Flask does (a
    visitor whose browser holds one)."""
    item = make_feedback(title="Parcel left in the rain")
    url = path.format(item_id=item.id)

    def ask(language: str) -> str:
        visitor = site.test_client()
        if session_cookie:
            visitor.get("/account/login")  # the sign-in form leaves a session cookie
        how = ASKING[language]
        if "cookie" in how:
            visitor.set_cookie("lang", how["cookie"])
        answer = visitor.get(url, headers=how.get("headers", {}))
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert _language(html)[0] == language, f"asked for {language}"
        return html

    first = {language: ask(language) for language in ASKING}
    _rename_elsewhere(item.id, "Parcel left out in the rain")
    for language in ASKING:
        again = ask(language)
        assert "Parcel left in the rain" in again, f"the {language} page was not kept"
        assert again == first[language]
