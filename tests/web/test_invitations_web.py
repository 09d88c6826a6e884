"""The people page: inviting someone, sending again and revoking (plainly and with htmx), the
invitation's own page, and everyone's role in one form."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEntry, Invitation, Role, User
from portal.services import invitations
from tests.conftest import TEST_PASSWORD
from tests.helpers import emailed_token, login, post

NEW_PASSWORD = "a brand new password"


def _admin(make_client: Callable[[], FlaskClient], make_user: Callable[..., User]) -> FlaskClient:
    browser = make_client()
    login(browser, make_user(role=Role.ADMIN, display_name="Ada").email)
    return browser


def _token(address: str) -> str:
    db.session.expire_all()
    return emailed_token("invitation", address, "/account/invitation/")


def test_an_admin_invites_and_the_invited_person_lands_in_triage_signed_in(
    make_client, make_user
) -> None:
    admin = _admin(make_client, make_user)
    response = post(
        admin, "/admin/users/invite", {"invite_email": "sam@example.com", "invite_role": "staff"}
    )
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitation sent to sam@example.com" in page and "Waiting for an answer" in page

    sam = make_client()
    token = _token("sam@example.com")
    form = sam.get(f"/account/invitation/{token}")
    assert form.status_code == 200 and "as staff" in form.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "sam@example.com")) is None
    accepted = post(
        sam,
        f"/account/invitation/{token}",
        {"display_name": "Sam", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/admin/")
    triage = sam.get("/admin/")
    assert triage.status_code == 200
    assert "Welcome, Sam." in triage.get_data(as_text=True)


def test_a_bad_address_is_refused_and_what_was_typed_stays(make_client, make_user) -> None:
    admin = _admin(make_client, make_user)
    response = post(
        admin, "/admin/users/invite", {"invite_email": "sam at example", "invite_role": "admin"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="sam at example"' in page and "does not look like an email address" in page
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_a_refused_invitation_says_why_and_keeps_the_address(make_client, make_user) -> None:
    admin = _admin(make_client, make_user)
    make_user(email="kim@example.com", role=Role.STAFF, display_name="Kim")
    response = post(
        admin, "/admin/users/invite", {"invite_email": "kim@example.com", "invite_role": "staff"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Kim already has that role" in page and 'value="kim@example.com"' in page


def test_wrong_details_on_the_invitation_page_keep_the_names_and_change_nothing(
    make_client, make_user
) -> None:
    admin = _admin(make_client, make_user)
    post(admin, "/admin/users/invite", {"invite_email": "sam@example.com", "invite_role": "staff"})
    token = _token("sam@example.com")
    sam = make_client()
    response = post(
        sam,
        f"/account/invitation/{token}",
        {"display_name": "Sam Ode", "password": NEW_PASSWORD, "confirm": "something else"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Sam Ode"' in page and "The two passwords are not the same." in page
    assert invitations.invitation_for_token(token) is not None


def test_an_existing_account_confirms_its_password_to_accept(make_client, make_user) -> None:
    admin = _admin(make_client, make_user)
    jo = make_user(email="jo@example.com")
    post(admin, "/admin/users/invite", {"invite_email": "jo@example.com", "invite_role": "admin"})
    token = _token("jo@example.com")
    browser = make_client()
    page = browser.get(f"/account/invitation/{token}").get_data(as_text=True)
    assert "has an account already" in page and 'name="display_name"' not in page
    wrong = post(browser, f"/account/invitation/{token}", {"password": "not the password"})
    assert wrong.status_code == 400 and "not the password" in wrong.get_data(as_text=True)
    right = post(browser, f"/account/invitation/{token}", {"password": TEST_PASSWORD})
    assert right.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, jo.id).role is Role.ADMIN


def test_a_used_revoked_or_forged_link_says_it_is_not_valid(make_client, make_user) -> None:
    admin = _admin(make_client, make_user)
    post(admin, "/admin/users/invite", {"invite_email": "sam@example.com", "invite_role": "staff"})
    token = _token("sam@example.com")
    invitation = db.session.scalar(sa.select(Invitation))
    assert post(admin, f"/admin/invitations/{invitation.id}/revoke").status_code == 302
    for link in (token, "forged-token"):
        visitor = make_client()
        response = visitor.get(f"/account/invitation/{link}", follow_redirects=True)
        assert "expired or is no longer valid" in response.get_data(as_text=True)


def test_send_again_and_revoke_answer_htmx_with_the_list_and_a_plain_form_with_the_page(
    make_client, make_user
) -> None:
    admin = _admin(make_client, make_user)
    post(admin, "/admin/users/invite", {"invite_email": "sam@example.com", "invite_role": "staff"})
    first = _token("sam@example.com")
    invitation = db.session.scalar(sa.select(Invitation))
    again = post(admin, f"/admin/invitations/{invitation.id}/resend", htmx=True)
    assert again.status_code == 200
    fragment = again.get_data(as_text=True)
    # The list alone, for htmx to put in place of the old one: no page around it.
    assert fragment.lstrip().startswith("<section") and "<html" not in fragment
    assert 'id="invitations"' in fragment.split(">", 1)[0]
    assert "sent to sam@example.com again" in fragment
    assert _token("sam@example.com") != first
    plain = post(admin, f"/admin/invitations/{invitation.id}/revoke")
    assert plain.status_code == 302
    page = admin.get(plain.headers["Location"]).get_data(as_text=True)
    assert "is revoked" in page and "Revoked" in page
    twice = post(admin, f"/admin/invitations/{invitation.id}/revoke", htmx=True)
    assert "accepted or revoked already" in twice.get_data(as_text=True)
    actions = list(
        db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.target_type == "invitation")
        )
    )
    assert actions == ["invitation.sent", "invitation.sent_again", "invitation.revoked"]


def _roles_form(page_users: list[User], **changes: tuple[str, bool]) -> dict:
    data: dict = {"user_ids": [str(u.id) for u in page_users], "q": ""}
    for user in page_users:
        role, active = changes.get(f"u{user.id}", (user.role.value, user.active))
        data[f"shown-{user.id}"] = f"{user.role.value}:{int(user.active)}"
        data[f"role-{user.id}"] = role
        if active:
            data[f"active-{user.id}"] = "y"
    return data


def test_one_form_changes_several_roles_at_once(make_client, make_user) -> None:
    admin = _admin(make_client, make_user)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert page.count('type="submit">Save changes') == 1
    kim, lee, mo = (make_user(display_name=n) for n in ("Kim", "Lee", "Mo"))
    form = _roles_form(
        [kim, lee, mo], **{f"u{kim.id}": ("staff", True), f"u{lee.id}": ("admin", True)}
    )
    response = post(admin, "/admin/users", form, follow_redirects=True)
    assert "Saved the roles and access of" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [db.session.get(User, u.id).role for u in (kim, lee, mo)] == [
        Role.STAFF,
        Role.ADMIN,
        Role.CUSTOMER,
    ]


def test_a_refused_row_changes_nobody_and_says_why(make_client, make_user) -> None:
    browser = make_client()
    me = make_user(role=Role.ADMIN, display_name="Ada")
    login(browser, me.email)
    kim = make_user(display_name="Kim")
    form = _roles_form([me, kim], **{f"u{me.id}": ("staff", True), f"u{kim.id}": ("staff", True)})
    response = post(browser, "/admin/users", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cannot remove your own admin role" in page
    db.session.expire_all()
    assert db.session.get(User, kim.id).role is Role.CUSTOMER
    # What the admin chose stays chosen, to correct and send again.
    kims_select = page.split(f'name="role-{kim.id}"', 1)[1].split("</select>", 1)[0]
    assert '<option value="staff" selected>' in kims_select


def test_rows_nobody_changed_keep_what_another_admin_saved_meanwhile(
    make_client, make_user
) -> None:
    admin = _admin(make_client, make_user)
    kim, lee = make_user(display_name="Kim"), make_user(display_name="Lee")
    form = _roles_form([kim, lee], **{f"u{lee.id}": ("staff", True)})  # shown: both customers
    kim.role = Role.ADMIN  # another admin, meanwhile
    db.session.commit()
    post(admin, "/admin/users", form)
    db.session.expire_all()
    assert db.session.get(User, kim.id).role is Role.ADMIN
    assert db.session.get(User, lee.id).role is Role.STAFF


def test_accepting_in_a_browser_signed_in_as_someone_else_signs_them_out_first(
    make_client, make_user
) -> None:
    admin = _admin(make_client, make_user)
    post(admin, "/admin/users/invite", {"invite_email": "sam@example.com", "invite_role": "staff"})
    token = _token("sam@example.com")
    shared = make_client()
    nia = make_user(display_name="Nia")
    login(shared, nia.email)
    response = post(
        shared,
        f"/account/invitation/{token}",
        {"display_name": "Sam", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    account = shared.get("/account/").get_data(as_text=True)
    assert "sam@example.com" in account and nia.email not in account
