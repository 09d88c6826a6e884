"""Every word a page shows passes through the translation catalog: each page, rendered in a
pseudo-locale that marks catalog text (⟦àççéñţéð, ~30% longer⟧), holds no other words than
people's own data (titles, names, categories, the site's name) and dates.

PAGES grows as each part of the portal is marked; #23 ends when it holds every page type for
every role, and every email kind."""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.helpers import login, post
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog

# Each page type, and who looks at it: a visitor, or a signed-in customer.
PAGES = {
    "the board, for a visitor": ("/", None),
    "the board, for a customer": ("/", Role.CUSTOMER),
    "the board, filtered and empty": ("/?q=zzzzqqq", None),
    "a page that is not there": ("/no-such-page", None),
    "sign in": ("/account/login", None),
    "create an account": ("/account/register", None),
    "give feedback": ("/feedback/new", Role.CUSTOMER),
    "get the digest": ("/digest/subscribe", None),
}


@pytest.mark.parametrize("page", PAGES, ids=list(PAGES))
def test_every_word_on_the_page_comes_from_the_catalog(
    pseudo_site, people_data, make_user, page
) -> None:
    path, role = PAGES[page]
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)  # as the switcher leaves it, from sign-in on
    if role is not None:
        person = make_user(role=role, display_name="Nia Okafor", preferred_name="Nia")
        login(browser, person.email)
    answer = browser.get(path, headers=ACCEPT)
    assert answer.status_code == (404 if path == "/no-such-page" else 200)
    html = answer.get_data(as_text=True)
    assert f'lang="{PSEUDO_LANGUAGE}"' in html
    assert words_outside_the_catalog(html, people_data) == []


def test_the_check_finds_a_word_that_is_not_marked() -> None:
    html = "<p>\u27e6Ţĥàñķš\u00b7\u00b7\u27e7 Parcel left <b>forgotten</b> <time>4 Dec</time></p>"
    assert words_outside_the_catalog(html, ["Parcel left"]) == ["forgotten"]


@pytest.mark.parametrize("path", ["/account/register", "/feedback/new"])
def test_a_refused_form_says_what_is_wrong_through_the_catalog(
    pseudo_site, people_data, make_user, path
) -> None:
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    if path == "/feedback/new":
        login(browser, make_user(display_name="Nia Okafor", preferred_name="Nia").email)
    refused = post(browser, path, {"title": "x"})
    html = refused.get_data(as_text=True)
    assert "field__error" in html
    assert words_outside_the_catalog(html, people_data) == []
