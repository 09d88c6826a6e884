"""Submitting, reading, voting and commenting through the pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, Feedback, Role
from tests.helpers import executable_markup, login, post


def _form(category_id: int, **changes: str) -> dict:
    data = {
        "kind": "complaint",
        "category_id": str(category_id),
        "title": "Courier left my parcel in the rain",
        "body": "The box was **soaked** through. <script>alert(1)</script>",
        "visibility": "public",
    }
    data.update(changes)
    return data


def test_submit_needs_sign_in(client) -> None:
    response = client.get("/feedback/new")
    assert response.status_code == 302
    assert "/account/login?next=" in response.headers["Location"]


def test_customer_submits_and_finds_it_on_the_board(client, make_user, make_category) -> None:
    user = make_user(preferred_name="Nia")
    category = make_category(name="Delivery")
    login(client, user.email)
    response = post(client, "/feedback/new", _form(category.id))
    assert response.status_code == 302
    item = db.session.scalar(sa.select(Feedback))
    assert response.headers["Location"].endswith(f"/feedback/{item.id}/submitted")
    assert "<strong>soaked</strong>" in item.body_html and "<script" not in item.body_html
    assert item.body_source.startswith("The box was **soaked**")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you, Nia. We have received it." in page
    assert "Courier left my parcel in the rain" in client.get("/").get_data(as_text=True)


def test_submit_with_errors_keeps_what_was_typed(client, make_user, make_category) -> None:
    category = make_category()
    login(client, make_user().email)
    response = post(
        client, "/feedback/new", _form(category.id, title="Hi", body="A body that is long enough")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Titles are 5 to 160 characters long." in page
    assert "A body that is long enough" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_looking_for_similar_feedback_posts_back_and_sends_nothing(
    client, make_user, make_category, make_feedback
) -> None:
    """Without JavaScript the button posts the draft back with suggestions: nothing is sent
    yet, nothing is refused yet, and the draft never travels in the address."""
    category = make_category()
    make_feedback(category=category, title="Parcel left in the rain")
    login(client, make_user().email)
    form = {**_form(category.id, title="Parcel soaked by rain", body="x"), "check_similar": "1"}
    response = post(client, "/feedback/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Parcel left in the rain" in page  # the suggestion
    # Its count is on its vote button only, which a vote swaps: no second, stale count.
    assert '<span class="vote__count">1</span>' in page and "<span>1 vote</span>" not in page
    assert 'value="Parcel soaked by rain"' in page
    assert "field__error" not in page  # the short body is not judged yet
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 1


def test_submit_refuses_an_unknown_category(client, make_user, make_category) -> None:
    make_category()
    login(client, make_user().email)
    page = post(client, "/feedback/new", _form(99999)).get_data(as_text=True)
    assert "Not a valid choice" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_the_category_is_chosen_by_the_customer_never_defaulted(
    client, make_user, make_category
) -> None:
    """Feedback filed under the first category because it came first lands with the wrong
    team: the list opens on "Choose one…", and sending without a choice keeps the text."""
    make_category(name="Billing")
    login(client, make_user().email)
    page = client.get("/feedback/new").get_data(as_text=True)
    assert '<option selected value="">Choose one\u2026</option>' in page
    form = _form(0)
    form["category_id"] = ""
    response = post(client, "/feedback/new", form)
    page = response.get_data(as_text=True)
    assert "Please choose a category." in page and form["title"] in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_private_item_is_invisible_to_others(client, make_client, make_user, make_feedback) -> None:
    author, other = make_user(), make_user()
    item = make_feedback(author=author, visibility="private", title="Refund went to my old card")
    assert client.get(f"/feedback/{item.id}").status_code == 404
    assert "Refund went to my old card" not in client.get("/").get_data(as_text=True)
    login(client, other.email)
    assert client.get(f"/feedback/{item.id}").status_code == 404
    assert "Refund went to my old card" not in client.get("/").get_data(as_text=True)
    assert post(client, f"/feedback/{item.id}/vote").status_code == 404
    mine = make_client()
    login(mine, author.email)
    page = mine.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Refund went to my old card" in page and "Private" in page


def test_vote_and_unvote_without_javascript(client, make_user, make_feedback) -> None:
    """Sent without "want", as a page open since before the button said what it wants: each
    press switches, as it did then."""
    item = make_feedback()
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/vote", {"next": "/?sort=new"})
    # Back on the board, scrolled to the button that was pressed.
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/?sort=new#vote-{item.id}")
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).vote_count == 2
    board = client.get("/?sort=new").get_data(as_text=True)
    assert f'id="vote-{item.id}"' in board
    away = post(client, f"/feedback/{item.id}/vote", {"next": "https://evil.example/"})
    assert away.headers["Location"].endswith(f"/feedback/{item.id}#vote-{item.id}")
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).vote_count == 1


def test_vote_with_htmx_returns_the_button(client, make_user, make_feedback) -> None:
    item = make_feedback()
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/vote", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith("<form") and "<html" not in body
    assert 'aria-pressed="true"' in body and '<span class="vote__count">2</span>' in body
    # Screen readers hear what happened, through the page's live region.
    assert (
        '<div id="vote-status" data-hx-swap-oob="innerHTML">Your vote counts: 2 votes for' in body
    )
    assert "HX-Request" in response.headers["Vary"]
    again = post(client, f"/feedback/{item.id}/vote", htmx=True).get_data(as_text=True)
    assert 'aria-pressed="false"' in again and '<span class="vote__count">1</span>' in again
    assert "Your vote is taken back: 1 vote for" in again
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert '<div id="vote-status" class="visually-hidden" aria-live="polite"></div>' in page
    assert "hx-swap-oob" not in page  # only an htmx answer fills it in


def _stored_votes(item_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Feedback, item_id).vote_count


def test_the_vote_button_asks_for_the_opposite_of_what_it_shows(
    client, make_user, make_feedback
) -> None:
    item = make_feedback()
    login(client, make_user().email)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert '<input type="hidden" name="want" value="1">' in page
    answer = post(client, f"/feedback/{item.id}/vote", {"want": "1"}, htmx=True)
    assert '<input type="hidden" name="want" value="0">' in answer.get_data(as_text=True)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert '<input type="hidden" name="want" value="0">' in page


def test_a_repeated_vote_without_javascript_changes_nothing(
    client, make_user, make_feedback
) -> None:
    """The browser resends the form (its first answer was lost): the vote stays."""
    item = make_feedback()
    login(client, make_user().email)
    for _ in range(2):
        response = post(client, f"/feedback/{item.id}/vote", {"want": "1", "next": "/"})
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/#vote-{item.id}")
        assert _stored_votes(item.id) == 2
    page = client.get("/").get_data(as_text=True)
    assert "Thanks, your vote counts." in page
    for _ in range(2):
        response = post(
            client, f"/feedback/{item.id}/vote", {"want": "0", "next": "/"}, follow_redirects=True
        )
        assert "Your vote is taken back" in response.get_data(as_text=True)
        assert _stored_votes(item.id) == 1


def test_a_repeated_htmx_vote_answers_the_same_button(client, make_user, make_feedback) -> None:
    item = make_feedback()
    login(client, make_user().email)
    for _ in range(2):
        body = post(client, f"/feedback/{item.id}/vote", {"want": "1"}, htmx=True).get_data(
            as_text=True
        )
        assert 'aria-pressed="true"' in body and '<span class="vote__count">2</span>' in body
        assert "Your vote counts: 2 votes for" in body
    for _ in range(2):
        body = post(client, f"/feedback/{item.id}/vote", {"want": "0"}, htmx=True).get_data(
            as_text=True
        )
        assert 'aria-pressed="false"' in body and '<span class="vote__count">1</span>' in body
        assert "Your vote is taken back: 1 vote for" in body
    assert _stored_votes(item.id) == 1


def test_the_suggestion_button_asks_for_the_opposite_of_what_it_shows(
    client, make_user, make_feedback
) -> None:
    item = make_feedback()
    login(client, make_user().email)
    sent = {"want": "1", "fragment": "suggestion"}
    for _ in range(2):
        body = post(client, f"/feedback/{item.id}/vote", sent, htmx=True).get_data(as_text=True)
        assert body.lstrip().startswith(f'<button id="suggestion-vote-{item.id}"')
        assert 'name="want" value="0"' in body and '"want": "0"' in body
        assert '<span class="vote__count">2</span>' in body
    assert _stored_votes(item.id) == 2


def test_a_vote_on_the_items_page_updates_its_follow_button_too(
    client, make_user, make_feedback
) -> None:
    item = make_feedback(title="Lift out of order")
    login(client, make_user().email)
    on_page = {"HX-Current-URL": f"http://localhost/feedback/{item.id}"}
    follow_form = f'<form id="follow-form-{item.id}" class="follow"'

    voted = post(client, f"/feedback/{item.id}/vote", htmx=True, headers=on_page)
    body = voted.get_data(as_text=True)
    assert f'{follow_form} method="post"' in body and 'data-hx-swap-oob="true"' in body
    assert "Following: stop emails about this" in body

    taken_back = post(client, f"/feedback/{item.id}/vote", htmx=True, headers=on_page)
    body = taken_back.get_data(as_text=True)
    assert "Follow: email me about changes" in body
    assert "Your vote is taken back: 1 vote for Lift out of order. You will not get emails" in body

    # A follow chosen with the button stays when the vote goes, and the button says so.
    post(client, f"/feedback/{item.id}/follow", {"follow": "1"})
    post(client, f"/feedback/{item.id}/vote", htmx=True, headers=on_page)
    kept = post(client, f"/feedback/{item.id}/vote", htmx=True, headers=on_page)
    body = kept.get_data(as_text=True)
    assert "Following: stop emails about this" in body and "You will not get emails" not in body

    # Another site's page of the same path is not this item's page.
    elsewhere = {"HX-Current-URL": f"https://elsewhere.example/feedback/{item.id}"}
    foreign = post(client, f"/feedback/{item.id}/vote", htmx=True, headers=elsewhere)
    assert follow_form not in foreign.get_data(as_text=True)

    # From the board there is no follow button to update.
    board = post(
        client,
        f"/feedback/{item.id}/vote",
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/"},
    )
    assert follow_form not in board.get_data(as_text=True)


def test_taking_a_vote_back_without_javascript_says_the_emails_stop(
    client, make_user, make_feedback
) -> None:
    item = make_feedback()
    login(client, make_user().email)
    post(client, f"/feedback/{item.id}/vote")
    response = post(client, f"/feedback/{item.id}/vote", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Your vote is taken back, and you will not get emails about it any more." in page
    assert "Follow: email me about changes" in page


def test_staff_answer_from_the_admin_page_not_the_public_comment_box(
    client, make_user, make_feedback
) -> None:
    """A staff comment is a public answer: it must come from the owner, past the tone check,
    with the customer told. The public page sends staff to the admin page for it."""
    item = make_feedback(author=make_user(preferred_name="Nia"))
    staff = make_user(role=Role.STAFF)
    login(client, staff.email)
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert f'action="/feedback/{item.id}/comments"' not in page
    assert f'Answer Nia from <a href="/admin/feedback/{item.id}">' in page

    # A page from before still posting here: refused beside the kept text, nothing saved.
    response = post(client, f"/feedback/{item.id}/comments", {"body": "Sorry, Nia, on it."})
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "Staff answer from the item" in body and "Sorry, Nia, on it." in body
    db.session.expire_all()
    assert db.session.get(Feedback, item.id).comment_count == 0


def test_vote_needs_sign_in(client, make_feedback) -> None:
    item = make_feedback()
    response = post(client, f"/feedback/{item.id}/vote")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def _next_of(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == "/account/login", location
    return parse_qs(parts.query)["next"][0]


def test_a_vote_after_the_session_ended_comes_back_to_its_page_after_sign_in(
    client, make_user, make_feedback
) -> None:
    """Signed out in another tab, then "Me too" without JavaScript: signing in must lead back
    to the page, not to the vote's address (a POST-only route: "Error 405")."""
    item = make_feedback()
    voter = make_user()
    from_board = post(client, f"/feedback/{item.id}/vote", {"next": "/?sort=new"})
    assert _next_of(from_board.headers["Location"]) == "/?sort=new"
    from_the_page = post(
        client,
        f"/feedback/{item.id}/vote",
        headers={"Referer": f"http://localhost/feedback/{item.id}?page=2"},
    )
    assert _next_of(from_the_page.headers["Location"]) == f"/feedback/{item.id}?page=2"
    elsewhere = post(
        client, f"/feedback/{item.id}/vote", headers={"Referer": "https://evil.example/x"}
    )
    assert _next_of(elsewhere.headers["Location"]) == "/"

    signed_in = post(
        client,
        "/account/login",
        {"email": voter.email, "password": "correct horse battery", "next": "/?sort=new"},
    )
    assert signed_in.headers["Location"].endswith("/?sort=new")
    assert client.get(signed_in.headers["Location"]).status_code == 200


def test_an_htmx_vote_after_the_session_ended_loads_the_sign_in_page_whole(
    client, make_feedback
) -> None:
    """Followed in the background, a redirect would paste the sign-in page into the card."""
    item = make_feedback()
    response = post(client, f"/feedback/{item.id}/vote", {"next": "/"}, htmx=True)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert _next_of(response.headers["HX-Redirect"]) == "/"
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Please sign in to continue." in page


def test_comment_is_posted_and_sanitised(client, make_user, make_feedback) -> None:
    item = make_feedback()
    login(client, make_user(display_name="Marta").email)
    response = post(
        client, f"/feedback/{item.id}/comments", {"body": "Same <img src=x onerror=alert(1)> here"}
    )
    assert response.status_code == 302
    page = client.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Marta" in page and "Comments (1)" in page
    assert executable_markup(db.session.scalar(sa.select(Comment.body_html))) == []


def test_empty_comment_shows_an_error_and_saves_nothing(client, make_user, make_feedback) -> None:
    item = make_feedback()
    login(client, make_user().email)
    response = post(client, f"/feedback/{item.id}/comments", {"body": "   "})
    assert response.status_code == 400
    assert "Please write something before posting." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def _vote_form(page: str, item_id: int) -> str:
    """The vote form of one item in a page, its CSRF token's value left out (each page signs
    the session's token anew)."""
    found = re.search(
        rf'<form class="vote[^"]*"[^>]*action="/feedback/{item_id}/vote".*?</form>', page, re.S
    )
    assert found, f"no vote form for item {item_id}"
    return re.sub(r'(name="csrf_token" value=")[^"]+', r"\1…", found.group(0))


def test_a_board_cards_vote_form_is_the_one_the_vote_answers_with(
    client, make_user, make_feedback
) -> None:
    # The board makes what its cards' forms share once a page (templating.VoteFormParts);
    # the vote's answer makes its one form alone. Both must write the same form, in the
    # reader's language.
    item = make_feedback()
    user = make_user()
    user.language = "de"
    db.session.commit()
    login(client, user.email)
    card = _vote_form(client.get("/").get_data(as_text=True), item.id)
    assert 'name="csrf_token" value="…"' in card
    assert 'title="Ich auch: dafür stimmen"' in card and ">Ich auch<" in card
    sent = {"fragment": "card", "next": "/"}
    post(client, f"/feedback/{item.id}/vote", {**sent, "want": "1"}, htmx=True)
    answer = post(client, f"/feedback/{item.id}/vote", {**sent, "want": "0"}, htmx=True)
    assert _vote_form(answer.get_data(as_text=True), item.id) == card
    voted_card = _vote_form(
        post(client, f"/feedback/{item.id}/vote", {**sent, "want": "1"}, htmx=True).get_data(
            as_text=True
        ),
        item.id,
    )
    assert "Stimme zurücknehmen" in voted_card
    assert _vote_form(client.get("/").get_data(as_text=True), item.id) == voted_card


def test_vote_form_parts_follow_the_apps_root(app) -> None:
    from portal.templating import vote_form_parts

    for root in ("", "/portal", "/0"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            parts = vote_form_parts()
            assert f"{parts.action_start}42{parts.action_end}" == f"{root}/feedback/42/vote"
