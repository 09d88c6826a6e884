"""Inviting staff in a real browser, read in real email: Ada, the first admin, sees "Get
started", invites Sam from the people page; Sam's email (delivered over SMTP) links to a page
where Sam chooses a name and a password and lands in triage, signed in as staff. Ada's list
says the invitation was accepted, and the checklist ticks "Invite your staff"."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Category, Role, User
from portal.services.outbox import deliver_pending
from tests.browser.conftest import screenshot, sign_in

SAM = "sam@example.com"
SAMS_PASSWORD = "sams own long password"


def _mail_to(smtp_server, address: str) -> list[EmailMessage]:
    """Deliver what is due and return what reached this address (the test's own transaction
    ends first: its snapshot predates what the live server has written since)."""
    db.session.commit()
    deliver_pending()
    return [m for m in smtp_server.messages if address in m["X-Envelope-To"]]


def test_an_invitation_accepted_from_its_email_lands_the_new_staff_member_in_triage(
    open_page: Callable[..., Page],
    make_user: Callable[..., User],
    make_category: Callable[..., Category],
    smtp_server,
) -> None:
    make_category(name="General")
    ada = make_user(display_name="Ada Admin", role=Role.ADMIN)

    # 1. Ada sees the checklist, follows its "Invite your staff" step and invites Sam.
    desk = open_page()
    sign_in(desk, ada.email)
    desk.goto("/admin/")
    checklist = desk.locator("#get-started")
    expect(checklist).to_contain_text("Get started")
    expect(checklist).to_contain_text("0 of 5 steps done.")
    checklist.get_by_role("link", name="Invite your staff").click()
    desk.get_by_label("Email address").fill(SAM)
    desk.get_by_label("Role", exact=True).select_option(label="Staff")
    desk.get_by_role("button", name="Send invitation").click()
    expect(desk.locator(".flash--success")).to_contain_text(f"Invitation sent to {SAM}")
    expect(desk.locator("#invitations")).to_contain_text("Waiting for an answer")
    screenshot(desk, "journey-invitation-sent")

    # 2. Sam reads the email and follows its link, in a browser of Sam's own.
    (mail,) = _mail_to(smtp_server, SAM)
    assert "Ada Admin invites you to join" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/account/invitation/\S+", text)
    assert link, text
    sam = open_page()
    sam.goto(urlsplit(link.group(0)).path)
    expect(sam.get_by_role("heading", name="Join the team")).to_be_visible()
    sam.get_by_label("Display name").fill("Sam Ode")
    sam.get_by_label("New password", exact=True).fill(SAMS_PASSWORD)
    sam.get_by_label("Repeat the new password").fill(SAMS_PASSWORD)
    screenshot(sam, "journey-invitation-accept")
    sam.get_by_role("button", name="Accept and sign in").click()

    # 3. Sam is in triage, signed in, as staff.
    expect(sam).to_have_url(re.compile(r"/admin/$"))
    expect(sam.locator(".flash--success")).to_contain_text("Welcome, Sam Ode.")
    expect(sam.get_by_role("heading", name="Triage", exact=True)).to_be_visible()
    db.session.expire_all()
    joined = db.session.query(User).filter_by(email=SAM).one()
    assert joined.role is Role.STAFF and joined.verified_at is not None

    # 4. Ada's list says so, and the checklist ticks the step; she puts it away (htmx).
    desk.goto("/admin/users")
    expect(desk.locator("#invitations")).to_contain_text("Accepted")
    desk.goto("/admin/")
    expect(desk.locator("#get-started")).to_contain_text("1 of 5 steps done.")
    desk.get_by_role("button", name="Put this checklist away").click()
    expect(desk.get_by_text("The checklist is put away.")).to_be_visible()
    expect(desk.locator("#get-started")).to_have_count(0)
