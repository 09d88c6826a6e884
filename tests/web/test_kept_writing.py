"""What someone wrote survives the end of their session: sent after signing out in another tab,
or with a form whose CSRF token no longer matches, it comes back on the sign-in page and is
sent, after signing in, with one more press. Nothing is saved before that press."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Comment, Feedback, FeedbackState, Role
from tests.conftest import TEST_PASSWORD
from tests.helpers import browser_form, csrf_token, login, post

COMMENT = "The lid came off again.\nSecond time this month & it's the same courier."


def _comments(item_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(Comment.body_source).where(Comment.feedback_id == item_id))
    )


def _signed_out_elsewhere(client: FlaskClient, email: str) -> str:
    """Sign in, keep a page's token, then sign out (as from another tab): the token stays
    valid for the session, but nobody is signed in any more."""
    login(client, email)
    token = csrf_token(client)
    post(client, "/account/logout")
    return token


def _send_comment(client: FlaskClient, item_id: int, token: str, **headers: str) -> str:
    response = client.post(
        f"/feedback/{item_id}/comments",
        data={"csrf_token": token, "body": COMMENT},
        headers={"Referer": f"http://localhost/feedback/{item_id}", **headers},
    )
    return response


def test_a_comment_sent_after_signing_out_comes_back_and_is_sent_after_sign_in(
    client, make_verified_user, make_feedback
) -> None:
    nia = make_verified_user(preferred_name="Nia")
    item = make_feedback(title="Parcel lids")
    token = _signed_out_elsewhere(client, nia.email)

    refused = _send_comment(client, item.id, token)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401
    assert "What you wrote is safe" in page
    assert str(escape(COMMENT)) in page  # shown, not lost
    assert _comments(item.id) == []  # and nothing saved yet

    # Signing in on that page carries the comment along...
    fields = dict(browser_form(page, "/account/login"))
    fields.update(email=nia.email, password=TEST_PASSWORD)
    signed_in = client.post("/account/login", data=fields)
    page = signed_in.get_data(as_text=True)
    assert signed_in.status_code == 200
    assert "Welcome back, Nia." in page and "Send what you wrote?" in page
    assert _comments(item.id) == []  # not sent without asking

    # ...and one press sends it where it was going, as it was written.
    action = f"/feedback/{item.id}/comments"
    sent = client.post(action, data=MultiDict(browser_form(page, action)))
    assert sent.status_code == 302
    assert urlsplit(sent.headers["Location"]).path == f"/feedback/{item.id}"
    assert _comments(item.id) == [COMMENT]


def test_a_wrong_password_keeps_the_comment_on_the_sign_in_page(
    client, make_verified_user, make_feedback
) -> None:
    nia = make_verified_user()
    item = make_feedback()
    token = _signed_out_elsewhere(client, nia.email)
    page = _send_comment(client, item.id, token).get_data(as_text=True)

    fields = dict(browser_form(page, "/account/login"))
    fields.update(email=nia.email, password="not the password")
    again = client.post("/account/login", data=fields)
    page = again.get_data(as_text=True)
    assert "do not match an account" in page
    assert str(escape(COMMENT)) in page
    assert "not the password" not in page  # a password is never kept
    fields = dict(browser_form(page, "/account/login"))
    assert fields["keep.body"] == COMMENT
    assert fields["keep_action"] == f"/feedback/{item.id}/comments"


def test_a_form_whose_session_is_gone_keeps_what_was_written(
    make_client, make_verified_user, make_feedback
) -> None:
    """The session cookie is gone (expired, or cleared), so the CSRF check fails: the text
    comes back with the sign-in page instead of "go back and reload", which would lose it."""
    nia = make_verified_user()
    item = make_feedback()
    old_tab = make_client()
    login(old_tab, nia.email)
    token = csrf_token(old_tab)
    fresh_browser = make_client()  # no cookies at all

    refused = _send_comment(fresh_browser, item.id, token)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert str(escape(COMMENT)) in page and "Sign in, then send it" in page
    assert _comments(item.id) == []


def test_an_expired_form_of_someone_signed_in_offers_to_send_it_again(
    client, make_verified_user, make_feedback
) -> None:
    nia = make_verified_user()
    item = make_feedback()
    login(client, nia.email)

    refused = _send_comment(client, item.id, "a token from a session that ended")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "The form you sent had expired" in page
    action = f"/feedback/{item.id}/comments"
    assert client.post(action, data=MultiDict(browser_form(page, action))).status_code == 302
    assert _comments(item.id) == [COMMENT]


def test_writing_from_another_site_is_never_shown_back(
    make_client, make_verified_user, make_feedback
) -> None:
    """A form on another site cannot put its words on our pages for someone to send."""
    item = make_feedback()
    browser = make_client()
    for headers in (
        {"Origin": "https://elsewhere.example"},
        {"Referer": "https://elsewhere.example/page"},
        {"Referer": ""},
    ):
        response = browser.post(
            f"/feedback/{item.id}/comments", data={"body": COMMENT}, headers=headers
        )
        assert response.status_code == 400
        assert "came from elsewhere" in response.get_data(as_text=True)
        assert str(escape(COMMENT)) not in response.get_data(as_text=True)


def test_a_vote_with_nothing_written_still_goes_to_the_sign_in_page(
    client, make_verified_user, make_feedback
) -> None:
    nia = make_verified_user()
    item = make_feedback()
    token = _signed_out_elsewhere(client, nia.email)
    response = client.post(
        f"/feedback/{item.id}/vote",
        data={"csrf_token": token, "next": f"/feedback/{item.id}"},
        headers={"Referer": f"http://localhost/feedback/{item.id}"},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"


def test_a_carried_address_off_the_site_is_not_offered(client, make_verified_user) -> None:
    nia = make_verified_user()
    fields = {
        "csrf_token": csrf_token(client),
        "email": nia.email,
        "password": TEST_PASSWORD,
        "keep_action": "https://elsewhere.example/comments",
        "keep.body": COMMENT,
    }
    response = client.post("/account/login", data=fields)
    assert response.status_code == 302  # signed in, and no page that would post elsewhere


def test_staff_acknowledgement_by_htmx_after_signing_out_is_kept(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = make_client()
    token = _signed_out_elsewhere(browser, staff.email)
    message = "Nia, thank you for telling us. I am sorry; I am looking into the courier now."

    response = browser.post(
        f"/admin/feedback/{item.id}/acknowledge",
        data={"message": message},
        headers={
            "HX-Request": "true",
            "X-CSRFToken": token,
            "Referer": "http://localhost/admin/",
        },
    )
    # The row asked for is not where a sign-in page belongs: the whole page is replaced.
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "body"
    page = response.get_data(as_text=True)
    assert str(escape(message)) in page
    assert db.session.get(Feedback, item.id).state is FeedbackState.RECEIVED
