"""What someone wrote survives the end of their session: sent after signing out in another tab,
or with a form whose CSRF token no longer matches, it comes back on the sign-in page and is
sent, after signing in, with one more press. Nothing is saved before that press."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

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


def _comment_form(client: FlaskClient, item_id: int) -> MultiDict:
    """The item page's comment form as a browser would send it, with the comment typed in."""
    page = client.get(f"/feedback/{item_id}").get_data(as_text=True)
    fields = MultiDict(browser_form(page, f"/feedback/{item_id}/comments"))
    fields["body"] = COMMENT
    return fields


def _signed_out_elsewhere(client: FlaskClient, email: str, item_id: int) -> MultiDict:
    """Sign in, open the item page, then sign out (as from another tab): the page's token
    stays valid for the session, but nobody is signed in any more."""
    login(client, email)
    form = _comment_form(client, item_id)
    post(client, "/account/logout")
    return form


def _send_comment(
    client: FlaskClient, item_id: int, form: MultiDict | dict, **headers: str
) -> TestResponse:
    return client.post(
        f"/feedback/{item_id}/comments",
        data=form,
        headers={"Referer": f"http://localhost/feedback/{item_id}", **headers},
    )


def _sign_in_on(
    client: FlaskClient, page: str, email: str, password: str = TEST_PASSWORD
) -> TestResponse:
    """Sign in through the sign-in form on this page, with whatever it carries."""
    fields = dict(browser_form(page, "/account/login"))
    fields.update(email=email, password=password)
    return client.post("/account/login", data=fields)


def test_a_comment_sent_after_signing_out_comes_back_and_is_sent_after_sign_in(
    client, make_verified_user, make_feedback
) -> None:
    nia = make_verified_user(preferred_name="Nia")
    item = make_feedback(title="Parcel lids")
    form = _signed_out_elsewhere(client, nia.email, item.id)

    refused = _send_comment(client, item.id, form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401
    assert "What you wrote is safe" in page
    assert str(escape(COMMENT)) in page  # shown, not lost
    assert "Your comment" in page  # under its label; the form's own fields are not shown
    assert "Form started" not in page and form["form_started"] not in page
    assert _comments(item.id) == []  # and nothing saved yet

    # Signing in on that page carries the comment along...
    signed_in = _sign_in_on(client, page, nia.email)
    page = signed_in.get_data(as_text=True)
    assert signed_in.status_code == 200
    assert "Welcome back, Nia." in page and "Send what you wrote?" in page
    assert "about \u201cParcel lids\u201d" in page  # what it is about
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
    form = _signed_out_elsewhere(client, nia.email, item.id)
    page = _send_comment(client, item.id, form).get_data(as_text=True)

    again = _sign_in_on(client, page, nia.email, "not the password")
    page = again.get_data(as_text=True)
    assert "do not match an account" in page
    assert str(escape(COMMENT)) in page
    assert "not the password" not in page  # a password is never kept
    # Still carried, so signing in now still leads to it.
    fields = dict(browser_form(page, "/account/login"))
    fields.update(password=TEST_PASSWORD)
    page = client.post("/account/login", data=fields).get_data(as_text=True)
    assert "Send what you wrote?" in page and str(escape(COMMENT)) in page


def test_a_form_whose_session_is_gone_keeps_what_was_written(
    make_client, make_verified_user, make_feedback
) -> None:
    """The session cookie is gone (expired, or cleared), so the CSRF check fails: the text
    comes back with the sign-in page instead of "go back and reload", which would lose it."""
    nia = make_verified_user()
    item = make_feedback()
    old_tab = make_client()
    login(old_tab, nia.email)
    form = _comment_form(old_tab, item.id)
    fresh_browser = make_client()  # no cookies at all

    refused = _send_comment(fresh_browser, item.id, form)
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
    form = _comment_form(client, item.id)
    form["csrf_token"] = "a token from a session that ended"

    refused = _send_comment(client, item.id, form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "The form you sent had expired" in page
    action = f"/feedback/{item.id}/comments"
    resent = MultiDict(browser_form(page, action))
    assert resent["form_started"] == form["form_started"]  # passed on, not shown
    assert client.post(action, data=resent).status_code == 302
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
    token = _signed_out_elsewhere(client, nia.email, item.id)["csrf_token"]
    response = client.post(
        f"/feedback/{item.id}/vote",
        data={"csrf_token": token, "next": f"/feedback/{item.id}"},
        headers={"Referer": f"http://localhost/feedback/{item.id}"},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/login"


def test_only_forms_people_write_in_are_kept(make_client, make_user, make_feedback) -> None:
    """The live tone check posts the draft while staff type: were it kept, the page would turn
    into the sign-in page mid-sentence, and "Send it" would post to the tone check. A public
    form (the digest's) does not ask a visitor to sign in."""
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = make_client()
    login(browser, staff.email)
    token = csrf_token(browser)
    post(browser, "/account/logout")  # in another tab
    tone = browser.post(
        f"/admin/feedback/{item.id}/tone",
        data={"body": "Nia, I am sorry, we are looking into it."},
        headers={"HX-Request": "true", "X-CSRFToken": token, "Referer": "http://localhost/"},
    )
    assert "HX-Retarget" not in tone.headers and "HX-Redirect" in tone.headers

    visitor = make_client()
    digest = visitor.post(
        "/digest/subscribe",
        data={"email": "someone@example.com", "frequency": "weekly"},
        headers={"Referer": "http://localhost/digest/subscribe"},
    )
    assert digest.status_code == 400
    assert "Sign in" not in digest.get_data(as_text=True).split("<main", 1)[-1]


def test_a_forged_or_altered_carried_submission_is_not_offered(
    client, make_verified_user, make_feedback
) -> None:
    """What the sign-in form carries is signed: neither the address nor the fields can be
    changed on the way, so it can never post something the person did not write."""
    nia = make_verified_user()
    item = make_feedback()
    form = _signed_out_elsewhere(client, nia.email, item.id)
    page = _send_comment(client, item.id, form).get_data(as_text=True)
    fields = dict(browser_form(page, "/account/login"))
    fields.update(email=nia.email, password=TEST_PASSWORD)
    fields["kept"] = fields["kept"][:-3] + "abc"  # altered

    response = client.post("/account/login", data=fields)
    assert response.status_code == 302  # signed in, and no page that would send anything
    assert _comments(item.id) == []


def test_staff_acknowledgement_by_htmx_after_signing_out_is_kept(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = make_client()
    login(browser, staff.email)
    token = csrf_token(browser)
    post(browser, "/account/logout")  # in another tab
    message = "Nia, thank you for telling us. I am sorry; I am looking into the courier now."

    response = browser.post(
        f"/admin/feedback/{item.id}/acknowledge",
        data={"message": message, "post_anyway": "1"},
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
    # "Post anyway" is not carried: the text may change before it is sent again.
    again = _sign_in_on(browser, page, staff.email).get_data(as_text=True)
    action = f"/admin/feedback/{item.id}/acknowledge"
    assert "post_anyway" not in dict(browser_form(again, action))


def _carry_on_sign_in_page(client: FlaskClient, item_id: int) -> str:
    """The signed carry a refused comment puts on the sign-in page."""
    page = client.post(
        f"/feedback/{item_id}/comments",
        data={"body": COMMENT},
        headers={"Origin": "http://localhost"},
    ).get_data(as_text=True)
    return dict(browser_form(page, "/account/login"))["kept"]


def test_a_carry_made_in_another_browser_is_worth_nothing(
    make_client, make_verified_user, make_feedback
) -> None:
    """Anyone can have a comment refused and get a signed carry with their own words in it; it
    is bound to the browser it was made for, so it can never be offered to someone else."""
    nia = make_verified_user()
    item = make_feedback()
    carry = _carry_on_sign_in_page(make_client(), item.id)  # a stranger's browser

    victim = make_client()
    fields = {
        "csrf_token": csrf_token(victim),
        "email": nia.email,
        "password": TEST_PASSWORD,
        "kept": carry,
    }
    response = victim.post("/account/login", data=fields)
    assert response.status_code == 302  # signed in; nothing offered to send


def test_a_carry_older_than_a_day_is_not_offered_and_failing_does_not_renew_it(
    client, make_verified_user, make_feedback, monkeypatch
) -> None:
    nia = make_verified_user()
    item = make_feedback()
    carry = _carry_on_sign_in_page(client, item.id)
    fields = {"csrf_token": csrf_token(client), "email": nia.email, "password": "wrong"}
    again = client.post("/account/login", data={**fields, "kept": carry}).get_data(as_text=True)
    assert dict(browser_form(again, "/account/login"))["kept"] == carry  # passed on as it was

    monkeypatch.setattr("portal.accounts.kept.CARRIED_MAX_AGE", -1)  # every carry is too old
    response = client.post(
        "/account/login", data={**fields, "password": TEST_PASSWORD, "kept": carry}
    )
    assert response.status_code == 302


def test_what_a_move_chose_is_shown_before_it_is_sent_again(
    make_client, make_user, make_feedback
) -> None:
    """The admin's move form says which state it moves to: the page that sends it again shows
    that too, not only the message."""
    staff = make_user(role=Role.STAFF)
    item = make_feedback()
    browser = make_client()
    login(browser, staff.email)
    token = csrf_token(browser)
    post(browser, "/account/logout")
    refused = browser.post(
        f"/admin/feedback/{item.id}/move",
        data={
            "csrf_token": token,
            "to_state": "declined",
            "target_date": "2026-12-24",
            "message": "We will not do this.",
        },
        headers={"Referer": f"http://localhost/admin/feedback/{item.id}"},
    )
    page = _sign_in_on(browser, refused.get_data(as_text=True), staff.email).get_data(as_text=True)
    assert "Sent with it, as you chose" in page
    # Named as the form names them, in the reader's words, not as the form's field and code.
    assert "<dt>Move to</dt><dd>Not planned</dd>" in page
    assert "<dt>Promised date</dt><dd>24 December 2026</dd>" in page
