"""Every email kind passes its words through the catalog, in its reader's language: each one,
written to people who read the pseudo-locale, holds no other words in its subject, text and
HTML than people's own data (names, titles, what staff wrote) and the site's name.

The kinds are the templates in templates/emails/ (a new one without a case here fails), each
produced as the portal produces it: through the workflow, the notifications and the digests.
Besides, who gets which language: a customer's saved one, else the language of the item they
wrote; the staff member who caused the email keeps theirs; a subscriber's chosen one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from html import escape
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import refresh

from portal import ENVIRONMENT_KEY
from portal.emails import JinjaPresenter
from portal.extensions import db
from portal.models import (
    CategoryFollow,
    DigestSubscription,
    FeedbackKind,
    Invitation,
    OutboxMessage,
    Role,
    User,
    Visibility,
)
from portal.services import (
    digests,
    events,
    images,
    invitations,
    notifications,
    outbox,
    workflow,
)
from portal.services.environment import RenderedEmail
from portal.services.feedback import submit_feedback
from portal.services.site import settings_for_update
from tests.helpers import login, post
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import CLOSE, OPEN, PSEUDO_LANGUAGE, words_outside_the_catalog

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"
KINDS = sorted(path.stem for path in TEMPLATES.glob("*.txt") if not path.stem.startswith("_"))
_LINK = re.compile(f"https?://[^\\s{OPEN}{CLOSE}]+")

ACKNOWLEDGEMENT = (
    "Nia, I am so sorry the parcel arrived soaked. I have asked our courier team to check "
    "their van today and I will tell you what they find."
)
# What people wrote and named in the story below: shown as written, in any language.
TITLE = "Parcel box leaks in the rain"
DUPLICATE_TITLE = "Wet parcels at the flats"
# Too few words to tell their language: the item takes its page's.
UNTOLD_TITLE = "Box wet"
PEOPLE_WORDS = [
    TITLE,
    DUPLICATE_TITLE,
    UNTOLD_TITLE,
    "Nia Okafor",
    "Nia",
    "Priya Shah",
    "Priya",
    "Jo Lee",
    "Jo",
    "Sam Ode",
    "Sam",
    "Our organisation",
    "Parcels and post",
    "The parcel box was wet inside.",
    "Thank you, I am looking at this now.",
    "We will fit a new seal.",
    "a dry parcel box",
    "The seal is late from the supplier.",
    "Nia, the engineer comes on Monday.",
    "Same leak, handled together.",
    "We fitted a new seal and tested it in the rain.",
    "The parcel box leaked",
    "Nia, sorry this took so long.",
    "Still wet this morning.",
    "It was wet again.",
    "Ana Silva",
    "Ana",
    ACKNOWLEDGEMENT,
]


def outside_the_catalog(rendered: RenderedEmail) -> dict[str, list[str]]:
    """The words of each part that did not come through the catalog (links left out)."""
    parts = {
        "subject": escape(rendered.subject),
        "text": escape(_LINK.sub(" ", rendered.text)),
        "html": rendered.html,
    }
    found = {name: words_outside_the_catalog(part, PEOPLE_WORDS) for name, part in parts.items()}
    return {name: words for name, words in found.items() if words}


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, RenderedEmail]]:
    """Every email rendered during the test, with its template's name."""
    seen: list[tuple[str, RenderedEmail]] = []
    render = JinjaPresenter.email

    def recording(self: JinjaPresenter, template: str, *args: Any, **kwargs: Any) -> Any:
        rendered = render(self, template, *args, **kwargs)
        seen.append((template, rendered))
        return rendered

    monkeypatch.setattr(JinjaPresenter, "email", recording)
    return seen


@pytest.fixture
def in_pseudo_site(pseudo_site: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The pseudo-locale's app, its context pushed; a follower's second update of a day is
    folded into a summary."""
    before = pseudo_site.extensions[ENVIRONMENT_KEY]
    capped = replace(before, settings=replace(before.settings, notification_daily_cap=1))
    monkeypatch.setitem(pseudo_site.extensions, ENVIRONMENT_KEY, capped)
    with pseudo_site.app_context():
        yield pseudo_site
        db.session.rollback()


def _person(
    make_user: Any, name: str, preferred: str, language: str = PSEUDO_LANGUAGE, **kwargs: Any
) -> User:
    user = db.session.get(User, make_user(display_name=name, preferred_name=preferred, **kwargs).id)
    assert user is not None
    user.verified_at = datetime.now(UTC)
    user.language = language
    return user


def _in_future(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _tell_everything(
    pseudo_site: Flask, make_user: Any, make_category: Any, language: str = PSEUDO_LANGUAGE
) -> None:
    """The life of a complaint and of a digest subscription, with every email on the way,
    each to someone who reads `language` (the pseudo-locale, or a shipped language)."""
    settings_for_update().contact_email = "help@example.com"
    category = make_category(name="Parcels and post")
    nia = _person(make_user, "Nia Okafor", "Nia", language)
    jo = _person(make_user, "Jo Lee", "Jo", language)
    sam = _person(make_user, "Sam Ode", "Sam", language)
    priya = _person(make_user, "Priya Shah", "Priya", language, role=Role.STAFF)
    db.session.add(CategoryFollow(user_id=priya.id, category_id=category.id))
    db.session.flush()

    item = submit_feedback(  # the receipt; Priya hears of a new item
        nia,
        kind=FeedbackKind.COMPLAINT,
        category_id=category.id,
        title=TITLE,
        body="The parcel box was wet inside.",
        visibility=Visibility.PUBLIC,
    )
    # Every sentence of the receipt's part about files: kept, refused with the pipeline's own
    # reason, past five, and of another kind.
    files = events.FilesByEmail(
        images_kept=2,
        refused=(
            events.FileRefused("scan.pdf", images.other_file_refusal(b"%PDF-1.7").text),
            events.FileRefused("", images.other_file_refusal(b"BM....").text),
        ),
        other_files=2,
        over_limit=1,
    )
    notifications.send_receipt(item, nia, by_email=True, files=files)
    notifications.follow(jo, item)
    workflow.acknowledge(item.id, priya, "Thank you, I am looking at this now.", post_anyway=True)
    workflow.plan(
        item.id,
        priya,
        _in_future(10),
        "We will fit a new seal.",
        outcome="a dry parcel box",
        post_anyway=True,
    )
    workflow.move_promise(item.id, priya, _in_future(20), "The seal is late from the supplier.")
    workflow.reply(item.id, priya, "Nia, the engineer comes on Monday.", post_anyway=True)

    duplicate = submit_feedback(
        sam,
        kind=FeedbackKind.IDEA,
        category_id=category.id,
        title=DUPLICATE_TITLE,
        body="The parcel box was wet inside.",
        visibility=Visibility.PUBLIC,
    )
    workflow.acknowledge(
        duplicate.id, priya, "Thank you, I am looking at this now.", post_anyway=True
    )
    workflow.plan(
        duplicate.id,
        priya,
        _in_future(5),
        "We will fit a new seal.",
        outcome="a dry parcel box",
        post_anyway=True,
    )
    workflow.merge(
        duplicate.id,
        priya,
        item.id,
        "Same leak, handled together.",
        promise=workflow.PromiseChoice.CHANGE,
        promise_reason="The seal is late from the supplier.",
        post_anyway=True,
    )
    workflow.resolve(
        item.id,
        priya,
        "We fitted a new seal and tested it in the rain.",
        "The parcel box leaked",
        "Nia, sorry this took so long.",
        post_anyway=True,
    )
    notifications.notify_reopen_request(item, nia, "Still wet this morning.")
    notifications.notify_still_happens(item, jo, 2)

    notifications.send_verification(nia)
    notifications.send_claim_link(nia)
    notifications.send_password_reset(nia)
    notifications.send_registration_attempt(nia)
    notifications.send_sign_in_link(nia, "a-token")
    notifications.send_email_change_link(nia, "nia.new@example.com", "a-token")
    notifications.send_email_changed(nia, "nia.old@example.com")
    # Priya's manager asks Nia to join the staff: in Nia's language, as her account has one.
    invitations.send_invitation_email(
        Invitation(
            email=nia.email, role=Role.STAFF, expires_at=datetime.now(UTC) + timedelta(days=7)
        ),
        priya,
        "a-token",
    )
    accept = ACCEPT if language == PSEUDO_LANGUAGE else {"Accept-Language": language}
    with pseudo_site.test_request_context("/account/register", headers=accept):
        # Nobody is known yet: the page's language. (The test's app context outlives the
        # request, with the language chosen before it: forget it, as a new request would.)
        refresh()
        notifications.send_registration_link("new@example.com", "Nia", "a-token")

    asked = digests.subscribe("reader@example.com", "weekly", [], language=language)
    digests.confirm(asked.subscription.confirm_token)
    digests.subscribe("reader@example.com", "monthly", [category.id])  # a change, by email
    db.session.commit()
    # Next week, the digest of this week's resolution.
    digests.send_digest("weekly", now=datetime.now(UTC) + timedelta(days=7))


def test_every_email_kind_has_a_case() -> None:
    assert len(KINDS) >= 16
    assert {"item_update", "digest", "receipt", "summary"} <= set(KINDS)


def test_every_email_speaks_only_through_the_catalog(
    in_pseudo_site, written, make_user, make_category
) -> None:
    _tell_everything(in_pseudo_site, make_user, make_category)
    kinds_written = {template for template, _ in written}
    assert kinds_written >= set(KINDS), f"never written: {set(KINDS) - kinds_written}"
    unmarked = {
        template: found
        for template, rendered in written
        if (found := outside_the_catalog(rendered))
    }
    assert unmarked == {}, pformat(unmarked)
    for template, rendered in written:
        assert rendered.language == PSEUDO_LANGUAGE, template
        assert OPEN in rendered.subject and CLOSE in rendered.subject, template
        assert f'lang="{PSEUDO_LANGUAGE}"' in rendered.html, template


def test_a_customer_hears_in_their_language_while_staff_work_in_theirs(
    pseudo_site, make_user, make_feedback, make_category
) -> None:
    """The update goes out in the customer's saved language from a request that staff make in
    English; a customer who chose none hears in the language they wrote their item in (here
    the page's, their words being too few to tell)."""
    category = make_category(name="Parcels and post")
    nia = make_user(display_name="Nia Okafor", preferred_name="Nia")
    ana = make_user(display_name="Ana Silva", preferred_name="Ana")
    staff = make_user(role=Role.STAFF, display_name="Priya Shah", preferred_name="Priya")
    with pseudo_site.app_context():
        for person in (nia, ana, staff):
            db.session.get(User, person.id).verified_at = datetime.now(UTC)
        db.session.get(User, nia.id).language = PSEUDO_LANGUAGE
        db.session.get(User, staff.id).language = "en"
        theirs = submit_feedback(
            db.session.get(User, nia.id),
            kind=FeedbackKind.COMPLAINT,
            category_id=category.id,
            title=TITLE,
            body="The parcel box was wet inside.",
            visibility=Visibility.PUBLIC,
        )
        written_in = submit_feedback(
            db.session.get(User, ana.id),
            kind=FeedbackKind.COMPLAINT,
            category_id=category.id,
            title=UNTOLD_TITLE,
            body="Wet!",
            visibility=Visibility.PUBLIC,
            language=PSEUDO_LANGUAGE,
        )
        db.session.commit()
        item_ids = (theirs.id, written_in.id)

    browser = pseudo_site.test_client()
    login(browser, staff.email)
    for item_id in item_ids:
        moved = post(
            browser,
            f"/admin/feedback/{item_id}/move",
            {"to_state": "acknowledged", "message": ACKNOWLEDGEMENT, "post_anyway": "1"},
            headers={"Accept-Language": "en"},
            follow_redirects=True,
        )
        # Staff work in English in the very request that writes the emails.
        page = moved.get_data(as_text=True)
        assert 'lang="en"' in page and OPEN not in page

    with pseudo_site.app_context():
        updates = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "state")
            .order_by(OutboxMessage.feedback_id)
        ).all()
        assert [(m.to_email, m.headers["Content-Language"]) for m in updates] == [
            (nia.email, PSEUDO_LANGUAGE),
            (ana.email, PSEUDO_LANGUAGE),
        ]
        for message in updates:
            assert OPEN in message.subject and OPEN in message.text_body
            # Sent as "Priya Shah at Our organisation", in the email's language too.
            sender = str(make_header(decode_header(outbox._as_email(message).from_address)))
            assert sender.startswith(f'"{OPEN}Priya Shah') or sender.startswith(OPEN), sender
            assert (
                outside_the_catalog(
                    RenderedEmail(message.subject, message.text_body, message.html_body)
                )
                == {}
            ), message.to_email


def test_a_customer_without_a_preference_or_item_hears_in_the_sites_language(
    pseudo_site, make_user
) -> None:
    person = make_user(display_name="Nia Okafor", preferred_name="Nia")
    with pseudo_site.app_context():
        settings_for_update().default_language = PSEUDO_LANGUAGE
        nia = db.session.get(User, person.id)
        assert notifications.recipient_language(nia) == PSEUDO_LANGUAGE
        nia.language = "en"
        assert notifications.recipient_language(nia) == "en"
        nia.language = "xx"  # no longer offered
        assert notifications.recipient_language(nia) == PSEUDO_LANGUAGE
        db.session.rollback()


def test_a_digest_subscriber_reads_the_language_chosen_when_subscribing(
    pseudo_site, make_category
) -> None:
    browser = pseudo_site.test_client()
    page = browser.get("/digest/subscribe", headers=ACCEPT).get_data(as_text=True)
    # The page's language is the one offered first.
    assert f'value="{PSEUDO_LANGUAGE}" checked' in page or re.search(
        rf'checked[^>]*value="{PSEUDO_LANGUAGE}"', page
    )
    post(
        browser,
        "/digest/subscribe",
        {"email": "reader@example.com", "frequency": "weekly", "language": PSEUDO_LANGUAGE},
        headers={"Accept-Language": "en"},
    )
    post(
        browser,
        "/digest/subscribe",
        {"email": "other@example.com", "frequency": "weekly", "language": "en"},
        headers=ACCEPT,
    )
    with pseudo_site.app_context():
        chosen = {
            email: language
            for email, language in db.session.execute(
                sa.select(DigestSubscription.email, DigestSubscription.language)
            )
        }
        assert chosen == {"reader@example.com": PSEUDO_LANGUAGE, "other@example.com": "en"}
        confirmations = {
            m.to_email: m
            for m in db.session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.kind == "digest_confirm")
            )
        }
        assert OPEN in confirmations["reader@example.com"].subject
        assert OPEN not in confirmations["other@example.com"].subject


# The pages the digest's emails lead to, in the pseudo-locale.
def test_the_digest_pages_speak_only_through_the_catalog(pseudo_site) -> None:
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    with pseudo_site.app_context():
        asked = digests.subscribe("reader@example.com", "weekly", [], language=PSEUDO_LANGUAGE)
        subscription = asked.subscription
        confirm_token, stop_token = subscription.confirm_token, subscription.unsubscribe_token
        db.session.commit()
    pages = {"confirm": browser.get(f"/digest/confirm/{confirm_token}", headers=ACCEPT)}
    pages["confirmed"] = post(browser, f"/digest/confirm/{confirm_token}", headers=ACCEPT)
    with pseudo_site.app_context():
        change = digests.subscribe("reader@example.com", "monthly", [])
        assert change.outcome is digests.SubscribeOutcome.CHANGE_CONFIRMATION_SENT
        db.session.commit()
        body = db.session.scalar(
            sa.select(OutboxMessage.text_body).where(OutboxMessage.kind == "digest_change")
        )
    change_path = re.search(r"/digest/change/\S+", body or "").group(0)  # type: ignore[union-attr]
    pages["change"] = browser.get(change_path, headers=ACCEPT)
    pages["changed"] = post(browser, change_path, headers=ACCEPT)
    pages["stop"] = browser.get(f"/digest/unsubscribe/{stop_token}", headers=ACCEPT)
    pages["stopped"] = browser.post(f"/digest/unsubscribe/{stop_token}", headers=ACCEPT)
    pages["already stopped"] = browser.get(f"/digest/unsubscribe/{stop_token}", headers=ACCEPT)
    pages["old confirmation"] = browser.get(f"/digest/confirm/{confirm_token}", headers=ACCEPT)
    pages["unknown link"] = browser.get("/digest/unsubscribe/nothing", headers=ACCEPT)
    for name, answer in pages.items():
        html = answer.get_data(as_text=True)
        assert f'lang="{PSEUDO_LANGUAGE}"' in html, name
        assert words_outside_the_catalog(html, ["reader@example.com", "Our organisation"]) == [], (
            name
        )
