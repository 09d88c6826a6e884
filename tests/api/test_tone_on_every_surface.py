"""The tone check holds a blaming reply or move whichever door it comes in by: the admin page and
the API refuse the same words with the same findings, change nothing, and post them when the
writer says "post anyway"."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.models import (
    Comment,
    Feedback,
    FeedbackKind,
    FeedbackState,
    OutboxMessage,
    Role,
    TimelineEvent,
    User,
)
from portal.services import workflow
from tests.helpers import login, post

API = "/api/v1"
BLAMING = "Nia, did you try putting the bin out before seven? It is not our fault."
# What the tone check says of BLAMING on every surface, word for word. The complaint's first
# reply apologised, so no second apology is asked for; the question is the next step.
FINDINGS = [
    (
        "blame",
        'Sounds like blame: "did you try", "not our fault". Say what we will do instead.',
    ),
]
# "Post anyway" goes through: the admin page sends staff back to the item, the API answers.
POSTED = {
    ("admin", "reply"): 302,
    ("admin", "move"): 302,
    ("api", "reply"): 201,
    ("api", "move"): 200,
}
_FINDING = re.compile(r'<li data-code="([^"]+)">(.*?)</li>', re.DOTALL)


@dataclass(frozen=True)
class Desk:
    """Who sends the words, and how: a signed-in browser on the admin page, or an API token."""

    browser: FlaskClient
    integration: FlaskClient
    token: str
    staff: User

    def send(self, surface: str, action: str, item_id: int, post_anyway: bool) -> TestResponse:
        if surface == "admin":
            data = {"body": BLAMING} if action == "reply" else {"message": BLAMING}
            if action == "move":
                data["to_state"] = FeedbackState.INVESTIGATING.value
            if post_anyway:
                data["post_anyway"] = "1"  # the "Post anyway" button
            return post(self.browser, f"/admin/feedback/{item_id}/{action}", data)
        body: dict[str, object] = {"acting_as": self.staff.email}
        if action == "reply":
            body["body"] = BLAMING
        else:
            body.update(to_state=FeedbackState.INVESTIGATING.value, message=BLAMING)
        if post_anyway:
            body["post_anyway"] = True
        path = "replies" if action == "reply" else "transitions"
        return self.integration.post(
            f"{API}/items/{item_id}/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )


def _findings_shown(surface: str, response: TestResponse) -> list[tuple[str, str]]:
    if surface == "admin":
        page = response.get_data(as_text=True)
        return [(code, html.unescape(text)) for code, text in _FINDING.findall(page)]
    return [(f["code"], f["message"]) for f in response.get_json()["error"]["findings"]]


def _what_the_customer_gets(item_id: int) -> tuple[FeedbackState, int, int, int]:
    """The item's state, its timeline steps, its comments, and the emails queued."""
    db.session.expire_all()

    def count(model: type, *where: sa.ColumnElement[bool]) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    return (
        db.session.get(Feedback, item_id).state,
        count(TimelineEvent, TimelineEvent.feedback_id == item_id),
        count(Comment, Comment.feedback_id == item_id),
        count(OutboxMessage),
    )


@pytest.mark.parametrize("action", ["reply", "move"])
@pytest.mark.parametrize("surface", ["admin", "api"])
def test_blaming_words_are_held_with_the_same_findings_until_posted_anyway(
    make_client,
    make_user,
    make_verified_user,
    make_category,
    make_feedback,
    write_token,
    surface,
    action,
) -> None:
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    nia = make_verified_user(preferred_name="Nia")  # only verified addresses are emailed
    item = make_feedback(author=nia, category=make_category(), kind=FeedbackKind.COMPLAINT)
    workflow.acknowledge(item.id, staff, "Nia, sorry about the bins; I will write by Friday.")
    db.session.commit()
    browser = make_client()
    login(browser, staff.email)
    desk = Desk(browser=browser, integration=make_client(), token=write_token, staff=staff)
    before = _what_the_customer_gets(item.id)

    held = desk.send(surface, action, item.id, post_anyway=False)

    assert held.status_code == 422, held.get_data(as_text=True)
    assert _findings_shown(surface, held) == FINDINGS
    assert _what_the_customer_gets(item.id) == before

    posted = desk.send(surface, action, item.id, post_anyway=True)

    assert posted.status_code == POSTED[surface, action], posted.get_data(as_text=True)
    state, steps, comments, emails = _what_the_customer_gets(item.id)
    if action == "reply":
        assert (state, steps, comments) == (before[0], before[1], before[2] + 1)
        reply = db.session.scalar(sa.select(Comment).where(Comment.feedback_id == item.id))
        assert reply.body_source == BLAMING and reply.official
    else:
        assert (state, steps, comments) == (FeedbackState.INVESTIGATING, before[1] + 1, before[2])
    assert emails > before[3]


WE_DID_BLAMING = "You should have read the manual."


@pytest.mark.parametrize("surface", ["admin", "api"])
def test_a_move_to_done_holds_the_message_and_the_we_did_together_each_by_its_field(
    make_client,
    make_user,
    make_verified_user,
    make_category,
    make_feedback,
    write_token,
    surface,
) -> None:
    """Both texts of a move to Done are checked at once: "post anyway" never publishes a
    "we did" nobody was shown the findings of."""
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    nia = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=nia, category=make_category(), kind=FeedbackKind.COMPLAINT)
    workflow.acknowledge(item.id, staff, "Nia, sorry about the bins; I will write by Friday.")
    db.session.commit()
    before = _what_the_customer_gets(item.id)

    if surface == "admin":
        browser = make_client()
        login(browser, staff.email)
        held = post(
            browser,
            f"/admin/feedback/{item.id}/move",
            {"to_state": "resolved", "message": BLAMING, "we_did": WE_DID_BLAMING},
        )
        page = held.get_data(as_text=True)
        we_did_box = page[page.index('id="we-did-tone"') :].split("</div>")[0]
        message_box = page[page.index('id="move-tone"') :].split("</div>")[0]
        shown = {
            "message": [code for code, _ in _FINDING.findall(message_box)],
            "we_did": [code for code, _ in _FINDING.findall(we_did_box)],
        }
    else:
        held = make_client().post(
            f"{API}/items/{item.id}/transitions",
            json={
                "acting_as": staff.email,
                "to_state": "resolved",
                "message": BLAMING,
                "we_did": WE_DID_BLAMING,
            },
            headers={"Authorization": f"Bearer {write_token}"},
        )
        shown = {"message": [], "we_did": []}
        for finding in held.get_json()["error"]["findings"]:
            shown[finding["field"]].append(finding["code"])

    assert held.status_code == 422
    assert shown == {"message": ["blame"], "we_did": ["blame"]}
    assert _what_the_customer_gets(item.id) == before
