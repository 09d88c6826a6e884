"""What every request used to build again is kept per process (the URLs a page builds,
WTForms' catalogs): each answer is still the one its own request asks for."""

from __future__ import annotations

import re

from tests.helpers import login, post


def _links(page: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', page))


def test_a_site_served_under_a_path_links_under_that_path_after_one_served_at_the_root(
    client, make_feedback
) -> None:
    item = make_feedback(title="Parcel left in the rain")
    at_root = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    under_path = client.get(f"/feedback/{item.id}", base_url="http://localhost/portal/").get_data(
        as_text=True
    )
    assert "/feedback/new" in _links(at_root)
    assert "/portal/feedback/new" in _links(under_path)
    assert not any(link.startswith("/portal") for link in _links(at_root))
    # The same links at the root again: the path's were kept apart.
    again = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert _links(again) == _links(at_root)


def test_each_item_links_to_its_own_page_and_the_language_switcher_to_the_page_shown(
    client, make_feedback
) -> None:
    first = make_feedback(title="Late delivery")
    second = make_feedback(title="Wrong size sent")
    for item in (first, second, first):
        page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
        switcher = [link for link in _links(page) if "/language/" in link]
        assert switcher, "the footer offers the other languages"
        assert all(f"next=/feedback/{item.id}" in link for link in switcher), switcher


def test_wtforms_own_messages_come_in_each_readers_language(client) -> None:
    """WTForms' catalog is loaded once per language and process (portal.i18n), and each
    request still gets its reader's: German, then English, then German again."""
    too_long = "a" * 300 + "@example.com"
    said = {}
    for language in ("de", "en", "de"):
        client.set_cookie("lang", language)
        page = post(client, "/account/sign-in-link", {"email": too_long}).get_data(as_text=True)
        said.setdefault(language, []).append(
            ("Feld kann nicht länger als 254 Zeichen sein." in page),
        )
        said[language].append("Field cannot be longer than 254 characters." in page)
    assert said == {"de": [True, False, True, False], "en": [False, True]}


def test_the_button_a_vote_answers_with_takes_the_next_press(
    client, make_user, make_feedback
) -> None:
    """The vote's answer carries the CSRF token its request was checked with (no new one is
    signed): the swapped-in button's own form still votes, and takes the vote back."""
    item = make_feedback()
    login(client, make_user().email)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for want, count in (("1", 2), ("0", 1), ("1", 2)):
        answer = client.post(
            f"/feedback/{item.id}/vote",
            data={"csrf_token": token, "want": want},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200
        button = answer.get_data(as_text=True)
        assert f'<span class="vote__count">{count}</span>' in button
        # The next press sends what this button's form holds.
        token = re.search(r'name="csrf_token" value="([^"]+)"', button).group(1)  # type: ignore[union-attr]
