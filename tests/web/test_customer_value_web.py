"""Customer value on the staff pages: admins set it on a person's page (with and without
htmx, bad input kept with its message), and triage shows the value of the people behind each
item and sorts by it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, Role, User
from portal.services.customer_value import checked_value, set_customer_value
from portal.services.votes import set_vote
from tests.helpers import login, post


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN, display_name="Ada Admin")


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    client = make_client()
    login(client, user.email)
    return client


def _saved(user_id: int) -> tuple[str | None, int | None, str | None]:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return user.plan, user.monthly_value_cents, user.segment


def test_the_users_page_links_each_person_to_their_page(make_client, make_user, admin) -> None:
    customer = make_user(display_name="Nia Customer")
    page = _signed_in(make_client, admin).get(f"/admin/users?q={customer.email}")
    assert f'href="/admin/users/{customer.id}"' in page.get_data(as_text=True)


def test_an_admin_sets_plan_monthly_value_and_segment_on_the_persons_page(
    make_client, make_user, admin
) -> None:
    customer = make_user(display_name="Nia Customer")
    client = _signed_in(make_client, admin)
    page = client.get(f"/admin/users/{customer.id}")
    assert page.status_code == 200
    assert "Customer value" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    response = post(
        client,
        f"/admin/users/{customer.id}/value",
        {"plan": "Business", "monthly_value": "1,234.50", "segment": "Retail"},
    )
    assert response.status_code == 302
    assert _saved(customer.id) == ("Business", 123450, "Retail")
    shown = client.get(f"/admin/users/{customer.id}").get_data(as_text=True)
    assert 'value="1234.50"' in shown and 'value="Business"' in shown
    assert db.session.scalar(
        sa.select(sa.func.count()).where(AuditEntry.action == "user.value_changed")
    )


def test_htmx_gets_the_section_back_with_a_notice(make_client, make_user, admin) -> None:
    customer = make_user()
    response = post(
        _signed_in(make_client, admin),
        f"/admin/users/{customer.id}/value",
        {"plan": "", "monthly_value": "49", "segment": ""},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="customer-value"' in body and "Saved" in body
    assert _saved(customer.id) == (None, 4900, None)


def test_blank_fields_clear_what_was_kept(make_client, make_user, admin) -> None:
    customer = make_user()
    set_customer_value(admin, customer, checked_value("Pro", "10", "Retail"))
    db.session.commit()
    post(
        _signed_in(make_client, admin),
        f"/admin/users/{customer.id}/value",
        {"plan": " ", "monthly_value": "", "segment": ""},
    )
    assert _saved(customer.id) == (None, None, None)


@pytest.mark.parametrize("htmx", [False, True])
def test_bad_input_is_kept_with_a_clear_message_and_nothing_changes(
    make_client, make_user, admin, htmx: bool
) -> None:
    customer = make_user()
    set_customer_value(admin, customer, checked_value("Pro", "10", "Retail"))
    db.session.commit()
    response = post(
        _signed_in(make_client, admin),
        f"/admin/users/{customer.id}/value",
        {"plan": "Enterprise", "monthly_value": "12.345", "segment": "Education"},
        htmx=htmx,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at most two decimals" in body
    assert 'value="12.345"' in body and 'value="Enterprise"' in body
    assert 'aria-invalid="true"' in body
    assert _saved(customer.id) == ("Pro", 1000, "Retail")


def test_staff_who_are_not_admins_cannot_open_or_post_the_page(make_client, make_user) -> None:
    staff, customer = make_user(role=Role.STAFF), make_user()
    client = _signed_in(make_client, staff)
    assert client.get(f"/admin/users/{customer.id}").status_code == 403
    response = post(client, f"/admin/users/{customer.id}/value", {"monthly_value": "5"})
    assert response.status_code == 403
    assert _saved(customer.id) == (None, None, None)


def test_a_staff_members_page_offers_no_value_form(make_client, make_user, admin) -> None:
    staff = make_user(role=Role.STAFF)
    client = _signed_in(make_client, admin)
    body = client.get(f"/admin/users/{staff.id}").get_data(as_text=True)
    assert "kept for customers only" in body and 'name="monthly_value"' not in body
    refused = post(client, f"/admin/users/{staff.id}/value", {"monthly_value": "5"})
    assert refused.status_code == 400 and "customers only" in refused.get_data(as_text=True)


# Triage ------------------------------------------------------------------------------------


def _row_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="item-(\d+)"', body)]


def test_triage_shows_the_value_behind_each_row_and_sorts_by_it(
    make_client, make_user, make_feedback, admin
) -> None:
    big, small = make_user(), make_user()
    set_customer_value(admin, big, checked_value(None, "500", None))
    set_customer_value(admin, small, checked_value(None, "20", None))
    db.session.commit()
    nobody = make_feedback(title="Nobody paying behind this")
    little = make_feedback(author=small, title="A small customer's item")
    much = make_feedback(title="Wanted by a big customer")
    set_vote(big, much.id, want=True)
    set_vote(small, much.id, want=True)
    db.session.commit()
    client = _signed_in(make_client, admin)

    body = client.get("/admin/?sort=value").get_data(as_text=True)
    assert _row_ids(body)[:3] == [much.id, little.id, nobody.id]
    assert "$520.00 a month" in body and "2 paying" in body
    assert "$20.00 a month" in body
    assert 'value="value" selected' in body

    oldest_first = client.get("/admin/").get_data(as_text=True)
    assert _row_ids(oldest_first)[:3] == [nobody.id, little.id, much.id]
    assert "$520.00 a month" in oldest_first  # the figure shows whatever the sort

    fragment = client.get(
        "/admin/?sort=value", headers={"HX-Request": "true", "HX-Target": "queue-results"}
    )
    assert _row_ids(fragment.get_data(as_text=True))[:2] == [much.id, little.id]
    assert "$520.00 a month" in fragment.get_data(as_text=True)


def test_a_row_given_back_after_taking_it_keeps_its_value(
    make_client, make_user, make_feedback, admin
) -> None:
    payer = make_user()
    set_customer_value(admin, payer, checked_value(None, "75", None))
    db.session.commit()
    item = make_feedback(author=payer)
    response = post(_signed_in(make_client, admin), f"/admin/feedback/{item.id}/take", htmx=True)
    assert "$75.00 a month" in response.get_data(as_text=True)


# Insights ----------------------------------------------------------------------------------


def test_insights_split_items_and_votes_by_segment_on_the_page_and_in_csv(
    make_client, make_user, make_feedback, admin
) -> None:
    retail, edu = make_user(), make_user()
    set_customer_value(admin, retail, checked_value(None, None, "Retail chains"))
    set_customer_value(admin, edu, checked_value(None, None, "Education"))
    db.session.commit()
    item = make_feedback(author=retail)
    make_feedback(author=make_user())
    set_vote(edu, item.id, want=True)
    db.session.commit()
    staff = make_user(role=Role.STAFF)
    client = _signed_in(make_client, staff)

    page = client.get("/admin/insights").get_data(as_text=True)
    section = page[page.index('id="segments-heading"') :]
    section = section[: section.index("</section>")]
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        section,
    )
    assert rows == [
        ("Retail chains", "1", "1", "1"),
        ("Education", "0", "1", "1"),
        ("No segment", "1", "1", "1"),
    ]
    assert 'href="#segments-heading"' in page

    csv_text = client.get("/admin/insights.csv?table=segments").get_data(as_text=True)
    assert csv_text.splitlines() == [
        "segment,items,votes,customers",
        "Retail chains,1,1,1",
        "Education,0,1,1",
        ",1,1,1",
    ]


def test_an_items_admin_page_shows_its_authors_value_and_everyone_behind_it(
    make_client, make_user, make_feedback, admin
) -> None:
    author, voter = make_user(), make_user()
    set_customer_value(admin, author, checked_value("Business", "49.90", "Retail"))
    set_customer_value(admin, voter, checked_value(None, "100", None))
    db.session.commit()
    item = make_feedback(author=author)
    set_vote(voter, item.id, want=True)
    db.session.commit()
    staff = make_user(role=Role.STAFF)
    body = _signed_in(make_client, staff).get(f"/admin/feedback/{item.id}").get_data(as_text=True)
    assert "<dd>Business</dd>" in body and "<dd>$49.90</dd>" in body and "<dd>Retail</dd>" in body
    assert "$149.90 a month, 2 paying" in body
    assert "Set their plan" not in body  # staff see it; admins set it
    as_admin = _signed_in(make_client, admin).get(f"/admin/feedback/{item.id}")
    assert f'href="/admin/users/{author.id}#customer-value"' in as_admin.get_data(as_text=True)
