"""Every public page answers, in plain HTML and with htmx, in a fixed number of queries."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import Role
from portal.services.site import settings_for_update
from portal.services.votes import set_vote
from tests.helpers import count_queries, empty_read_cache, login, post


def test_board_lists_public_items_with_their_facts(client, make_feedback, make_category) -> None:
    billing = make_category(name="Billing")
    make_feedback(title="Charged twice for one order", category=billing)
    page = client.get("/").get_data(as_text=True)
    assert "Charged twice for one order" in page
    assert "Billing" in page
    assert "Received" in page  # the state badge's label


def test_the_count_of_a_narrowed_order_reads_as_one_sentence(
    client, make_feedback, make_user
) -> None:
    # Trending and recently answered say what they list after the count, with a space
    # between ("1 item with votes ...", once rendered as "1 itemwith votes ...").
    item = make_feedback(title="Voted for this week")
    set_vote(make_user(), item.id, True)
    db.session.commit()

    def count_line(sort: str) -> str:
        page = client.get(f"/?sort={sort}").get_data(as_text=True)
        line = re.search(r'<p class="results-count"[^>]*>(.*?)</p>', page, re.S)
        assert line is not None
        return " ".join(line.group(1).split())

    assert count_line("trending") == "1 item with votes in the last 14 days, the most first"
    assert count_line("answered") == "0 items with a published answer, the latest first"


def test_board_shows_organisation_contact_details_on_every_page(client) -> None:
    settings = settings_for_update()
    settings.organisation_name = "Brightside Home"
    settings.contact_phone = "0800 123 4567"
    db.session.commit()
    for url in ("/", "/account/login", "/account/register", "/does-not-exist"):
        page = client.get(url).get_data(as_text=True)
        assert "Brightside Home" in page and "0800 123 4567" in page, url


def test_board_filters_and_sorts_from_the_url(
    client, make_feedback, make_category, make_user
) -> None:
    billing, delivery = make_category(name="Billing"), make_category(name="Delivery")
    old = make_feedback(title="Old billing item", category=billing)
    make_feedback(title="Delivery item", category=delivery, kind="idea")
    new = make_feedback(title="New billing item", category=billing)
    from portal.services.votes import set_vote

    set_vote(make_user(), old.id, want=True)
    db.session.commit()

    page = client.get("/?category=billing").get_data(as_text=True)
    assert "Old billing item" in page and "New billing item" in page
    assert "Delivery item" not in page
    top = client.get("/?category=billing&sort=top").get_data(as_text=True)
    assert top.index("Old billing item") < top.index("New billing item")
    newest = client.get("/?category=billing&sort=new").get_data(as_text=True)
    assert newest.index("New billing item") < newest.index("Old billing item")
    ideas = client.get("/?kind=idea").get_data(as_text=True)
    assert "Delivery item" in ideas and "billing item" not in ideas
    assert new.id != old.id


def test_board_ignores_nonsense_filters(client, make_feedback) -> None:
    make_feedback(title="Still listed")
    response = client.get("/?state=bogus&kind=%27&sort=x&page=abc&category=")
    assert response.status_code == 200
    assert "Still listed" in response.get_data(as_text=True)


def test_board_is_paginated(app, client, make_feedback, make_category) -> None:
    category = make_category()
    for n in range(app.config["BOARD_PAGE_SIZE"] + 3):
        make_feedback(title=f"Paged item {n:02d}", category=category)
    first = client.get("/?sort=new").get_data(as_text=True)
    second = client.get("/?sort=new&page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Paged item 22" in first
    assert "Paged item 00" in second and "Paged item 22" not in second


def test_board_htmx_request_gets_only_the_results_fragment(client, make_feedback) -> None:
    make_feedback(title="Fragment item")
    response = client.get("/", headers={"HX-Request": "true", "HX-Target": "board-results"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Fragment item" in body
    assert "<html" not in body and 'id="board-results"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_board_costs_a_fixed_number_of_queries(
    app, client, make_feedback, make_category, make_user
) -> None:
    category = make_category()
    viewer = make_user()
    login(client, viewer.email)
    make_feedback(category=category)
    empty_read_cache(app)
    with count_queries(db.engine) as small:
        client.get("/")
    for _ in range(15):
        make_feedback(category=category)
    empty_read_cache(app)
    with count_queries(db.engine) as large:
        client.get("/")
    assert large.count == small.count
    # The signed-in viewer costs two statements: the user load, which joins their session row
    # to check it is not ended (server-held sessions add +0 here, folded into that load), and
    # the header's count of unread updates (services/updates.py, one indexed statement).
    assert large.count <= 7, large.statements
    # Once warm, the process reuses settings, categories and the count.
    with count_queries(db.engine) as warm:
        client.get("/")
    assert warm.count <= large.count - 3, warm.statements


def test_item_page_costs_a_fixed_number_of_queries(client, make_feedback, make_user) -> None:
    item = make_feedback()
    empty_read_cache(client.application)
    with count_queries(db.engine) as few:
        client.get(f"/feedback/{item.id}")
    for _ in range(6):
        commenter = make_user()
        login_client = client.application.test_client()
        login(login_client, commenter.email)
        post(login_client, f"/feedback/{item.id}/comments", {"body": "Me too, same thing."})
    empty_read_cache(client.application)
    with count_queries(db.engine) as many:
        client.get(f"/feedback/{item.id}")
    assert many.count == few.count
    assert many.count <= 6, many.statements


def test_item_page_shows_body_timeline_and_comments(client, make_feedback) -> None:
    item = make_feedback(title="Kettle broke", body="It stopped **heating**.")
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Kettle broke" in page
    assert "<strong>heating</strong>" in page
    assert "What has happened" in page and "Received" in page
    assert "Comments (0)" in page


def test_unknown_item_is_a_friendly_404(client) -> None:
    response = client.get("/feedback/999999")
    assert response.status_code == 404
    assert "could not find" in response.get_data(as_text=True).lower()


def test_healthz_reports_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("url", ["/", "/account/login", "/account/register"])
def test_pages_send_a_strict_content_security_policy(client, url: str) -> None:
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    # No inline script or style anywhere, and nothing loaded from another origin.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "style=" not in page and "<style" not in page
    # Nothing is loaded from another origin (absolute links to this site are fine).
    for url in re.findall(r'(?:src|href)="(https?://[^"/]+)', page):
        assert url in ("http://localhost",), url
    assert '"allowEval": false' in page and '"includeIndicatorStyles": false' in page


def test_staff_see_private_items_on_their_pages(client, make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback(visibility="private", title="A private complaint")
    login(client, staff.email)
    assert client.get(f"/feedback/{item.id}").status_code == 200


def test_every_page_tells_search_engines_what_the_site_is_for(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<meta name="description" content="Tell ' in page
    assert "you said, we did" in page
