"""First run: from an empty database (the migrations and `create-admin` only) a visitor can
register and submit at once, and the admin is shown a "Get started" checklist whose steps are
ticked from what the site holds, until every step is done or an admin puts it away."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, Category, Feedback, Role, User
from portal.services import get_started, invitations
from portal.services.admin import save_category, update_settings
from tests.helpers import finish_registration, login, post

ADMIN_PASSWORD = "a long admin password"
SETTINGS = {
    "organisation_name": "Riverside Housing",
    "contact_email": "help@riverside.example",
    "contact_phone": "",
    "contact_address": "",
    "time_zone": "UTC",
    "pre_moderation": False,
}


def _create_admin(app: Flask, email: str = "ada@example.com") -> str:
    result = app.test_cli_runner().invoke(
        args=["create-admin", email, "--name", "Ada", "--password", ADMIN_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _steps(page: str) -> dict[str, bool]:
    """Each checklist step the page shows, by its link text, and whether it says done."""
    found = re.findall(
        r'class="get-started__step( get-started__step--done)?">.*?<a href="[^"]*">([^<]+)</a>',
        page,
        re.S,
    )
    return {label: bool(done) for done, label in found}


def _triage(client: FlaskClient) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _admin_client(make_client: Callable[[], FlaskClient], email: str) -> FlaskClient:
    browser = make_client()
    login(browser, email, ADMIN_PASSWORD)
    return browser


def test_from_an_empty_database_a_visitor_registers_and_submits_and_the_admin_sees_get_started(
    app: Flask, make_client: Callable[[], FlaskClient]
) -> None:
    # The database holds only what the migrations made: no rows at all.
    assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 0
    output = _create_admin(app)
    assert "Admin ada@example.com created." in output
    assert 'Added a category, "General"' in output

    visitor = make_client()
    form = post(visitor, "/feedback/new").headers.get("Location", "")
    assert "/account/login" in form  # a visitor is asked to sign in (or register) first
    post(
        visitor,
        "/account/register",
        {
            "email": "nia@example.com",
            "password": "nias long password",
            "confirm": "nias long password",
            "display_name": "Nia",
        },
    )
    assert finish_registration(visitor, "nia@example.com").status_code == 302
    new_item = visitor.get("/feedback/new").get_data(as_text=True)
    general = db.session.scalar(sa.select(Category).where(Category.name == "General"))
    assert general is not None and f'value="{general.id}"' in new_item
    submitted = post(
        visitor,
        "/feedback/new",
        {
            "kind": "complaint",
            "category_id": str(general.id),
            "title": "The lift is broken again",
            "body": "Third time this month.",
            "visibility": "public",
        },
    )
    assert submitted.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 1

    admin = _admin_client(make_client, "ada@example.com")
    page = _triage(admin)
    assert "Get started" in page
    steps = _steps(page)
    assert len(steps) == 5 and not any(steps.values()), steps
    assert "The lift is broken again" in page


def test_create_admin_adds_general_only_when_there_is_no_category(
    app: Flask, make_category: Callable[..., Category]
) -> None:
    make_category(name="Billing")
    output = _create_admin(app)
    assert "category" not in output
    names = list(db.session.scalars(sa.select(Category.name)))
    assert names == ["Billing"]


def test_the_first_category_is_audited_as_made_at_the_console(app: Flask) -> None:
    _create_admin(app)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "category.created"))
    assert entry is not None and entry.actor_id is None
    assert entry.detail["name"] == "General" and entry.detail["via"] == "command line"


def test_each_step_is_ticked_by_what_the_site_holds(
    app: Flask, make_client: Callable[[], FlaskClient], change_settings
) -> None:
    _create_admin(app)
    admin_user = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    browser = _admin_client(make_client, "ada@example.com")
    assert not any(get_started.checklist().steps.values())

    # The name alone is not enough: someone must be reachable too (the settings form insists).
    update_settings(admin_user, **SETTINGS)
    db.session.commit()
    steps = get_started.checklist().steps
    assert steps["organisation"] and not steps["time_zone"]

    update_settings(admin_user, **{**SETTINGS, "time_zone": "Europe/London"})
    general = db.session.scalar(sa.select(Category))
    save_category(
        admin_user,
        general.id,
        name="Repairs",
        slug="repairs",
        description="Lifts, doors, heating.",
        ack_target_hours=24,
        response_guide="",
        position=0,
    )
    invitations.invite(admin_user, email="sam@example.com", role=Role.STAFF)
    db.session.commit()
    steps = _steps(_triage(browser))
    assert [done for done in steps.values()] == [True, True, True, False, True], steps

    change_settings(mail_server="smtp.example.com")
    page = _triage(browser)
    # Every step done: the checklist goes away by itself.
    assert "Get started" not in page


def test_renaming_nothing_leaves_the_categories_step_open(app: Flask) -> None:
    _create_admin(app)
    assert get_started.checklist().steps["categories"] is False


def test_putting_the_checklist_away_hides_it_for_every_admin_and_is_audited(
    app: Flask, make_client: Callable[[], FlaskClient], make_user
) -> None:
    _create_admin(app)
    browser = _admin_client(make_client, "ada@example.com")
    assert "Get started" in _triage(browser)
    response = post(browser, "/admin/get-started/dismiss")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert "The checklist is put away" in browser.get("/admin/").get_data(as_text=True)
    assert "get-started-heading" not in _triage(browser)
    other = make_user(role=Role.ADMIN)
    other_browser = make_client()
    login(other_browser, other.email)
    assert "get-started-heading" not in _triage(other_browser)
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "settings.get_started_dismissed")
    )
    assert entry is not None and entry.actor_id is not None


def test_putting_the_checklist_away_with_htmx_answers_with_a_notice_in_its_place(
    app: Flask, make_client: Callable[[], FlaskClient]
) -> None:
    _create_admin(app)
    browser = _admin_client(make_client, "ada@example.com")
    response = post(browser, "/admin/get-started/dismiss", htmx=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'role="status"' in body and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert "get-started-heading" not in _triage(browser)


def test_staff_never_see_the_checklist_nor_put_it_away(
    app: Flask, make_client: Callable[[], FlaskClient], make_user
) -> None:
    _create_admin(app)
    staff = make_user(role=Role.STAFF)
    browser = make_client()
    login(browser, staff.email)
    assert "get-started-heading" not in _triage(browser)
    assert post(browser, "/admin/get-started/dismiss").status_code == 403
    assert get_started.checklist().dismissed is False


def test_the_settings_page_says_whether_mail_is_connected(
    app: Flask, make_client: Callable[[], FlaskClient], change_settings
) -> None:
    _create_admin(app)
    browser = _admin_client(make_client, "ada@example.com")
    assert "No mail server is set" in browser.get("/admin/settings").get_data(as_text=True)
    change_settings(mail_server="smtp.example.com")
    page = browser.get("/admin/settings").get_data(as_text=True)
    assert "No mail server is set" not in page and "MAIL_SERVER" in page
