"""Customer value stays with staff: a customer's plan, monthly value and segment never reach a
visitor, another customer, a feed, an email, a webhook or the public API, rendered each for
real; the customer's own export holds their own (it is their data), nobody else's; and the
public vote count stays one person, one vote. Staff see the values in triage and insights."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import Feedback, Role, TokenScope, User
from portal.services import api_tokens, webhooks, workflow
from portal.services.customer_value import checked_value, set_customer_value
from portal.services.personal_data import export_data
from portal.services.votes import set_vote
from portal.services.webhooks import deliver_webhooks
from tests.helpers import delivered, login
from tests.webhook_receiver import Receiver, run_receiver

PLAN = "Zircon plan"
SEGMENT = "Quasar segment"
CENTS = 987_653  # 9,876.53 a month
MARKERS = (PLAN, "Zircon", SEGMENT, "Quasar", "9,876.53", "9876.53", "9.876,53")


def _leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as state:
        yield state


class World:
    """A resolved item whose author and voter carry customer value, and who saw what."""

    def __init__(
        self,
        make_user: Callable[..., User],
        make_verified_user: Callable[..., User],
        make_category: Callable[..., object],
        make_feedback: Callable[..., Feedback],
        receiver: Receiver,
    ) -> None:
        self.admin = make_user(role=Role.ADMIN)
        self.staff = make_user(role=Role.STAFF)
        self.author = make_verified_user(display_name="Nia Author")
        self.voter = make_verified_user(display_name="Omar Voter")
        self.other = make_verified_user(display_name="Pat Other")
        for person in (self.author, self.voter):
            set_customer_value(self.admin, person, checked_value(PLAN, "9876.53", SEGMENT))
        self.hook = webhooks.create_endpoint(
            self.admin,
            url=receiver.url,
            events=sorted(e.value for e in webhooks.SUBSCRIBABLE_EVENTS),
        )
        self.read_token = api_tokens.create_token(
            self.admin, name="Dashboard", scope=TokenScope.READ
        ).plain
        db.session.commit()
        self.category = make_category(name="Lifts")
        self.item = make_feedback(
            author=self.author, category=self.category, title="The lift is broken again"
        )
        set_vote(self.voter, self.item.id, want=True)
        db.session.commit()
        workflow.acknowledge(
            self.item.id,
            self.staff,
            "Nia, thank you: we have called the engineer today.",
            post_anyway=True,
        )
        workflow.reply(
            self.item.id, self.staff, "The engineer comes on Tuesday morning.", post_anyway=True
        )
        self.resolution = workflow.resolve(
            self.item.id, self.staff, "We replaced the lift's door sensor.", post_anyway=True
        )
        db.session.commit()


@pytest.fixture
def world(make_user, make_verified_user, make_category, make_feedback, receiver) -> World:
    return World(make_user, make_verified_user, make_category, make_feedback, receiver)


def _public_pages(world: World) -> list[str]:
    item, resolution = world.item.id, world.resolution.id
    return [
        "/",
        "/?q=lift",
        f"/feedback/{item}",
        "/roadmap",
        "/you-said-we-did",
        f"/you-said-we-did/{resolution}",
        "/how-we-are-doing",
        f"/feeds/categories/{world.category.slug}.atom",
        "/feeds/resolutions.atom",
        "/feeds/resolutions.rss",
        "/roadmap.atom",
    ]


def _api_reads(world: World) -> list[str]:
    item = world.item.id
    return [
        "/api/v1/",
        "/api/v1/items",
        "/api/v1/items?state=resolved",
        f"/api/v1/items/{item}",
        f"/api/v1/items/{item}/timeline",
        "/api/v1/resolutions",
        "/api/v1/categories",
    ]


def _signed_in(make_client: Callable[[], FlaskClient], user: User | None) -> FlaskClient:
    client = make_client()
    if user is not None:
        login(client, user.email)
    return client


def test_customer_value_is_set_where_the_test_looks(world: World) -> None:
    db.session.expire_all()
    author = db.session.get(User, world.author.id)
    assert (author.plan, author.monthly_value_cents, author.segment) == (PLAN, CENTS, SEGMENT)


@pytest.mark.parametrize("who", ["visitor", "author", "voter", "other"])
def test_no_public_page_or_feed_shows_it_to_anyone(world: World, make_client, who: str) -> None:
    client = _signed_in(make_client, None if who == "visitor" else getattr(world, who))
    pages = _public_pages(world) + (["/account/"] if who != "visitor" else [])
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _leaks(response.get_data(as_text=True)) == [], f"{who} saw it on {url}"


def test_the_public_api_never_shows_it_anonymously_or_to_a_read_token(
    world: World, client: FlaskClient
) -> None:
    for headers in ({}, {"Authorization": f"Bearer {world.read_token}"}):
        for url in _api_reads(world):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert _leaks(response.get_data(as_text=True)) == [], url
        refused = client.get(f"/api/v1/customers/{world.author.email}", headers=headers)
        assert refused.status_code in (401, 403)
        assert _leaks(refused.get_data(as_text=True)) == []


def test_no_email_carries_it(world: World, smtp_server) -> None:
    mails = delivered(smtp_server)
    to_customers = [
        m
        for m in mails
        if world.author.email in m["X-Envelope-To"] or world.voter.email in m["X-Envelope-To"]
    ]
    assert to_customers, "the acknowledgement, reply and resolution were emailed"
    for mail in mails:
        raw = mail.as_string()
        parts = [
            part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"
        ]
        assert _leaks(raw) == [] and _leaks(" ".join(parts)) == [], mail["Subject"]


def test_no_webhook_carries_it(world: World, receiver: Receiver) -> None:
    report = deliver_webhooks()
    assert report.sent >= 3  # created, state changes, resolution
    for request in receiver.requests:
        body = request.body.decode()
        assert _leaks(body) == [], json.loads(body)["event"]
        assert "monthly_value" not in body and '"plan"' not in body and '"segment"' not in body


def test_a_customers_own_export_holds_their_value_and_nobody_elses(world: World) -> None:
    own = export_data(world.author)["account"]["customer_value"]
    assert (own["plan"], own["monthly_value_cents"], own["segment"]) == (PLAN, CENTS, SEGMENT)
    # Omar voted on Nia's item: his export names it, never Nia's value (his own is his).
    other = export_data(world.other)
    assert other["account"]["customer_value"]["plan"] is None
    assert _leaks(json.dumps(other, default=str)) == []


def test_the_public_vote_count_stays_one_person_one_vote(world: World, client) -> None:
    db.session.expire_all()
    assert db.session.get(Feedback, world.item.id).vote_count == 2  # the author and Omar
    body = client.get(f"/api/v1/items/{world.item.id}").get_json()
    assert body["vote_count"] == 2


def test_staff_see_it_in_triage_and_insights(world: World, make_client) -> None:
    client = _signed_in(make_client, world.staff)
    queue = client.get("/admin/?all=1&sort=value").get_data(as_text=True)
    assert "$19,753.06 a month" in queue and "2 paying" in queue
    insights = client.get("/admin/insights").get_data(as_text=True)
    assert SEGMENT in insights
