"""Search through the pages: the board's box, the submit page's suggestions, the triage queue."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Feedback, Role
from tests.helpers import count_queries, empty_read_cache, login, post

HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "-",
    "'",
    "\\",
    "1' OR '1'='1",
    "<script>alert(1)</script>",
    "a" * 2_000,
    "the",
    "%",
    "_",
]


def test_board_search_keeps_the_query_in_the_url_and_highlights(client, make_feedback) -> None:
    make_feedback(title="Refund missing after return")
    page = client.get("/?q=refund").get_data(as_text=True)
    assert 'value="refund"' in page
    assert "<mark>Refund</mark> missing" in page
    assert "1 item matching" in page


def test_board_search_with_htmx_returns_the_results_fragment(client, make_feedback) -> None:
    make_feedback(title="Refund missing")
    response = client.get(
        "/?q=refund", headers={"HX-Request": "true", "HX-Target": "board-results"}
    )
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<mark>Refund</mark>" in body
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_searches_answer_200(client, make_feedback, hostile: str) -> None:
    make_feedback(title="Refund missing")
    for url in ("/", "/feedback/suggest"):
        response = client.get(url, query_string={"q": hostile, "title": hostile})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_a_search_with_no_words_says_what_to_do(client) -> None:
    page = client.get("/?q=%22%22").get_data(as_text=True)
    assert "Type a word or two to search for." in page


@pytest.mark.parametrize("url", ["/", "/api/v1/items"])
def test_a_search_with_no_words_and_the_plain_board_keep_their_own_counts(
    client, make_feedback, url: str
) -> None:
    """Both have no search terms; they once shared a cached count, and a search with no words
    after the plain board was ranked without the full-text index: a 503 on SQLite."""
    make_feedback(title="Refund missing")
    assert client.get(url).status_code == 200
    for q in ("!", "\U00018cd6"):  # the second is unassigned in Unicode 14: not a word
        response = client.get(url, query_string={"q": q})
        assert response.status_code == 200, f"{url}?q={q!r} answered {response.status_code}"
    # And the other way round: the plain board still counts its item.
    empty_read_cache(client.application)
    assert client.get(url, query_string={"q": "!"}).status_code == 200
    assert "Refund missing" in client.get(url).get_data(as_text=True)


def test_nothing_found_is_said_kindly(client, make_feedback) -> None:
    make_feedback(title="Refund missing")
    assert "Nothing matches" in client.get("/?q=zebra").get_data(as_text=True)


def test_search_page_costs_a_fixed_number_of_queries(client, make_feedback, make_category):
    from portal.extensions import db

    category = make_category()
    make_feedback(title="Refund one", category=category)
    empty_read_cache(client.application)
    with count_queries(db.engine) as few:
        client.get("/?q=refund")
    for n in range(10):
        make_feedback(title=f"Refund {n}", category=category)
    empty_read_cache(client.application)
    with count_queries(db.engine) as many:
        client.get("/?q=refund")
    assert many.count == few.count <= 6


def test_submit_page_suggests_similar_items_as_you_type(client, make_user, make_feedback):
    make_feedback(title="Checkout times out on payment")
    login(client, make_user().email)
    fragment = client.get(
        "/feedback/suggest?title=checkout+timeout", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Is it one of these?" in fragment and "Checkout times out on payment" in fragment
    assert 'class="vote' in fragment  # a one-click "me too"


def test_suggestions_work_without_javascript(client, make_user, make_feedback, make_category):
    category = make_category()
    make_feedback(title="Checkout times out on payment", category=category)
    login(client, make_user().email)
    page = client.get(
        "/feedback/new",
        query_string={
            "title": "checkout broken",
            "body": "It keeps failing for me.",
            "kind": "complaint",
            "category_id": category.id,
            "visibility": "public",
        },
    ).get_data(as_text=True)
    assert "Is it one of these?" in page
    assert 'value="checkout broken"' in page and "It keeps failing for me." in page


def test_submitting_anyway_still_works(client, make_user, make_feedback, make_category):
    category = make_category()
    make_feedback(title="Checkout times out on payment", category=category)
    login(client, make_user().email)
    response = post(
        client,
        "/feedback/new",
        {
            "kind": "complaint",
            "category_id": str(category.id),
            "title": "Checkout times out too",
            "body": "Same here, but on the app.",
            "visibility": "public",
        },
    )
    assert response.status_code == 302


def test_triage_search_finds_private_items_for_staff(client, make_user, make_feedback):
    make_feedback(title="Refund to my old card", visibility="private")
    login(client, make_user(role=Role.STAFF).email)
    page = client.get("/admin/?q=refund").get_data(as_text=True)
    assert "Refund to my old card" in page


def test_a_search_past_the_count_limit_says_how_many_at_least(
    client, make_feedback, monkeypatch
) -> None:
    monkeypatch.setattr("portal.board.views.SEARCH_COUNT_LIMIT", 2)
    for n in range(3):
        make_feedback(title=f"Refund {n}")
    page = client.get("/?q=refund").get_data(as_text=True)
    assert "2+ items matching &ldquo;refund&rdquo;" in page
    monkeypatch.setattr("portal.board.views.SEARCH_COUNT_LIMIT", 3)
    page = client.get("/?q=refund").get_data(as_text=True)
    assert "3 items matching &ldquo;refund&rdquo;" in page


def test_a_search_past_a_thousand_matches_ranks_the_best_of_the_newest(
    client, make_feedback
) -> None:
    old_title_match = make_feedback(title="Refund", body="Old.")
    # A thousand newer items that mention a refund in their body, loaded in one go.
    model = make_feedback(title="Courier", body="A refund was asked for.")
    row = {c.key: getattr(model, c.key) for c in Feedback.__table__.columns if c.key != "id"}
    db.session.execute(sa.insert(Feedback.__table__), [dict(row) for _ in range(1000)])
    db.session.commit()
    newest_title_match = make_feedback(title="Refund please", body="Money back.")

    page = client.get("/?q=refund").get_data(as_text=True)
    assert "1000+ items matching &ldquo;refund&rdquo;" in page
    # The best match among the newest thousand comes first; the old title match, though
    # better, is not among them.
    assert f'/feedback/{newest_title_match.id}"' in page
    assert page.index(f'/feedback/{newest_title_match.id}"') < page.index("Courier")
    assert f'/feedback/{old_title_match.id}"' not in page
