"""A merge in a real browser, read in real email: Jo's complaint, looked after by Sam and
promised for a date, is merged into Priya's item; Jo hears from Priya that the promise holds;
Priya resolves it; Jo is asked "Did this fix it?", answers, and "My feedback" shows Done."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Category, Feedback, Role, User
from portal.services import workflow
from portal.services.outbox import deliver_pending
from tests.browser.conftest import BrowserLog, screenshot, sign_in
from tests.browser.test_journeys import move, move_button, move_choice

MERGE_MESSAGE = (
    "Jo, I am so sorry your parcel was soaked. Others reported the same, so we are handling "
    "them together, and you will hear from us by Friday."
)
DONE_MESSAGE = (
    "Ama, thank you, and I am sorry it took so long. From today couriers leave parcels in the "
    "porch box, and I will check with you next week that it works."
)


def _mail_to(smtp_server, address: str) -> list[EmailMessage]:
    """Deliver what is due and return what reached this address. The test's own transaction
    ends first: its snapshot predates what the live server has written since."""
    db.session.commit()
    deliver_pending()
    return [m for m in smtp_server.messages if address in m["X-Envelope-To"]]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_merged_complaint_keeps_its_promise_and_its_customer_is_asked_did_this_fix_it(
    open_page: Callable[..., Page],
    make_category: Callable[..., Category],
    make_feedback: Callable[..., Feedback],
    make_verified_user: Callable[..., User],
    smtp_server,
    browser_log: BrowserLog,
) -> None:
    # The first try at the merge is refused on purpose (400): it did not say what becomes of
    # the promise.
    browser_log.allow(r"/admin/feedback/\d+/move.*status of 400")
    delivery = make_category(name="Delivery")
    sam = make_verified_user(display_name="Sam from Support", role=Role.STAFF)
    priya = make_verified_user(display_name="Priya from Delivery", role=Role.STAFF)
    jo = make_verified_user(email="jo@example.com", display_name="Jo B.", preferred_name="Jo")
    ama = make_verified_user(preferred_name="Ama")
    target = make_feedback(
        author=ama, category=delivery, title="Parcels left out in the rain", body="Again."
    )
    workflow.acknowledge(
        target.id,
        priya,
        "Ama, I am sorry your parcels were left in the rain. I will talk to the couriers today "
        "and write to you by Friday.",
        post_anyway=True,
    )
    complaint = make_feedback(
        author=jo, category=delivery, title="My parcel was soaked", body="On the step, in rain."
    )
    promised = datetime.now(UTC).date() + timedelta(days=12)
    workflow.acknowledge(
        complaint.id,
        sam,
        "Jo, I am so sorry your parcel was soaked. I will look into it today.",
        post_anyway=True,
    )
    workflow.plan(
        complaint.id,
        sam,
        promised,
        "Jo, I am so sorry your parcel was soaked. I will have the couriers use the porch box "
        "by then.",
        outcome="the couriers using your porch box",
        post_anyway=True,
    )
    db.session.commit()
    deliver_pending()

    # 1. Sam merges Jo's complaint into Priya's item; the form asks about the promise first.
    desk = open_page()
    sign_in(desk, sam.email)
    desk.goto(f"/admin/feedback/{complaint.id}")
    merging = move_choice(desk, "Merged")
    merging.get_by_label("Public message to the customer").fill(MERGE_MESSAGE)
    merging.get_by_label("Merge into item number (for Merged)").fill(str(target.id))
    move_button(merging, "Merged").click()
    expect(desk.locator(".flash--error")).to_contain_text(f"#{complaint.id} carries a promise")
    merging = move_choice(desk, "Merged")  # open again after the refusal, as it was typed
    expect(merging.get_by_label("Public message to the customer")).to_have_value(MERGE_MESSAGE)
    screenshot(desk, "journey-merge-asks-about-the-promise")
    merging.get_by_label("Keep it on the item it joins (the earlier date wins)").check()
    move_button(merging, "Merged").click()
    expect(desk.locator(".flash--success")).to_contain_text("Moved to \u201cMerged\u201d")

    # 2. Jo is told by Priya, who looks after it now, that the promise holds.
    mail = _mail_to(smtp_server, jo.email)
    (merged,) = [m for m in mail if "looks after this now" in m["Subject"]]
    assert "Priya from Delivery" in merged["From"]
    told = _text(merged)
    assert "I am Priya from Delivery, and I look after it from now on." in told
    assert f"The date we promised you still holds: by {promised.day} {promised:%B %Y}." in told
    assert "Sam from Support, who looked after your report, wrote:" in told
    assert "\n\nPriya from Delivery\n" in told

    # 3. Priya resolves her item.
    owner = open_page()
    sign_in(owner, priya.email)
    owner.goto(f"/admin/feedback/{target.id}")
    # Jo's promise came with her complaint: what was promised, and by when.
    expect(owner.locator("#promise-heading + p")).to_contain_text(
        "We promised: the couriers using your porch box by"
    )
    move(owner, "Done", DONE_MESSAGE)

    # 4. Jo gets the resolution, follows its link, answers, and sees it Done in "My feedback".
    (done,) = [m for m in _mail_to(smtp_server, jo.email) if m["Subject"].startswith("Done:")]
    assert "Priya from Delivery" in done["From"]
    text = _text(done)
    assert "Did this fix it for you?" in text
    link = re.search(rf"https?://\S+/feedback/{target.id}\b", text)
    assert link, text

    customer = open_page()
    sign_in(customer, jo.email)
    customer.goto(urlsplit(link.group(0)).path)
    expect(customer.get_by_role("heading", name="Did this fix it, Jo?")).to_be_visible()
    customer.get_by_role("button", name="Yes, it is fixed").click()
    expect(customer.locator(".fixed-check")).to_contain_text("You told us it is fixed.")

    customer.goto("/account/")
    mine = customer.locator(".mine", has_text="My parcel was soaked")
    expect(mine).to_contain_text(
        f"Merged into #{target.id} \u201cParcels left out in the rain\u201d"
    )
    expect(mine.locator(".merged-into strong")).to_have_text("Done")
    expect(mine).to_contain_text("looked after by Priya from Delivery")
    screenshot(customer, "journey-merged-my-feedback")
