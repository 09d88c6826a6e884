"""The feedback widget's pages (/widget/) as a framed page on another site reaches them: with
no cookies at all. Its widget token stands in for the session and its CSRF token; single sign-on
signs a customer in for it; "Sign in to send" carries what was written to the submit page; the
site's spam checks and limits apply; only the allowed origins may frame it, and every other page
still says frame-ancestors 'none'."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from portal.extensions import db, limiter
from portal.models import AuditEntry, Category, Feedback, Role, User, UserSession
from portal.services import accounts, personal_data, sso, widget
from portal.services import feedback as feedback_service
from portal.services.errors import DomainError
from portal.services.site import settings_for_update
from tests.conftest import TEST_PASSWORD, make_test_app
from tests.helpers import browser_form, csrf_token, login
from tests.helpers import post as form_post

AUDIENCE = "https://feedback.example.org"
SHOP = "https://shop.example.org"
PAGE = f"{SHOP}/basket?step=2"
OURS = {"Origin": "http://localhost"}
TOKEN_FIELD = re.compile(r'name="widget_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def allowed() -> None:
    settings_for_update().widget_origins = f"{SHOP}\nhttp://localhost:8123"
    db.session.commit()


@pytest.fixture
def frame(app: Flask) -> FlaskClient:
    """A browser showing the widget in a frame on another site: it sends no cookies."""
    return app.test_client(use_cookies=False)


def _sso_token(secret: str, email: str = "ada@example.com") -> str:
    return jwt.encode(
        {
            "email": email,
            "name": "Ada Lovelace",
            "aud": AUDIENCE,
            "exp": datetime.now(UTC) + timedelta(minutes=5),
            "jti": secrets.token_hex(8),
        },
        secret,
        "HS256",
    )


@pytest.fixture
def sso_secret(make_user: Callable[..., User]) -> str:
    secret = sso.use_shared_secret(make_user(role=Role.ADMIN), audience=AUDIENCE).secret
    db.session.commit()
    return secret


def _token_in(page: str) -> str:
    found = TOKEN_FIELD.search(page)
    assert found, "the widget's form carries its token"
    return found.group(1)


def _fields(category: Category, **changes: str) -> dict[str, str]:
    values = {
        "kind": "complaint",
        "category_id": str(category.id),
        "title": "The basket forgets my voucher",
        "body": "I typed the voucher code, went back a step and it had gone.",
        "visibility": "private",
        "page_url": PAGE,
    }
    values.update(changes)
    return values


def _signed_in_by_sso(frame: FlaskClient, secret: str, **fields: str) -> str:
    """The widget's page after widget.js handed in a single sign-on token."""
    opened = frame.get("/widget/", query_string={"page": PAGE}).get_data(as_text=True)
    # As widget-frame.js sends it: the form as it stands, with the token handed in.
    sent = dict(browser_form(opened, "/widget/"))
    sent.update(sso_token=_sso_token(secret), **fields)
    response = frame.post("/widget/sign-in", data=sent)
    assert response.status_code == 200
    return response.get_data(as_text=True)


# Framing ---------------------------------------------------------------------------------------


def test_only_the_allowed_origins_may_frame_the_widget_and_no_other_page(
    client: FlaskClient, allowed: None
) -> None:
    widget_page = client.get("/widget/", query_string={"page": PAGE})
    assert widget_page.status_code == 200
    policy = widget_page.headers["Content-Security-Policy"]
    assert f"frame-ancestors {SHOP} http://localhost:8123" in policy
    assert "X-Frame-Options" not in widget_page.headers
    assert widget_page.headers["Cache-Control"] == "no-store"
    for other in ("/", "/feedback/suggest?title=voucher", "/account/login", "/roadmap"):
        response = client.get(other)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], other
        assert response.headers["X-Frame-Options"] == "DENY", other


def test_without_allowed_origins_nobody_may_frame_the_widget(client: FlaskClient) -> None:
    response = client.get("/widget/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# Sending through the widget --------------------------------------------------------------------


def test_a_customer_signed_in_by_sso_sends_feedback_with_the_page_address(
    frame: FlaskClient, allowed: None, sso_secret: str, make_category: Callable[..., Category]
) -> None:
    category = make_category()
    page = _signed_in_by_sso(frame, sso_secret, title="Kept while signing in")
    assert "Signed in as Ada Lovelace" in page
    assert 'value="Kept while signing in"' in page  # what was typed stays
    assert f"the page you came from, {PAGE}" in page.replace("&amp;", "&").replace("&#39;", "'")
    sent = frame.post("/widget/", data={"widget_token": _token_in(page), **_fields(category)})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert "We have your feedback" in sent.get_data(as_text=True)
    item = db.session.scalars(sa.select(Feedback)).one()
    assert item.page_url == PAGE
    assert item.title == "The basket forgets my voucher"
    author = db.session.get(User, item.author_id)
    assert author is not None and author.email == "ada@example.com"
    assert item.channel == "web"
    # Theirs to download, with the rest of their data.
    [exported] = personal_data.export_data(author)["feedback"]
    assert exported["page_url"] == PAGE
    # Its own session, listed on the account page like any other sign-in.
    assert db.session.scalars(sa.select(UserSession).where(UserSession.user_id == author.id)).one()


def test_a_page_address_from_a_site_not_allowed_is_not_kept(
    frame: FlaskClient, allowed: None, sso_secret: str, make_category: Callable[..., Category]
) -> None:
    elsewhere = "https://phish.example.net/login"
    page = _signed_in_by_sso(frame, sso_secret, page_url=elsewhere)
    assert elsewhere not in page
    fields = _fields(make_category(), page_url=elsewhere)
    frame.post("/widget/", data={"widget_token": _token_in(page), **fields})
    assert db.session.scalars(sa.select(Feedback.page_url)).one() is None


def test_a_widget_form_without_its_token_is_refused_and_keeps_what_was_typed(
    frame: FlaskClient, make_category: Callable[..., Category], allowed: None
) -> None:
    fields = _fields(make_category(), title="Forged from elsewhere")
    response = frame.post("/widget/", data=fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "did not come from our widget" in page
    assert 'value="Forged from elsewhere"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_a_forged_or_stale_widget_token_sends_nothing(
    frame: FlaskClient,
    allowed: None,
    sso_secret: str,
    make_category: Callable[..., Category],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    category = make_category()
    page = _signed_in_by_sso(frame, sso_secret)
    payload = URLSafeTimedSerializer("test-secret-key-" + "x" * 32, salt="widget").loads(
        _token_in(page)
    )
    forged = URLSafeTimedSerializer("another-key", salt="widget").dumps(payload)
    response = frame.post("/widget/", data={"widget_token": forged, **_fields(category)})
    assert response.status_code == 400
    monkeypatch.setattr(widget, "WIDGET_TOKEN_MAX_AGE", -1)
    stale = frame.post("/widget/", data={"widget_token": _token_in(page), **_fields(category)})
    assert stale.status_code == 400
    assert "open too long" in stale.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_signing_out_everywhere_ends_the_widgets_sign_in(
    frame: FlaskClient, allowed: None, sso_secret: str, make_category: Callable[..., Category]
) -> None:
    page = _signed_in_by_sso(frame, sso_secret)
    user = db.session.scalars(sa.select(User).where(User.email == "ada@example.com")).one()
    accounts.end_all_sessions(user)
    db.session.commit()
    response = frame.post(
        "/widget/", data={"widget_token": _token_in(page), **_fields(make_category())}
    )
    assert response.status_code == 400
    assert "signed out" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_a_refused_sso_token_leaves_the_form_for_a_visitor(
    frame: FlaskClient, allowed: None, sso_secret: str
) -> None:
    opened = frame.get("/widget/", query_string={"page": PAGE}).get_data(as_text=True)
    response = frame.post(
        "/widget/sign-in",
        data={
            "widget_token": _token_in(opened),
            "sso_token": _sso_token("not-the-secret-" + "y" * 32),
            "title": "Still here",
        },
    )
    page = response.get_data(as_text=True)
    assert "signature is wrong" in page
    assert 'value="Still here"' in page
    assert "Sign in to send" in page


def test_the_site_spam_checks_apply_to_the_widget(
    app: Flask,
    frame: FlaskClient,
    allowed: None,
    sso_secret: str,
    make_category: Callable[..., Category],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    category = make_category()
    page = _signed_in_by_sso(frame, sso_secret)
    token = _token_in(page)
    bot = frame.post(
        "/widget/", data={"widget_token": token, "website": "spam.example", **_fields(category)}
    )
    assert bot.status_code == 400
    assert "faster than a person types" in bot.get_data(as_text=True)
    monkeypatch.setitem(app.config, "FORM_MIN_FILL_SECONDS", 2)
    hasty = frame.post("/widget/", data={"widget_token": token, **_fields(category)})
    assert hasty.status_code == 400  # no stamp from a form shown seconds ago
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_the_widget_is_rate_limited_as_the_submit_page_is(
    database_uri: str, tmp_path: Path, make_category: Callable[..., Category]
) -> None:
    category = make_category()
    limited = make_test_app(database_uri, tmp_path, RATELIMIT_ENABLED=True)
    try:
        browser = limited.test_client(use_cookies=False)
        answers = [browser.post("/widget/", data=_fields(category)).status_code for _ in range(21)]
        assert answers[:20] == [400] * 20  # no token: refused, but counted
        assert answers[20] == 429
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


# Signing in to send ----------------------------------------------------------------------------


def _carried_page(client: FlaskClient, category: Category) -> str:
    """ "Sign in to send": the new tab's page, then its press, as this browser sends it."""
    frame_page = client.get("/widget/", query_string={"page": PAGE}).get_data(as_text=True)
    first = client.post(
        "/widget/continue",
        data={"widget_token": _token_in(frame_page), **_fields(category)},
        headers=OURS,
    )
    assert first.status_code == 200
    assert "Set-Cookie" not in first.headers  # the browser's own session is left alone
    onward = dict(browser_form(first.get_data(as_text=True), "/widget/continue"))
    assert onward["title"] == "The basket forgets my voucher"
    second = client.post("/widget/continue", data=onward, headers=OURS)
    assert second.status_code == 200
    return second.get_data(as_text=True)


def test_a_visitor_signs_in_in_a_new_tab_and_sends_what_they_wrote(
    make_client: Callable[[], FlaskClient],
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
    allowed: None,
) -> None:
    nia = make_verified_user()
    category = make_category()
    tab = make_client()
    frame_page = tab.get("/widget/", query_string={"page": PAGE}).get_data(as_text=True)
    refused = tab.post("/widget/", data={"widget_token": _token_in(frame_page)})
    assert "Please sign in to send it" in refused.get_data(as_text=True)

    sign_in_page = _carried_page(tab, category)
    assert "The basket forgets my voucher" in sign_in_page
    fields = dict(browser_form(sign_in_page, "/account/login"))
    fields.update(email=nia.email, password=TEST_PASSWORD)
    send_again = tab.post("/account/login", data=fields).get_data(as_text=True)
    again = dict(browser_form(send_again, "/feedback/new"))
    assert again["page_url"] == PAGE
    # The page address travels hidden, never shown as a field's raw name; the title stays
    # one line; the sentences above are apart.
    assert "page_url</dt>" not in send_again and ">page_url<" not in send_again
    assert re.search(r'<input type="text" id="kept-\d+" name="title"', send_again)
    assert "nothing was saved. Here it is" in send_again
    assert again["body"].startswith("I typed the voucher code")
    sent = tab.post("/feedback/new", data=again)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    item = db.session.scalars(sa.select(Feedback)).one()
    assert (item.author_id, item.page_url) == (nia.id, PAGE)


def test_someone_signed_in_here_gets_the_submit_page_filled_in(
    client: FlaskClient,
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
    allowed: None,
) -> None:
    nia = make_verified_user()
    login(client, nia.email)
    category = make_category()
    page = _carried_page(client, category)
    fields = dict(browser_form(page, "/feedback/new"))
    assert fields["title"] == "The basket forgets my voucher"
    assert fields["page_url"] == PAGE
    fields["csrf_token"] = csrf_token(client)
    assert client.post("/feedback/new", data=fields).status_code == 302
    assert db.session.scalars(sa.select(Feedback.page_url)).one() == PAGE


def test_sign_in_to_send_refuses_a_post_from_another_site(
    frame: FlaskClient, make_category: Callable[..., Category]
) -> None:
    fields = _fields(make_category())
    response = frame.post(
        "/widget/continue", data=fields, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 400
    carried = frame.post(
        "/widget/continue",
        data={**fields, "step": "carry", "widget_token": "forged"},
        headers=OURS,
    )
    assert carried.status_code == 400


# The admin page --------------------------------------------------------------------------------


def test_the_admin_lists_origins_and_a_wrong_one_is_refused_with_the_list_kept(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    admin = make_user(role=Role.ADMIN)
    login(client, admin.email)
    page = client.get("/admin/widget").get_data(as_text=True)
    assert "static/widget.js" in page and "data-portal=" in page
    refused = form_post(
        client, "/admin/widget", {"origins": "https://shop.example.org\nhttps://*.example.org"}
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "is not an origin" in text
    assert "https://*.example.org" in text  # what was typed is kept
    saved = form_post(
        client, "/admin/widget", {"origins": "HTTPS://Shop.Example.org:443/\nhttp://localhost:8123"}
    )
    assert saved.status_code == 302
    assert widget.embedding_origins() == ["https://shop.example.org", "http://localhost:8123"]
    entry = db.session.scalars(sa.select(AuditEntry)).all()[-1]
    assert entry.action == "settings.updated"


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://www.example.org", "https://www.example.org"),
        ("http://LOCALHOST:8000/", "http://localhost:8000"),
        ("https://example.org:443", "https://example.org"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://example.org/path", None),
        ("https://example.org?x=1", None),
        ("ftp://example.org", None),
        ("example.org", None),
        ("https://user@example.org", None),
        ("https://*.example.org", None),
        ("https://example.org:99999", None),
    ],
)
def test_origins_are_scheme_host_and_port_only(text: str, origin: str | None) -> None:
    assert widget.normalised_origin(text) == origin


def test_the_widget_script_stays_small() -> None:
    script = Path(__file__).resolve().parents[2] / "static" / "widget.js"
    assert script.stat().st_size < 10 * 1024


def test_staff_see_the_page_an_item_came_from_and_the_public_do_not(
    make_client: Callable[[], FlaskClient],
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
) -> None:
    item = feedback_service.submit_feedback(
        make_user(),
        kind="idea",
        category_id=make_category().id,
        title="Save my basket for later",
        body="Let me keep the basket when I leave the shop.",
        visibility="public",
        page_url=PAGE,
    )
    db.session.commit()
    staff = make_client()
    login(staff, make_user(role=Role.STAFF).email)
    staff_page = staff.get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert "Sent from the widget on" in staff_page
    assert "https://shop.example.org/basket?step=2" in staff_page.replace("&amp;", "&")
    public_page = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Save my basket for later" in public_page
    assert "shop.example.org" not in public_page


def test_a_page_address_that_is_not_a_web_address_is_refused(
    make_user: Callable[..., User], make_category: Callable[..., Category]
) -> None:
    with pytest.raises(DomainError, match="address of the page"):
        feedback_service.submit_feedback(
            make_user(),
            kind="idea",
            category_id=make_category().id,
            title="Save my basket for later",
            body="Let me keep the basket when I leave the shop.",
            visibility="private",
            page_url="javascript:alert(1)",
        )


def test_the_personal_details_guard_holds_a_public_item_sent_through_the_widget(
    frame: FlaskClient, allowed: None, sso_secret: str, make_category: Callable[..., Category]
) -> None:
    category = make_category()
    page = _signed_in_by_sso(frame, sso_secret)
    fields = _fields(
        category,
        visibility="public",
        body="Nothing came. Ring me on 07911 123456 and I will explain.",
    )
    held = frame.post("/widget/", data={"widget_token": _token_in(page), **fields})
    assert held.status_code == 422
    asked = held.get_data(as_text=True)
    assert "This will be public: make it private, or take the details out?" in asked
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
    # "Make it private and send", from the question's button.
    again = dict(browser_form(asked, "/widget/"))
    again["make_private"] = "1"
    sent = frame.post("/widget/", data=again)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    item = db.session.scalars(sa.select(Feedback)).one()
    assert item.visibility == "private" and item.page_url == PAGE


def test_someone_signed_in_here_sends_from_a_tab_of_its_own_without_sso(
    client: FlaskClient,
    make_verified_user: Callable[..., User],
    make_category: Callable[..., Category],
    allowed: None,
) -> None:
    """A small screen's new tab sends the portal's cookie: its person is named at once."""
    nia = make_verified_user()
    login(client, nia.email)
    page = client.get("/widget/", query_string={"page": PAGE}).get_data(as_text=True)
    assert f"Signed in as {nia.display_name}" in page
    sent = client.post(
        "/widget/", data={**dict(browser_form(page, "/widget/")), **_fields(make_category())}
    )
    assert sent.status_code == 200
    item = db.session.scalars(sa.select(Feedback)).one()
    assert (item.author_id, item.page_url) == (nia.id, PAGE)


def test_a_staff_address_is_not_signed_in_by_the_widget(
    frame: FlaskClient, allowed: None, sso_secret: str, make_user: Callable[..., User]
) -> None:
    make_user(role=Role.STAFF, email="ada@example.com")
    page = _signed_in_by_sso(frame, sso_secret)
    assert "belongs to a member of staff" in page
    assert "Sign in to send" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
