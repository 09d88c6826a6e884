"""The tone check in the reply's language, whichever door the words come in by: a Spanish reply
that blames is held with its findings on the admin page and in the API's 422; an Arabic reply
is told plainly that the check does not cover it, and is posted, on the admin page (as staff
type, and once posted) and in the API's answer."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Comment, Feedback, FeedbackKind, Role, User
from portal.services import workflow
from portal.services.feedback import get_visible_item
from tests.helpers import login, post

API = "/api/v1"
BLAMING_ES = (
    "Hola Lucía, ¿ha probado a reiniciar el router? Como ya le dijimos, no es culpa nuestra. "
    "Le llamaré el jueves."
)
BLAME_ES = (
    "blame",
    'Sounds like blame: "ha probado a", "Como ya le dijimos", "no es culpa nuestra". '
    "Say what we will do instead.",
)
ARABIC = "مرحبا Lucía، تم شحن طلبك اليوم وسنتصل بك غدا لتأكيد موعد التسليم."
NOT_COVERED = (
    "The tone check does not cover Arabic yet. It only looked at capitals, the name they chose "
    "and words used before: read it through yourself for blame, an apology and a next step."
)
_FINDING = re.compile(r'<li data-code="([^"]+)">(.*?)</li>', re.DOTALL)


def _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback):
    """Lucía's complaint, acknowledged with an apology in Spanish by Sam."""
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    lucia = make_verified_user(preferred_name="Lucía")
    item = make_feedback(
        author=lucia,
        category=make_category(),
        kind=FeedbackKind.COMPLAINT,
        title="Mi pedido llegó roto",
        body="El paquete llegó abierto y la taza estaba rota.",
    )
    workflow.acknowledge(
        item.id, staff, "Hola Lucía, siento mucho lo de su taza. Le escribiré el viernes."
    )
    db.session.commit()
    return staff, item


def _shown(page: str) -> list[tuple[str, str]]:
    return [(code, html.unescape(text)) for code, text in _FINDING.findall(page)]


def _replies(item: Feedback) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Comment.body_source).where(Comment.feedback_id == item.id, Comment.official)
        )
    )


def _reply_by_api(client: FlaskClient, token: str, staff: User, item: Feedback, body: str):
    return client.post(
        f"{API}/items/{item.id}/replies",
        json={"acting_as": staff.email, "body": body},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_spanish_reply_that_blames_is_held_by_the_api_with_spanish_findings(
    make_client, make_user, make_verified_user, make_category, make_feedback, write_token
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)

    held = _reply_by_api(make_client(), write_token, staff, item, BLAMING_ES)

    assert held.status_code == 422, held.get_data(as_text=True)
    findings = held.get_json()["error"]["findings"]
    assert [(f["code"], f["message"]) for f in findings] == [BLAME_ES]
    assert findings[0]["quotes"] == ["ha probado a", "Como ya le dijimos", "no es culpa nuestra"]
    assert _replies(item) == []


def test_a_spanish_reply_that_blames_is_held_on_the_admin_page_with_spanish_findings(
    make_client, make_user, make_verified_user, make_category, make_feedback
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)
    browser = make_client()
    login(browser, staff.email)

    live = post(browser, f"/admin/feedback/{item.id}/tone", {"body": BLAMING_ES}, htmx=True)
    held = post(browser, f"/admin/feedback/{item.id}/reply", {"body": BLAMING_ES})

    assert _shown(live.get_data(as_text=True)) == [BLAME_ES]
    assert held.status_code == 422
    page = held.get_data(as_text=True)
    assert _shown(page[page.index('id="reply-tone"') :].split("</div>")[0]) == [BLAME_ES]
    assert BLAMING_ES in html.unescape(page)  # what they typed is kept
    assert _replies(item) == []


def test_an_arabic_reply_is_posted_by_the_api_with_the_notice_that_it_is_not_covered(
    make_client, make_user, make_verified_user, make_category, make_feedback, write_token
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)

    posted = _reply_by_api(make_client(), write_token, staff, item, ARABIC)

    assert posted.status_code == 201, posted.get_data(as_text=True)
    (notice,) = posted.get_json()["notices"]
    assert (notice["field"], notice["code"], notice["message"]) == (
        "body",
        "not_covered",
        NOT_COVERED,
    )
    assert _replies(item) == [ARABIC]


def test_a_reply_the_check_covers_has_no_notices_in_the_api_answer(
    make_client, make_user, make_verified_user, make_category, make_feedback, write_token
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)

    posted = _reply_by_api(
        make_client(),
        write_token,
        staff,
        item,
        "Hola Lucía, la taza nueva sale mañana. Le escribiré cuando la entreguen.",
    )

    assert posted.status_code == 201, posted.get_data(as_text=True)
    assert posted.get_json()["notices"] == []


def test_an_arabic_reply_is_told_as_staff_type_and_once_posted_on_the_admin_page(
    make_client, make_user, make_verified_user, make_category, make_feedback
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)
    browser = make_client()
    login(browser, staff.email)

    live = post(browser, f"/admin/feedback/{item.id}/tone", {"body": ARABIC}, htmx=True)
    posted = post(browser, f"/admin/feedback/{item.id}/reply", {"body": ARABIC})

    live_page = live.get_data(as_text=True)
    assert "tone--notice" in live_page and "Before you post" not in live_page
    assert _shown(live_page) == [("not_covered", NOT_COVERED)]
    assert posted.status_code == 302  # not held: nothing to change
    after = html.unescape(browser.get(posted.headers["Location"]).get_data(as_text=True))
    assert "Your reply is posted." in after
    assert NOT_COVERED in after
    assert _replies(item) == [ARABIC]


def test_a_short_reply_is_read_in_the_item_s_language(
    make_user, make_verified_user, make_category, make_feedback
) -> None:
    """ "Lo siento." is too short to tell its language: on a Spanish item it is read as
    Spanish, and says sorry; on an item of unknown language it is read as English, and
    does not."""
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    lucia = make_verified_user(preferred_name="Lucía")
    item = make_feedback(author=lucia, category=make_category(), kind=FeedbackKind.COMPLAINT)

    def codes(language: str | None) -> set[str]:
        db.session.execute(
            sa.update(Feedback).where(Feedback.id == item.id).values(language=language)
        )
        db.session.expire_all()
        found = get_visible_item(item.id, None)
        return {f.code for f in workflow.tone_findings(found, "Lo siento.", staff)}

    assert "no_apology" in codes(None)
    assert "no_apology" not in codes("es")


def test_an_arabic_move_message_is_told_once_posted_on_the_admin_page(
    make_client, make_user, make_verified_user, make_category, make_feedback
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)
    browser = make_client()
    login(browser, staff.email)

    moved = post(
        browser,
        f"/admin/feedback/{item.id}/move",
        {"to_state": "investigating", "message": ARABIC},
    )

    assert moved.status_code == 302, moved.get_data(as_text=True)
    after = html.unescape(browser.get(moved.headers["Location"]).get_data(as_text=True))
    assert after.count(NOT_COVERED) == 1


def test_an_arabic_move_message_is_posted_by_the_api_with_its_notice(
    make_client, make_user, make_verified_user, make_category, make_feedback, write_token
) -> None:
    staff, item = _lucia_s_complaint(make_user, make_verified_user, make_category, make_feedback)

    moved = make_client().post(
        f"{API}/items/{item.id}/transitions",
        json={"acting_as": staff.email, "to_state": "investigating", "message": ARABIC},
        headers={"Authorization": f"Bearer {write_token}"},
    )

    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.get_json()["item"]["state"] == "investigating"
    assert [(n["field"], n["code"]) for n in moved.get_json()["notices"]] == [
        ("message", "not_covered")
    ]
