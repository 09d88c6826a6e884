"""The export ("Download my data") holds everything about the person: their items with what
staff said and did in public about them, their comments, votes, follows and subscriptions.
Internal notes never; other people's withheld words never; their own, marked."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from PIL import Image

from portal.extensions import db
from portal.models import (
    CategoryFollow,
    DigestFrequency,
    Feedback,
    Role,
    User,
    Visibility,
)
from portal.services import attachments, digests, notifications, workflow
from portal.services.feedback import add_comment
from portal.services.item_data import WITHHELD_YOU_SAID, withheld_title
from portal.services.personal_data import export_data
from portal.services.votes import set_vote
from tests.helpers import count_queries

MakeUser = Callable[..., User]
MakeFeedback = Callable[..., Feedback]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (9, 9, 9)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def staff(make_user: MakeUser) -> User:
    return make_user(role=Role.STAFF, display_name="Priya Nair")


def _own(exported: dict, item: Feedback) -> dict:
    [found] = [i for i in exported["feedback"] if i["id"] == item.id]
    return found


def test_an_item_carries_the_public_staff_replies_its_timeline_and_its_resolution(
    make_user, make_feedback, staff
) -> None:
    jo = make_user()
    item = make_feedback(author=jo, title="The gate on Mill Lane is broken")
    workflow.acknowledge(item.id, staff, "Sorry, Jo: I am on it.", post_anyway=True)
    promised = date.today() + timedelta(days=10)
    workflow.plan(
        item.id, staff, promised, "A new gate is ordered.", outcome="a new gate", post_anyway=True
    )
    workflow.reply(item.id, staff, "The gate arrives on Tuesday, Jo.", post_anyway=True)
    resolution = workflow.resolve(item.id, staff, "We put in a new gate.", post_anyway=True)
    db.session.commit()

    own = _own(export_data(jo), item)
    assert own["title"] == "The gate on Mill Lane is broken"
    assert own["looked_after_by"] == "Priya Nair"
    assert own["promised_by"] == promised.isoformat()
    assert [(r["from"], r["body"]) for r in own["staff_replies"]] == [
        ("Priya Nair", "The gate arrives on Tuesday, Jo.")
    ]
    steps = [(s["kind"], s["state"], s["message"]) for s in own["timeline"]]
    assert ("state_changed", "Acknowledged", "Sorry, Jo: I am on it.") in steps
    assert steps[-1][:2] == ("state_changed", "Done")
    assert any(s["promised_by"] == promised.isoformat() for s in own["timeline"])
    assert own["resolution"] == {
        "id": resolution.id,
        "you_said": "The gate on Mill Lane is broken",
        "we_did": "We put in a new gate.",
        "published_at": resolution.published_at.isoformat(),
    }
    assert [c["resolution_id"] for c in export_data(jo)["changes_led_to"]] == [resolution.id]


def test_internal_notes_are_never_exported_not_even_to_the_staff_who_wrote_them(
    make_user, make_feedback, staff
) -> None:
    jo = make_user()
    item = make_feedback(author=jo)
    workflow.acknowledge(item.id, staff, "Sorry, Jo: I am on it.", post_anyway=True)
    workflow.add_internal_note(item.id, staff, "Jo rang three times: handle with care")
    workflow.reply(item.id, staff, "Fixed on Friday, Jo.", post_anyway=True)
    db.session.commit()
    for person in (jo, staff):
        text = json.dumps(export_data(person))
        assert "handle with care" not in text
    assert "Fixed on Friday, Jo." in json.dumps(export_data(staff))  # their public reply


def test_a_reply_staff_hid_and_other_customers_comments_stay_out(
    make_user, make_feedback, staff
) -> None:
    jo, sam = make_user(), make_user()
    item = make_feedback(author=jo)
    workflow.acknowledge(item.id, staff, "Sorry, Jo: I am on it.", post_anyway=True)
    hidden_reply = workflow.reply(item.id, staff, "Wrong customer, oops", post_anyway=True)
    assert hidden_reply is not None
    workflow.hide_comment(hidden_reply.id, staff, "Sent to the wrong item.")
    add_comment(sam, item.id, "Sam's own words about Jo's gate")
    db.session.commit()
    exported = export_data(jo)
    text = json.dumps(exported)
    assert "Wrong customer" not in text and "Sam's own words" not in text
    assert _own(exported, item)["staff_replies"] == []


@pytest.mark.parametrize("withheld", ["redacted", "hidden"])
def test_their_own_withheld_words_are_kept_and_marked_and_nobody_elses_appear(
    make_user, make_feedback, staff, withheld: str
) -> None:
    jo, sam = make_user(), make_user()
    sams = make_feedback(author=sam, title="Sam Bloggs at Flat 4 shouts", body="Ring 07700 900123")
    jos = make_feedback(author=jo, title="Jo's words at Flat 9")
    set_vote(jo, sams.id, want=True)
    notifications.follow(jo, sams)
    db.session.commit()
    # A theme: Jo's item and Sam's, the "you said" Sam's title.
    workflow.acknowledge(sams.id, staff, "Sorry, Sam.", post_anyway=True)
    workflow.acknowledge(jos.id, staff, "Sorry, Jo.", post_anyway=True)
    resolution = workflow.publish_resolution(
        [sams.id, jos.id], staff, "We spoke to them.", "", post_anyway=True
    )
    for item in (sams, jos):
        if withheld == "redacted":
            workflow.redact(item.id, staff, "Names and numbers.")
        else:
            workflow.set_hidden(item.id, staff, True, "Abuse.")
    db.session.commit()

    exported = export_data(jo)
    text = json.dumps(exported)
    for secret in ("Bloggs", "07700"):
        assert secret not in text
    own = _own(exported, jos)
    assert own["title"] == "Jo's words at Flat 9"
    assert own["redacted"] is (withheld == "redacted") and own["hidden"] is (withheld == "hidden")
    assert own["resolution"]["id"] == resolution.id
    assert own["resolution"]["you_said"] == WITHHELD_YOU_SAID
    [vote] = [v for v in exported["votes"] if v["feedback_id"] == sams.id]
    if withheld == "redacted":
        assert vote["feedback_title"] == withheld_title(sams.id)
    else:
        assert vote["feedback_title"] is None  # Jo may no longer see it


def test_an_item_they_cannot_see_is_named_by_number_only(make_user, make_feedback, staff) -> None:
    jo = make_user()
    private = make_feedback(
        title="Another customer's private matter", visibility=Visibility.PRIVATE
    )
    # Staff asked Jo to follow it once; it is not hers to read.
    notifications.follow(jo, private)
    db.session.commit()
    exported = export_data(jo)
    assert exported["follows"] == [
        {
            "feedback_id": private.id,
            "feedback_title": None,
            "created_at": exported["follows"][0]["created_at"],
        }
    ]
    assert "private matter" not in json.dumps(exported)


def test_their_comments_votes_follows_and_subscriptions_are_all_there(
    make_user, make_verified_user, make_category, make_feedback, staff
) -> None:
    jo = make_verified_user(preferred_name="Jo")
    bins, roads = make_category(name="Bins"), make_category(name="Roads")
    theirs = make_feedback(title="Potholes on Mill Lane", category=roads)
    comment = add_comment(jo, theirs.id, "Same outside no. 9.")
    hidden = add_comment(jo, theirs.id, "A rude remark.")
    workflow.hide_comment(hidden.id, staff, "Rude.")
    set_vote(jo, theirs.id, want=True)
    digests.subscribe(jo.email, DigestFrequency.MONTHLY, [bins.id], user=jo)
    notifications.unsubscribe(jo.id, None)
    db.session.add(CategoryFollow(user_id=staff.id, category_id=roads.id))
    db.session.commit()

    exported = export_data(jo)
    assert [(c["id"], c["body"], c["hidden"]) for c in exported["comments"]] == [
        (comment.id, "Same outside no. 9.", False),
        (hidden.id, "A rude remark.", True),
    ]
    assert exported["comments"][0]["feedback_title"] == "Potholes on Mill Lane"
    assert [(v["feedback_id"], v["feedback_title"]) for v in exported["votes"]] == [
        (theirs.id, "Potholes on Mill Lane")
    ]
    assert theirs.id in [f["feedback_id"] for f in exported["follows"]]
    [subscription] = exported["digest_subscriptions"]
    assert (subscription["frequency"], subscription["categories"]) == ("monthly", ["Bins"])
    assert [u["scope"] for u in exported["unsubscribes"]] == ["notifications"]
    assert exported["account"]["thank_by_name"] is False
    assert exported["category_follows"] == []
    staff_export = export_data(staff)
    assert [f["category"] for f in staff_export["category_follows"]] == ["Roads"]


def test_the_export_costs_the_same_queries_for_one_item_and_many(
    make_user, make_feedback, staff
) -> None:
    jo = make_user()

    def add(n: int) -> None:
        for _ in range(n):
            # An image of theirs on each item: the files are read at once too.
            image = attachments.upload_image(jo, _png())
            item = make_feedback(author=jo, images=[image.public_id])
            workflow.reply(item.id, staff, "Sorry, Jo: I am on it.", post_anyway=True)
            other = make_feedback()
            set_vote(jo, other.id, want=True)
            add_comment(jo, other.id, "Me too.")
            workflow.resolve(item.id, staff, "Fixed.", post_anyway=True)
        db.session.commit()

    add(1)
    # Once before counting: the labels' language reads the site's default once per request
    # (here, per test), whatever the number of items.
    export_data(db.session.get(User, jo.id))
    db.session.expire_all()
    with count_queries(db.engine) as few:
        export_data(db.session.get(User, jo.id))
    add(4)
    db.session.expire_all()
    with count_queries(db.engine) as many:
        exported = export_data(db.session.get(User, jo.id))
    assert len(exported["feedback"]) == 5
    assert all(image["data_base64"] for image in exported["images"])
    assert len(exported["images"]) == 5
    assert few.count == many.count, many.statements
