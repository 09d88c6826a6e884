"""A redacted or hidden item's words (title and body) reach no surface but staff pages and the
author's own data export, where they are marked. One test per surface: webhooks, feeds, search,
the API, digests, notification emails, and the export.

Emails: the author still reads their own title in mail about their own item (the words are
theirs and the mail goes to them alone, as the export does); every other follower gets the
stand-in. Staff hiding an item already stops every customer's mail about it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import feedparser
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    DigestFrequency,
    Feedback,
    OutboxMessage,
    Resolution,
    Role,
    User,
    WebhookDelivery,
)
from portal.services import digests, webhooks, workflow
from portal.services.item_data import WITHHELD_YOU_SAID, withheld_title
from portal.services.votes import set_vote
from tests.helpers import login, resolve_together
from tests.webhook_receiver import Receiver, run_receiver

TITLE = "Jo Bloggs at Flat 4 keeps shouting"
BODY = "Ring Jo Bloggs on 07700 900123, she lives at Flat 4 above me."
# Words that are in the item and nowhere else on any page.
SECRETS = ("Bloggs", "07700")
API = "/api/v1"


def _redact(item: Feedback, staff: User) -> None:
    workflow.redact(item.id, staff, "A neighbour's name and number.")
    db.session.commit()


def _hide(item: Feedback, staff: User) -> None:
    workflow.set_hidden(item.id, staff, True, "Abuse of a neighbour.")
    db.session.commit()


Withhold = Callable[[Feedback, User], None]
WITHHOLD = pytest.mark.parametrize("withhold", [_redact, _hide], ids=["redacted", "hidden"])


def _absent(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.STAFF)


@pytest.fixture
def author(make_verified_user: Callable[..., User]) -> User:
    return make_verified_user()


@pytest.fixture
def item(make_feedback: Callable[..., Feedback], author: User) -> Feedback:
    return make_feedback(author=author, title=TITLE, body=BODY)


# Webhooks ----------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


def _queued_bodies() -> list[dict]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id))
    return [json.loads(row.body) for row in rows]


@WITHHOLD
def test_webhooks_send_no_words_of_a_withheld_item_on_its_next_state_change(
    receiver: Receiver, make_user, staff, item, withhold: Withhold
) -> None:
    webhooks.create_endpoint(
        make_user(role=Role.ADMIN),
        url=receiver.url,
        events=["item.state_changed"],
        description="Helpdesk",
    )
    db.session.commit()
    withhold(item, staff)

    workflow.acknowledge(item.id, staff, "We have read it.", post_anyway=True)
    db.session.commit()

    [queued] = _queued_bodies()
    assert queued["event"] == "item.state_changed"
    data = queued["data"]["item"]
    assert data["id"] == item.id and "title" not in data and "body" not in data
    assert data["redacted"] is (item.redacted_at is not None)
    assert data["admin_url"].endswith(f"/admin/feedback/{item.id}")
    _absent(json.dumps(queued))


def test_a_resolution_webhook_carries_no_redacted_title_as_its_you_said(
    receiver: Receiver, make_user, staff, item
) -> None:
    webhooks.create_endpoint(
        make_user(role=Role.ADMIN),
        url=receiver.url,
        events=["resolution.published"],
        description="Helpdesk",
    )
    db.session.commit()
    _redact(item, staff)

    # No "you said" written: publishing takes the (redacted) title.
    resolution = workflow.resolve(item.id, staff, "We spoke to the neighbours.", post_anyway=True)
    db.session.commit()

    [queued] = _queued_bodies()
    assert resolution.you_said == TITLE  # stored for staff as it was
    assert queued["data"]["resolution"]["you_said"] == WITHHELD_YOU_SAID
    _absent(json.dumps(queued))


def test_webhooks_still_carry_the_words_of_an_item_nobody_withheld(
    receiver: Receiver, make_user, staff, item
) -> None:
    webhooks.create_endpoint(
        make_user(role=Role.ADMIN),
        url=receiver.url,
        events=["item.state_changed"],
        description="Helpdesk",
    )
    db.session.commit()
    workflow.acknowledge(item.id, staff, "We have read it.", post_anyway=True)
    db.session.commit()

    [queued] = _queued_bodies()
    assert queued["data"]["item"]["title"] == TITLE and queued["data"]["item"]["body"] == BODY
    assert queued["data"]["item"]["redacted"] is False


# Feeds -------------------------------------------------------------------------------------


def _publish(items: list[Feedback], staff: User, you_said: str = "") -> Resolution:
    resolution = resolve_together(items, staff, "We spoke to the neighbours.", you_said)
    db.session.commit()
    return resolution


@WITHHOLD
@pytest.mark.parametrize("url", ["/feeds/resolutions.atom", "/feeds/resolutions.rss"])
def test_feeds_drop_a_withheld_items_title_from_the_you_said_it_became(
    client, staff, item, withhold: Withhold, url: str
) -> None:
    # Published with no "you said" of its own: the item's title became it.
    _publish([item], staff)
    assert TITLE in client.get(url).get_data(as_text=True)

    withhold(item, staff)

    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _absent(page)
    [entry] = feedparser.parse(response.get_data()).entries
    assert entry.title == WITHHELD_YOU_SAID


def test_feeds_list_an_item_redacted_before_its_resolution_without_its_words(
    client, staff, item, make_feedback
) -> None:
    other = make_feedback(title="Noise from the flat upstairs")
    _redact(item, staff)
    _publish([item, other], staff)

    for url in ("/feeds/resolutions.atom", "/feeds/resolutions.rss"):
        page = client.get(url).get_data(as_text=True)
        _absent(page)
        assert WITHHELD_YOU_SAID in page
        # The item is still listed (it is public), under its stand-in.
        assert withheld_title(item.id) in page and "Noise from the flat upstairs" in page


def test_a_you_said_written_by_staff_stays_when_an_item_is_redacted(client, staff, item) -> None:
    _publish([item], staff, you_said="Noise between neighbours")
    _redact(item, staff)
    [entry] = feedparser.parse(client.get("/feeds/resolutions.atom").get_data()).entries
    assert entry.title == "Noise between neighbours"


# Search ------------------------------------------------------------------------------------


@WITHHOLD
def test_public_search_finds_nothing_by_a_withheld_items_words(
    client, staff, item, make_feedback, withhold: Withhold
) -> None:
    control = make_feedback(title="Bloggs bakery bins overflow", body="Call 07700 900999.")
    withhold(item, staff)

    for query in ("bloggs", "07700", "shouting"):
        page = client.get("/", query_string={"q": query}).get_data(as_text=True)
        assert f'href="/feedback/{item.id}"' not in page
        assert TITLE not in page and "900123" not in page
    assert f'href="/feedback/{control.id}"' in client.get("/?q=bloggs").get_data(as_text=True)
    listed = client.get(f"{API}/items", query_string={"q": "bloggs"}).get_json()
    assert [row["id"] for row in listed["items"]] == [control.id]


# The board's cards and the roadmap ---------------------------------------------------------


def test_a_board_card_shows_a_redacted_items_number_but_not_one_word_of_it(
    client, make_client, staff, author, item
) -> None:
    assert BODY.split(",")[0] in client.get("/").get_data(as_text=True)  # its one-line excerpt
    _redact(item, staff)
    for sort in ("top", "new", "trending"):
        page = client.get("/", query_string={"sort": sort}).get_data(as_text=True)
        assert f'href="/feedback/{item.id}"' in page, sort  # still listed, as a stand-in
        _absent(page)
    # Its author still reads their own words on the board (as on the item's page).
    own = make_client()
    login(own, author.email)
    assert "Ring Jo Bloggs" in own.get("/").get_data(as_text=True)


@WITHHOLD
def test_the_roadmap_and_its_feed_leave_out_a_withheld_item(
    client, staff, item, withhold: Withhold
) -> None:
    workflow.acknowledge(item.id, staff, "Thank you, I am on it.", post_anyway=True)
    workflow.start_work(item.id, staff, "Started today.", post_anyway=True)
    db.session.commit()
    assert TITLE in client.get("/roadmap").get_data(as_text=True)
    withhold(item, staff)
    for url in ("/roadmap", "/roadmap.atom"):
        page = client.get(url).get_data(as_text=True)
        assert f"/feedback/{item.id}" not in page, url
        _absent(page)


@WITHHOLD
def test_suggestions_as_you_type_never_offer_a_withheld_item(
    client, make_user, staff, item, make_feedback, withhold: Withhold
) -> None:
    control = make_feedback(title="Shouting in the stairwell at night")
    withhold(item, staff)
    login(client, make_user().email)

    fragment = client.get(
        "/feedback/suggest", query_string={"title": "Bloggs keeps shouting"}
    ).get_data(as_text=True)

    assert f'href="/feedback/{item.id}"' not in fragment
    _absent(fragment)
    assert f'href="/feedback/{control.id}"' in fragment


# The API -----------------------------------------------------------------------------------


def test_the_api_serves_a_redacted_item_without_its_words(client, staff, item) -> None:
    _redact(item, staff)

    data = client.get(f"{API}/items/{item.id}").get_json()
    assert data["redacted"] is True
    assert data["title"] == withheld_title(item.id)
    assert data["body"] is None and data["body_html"] is None
    listed = client.get(f"{API}/items").get_json()["items"]
    assert [row["title"] for row in listed] == [withheld_title(item.id)]
    timeline = client.get(f"{API}/items/{item.id}/timeline")
    assert timeline.status_code == 200
    for response in (client.get(f"{API}/items/{item.id}"), client.get(f"{API}/items"), timeline):
        _absent(response.get_data(as_text=True))


def test_the_api_answers_404_for_a_hidden_item_and_lists_it_nowhere(client, staff, item) -> None:
    _hide(item, staff)

    assert client.get(f"{API}/items/{item.id}").status_code == 404
    assert client.get(f"{API}/items/{item.id}/timeline").status_code == 404
    assert client.get(f"{API}/items").get_json()["items"] == []


# Digests -----------------------------------------------------------------------------------


@WITHHOLD
def test_digests_carry_no_withheld_title_as_a_you_said(staff, item, withhold: Withhold) -> None:
    now = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # the week of Monday 16 November
    resolution = _publish([item], staff)
    resolution.published_at = datetime(2026, 11, 18, tzinfo=UTC)
    db.session.commit()
    assert resolution.you_said == TITLE
    withhold(item, staff)
    subscribed = digests.subscribe("nia@example.com", DigestFrequency.WEEKLY, [])
    digests.confirm(subscribed.subscription.confirm_token)
    db.session.commit()

    assert digests.send_digest(DigestFrequency.WEEKLY, now=now).delivered == 1

    db.session.expire_all()
    [mail] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    for part in (mail.subject, mail.text_body, mail.html_body or ""):
        _absent(part)
    assert WITHHELD_YOU_SAID in mail.text_body


# Notification emails -----------------------------------------------------------------------


def _mail(kind: str, to: User) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind == kind, OutboxMessage.user_id == to.id
            )
        )
    )


def _parts(message: OutboxMessage) -> list[str]:
    return [message.subject, message.text_body, message.html_body or ""]


def test_followers_mail_about_a_redacted_item_carries_its_words_to_the_author_only(
    make_verified_user, staff, author, item
) -> None:
    follower = make_verified_user()
    set_vote(follower, item.id, want=True)
    db.session.commit()
    _redact(item, staff)

    workflow.acknowledge(item.id, staff, "We have read it, and we are on it.", post_anyway=True)
    db.session.commit()

    [to_follower] = _mail("state", follower)
    for part in _parts(to_follower):
        _absent(part)
    assert withheld_title(item.id) in to_follower.subject
    [to_author] = _mail("state", author)
    assert TITLE in to_author.subject and TITLE in to_author.text_body


def test_resolution_mail_gives_other_followers_no_redacted_title_as_its_you_said(
    make_verified_user, staff, author, item
) -> None:
    follower = make_verified_user()
    set_vote(follower, item.id, want=True)
    db.session.commit()
    _redact(item, staff)

    # No "you said" written: the (redacted) title becomes it.
    _publish([item], staff)

    [to_follower] = _mail("resolution", follower)
    for part in _parts(to_follower):
        _absent(part)
    assert to_follower.subject == f"Done: {WITHHELD_YOU_SAID}"
    [to_author] = _mail("resolution", author)
    assert TITLE in to_author.subject and TITLE in to_author.text_body


def test_a_merge_into_a_redacted_item_does_not_tell_followers_its_title(
    make_verified_user, make_feedback, staff, item
) -> None:
    duplicate_author = make_verified_user()
    duplicate = make_feedback(author=duplicate_author, title="Shouting upstairs every night")
    _redact(item, staff)

    workflow.merge(duplicate.id, staff, item.id, "These are the same.", post_anyway=True)
    db.session.commit()

    [to_author] = _mail("merged", duplicate_author)
    for part in _parts(to_author):
        _absent(part)
    assert withheld_title(item.id) in to_author.text_body
    assert "Shouting upstairs every night" in to_author.text_body


def test_nobody_but_staff_is_mailed_about_a_hidden_item(
    make_verified_user, staff, author, item
) -> None:
    follower = make_verified_user()
    set_vote(follower, item.id, want=True)
    db.session.commit()
    _hide(item, staff)

    workflow.acknowledge(item.id, staff, "We have read it.", post_anyway=True)
    db.session.commit()

    assert _mail("state", follower) == [] and _mail("state", author) == []


# The author's own export -------------------------------------------------------------------


@WITHHOLD
def test_the_authors_export_keeps_their_words_marked_and_a_voters_has_none(
    make_client, make_verified_user, staff, author, item, withhold: Withhold
) -> None:
    voter = make_verified_user()
    set_vote(voter, item.id, want=True)
    db.session.commit()
    withhold(item, staff)

    author_client = make_client()
    login(author_client, author.email)
    exported = json.loads(author_client.get("/account/export").get_data(as_text=True))
    [own] = exported["feedback"]
    assert (own["id"], own["title"], own["body"]) == (item.id, TITLE, BODY)
    redacted = item.redacted_at is not None
    assert own["redacted"] is redacted and (own["redacted_at"] is not None) is redacted
    assert own["hidden"] is item.hidden

    voter_client = make_client()
    login(voter_client, voter.email)
    response = voter_client.get("/account/export")
    assert response.status_code == 200
    _absent(response.get_data(as_text=True))
    assert json.loads(response.get_data(as_text=True))["votes"][0]["feedback_id"] == item.id


def test_an_export_marks_nothing_when_staff_withheld_nothing(client, author, item) -> None:
    login(client, author.email)
    [own] = json.loads(client.get("/account/export").get_data(as_text=True))["feedback"]
    assert (own["redacted"], own["redacted_at"], own["hidden"]) == (False, None, False)
