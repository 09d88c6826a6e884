"""The "You said, we did" board, publishing a resolution, and "Did this fix it?"."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    Feedback,
    FeedbackState,
    OutboxMessage,
    Resolution,
    Role,
    User,
    Visibility,
)
from portal.services import workflow
from portal.services.votes import set_vote
from tests.helpers import count_queries, empty_read_cache, login, post, resolve_together

RESOLUTION_CARD = 'class="card resolution"'


def _signed_in(make_client: Callable[[], FlaskClient], user: User) -> FlaskClient:
    browser = make_client()
    login(browser, user.email)
    return browser


def _fresh_item(item_id: int) -> Feedback:
    db.session.expire_all()
    return db.session.get(Feedback, item_id)


def _voices(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<strong>(\d+)</strong> (?:person|people) raised", html)]


def _acknowledged(staff: User, *items: Feedback) -> None:
    """Each answered personally first, as an item must be before it is resolved together."""
    for item in items:
        workflow.acknowledge(
            item.id, staff, "Thank you for telling us, and I am sorry.", post_anyway=True
        )
    db.session.commit()


def test_items_nobody_has_answered_are_answered_before_they_are_resolved_together(
    make_client, make_user, make_feedback
) -> None:
    """Resolving together sends everyone the same words; leaving "Received" needs a personal
    message. So an item still "Received" is refused, by name, before anything is written."""
    staff = make_user(role=Role.STAFF)
    answered = make_feedback(title="Bins were not collected")
    waiting = make_feedback(author=make_user(preferred_name="Jo"), title="Bins left open")
    _acknowledged(staff, answered)
    browser = _signed_in(make_client, staff)
    form = {"items": [str(answered.id), str(waiting.id)], "we_did": "New collection day."}
    shown = browser.get(f"/admin/resolutions/new?items={answered.id}&items={waiting.id}")
    message = f"Nobody has answered #{waiting.id} (Jo) yet."
    assert message in shown.get_data(as_text=True)  # said before anything is typed

    refused = post(browser, "/admin/resolutions/new", form)
    assert refused.status_code == 409 and message in refused.get_data(as_text=True)
    assert _fresh_item(waiting.id).state is FeedbackState.RECEIVED
    assert _fresh_item(answered.id).state is FeedbackState.ACKNOWLEDGED


def test_resolving_a_theme_publishes_one_resolution_counting_every_voice_once(
    make_client, make_user, make_category, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    category = make_category(name="Payments")
    a1, a2, a3, dup_author = make_user(), make_user(), make_user(), make_user()
    both_voter, dup_voter, third_voter = make_user(), make_user(), make_user()
    one = make_feedback(author=a1, category=category, title="Card payment declined twice")
    two = make_feedback(author=a2, category=category, title="Checkout times out")
    three = make_feedback(author=a3, category=category, title="Payment page is slow")
    duplicate = make_feedback(author=dup_author, category=category, title="Card keeps failing")
    set_vote(both_voter, one.id, want=True)  # one person votes on two of the items
    set_vote(both_voter, two.id, want=True)
    set_vote(a3, one.id, want=True)  # the author of three also votes on one
    set_vote(third_voter, three.id, want=True)
    set_vote(dup_voter, duplicate.id, want=True)  # a voter of the duplicate only
    workflow.merge(
        duplicate.id,
        staff,
        one.id,
        "Sorry: the same as another report, we continue there.",
        post_anyway=True,
    )
    _acknowledged(staff, one, two, three)
    # By hand: the authors a1, a2, a3; dup_author; both_voter; dup_voter; third_voter.
    # a3 and both_voter are named twice (author and voter, two items) but count once.
    expected_voices = 7

    browser = _signed_in(make_client, staff)
    response = post(
        browser,
        "/admin/resolutions/new",
        {
            "items": [str(one.id), str(two.id), str(three.id)],
            "you_said": "Paying by card kept failing",
            "we_did": "We moved to a new payment provider and tested every card type.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    resolution = db.session.scalar(sa.select(Resolution))
    # Staff land on the resolution's own page, as the public will see it.
    assert urlsplit(response.headers["Location"]).path == f"/you-said-we-did/{resolution.id}"

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Resolution)) == 1
    for item in (one, two, three):
        item = _fresh_item(item.id)
        assert item.state is FeedbackState.RESOLVED
        assert item.resolution_id == resolution.id

    html = make_client().get("/you-said-we-did").get_data(as_text=True)
    assert html.count(RESOLUTION_CARD) == 1
    assert "You said" in html and "Paying by card kept failing" in html
    assert "We moved to a new payment provider and tested every card type." in html
    assert _voices(html) == [expected_voices]
    for title in ("Card payment declined twice", "Checkout times out", "Payment page is slow"):
        assert title in html


def test_private_item_in_a_resolution_counts_as_a_voice_but_is_not_listed(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    public = make_feedback(title="Bins were not collected")
    private = make_feedback(title="My neighbour at no. 12 blocks the bins", visibility="private")
    _acknowledged(staff, public, private)
    browser = _signed_in(make_client, staff)
    response = post(
        browser,
        "/admin/resolutions/new",
        {
            "items": [str(public.id), str(private.id)],
            "you_said": "Bin collections were missed",
            "we_did": "We added a second collection round on your street.",
        },
    )
    assert response.status_code == 302
    html = make_client().get("/you-said-we-did").get_data(as_text=True)
    assert _voices(html) == [2]
    assert "Bins were not collected" in html
    assert "neighbour at no. 12" not in html


def test_default_summary_never_publishes_a_private_items_title(
    make_client, make_user, make_feedback
) -> None:
    """When the first item of a theme is private, its title must not become the public
    "you said" (neither prefilled in the form nor as the default on publishing)."""
    staff = make_user(role=Role.STAFF)
    private = make_feedback(title="My neighbour at no. 12 blocks the bins", visibility="private")
    public = make_feedback(title="Bins were not collected")
    _acknowledged(staff, private, public)
    browser = _signed_in(make_client, staff)
    response = post(
        browser,
        "/admin/resolutions/new",
        {
            "items": [str(private.id), str(public.id)],
            "we_did": "We added a second collection round on your street.",
        },
    )
    assert response.status_code == 302
    html = make_client().get("/you-said-we-did").get_data(as_text=True)
    assert "We added a second collection round" in html
    assert "neighbour at no. 12" not in html


def _publish(make_feedback, staff: User, we_did: str, **item_args) -> Resolution:
    item = make_feedback(**item_args)
    resolution = workflow.resolve(item.id, staff, we_did, post_anyway=True)
    db.session.commit()
    return resolution


def test_board_filters_by_category(make_client, make_user, make_category, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    water, roads = make_category(name="Water"), make_category(name="Roads")
    _publish(make_feedback, staff, "We replaced the leaking main.", category=water)
    _publish(make_feedback, staff, "We filled the potholes on High Street.", category=roads)
    visitor = make_client()
    everything = visitor.get("/you-said-we-did").get_data(as_text=True)
    assert everything.count(RESOLUTION_CARD) == 2
    html = visitor.get("/you-said-we-did?category=water").get_data(as_text=True)
    assert html.count(RESOLUTION_CARD) == 1
    assert "We replaced the leaking main." in html
    assert "potholes" not in html


def test_board_is_paginated_newest_first(make_client, make_user, make_feedback) -> None:
    staff = make_user(role=Role.STAFF)
    for n in range(12):
        _publish(make_feedback, staff, f"We fixed problem {n:02d}.")
    visitor = make_client()
    first = visitor.get("/you-said-we-did").get_data(as_text=True)
    second = visitor.get("/you-said-we-did?page=2").get_data(as_text=True)
    assert first.count(RESOLUTION_CARD) == 10
    assert second.count(RESOLUTION_CARD) == 2
    assert "We fixed problem 11." in first and "We fixed problem 11." not in second
    assert "We fixed problem 00." in second and "We fixed problem 00." not in first
    assert 'href="/you-said-we-did?page=2"' in first


def test_empty_board_says_nothing_is_published_yet(client) -> None:
    html = client.get("/you-said-we-did").get_data(as_text=True)
    assert "Nothing published here yet." in html
    assert RESOLUTION_CARD not in html


def test_board_costs_the_same_queries_for_2_and_12_resolutions(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    voter = make_user()

    def publish(n: int) -> None:
        for _ in range(n):
            item = make_feedback()
            set_vote(voter, item.id, want=True)
            workflow.resolve(item.id, staff, "We fixed it.", post_anyway=True)
        db.session.commit()

    visitor = make_client()
    publish(2)
    visitor.get("/you-said-we-did")
    empty_read_cache(visitor.application)
    with count_queries(db.engine) as few:
        assert visitor.get("/you-said-we-did").status_code == 200
    publish(10)
    empty_read_cache(visitor.application)
    with count_queries(db.engine) as many:
        html = visitor.get("/you-said-we-did").get_data(as_text=True)
    assert html.count(RESOLUTION_CARD) == 10
    assert few.count == many.count, many.statements
    # One of them reads the names every resolution on the page thanks (resolutions.thanks_for).
    assert many.count <= 8, many.statements


# One resolution's permanent page ----------------------------------------------------------


def test_a_resolution_keeps_its_own_page_after_falling_off_the_first_page_of_the_board(
    make_client, make_user, make_category, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    voter = make_user()
    bins = make_category(name="Bins")
    public = make_feedback(category=bins, title="Bins were not collected")
    private = make_feedback(category=bins, title="My neighbour at no. 12 blocks the bins")
    private.visibility = Visibility.PRIVATE
    set_vote(voter, public.id, want=True)
    oldest = resolve_together(
        [public, private], staff, "We added a second round on your street.", "Missed bins"
    )
    db.session.commit()
    for n in range(10):
        _publish(make_feedback, staff, f"We fixed problem {n:02d}.")
    visitor = make_client()
    assert "Missed bins" not in visitor.get("/you-said-we-did").get_data(as_text=True)

    response = visitor.get(f"/you-said-we-did/{oldest.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<h1 class="resolution__title">\s*Missed bins', html)
    assert "We added a second round on your street." in html
    assert _voices(html) == [3]  # two authors and a voter, the private author included
    assert "Bins" in html
    assert f'href="/feedback/{public.id}"' in html and "Bins were not collected" in html
    assert "neighbour at no. 12" not in html and f"/feedback/{private.id}" not in html
    assert 'href="/you-said-we-did"' in html
    assert "We fixed problem" not in html


def test_every_card_on_the_board_links_to_its_permanent_page(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    first = _publish(make_feedback, staff, "We fixed the first thing.")
    second = _publish(make_feedback, staff, "We fixed the second thing.")
    html = make_client().get("/you-said-we-did").get_data(as_text=True)
    for resolution in (first, second):
        assert f'href="/you-said-we-did/{resolution.id}" rel="bookmark"' in html


def test_an_unknown_resolution_is_a_friendly_404(client) -> None:
    response = client.get("/you-said-we-did/999999")
    assert response.status_code == 404
    assert "We could not find that change." in response.get_data(as_text=True)


def test_the_resolution_email_links_to_the_permanent_page(
    make_user, make_verified_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    author = make_verified_user()
    item = make_feedback(author=author)
    resolution = workflow.resolve(item.id, staff, "We replaced the lamp.", post_anyway=True)
    db.session.commit()
    message = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "resolution", OutboxMessage.to_email == author.email
        )
    )
    assert message is not None
    link = f"/you-said-we-did/{resolution.id}"
    assert link in message.text_body and link in message.html_body
    assert "#r" not in message.text_body and "#r" not in message.html_body


def test_a_resolutions_page_costs_at_most_seven_queries_however_many_items_it_answered(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    customer = make_user()

    def publish(items: int) -> Resolution:
        answered = [make_feedback() for _ in range(items)]
        for item in answered:
            set_vote(customer, item.id, want=True)
        resolution = resolve_together(answered, staff, "We fixed it.", "It broke")
        db.session.commit()
        return resolution

    small, large = publish(1), publish(8)
    # Signed in, the header adds one: the count of unread updates (services/updates.py).
    for browser, most in ((make_client(), 7), (_signed_in(make_client, customer), 8)):
        browser.get(f"/you-said-we-did/{small.id}")
        # The worst case: the first request after a change, with nothing cached.
        empty_read_cache(browser.application)
        with count_queries(db.engine) as few:
            assert browser.get(f"/you-said-we-did/{small.id}").status_code == 200
        empty_read_cache(browser.application)
        with count_queries(db.engine) as many:
            html = browser.get(f"/you-said-we-did/{large.id}").get_data(as_text=True)
        assert html.count('<li><a href="/feedback/') == 8
        assert few.count == many.count, many.statements
        # One of them reads the names the resolution thanks (resolutions.thanks_for).
        assert many.count <= most, many.statements


# "Did this fix it?" -----------------------------------------------------------------------


def _resolved_item(make_user, make_feedback) -> tuple[Feedback, User, User]:
    author = make_user(preferred_name="Nia")
    staff = make_user(role=Role.STAFF, display_name="Sam Carter")
    item = make_feedback(author=author, title="Street light out on Elm Road")
    workflow.resolve(item.id, staff, "We replaced the lamp.", post_anyway=True)
    db.session.commit()
    return item, author, staff


def test_author_of_a_resolved_item_is_asked_did_this_fix_it(
    make_client, make_user, make_feedback
) -> None:
    item, author, _ = _resolved_item(make_user, make_feedback)
    page = _signed_in(make_client, author).get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Did this fix it, Nia?" in page
    assert f'action="/feedback/{item.id}/not-fixed"' in page
    # Both text boxes on the page are named by their own labels.
    ids = re.findall(r'<textarea[^>]* id="([^"]+)"', page)
    assert sorted(ids) == ["body", "not-fixed-body"]
    for box in ids:
        assert page.count(f'id="{box}"') == 1 and f'for="{box}"' in page
    other = _signed_in(make_client, make_user()).get(f"/feedback/{item.id}")
    assert "Did this fix it" not in other.get_data(as_text=True)
    assert "Did this fix it" not in make_client().get(f"/feedback/{item.id}").get_data(as_text=True)


def test_not_yet_with_a_comment_is_a_reopen_request_in_triage(
    make_client, make_user, make_feedback
) -> None:
    item, author, staff = _resolved_item(make_user, make_feedback)
    quiet = make_feedback(title="Resolved and quiet")
    workflow.resolve(quiet.id, staff, "We sorted it.", post_anyway=True)
    db.session.commit()
    response = post(
        _signed_in(make_client, author),
        f"/feedback/{item.id}/not-fixed",
        {"body": "It went out again last night."},
    )
    assert response.status_code == 302
    item = _fresh_item(item.id)
    assert item.reopen_requested_at is not None
    assert item.state is FeedbackState.RESOLVED, "only staff reopen"

    desk = _signed_in(make_client, staff)
    # In the queue's default view (open items) as well as behind the chip: it needs someone.
    for url in ("/admin/", "/admin/?reopen=1&all=1"):
        queue = desk.get(url).get_data(as_text=True)
        row = re.search(rf'<tr id="item-{item.id}".*?</tr>', queue, re.S)
        assert row and "not fixed yet" in row.group(0), url
        assert f'id="item-{quiet.id}"' not in queue, url
    assert "<strong>1</strong> reopen request</a>" in queue
    public = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "It went out again last night." in public


def test_not_yet_without_a_comment_is_refused(make_client, make_user, make_feedback) -> None:
    item, author, _ = _resolved_item(make_user, make_feedback)
    response = post(_signed_in(make_client, author), f"/feedback/{item.id}/not-fixed", {"body": ""})
    assert response.status_code == 400
    assert "Please tell us what is still not right." in response.get_data(as_text=True)
    assert _fresh_item(item.id).reopen_requested_at is None


def test_only_the_author_may_answer_not_fixed(make_client, make_user, make_feedback) -> None:
    item, _, _ = _resolved_item(make_user, make_feedback)
    other = _signed_in(make_client, make_user())
    response = post(other, f"/feedback/{item.id}/not-fixed", {"body": "Mine too!"})
    assert response.status_code == 403
    assert post(other, f"/feedback/{item.id}/fixed").status_code == 403
    item = _fresh_item(item.id)
    assert item.reopen_requested_at is None and item.fix_confirmed_at is None


def test_yes_records_the_confirmation(make_client, make_user, make_feedback) -> None:
    item, author, _ = _resolved_item(make_user, make_feedback)
    browser = _signed_in(make_client, author)
    response = post(browser, f"/feedback/{item.id}/fixed")
    assert response.status_code == 302
    item = _fresh_item(item.id)
    assert item.fix_confirmed_at is not None and item.reopen_requested_at is None
    assert "You told us it is fixed." in browser.get(f"/feedback/{item.id}").get_data(as_text=True)


def test_author_of_a_private_resolved_item_is_asked_and_counted(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    author = make_user(preferred_name="Nia")
    item = make_feedback(author=author, visibility=Visibility.PRIVATE)
    workflow.resolve(
        item.id, staff, "We refunded the charge.", "A charge was taken twice", post_anyway=True
    )
    db.session.commit()
    page = _signed_in(make_client, author).get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "Did this fix it, Nia?" in page
    assert _voices(make_client().get("/you-said-we-did").get_data(as_text=True)) == [1]


def test_a_resolved_items_page_says_what_was_done_and_whether_the_promise_was_kept(
    make_client, make_user, make_feedback
) -> None:
    """A visitor who lands on a Done item from the board reads what was done, finds it on
    the "You said, we did" board, and sees the promised date judged, not just repeated."""
    staff = make_user(role=Role.STAFF)
    kept = make_feedback(title="Lockers jam")
    late = make_feedback(title="Lift out of order")
    for item in (kept, late):
        workflow.acknowledge(
            item.id, staff, "Thank you, we are looking at it today.", post_anyway=True
        )
        workflow.plan(
            item.id,
            staff,
            date.today() + timedelta(days=5),
            "Parts are ordered.",
            outcome="it working again",
            post_anyway=True,
        )
    db.session.commit()
    workflow.resolve(
        kept.id, staff, "New locks on every locker.", "The lockers jammed", post_anyway=True
    )
    late.target_date = date.today() - timedelta(days=3)  # promised earlier, done today
    workflow.resolve(
        late.id, staff, "A new motor for the lift.", "The lift was out", post_anyway=True
    )
    db.session.commit()

    page = make_client().get(f"/feedback/{kept.id}").get_data(as_text=True)
    assert "What we did" in page and "New locks on every locker." in page
    assert f'href="/you-said-we-did/{kept.resolution_id}"' in page
    assert "promise kept." in page
    late_page = make_client().get(f"/feedback/{late.id}").get_data(as_text=True)
    assert "3 days late, and we are sorry." in late_page
    assert "A new motor for the lift." in late_page


def test_an_open_item_past_its_promised_date_says_it_is_late(
    make_client, make_user, make_feedback
) -> None:
    """A promised date that has passed with the work still open is never left standing as if
    it still held: the page says how late it is, and who will say the new date."""
    staff = make_user(role=Role.STAFF, display_name="Sam from Support")
    item = make_feedback(title="Lift out of order")
    workflow.acknowledge(item.id, staff, "Thank you, we are looking at it today.", post_anyway=True)
    workflow.plan(
        item.id,
        staff,
        date.today() + timedelta(days=5),
        "Parts are ordered.",
        outcome="the lift working again",
        post_anyway=True,
    )
    db.session.commit()
    page = make_client().get(f"/feedback/{item.id}").get_data(as_text=True)
    assert "We promised: <strong>the lift working again by" in page and "days late" not in page

    item.target_date = date.today() - timedelta(days=2)  # the date went by
    db.session.commit()
    words = " ".join(make_client().get(f"/feedback/{item.id}").get_data(as_text=True).split())
    assert (
        "and we are 2 days late. We are sorry: Sam from Support will tell you the new date" in words
    )


def test_editing_a_resolution_with_an_empty_summary_is_refused_with_400_and_keeps_the_text(
    make_client, make_user, make_feedback
) -> None:
    staff = make_user(role=Role.STAFF)
    resolution = _publish(make_feedback, staff, "We added a second round.")
    browser = _signed_in(make_client, staff)

    response = post(
        browser,
        f"/admin/resolutions/{resolution.id}/edit",
        {"you_said": "  ", "we_did": "We added a third round."},
    )

    assert response.status_code == 400
    assert "We added a third round." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resolution, resolution.id).we_did_source == "We added a second round."
