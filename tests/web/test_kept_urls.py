"""The URLs a page builds are kept per process (portal/templating.py): a page still links
where it would have, whatever was built before it."""

from __future__ import annotations

import re


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
