"""After submitting, in another language: the thank-you page and the receipt email say when a
person will answer in the reader's words (Babel's weekday and month, the language's own clock),
every other word through the catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_datetime

from portal.extensions import db
from portal.models import Feedback, OutboxMessage, Role, User
from portal.services import notifications, workflow
from tests.helpers import login
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog

DUE = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # a Tuesday, on the hour


def test_the_answer_time_is_written_in_the_readers_language(
    pseudo_site, people_data, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author, title=people_data[0])
    item.created_at, item.ack_due_at = DUE - timedelta(hours=48), DUE
    workflow.take(item.id, make_verified_user(role=Role.STAFF, display_name="Nia Okafor"))
    db.session.commit()
    said = str(format_datetime(DUE, "EEEE d MMMM, HH:mm", locale=PSEUDO_LANGUAGE))
    assert "mardo" in said  # Tuesday in the stand-in language, not English

    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    login(browser, author.email)
    html = browser.get(f"/feedback/{item.id}/submitted").get_data(as_text=True)
    assert said in html
    assert words_outside_the_catalog(html, [*people_data, said]) == []

    with pseudo_site.app_context():
        reader = db.session.get(User, author.id)
        assert reader is not None
        reader.language = PSEUDO_LANGUAGE
        notifications.send_receipt(db.session.get(Feedback, item.id), reader)
        db.session.commit()
    receipt = db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "receipt", OutboxMessage.to_email == author.email)
        .order_by(OutboxMessage.id.desc())
    )
    assert receipt is not None
    assert said in receipt.text_body and said in receipt.html_body
