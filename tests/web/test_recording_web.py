"""The admin pages for feedback staff take for a customer: /admin/feedback/new (a button on
triage) and the "me too" form on an item's admin page."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image

from portal.extensions import db
from portal.models import (
    Attachment,
    Category,
    Feedback,
    FeedbackChannel,
    Role,
    StaffRecording,
    User,
    Visibility,
    Vote,
)
from tests.helpers import login, post

TITLE = "Ticket machine at Elm Street eats coins"
BODY = "She put in two pounds twice and got nothing back either time."


@pytest.fixture
def staff(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user(role=Role.STAFF, display_name="Sam from Support")


@pytest.fixture
def category(make_category: Callable[..., Category]) -> Category:
    return make_category(name="Stations")


@pytest.fixture
def browser(make_client: Callable[[], FlaskClient], staff: User) -> FlaskClient:
    client = make_client()
    login(client, staff.email)
    return client


def _form(category: Category, **overrides: str) -> dict[str, str]:
    fields = {
        "customer_email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "channel": "phone",
        "kind": "complaint",
        "category_id": str(category.id),
        "title": TITLE,
        "body": BODY,
        "visibility": "private",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _items() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) or 0


def test_triage_has_a_button_to_the_page(browser: FlaskClient) -> None:
    page = _page(browser.get("/admin/"))
    assert 'href="/admin/feedback/new"' in page
    assert "Record feedback for a customer" in page


def test_staff_record_an_item_for_a_new_contact_and_its_page_says_who_and_how(
    browser: FlaskClient, category: Category
) -> None:
    form = _page(browser.get("/admin/feedback/new"))
    for label in ("Customer's email address", "Phone", "Chat", "In person", "Social media"):
        assert label in form

    response = post(browser, "/admin/feedback/new", _form(category))

    assert response.status_code == 302
    item = db.session.scalars(sa.select(Feedback)).one()
    assert response.headers["Location"].endswith(f"/admin/feedback/{item.id}")
    author = db.session.get(User, item.author_id)
    assert author is not None and author.email == "ada@example.com"
    assert item.channel is FeedbackChannel.PHONE and item.visibility is Visibility.PRIVATE
    page = _page(browser.get(response.headers["Location"]))
    assert f"Recorded #{item.id} for Ada Lovelace, a new contact." in page
    assert "Recorded for Ada Lovelace" in page
    assert "Recorded by Sam from Support, by phone" in page
    assert "via Phone" in page


def test_bad_input_is_refused_with_what_was_typed_kept(
    browser: FlaskClient, category: Category
) -> None:
    response = post(
        browser,
        "/admin/feedback/new",
        _form(category, customer_email="not an address", channel=""),
    )

    assert response.status_code == 400
    page = _page(response)
    assert "That does not look like an email address" in page
    assert "Please say how the customer told you." in page
    assert f'value="{TITLE}"' in page and BODY in page
    assert 'value="not an address"' in page
    assert _items() == 0


def test_a_refusal_of_the_rules_keeps_what_was_typed(
    browser: FlaskClient, category: Category
) -> None:
    # Nobody has this address yet, and no name was given for the new contact.
    response = post(browser, "/admin/feedback/new", _form(category, customer_name=""))

    assert response.status_code == 422
    page = _page(response)
    assert "No customer has that address yet: give their name" in page
    # Said beside the name field, which is marked, not only at the top of the form.
    assert re.search(r'id="customer_name-error"[^>]*>No customer has that address yet', page), page
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="customer_name"', page) or re.search(
        r'<input[^>]*id="customer_name"[^>]*aria-invalid="true"', page
    )
    assert f'value="{TITLE}"' in page and BODY in page and 'value="ada@example.com"' in page
    assert _items() == 0
    assert db.session.scalar(sa.select(User).where(User.email == "ada@example.com")) is None


def test_personal_details_are_held_and_can_be_made_private(
    browser: FlaskClient, category: Category
) -> None:
    body = "Ring her back on 07911 123456 about the refund, please."
    held = post(browser, "/admin/feedback/new", _form(category, visibility="public", body=body))
    assert held.status_code == 422
    page = _page(held)
    assert "07911 123456" in page and "Make it private and send" in page
    assert _items() == 0

    sent = post(
        browser,
        "/admin/feedback/new",
        {**_form(category, visibility="public", body=body), "make_private": "1"},
    )
    assert sent.status_code == 302
    item = db.session.scalars(sa.select(Feedback)).one()
    assert item.visibility is Visibility.PRIVATE


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_an_image_the_customer_sent_goes_with_their_item_and_waits_through_a_refusal(
    browser: FlaskClient, category: Category
) -> None:
    # Refused (no name for the new contact): the image is kept and comes back as a preview.
    refused = post(
        browser,
        "/admin/feedback/new",
        {**_form(category, customer_name=""), "images": (io.BytesIO(_png()), "till.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    kept = re.findall(r'name="image_id" value="([^"]+)"', refused.get_data(as_text=True))
    assert len(kept) == 1

    sent = post(browser, "/admin/feedback/new", {**_form(category), "image_id": kept[0]})

    assert sent.status_code == 302
    item = db.session.scalars(sa.select(Feedback)).one()
    image = db.session.scalars(sa.select(Attachment)).one()
    # The customer's image, on the customer's item, as if they had sent it.
    assert (image.public_id, image.feedback_id, image.uploader_id) == (
        kept[0],
        item.id,
        item.author_id,
    )


def test_an_existing_customer_is_found_whatever_the_case(
    browser: FlaskClient, category: Category, make_verified_user: Callable[..., User]
) -> None:
    nia = make_verified_user(email="nia@example.com", display_name="Nia Jones")
    response = post(
        browser,
        "/admin/feedback/new",
        _form(category, customer_email="NIA@Example.com", customer_name="", channel="social"),
    )
    assert response.status_code == 302
    item = db.session.scalars(sa.select(Feedback)).one()
    assert item.author_id == nia.id and item.channel is FeedbackChannel.SOCIAL
    page = _page(browser.get(response.headers["Location"]))
    assert f"Recorded #{item.id} for Nia Jones. Their receipt is on its way." in page


def test_customers_and_visitors_cannot_record(
    make_client: Callable[[], FlaskClient], make_verified_user: Callable[..., User], category
) -> None:
    customer = make_verified_user()
    signed_in = make_client()
    login(signed_in, customer.email)
    assert signed_in.get("/admin/feedback/new").status_code == 403
    assert post(signed_in, "/admin/feedback/new", _form(category)).status_code == 403
    visitor = make_client()
    assert visitor.get("/admin/feedback/new").status_code == 302
    assert _items() == 0


# "Me too" for a customer, from the item's admin page ---------------------------------------------


def test_me_too_for_a_customer_once_per_person(
    browser: FlaskClient,
    make_feedback: Callable[..., Feedback],
    make_verified_user: Callable[..., User],
) -> None:
    item = make_feedback(title="Lift out of order at Central")
    owen = make_verified_user(email="owen@example.com", display_name="Owen Price")
    url = f"/admin/feedback/{item.id}"
    assert "Record their “me too”" in _page(browser.get(url))
    sent = {"me_too_email": "Owen@Example.com", "me_too_channel": "in_person"}

    first = post(browser, f"{url}/me-too", sent)

    assert first.status_code == 302
    page = _page(browser.get(url))
    assert "Recorded “me too” for Owen Price" in page
    assert "“Me too” from Owen Price" in page
    assert "Recorded by Sam from Support, in person" in page
    assert "2 votes" in page

    again = post(browser, f"{url}/me-too", sent)

    assert again.status_code == 409
    page = _page(again)
    assert "Owen Price has already said “me too” to this item." in page
    assert 'value="Owen@Example.com"' in page
    votes = db.session.scalar(
        sa.select(sa.func.count()).select_from(Vote).where(Vote.user_id == owen.id)
    )
    assert votes == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRecording)) == 1


def test_me_too_with_bad_input_keeps_it_and_changes_nothing(
    browser: FlaskClient, make_feedback: Callable[..., Feedback]
) -> None:
    item = make_feedback()
    response = post(
        browser,
        f"/admin/feedback/{item.id}/me-too",
        {"me_too_email": "bo@example.com", "me_too_name": "Bo Chen"},
    )
    assert response.status_code == 400
    page = _page(response)
    assert "Please say how the customer told you." in page
    assert 'value="Bo Chen"' in page
    assert db.session.scalar(sa.select(User).where(User.email == "bo@example.com")) is None


def test_customers_cannot_record_a_me_too(
    make_client: Callable[[], FlaskClient],
    make_verified_user: Callable[..., User],
    make_feedback: Callable[..., Feedback],
) -> None:
    item = make_feedback()
    customer = make_verified_user()
    signed_in = make_client()
    login(signed_in, customer.email)
    response = post(
        signed_in,
        f"/admin/feedback/{item.id}/me-too",
        {"me_too_email": customer.email, "me_too_channel": "phone"},
    )
    assert response.status_code == 403
    assert db.session.get(Feedback, item.id).vote_count == 1


# Insights --------------------------------------------------------------------------------------


def test_insights_split_items_by_the_new_channels(browser: FlaskClient, category: Category) -> None:
    post(browser, "/admin/feedback/new", _form(category))
    post(
        browser,
        "/admin/feedback/new",
        _form(category, customer_email="bo@example.com", customer_name="Bo", channel="chat"),
    )
    assert _items() == 2

    page = _page(browser.get("/admin/insights"))

    section = page[page.index('id="channels-heading"') :]
    section = section[: section.index("</table>")]
    for label, count in (("Phone", 1), ("Chat", 1), ("In person", 0), ("Social media", 0)):
        assert f'<th scope="row">{label}</th><td class="num">{count}</td>' in section
    csv = browser.get("/admin/insights.csv?table=channels").get_data(as_text=True)
    assert "phone,1," in csv and "chat,1," in csv
    # What staff recorded, by channel: items and "me too" apart.
    recorded = page[page.index('id="recorded-heading"') :]
    recorded = recorded[: recorded.index("</table>")]
    assert '<th scope="row">Phone</th><td class="num">1</td><td class="num">0</td>' in recorded
    csv = browser.get("/admin/insights.csv?table=recorded").get_data(as_text=True)
    assert csv.splitlines()[0] == "channel,items,me_too"
    assert "chat,1,0" in csv
