"""The staff side passes every word through the translation catalog: the triage queue and its
rows, an item's page (with the tone check's findings after a refused reply), resolutions,
insights, and the admin's categories, users, settings, audit log, tokens and webhooks, rendered
in the pseudo-locale with data in them; and the public "How we are doing" page for a visitor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    ApiToken,
    AuditEntry,
    Category,
    Comment,
    Feedback,
    Resolution,
    Role,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.services import workflow
from portal.services.webhooks import deliver_webhooks
from tests.helpers import login, post
from tests.i18n.conftest import ACCEPT
from tests.i18n.pseudo import PSEUDO_LANGUAGE, words_outside_the_catalog
from tests.webhook_receiver import Receiver, run_receiver

# Said to the customer in English on purpose: the tone check finds blame and no apology in it.
BLAMING = "did you call us? You should have read the manual."
KIND_WORDS = "Sorry, Nia, we are looking into it today and will tell you what we find."


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


@pytest.fixture
def staff_site(pseudo_site, people_data, make_user, make_feedback, receiver):
    """A portal with something on every staff page: items in the queue, one acknowledged with
    a promise, a comment and an internal note, a published resolution, a token and a webhook
    that has tried a delivery."""
    staff = make_user(role=Role.STAFF, display_name="Sam Okoro", preferred_name="Sam")
    admin = make_user(role=Role.ADMIN, display_name="Ada Mensah", preferred_name="Ada")
    author = make_user(display_name="Nia Okafor", preferred_name="Nia")
    first = db.session.scalars(sa.select(Feedback)).first()
    assert first is not None
    promised = make_feedback(author=author, title="Meter reads double since March")
    workflow.acknowledge(promised.id, staff, KIND_WORDS, post_anyway=True)
    workflow.reply(promised.id, staff, "Nia, sorry, here is what we found.", post_anyway=True)
    workflow.plan(
        promised.id,
        staff,
        date.today() + timedelta(days=9),
        "Nia, sorry: fixed by then.",
        outcome="a meter that reads right",
        post_anyway=True,
    )
    workflow.add_internal_note(promised.id, staff, "Check with the meter team.")
    done = make_feedback(author=author, title="Bins missed on Tuesday")
    workflow.acknowledge(done.id, staff, KIND_WORDS, post_anyway=True)
    db.session.commit()
    return {
        "staff": staff,
        "admin": admin,
        "received": first,
        "promised": promised,
        "done": done,
        "receiver": receiver,
    }


def _people_data(base: list[str]) -> list[str]:
    """What people wrote and named, and machine codes (addresses, events, token prefixes):
    shown as they are in every language."""
    data = list(base)
    for user in db.session.scalars(sa.select(User)):
        data += [user.display_name, user.preferred_name, user.email]
    for item in db.session.scalars(sa.select(Feedback)):
        data += [item.title, item.body_source]
    for category in db.session.scalars(sa.select(Category)):
        data += [category.name, category.slug, category.response_guide or ""]
    for comment in db.session.scalars(sa.select(Comment)):
        data.append(comment.body_source)
    for resolution in db.session.scalars(sa.select(Resolution)):
        data += [resolution.you_said, resolution.we_did_source]
    for token in db.session.scalars(sa.select(ApiToken)):
        data += [token.name, token.prefix]
    for endpoint in db.session.scalars(sa.select(WebhookEndpoint)):
        data += [endpoint.url, endpoint.description or "", *endpoint.events]
    for entry in db.session.scalars(sa.select(AuditEntry)):
        # The log's details are the action's machine fields and what people typed, as stored.
        data += [entry.target_type, *entry.detail, *(str(v) for v in entry.detail.values())]
    for delivery in db.session.scalars(sa.select(WebhookDelivery)):
        data += [delivery.event, delivery.delivery_uid, delivery.last_error or ""]
    return [value for value in data if value]


def _browser(pseudo_site, person: User | None) -> FlaskClient:
    browser = pseudo_site.test_client()
    browser.set_cookie("lang", PSEUDO_LANGUAGE)
    if person is not None:
        login(browser, person.email)
    return browser


# Shown on the staff item page, but another part's to mark (templates/feedback/_timeline.html,
# the timeline's steps said by the services): proved by that part's own pseudo-locale test.
_TIMELINE = re.compile(r'<ol class="timeline">.*?</ol>', re.S)
# Places, named as the time zone database names them ("Europe/London"), and languages, each
# named in its own.
_OWN_NAMES = re.compile(r'<select[^>]* id="(?:time_zone|default_language)".*?</select>', re.S)
# A chart's axis names weeks by Babel's dates ("7 Dec"), as <time> does elsewhere.
_DATE_TICKS = re.compile(r'<text class="chart__tick"[^>]*>[^<]*</text>')
# A chart label cut to fit ends in an ellipsis, which cuts off the pseudo-locale's brackets.
_CUT_LABEL = re.compile('(<text class="chart__label"[^>]*>)([^<]*)\u2026</text>')
# Catalog words with catalog words among their values ("via ⟦Website⟧"): inner ones first.
_INNERMOST = re.compile("\u27e6[^\u27e6\u27e7]*\u27e7")


def _closed(cut: re.Match[str]) -> str:
    label = cut.group(2)
    return cut.group(1) + label + "\u27e7" * (label.count("\u27e6") - label.count("\u27e7"))


def _assert_all_marked(html: str, people_data: list[str]) -> None:
    assert f'lang="{PSEUDO_LANGUAGE}"' in html or "<html" not in html
    for not_ours in (_TIMELINE, _OWN_NAMES, _DATE_TICKS):
        html = not_ours.sub("", html)
    html = _CUT_LABEL.sub(_closed, html)
    while _INNERMOST.search(html):
        html = _INNERMOST.sub(" ", html)
    unmarked = words_outside_the_catalog(html, _people_data(people_data))
    assert unmarked == [], [html[max(0, i - 150) : i + 60] for i in _places(html, unmarked)]


def _places(html: str, words: list[str]) -> list[int]:
    """Where the first few unmarked words are, to say so when the check fails."""
    return [html.find(word) for word in dict.fromkeys(words)][:5]


STAFF_PAGES = {
    "the triage queue": "/admin/",
    "the queue with every item": "/admin/?all=1",
    "the queue, nothing in this view": "/admin/?q=zzzzqqq",
    "a received item": "/admin/feedback/{received}",
    "an acknowledged item with comments": "/admin/feedback/{promised}",
    "publishing a resolution": "/admin/resolutions/new?items={done}",
    "resolving an item nobody has answered": "/admin/resolutions/new?items={received}",
    "insights": "/admin/insights",
    "insights, dates mended": "/admin/insights?from=nonsense&to=2001-01-01",
}
ADMIN_PAGES = {
    "the triage queue, for an admin": "/admin/",
    "categories": "/admin/categories",
    "a category": "/admin/categories/{category}",
    "users": "/admin/users",
    "users, nobody found": "/admin/users?q=zzzzqqq",
    "settings": "/admin/settings",
    "the audit log": "/admin/audit",
    "tokens": "/admin/tokens",
    "webhooks": "/admin/webhooks",
    "a webhook": "/admin/webhooks/{webhook}",
}


def _ids(site: dict) -> dict[str, int]:
    return {
        "received": site["received"].id,
        "promised": site["promised"].id,
        "done": site["done"].id,
        "category": site["received"].category_id,
    }


@pytest.mark.parametrize("page", STAFF_PAGES, ids=list(STAFF_PAGES))
def test_every_staff_page_is_in_the_readers_language(
    pseudo_site, people_data, staff_site, page
) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    answer = browser.get(STAFF_PAGES[page].format(**_ids(staff_site)), headers=ACCEPT)
    assert answer.status_code == 200
    _assert_all_marked(answer.get_data(as_text=True), people_data)


@pytest.mark.parametrize("page", ADMIN_PAGES, ids=list(ADMIN_PAGES))
def test_every_admin_page_is_in_the_readers_language(
    pseudo_site, people_data, staff_site, page
) -> None:
    browser = _browser(pseudo_site, staff_site["admin"])
    post(browser, "/admin/tokens", {"name": "CRM sync", "scope": "write"})
    receiver = staff_site["receiver"]
    created = post(
        browser,
        "/admin/webhooks",
        {"url": receiver.url, "description": "Helpdesk", "events": ["item.created"]},
    )
    assert created.status_code == 201
    _assert_all_marked(created.get_data(as_text=True), people_data)
    webhook = db.session.scalar(sa.select(WebhookEndpoint.id))
    post(browser, f"/admin/webhooks/{webhook}/ping")
    receiver.answers = [500]
    deliver_webhooks()
    path = ADMIN_PAGES[page].format(webhook=webhook, **_ids(staff_site))
    answer = browser.get(path, headers=ACCEPT)
    assert answer.status_code == 200
    _assert_all_marked(answer.get_data(as_text=True), people_data)


def test_the_queue_fragment_and_a_taken_row(pseudo_site, people_data, staff_site) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    fragment = browser.get("/admin/?all=1", headers={**ACCEPT, "HX-Request": "true"})
    _assert_all_marked(fragment.get_data(as_text=True), people_data)
    taken = post(browser, f"/admin/feedback/{staff_site['received'].id}/take", htmx=True)
    assert taken.status_code == 200
    _assert_all_marked(taken.get_data(as_text=True), people_data)


def test_a_reply_refused_by_the_tone_check_shows_its_findings_through_the_catalog(
    pseudo_site, people_data, staff_site
) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    item = staff_site["promised"]
    refused = post(browser, f"/admin/feedback/{item.id}/reply", {"body": BLAMING})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'data-code="blame"' in html
    _assert_all_marked(html, [*people_data, BLAMING])


def test_a_move_and_a_quick_acknowledgement_refused_by_the_tone_check(
    pseudo_site, people_data, staff_site
) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    item = staff_site["received"]
    moved = post(
        browser,
        f"/admin/feedback/{item.id}/move",
        {"to_state": "acknowledged", "message": BLAMING},
    )
    assert moved.status_code == 422
    _assert_all_marked(moved.get_data(as_text=True), [*people_data, BLAMING])
    quick = post(browser, f"/admin/feedback/{item.id}/acknowledge", {"message": BLAMING}, htmx=True)
    assert 'data-code="blame"' in quick.get_data(as_text=True)
    _assert_all_marked(quick.get_data(as_text=True), [*people_data, BLAMING])
    tone = post(browser, f"/admin/feedback/{item.id}/tone", {"message": BLAMING}, htmx=True)
    _assert_all_marked(tone.get_data(as_text=True), [*people_data, BLAMING])
    clear = post(browser, f"/admin/feedback/{item.id}/tone", {"message": KIND_WORDS}, htmx=True)
    _assert_all_marked(clear.get_data(as_text=True), people_data)


def test_refused_staff_forms_say_what_is_wrong_through_the_catalog(
    pseudo_site, people_data, staff_site
) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    item = staff_site["promised"]
    for path, form in [
        (f"/admin/feedback/{item.id}/move", {"to_state": "resolved"}),
        (f"/admin/feedback/{item.id}/promise", {}),
        (f"/admin/feedback/{item.id}/reply", {}),
        (f"/admin/feedback/{item.id}/note", {}),
        (f"/admin/feedback/{item.id}/redact", {}),
        (f"/admin/feedback/{item.id}/assign", {"owner_id": ""}),
        (f"/admin/resolutions/new?items={staff_site['done'].id}", {"we_did": ""}),
    ]:
        refused = post(browser, path, form, headers=ACCEPT)
        assert refused.status_code >= 400, path
        _assert_all_marked(refused.get_data(as_text=True), people_data)


def test_a_published_resolution_and_its_edit_form(pseudo_site, people_data, staff_site) -> None:
    browser = _browser(pseudo_site, staff_site["staff"])
    done = staff_site["done"]
    published = post(
        browser,
        f"/admin/resolutions/new?items={done.id}",
        {
            "items": str(done.id),
            "you_said": "Bins were missed",
            "we_did": "We changed the round so Tuesday bins are collected first.",
            "post_anyway": "1",
        },
    )
    assert published.status_code == 302
    resolution = db.session.scalar(sa.select(Resolution.id))
    edit = browser.get(f"/admin/resolutions/{resolution}/edit", headers=ACCEPT)
    assert edit.status_code == 200
    _assert_all_marked(edit.get_data(as_text=True), people_data)
    refused = post(browser, f"/admin/resolutions/{resolution}/edit", {"we_did": ""})
    _assert_all_marked(refused.get_data(as_text=True), people_data)


def test_refused_admin_forms_and_what_follows_an_action(
    pseudo_site, people_data, staff_site
) -> None:
    browser = _browser(pseudo_site, staff_site["admin"])
    for path, form in [
        ("/admin/categories", {"name": "x"}),
        ("/admin/settings", {"organisation_name": ""}),
        ("/admin/tokens", {"name": ""}),
        ("/admin/webhooks", {"url": "not an address"}),
    ]:
        refused = post(browser, path, form, headers=ACCEPT)
        assert refused.status_code >= 400, path
        _assert_all_marked(refused.get_data(as_text=True), people_data)
    post(
        browser, "/admin/webhooks", {"url": staff_site["receiver"].url, "events": ["item.created"]}
    )
    webhook = db.session.scalar(sa.select(WebhookEndpoint.id))
    unticked = post(browser, f"/admin/webhooks/{webhook}/delete")
    assert unticked.status_code == 400
    _assert_all_marked(unticked.get_data(as_text=True), people_data)
    # Each action says what it did on the page it leads to.
    for path, form in [
        (f"/admin/webhooks/{webhook}/toggle", {}),
        (f"/admin/webhooks/{webhook}/ping", {}),
        (
            "/admin/settings",
            {
                "organisation_name": "Our organisation",
                "contact_email": "help@example.com",
                "time_zone": "UTC",
            },
        ),
        (f"/admin/users/{staff_site['staff'].id}", {"role": "staff", "active": "y"}),
        (
            f"/admin/categories/{staff_site['received'].category_id}",
            {
                "name": "Parcels and post",
                "slug": "parcels-and-post",
                "ack_target_hours": "48",
                "position": "0",
            },
        ),
        (f"/admin/feedback/{staff_site['received'].id}/take", {}),
    ]:
        done = post(browser, path, form, headers=ACCEPT, follow_redirects=True)
        assert done.status_code == 200, path
        _assert_all_marked(done.get_data(as_text=True), people_data)


@pytest.mark.parametrize("published", [False, True], ids=["nothing published", "a we did"])
def test_how_we_are_doing_for_a_visitor(pseudo_site, people_data, staff_site, published) -> None:
    if published:
        workflow.resolve(
            staff_site["done"].id,
            staff_site["staff"],
            "We changed the round so Tuesday bins are collected first.",
            "Bins were missed",
            post_anyway=True,
        )
        db.session.commit()
    answer = _browser(pseudo_site, None).get("/how-we-are-doing", headers=ACCEPT)
    assert answer.status_code == 200
    _assert_all_marked(answer.get_data(as_text=True), people_data)
