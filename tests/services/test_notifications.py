"""Who is told what, read from the emails an SMTP server actually received: receipts, state
changes, promises, replies, resolutions, merges, staff category follows, preferences, opt-outs
and the daily cap."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    CategoryFollow,
    Feedback,
    Follow,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
    Role,
    User,
)
from portal.services import environment, notifications, workflow
from portal.services.votes import set_vote
from portal.templating import addressed_to
from tests.helpers import delivered as _deliver
from tests.helpers import login, post, resolve_together
from tests.helpers import mail_html as _html
from tests.helpers import mail_text as _text
from tests.helpers import mail_to as _to


def _long_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _staff(make_verified_user, **kwargs) -> User:
    kwargs.setdefault("display_name", "Sam Patel")
    kwargs.setdefault("preferred_name", "Sam")
    return make_verified_user(role=Role.STAFF, **kwargs)


def _voter(make_verified_user, item: Feedback, **kwargs) -> User:
    """A verified customer who says "me too" (and so follows the item)."""
    voter = make_verified_user(**kwargs)
    set_vote(voter, item.id, want=True)
    db.session.commit()
    return voter


def _future(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def _item_link(item_id: int) -> re.Pattern[str]:
    return re.compile(rf"https?://[^\s/\"]+/feedback/{item_id}(?![\d/])")


# Receipts ----------------------------------------------------------------------------------


def test_receipt_gives_a_verified_author_the_reference_and_the_acknowledgement_target(
    smtp_server, make_verified_user, make_category, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    category = make_category(ack_target_hours=72)
    item = make_feedback(author=author, category=category, title="Bins not collected")
    (receipt,) = _to(_deliver(smtp_server), author)
    assert f"#{item.id}" in receipt["Subject"]
    for part in (_text(receipt), _html(receipt)):
        assert "Dear Nia" in part
        assert f"#{item.id}" in part
        assert "72 hours" in part
        assert _item_link(item.id).search(part)


def test_an_unverified_author_gets_no_receipt(
    smtp_server, make_user, make_category, make_feedback
) -> None:
    author = make_user()
    make_feedback(author=author, category=make_category())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert _to(_deliver(smtp_server), author) == []


# State changes -----------------------------------------------------------------------------


def test_state_change_tells_followers_by_name_from_the_owner_with_the_staff_message(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author, title="Parcel left in the rain")
    voter = _voter(make_verified_user, item, preferred_name="Mr Owen")
    namesake = _voter(make_verified_user, item, preferred_name="Nia")
    staff = _staff(make_verified_user)
    notifications.follow(staff, item)  # the actor follows too, and still hears nothing
    db.session.commit()
    _deliver(smtp_server)

    workflow.acknowledge(
        item.id, staff, "Nia, sorry the parcel got soaked. I am on it.", post_anyway=True
    )
    db.session.commit()
    received = _deliver(smtp_server)

    assert _to(received, staff) == []
    for person in (author, voter):
        (mail,) = _to(received, person)
        assert "Acknowledged" in mail["Subject"]
        assert "Sam Patel" in mail["From"].addresses[0].display_name
        assert mail["To"].addresses[0].addr_spec == person.email
        text, html = _text(mail), _html(mail)
        assert "Nia, sorry the parcel got soaked. I am on it." in text
        assert "Nia, sorry the parcel got soaked. I am on it." in html
        assert _item_link(item.id).search(text)
        assert _item_link(item.id).search(html)
    # The plain text keeps its paragraphs apart, and a follower sees who the message is from
    # (it was written to the author, by name).
    author_text = _text(_to(received, author)[0]).replace("\r\n", "\n")
    assert author_text.startswith(
        "Nia, sorry the parcel got soaked. I am on it.\n\n"
        "Sam has read your complaint \u201cParcel left in the rain\u201d and is looking after it."
    )
    voter_text = _text(_to(received, voter)[0]).replace("\r\n", "\n")
    assert (
        f"Sam has read the complaint you follow (#{item.id}, \u201cParcel left in the rain\u201d)"
        " and is looking after it.\n\nSam Patel wrote:\nNia, sorry the parcel"
    ) in voter_text
    # Each is greeted once: the follower by the email, the author by the message itself
    # ("Dear Nia," above "Nia, sorry..." reads like a form wrapped round a letter).
    assert voter_text.startswith("Dear Mr Owen,\n")
    # Another Nia who follows it is greeted too: the message was written to the author.
    namesake_text = _text(_to(received, namesake)[0]).replace("\r\n", "\n")
    assert namesake_text.startswith("Dear Nia,\n")
    assert "Dear Mr Owen," in _html(_to(received, voter)[0])
    assert "Dear" not in author_text + _html(_to(received, author)[0])


def test_notifications_carry_one_click_list_unsubscribe_headers(
    app, monkeypatch, smtp_server, make_verified_user, make_feedback
) -> None:
    # One-click needs an https link (RFC 8058); the site in production is served over https.
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://feedback.example.org")
    author = make_verified_user()
    item = make_feedback(author=author)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we are looking at it today.", post_anyway=True)
    db.session.commit()
    mails = _to(_deliver(smtp_server), author)
    assert len(mails) == 2  # the receipt and the update
    for mail in mails:
        targets = re.findall(r"<([^>]+)>", str(mail["List-Unsubscribe"]))
        assert any(re.match(r"https://\S+/notifications/unsubscribe/\S+$", t) for t in targets)
        assert any(t.startswith("mailto:") for t in targets)
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_moved_promise_tells_followers_the_new_date_and_the_reason(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user()
    item = make_feedback(author=author)
    staff = _staff(make_verified_user)
    first = _future(10)
    workflow.plan(
        item.id,
        staff,
        first,
        "Thank you. We will fix the lockers.",
        outcome="the lockers working again",
        post_anyway=True,
    )
    db.session.commit()
    (planned,) = [m for m in _to(_deliver(smtp_server), author) if "planned" in m["Subject"]]
    promised = f"Sam will have the lockers working again by {_long_day(first)}."
    assert promised in _text(planned) and promised in _html(planned)

    new_date = _future(40)
    workflow.move_promise(item.id, staff, new_date, "The replacement parts are delayed at customs.")
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), author)
    for part in (_text(mail), _html(mail)):
        assert f"Sam will have the lockers working again by {_long_day(new_date)}." in part
        assert f"it was {_long_day(first)}" in part
        assert "The replacement parts are delayed at customs." in part

    # A changed outcome says what was promised before: nothing changes without a word.
    workflow.move_promise(
        item.id, staff, _future(50), "Only one locker can be fixed.", "one locker working again"
    )
    db.session.commit()
    (changed,) = _to(_deliver(smtp_server), author)
    for part in (_text(changed), _html(changed)):
        assert "Sam will have one locker working again by" in part
        assert "(We had promised the lockers working again.)" in part


def test_an_official_reply_is_sent_to_followers(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user()
    item = make_feedback(author=author)
    staff = _staff(make_verified_user)
    workflow.acknowledge(
        item.id, staff, "Thank you for telling us, and I am sorry.", post_anyway=True
    )
    db.session.commit()
    _deliver(smtp_server)
    workflow.reply(item.id, staff, "Could you tell us which branch this was at?", post_anyway=True)
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), author)
    assert "replied" in mail["Subject"]
    assert "Could you tell us which branch this was at?" in _text(mail)


def test_a_reply_that_acknowledges_sends_the_author_one_email(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author)
    staff = _staff(make_verified_user)
    _deliver(smtp_server)
    workflow.reply(
        item.id, staff, "Nia, I am sorry about this. Which branch was it?", post_anyway=True
    )
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), author)
    assert "Acknowledged" in mail["Subject"]
    assert _text(mail).count("Which branch was it?") == 1


# Resolutions -------------------------------------------------------------------------------


def test_a_resolution_thanks_the_author_for_telling_and_a_voter_for_asking_too(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user(preferred_name="Nia")
    item = make_feedback(author=author, title="Lockers jam")
    voter = _voter(make_verified_user, item, preferred_name="Jo")
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Nia, thank you, we are on it.", post_anyway=True)
    db.session.commit()
    _deliver(smtp_server)
    workflow.resolve(
        item.id, staff, "New locks on every locker.", "The lockers jammed", post_anyway=True
    )
    db.session.commit()
    received = _deliver(smtp_server)
    (to_author,) = _to(received, author)
    (to_voter,) = _to(received, voter)
    for part in (_text(to_author), _html(to_author)):
        assert "You told us" in part and "Did this fix it for you?" in part
    for part in (_text(to_voter), _html(to_voter)):
        assert "You asked for this too" in part and "Thank you for speaking up." in part
        assert "You told us" not in part and "Did this fix it" not in part


# Whoever writes, signs -----------------------------------------------------------------------


def _owned_by_priya(make_verified_user, make_feedback) -> tuple[User, User, User, Feedback]:
    """Mr Owen's item, looked after by Priya; Ada is an admin."""
    customer = make_verified_user(preferred_name="Mr Owen")
    priya = make_verified_user(
        role=Role.STAFF, display_name="Priya from Delivery", preferred_name="Priya"
    )
    ada = make_verified_user(role=Role.ADMIN, display_name="Ada (admin)", preferred_name="Ada")
    item = make_feedback(author=customer, title="Parcel left in the rain")
    workflow.acknowledge(item.id, priya, "Mr Owen, I am sorry. I am on it.", post_anyway=True)
    db.session.commit()
    return customer, priya, ada, item


def _signature(mail: EmailMessage) -> str:
    """The name the email is signed with: the line above the organisation's, at its end."""
    text = _text(mail).replace("\r\n", "\n").split("\n--\n")[0].rstrip()
    return text.split("\n")[-2]


def test_an_admins_closing_message_is_signed_by_the_admin_for_the_owner(
    smtp_server, make_verified_user, make_feedback
) -> None:
    customer, _priya, ada, item = _owned_by_priya(make_verified_user, make_feedback)
    _deliver(smtp_server)

    workflow.resolve(
        item.id,
        ada,
        "Parcels now go in the porch box.",
        message="Mr Owen, it is sorted.",
        post_anyway=True,
    )
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), customer)

    # Everything about the item comes from the one sender, its owner...
    assert mail["From"].addresses[0].display_name.startswith("Priya from Delivery")
    # ...and the message is signed by who wrote it, saying for whom.
    assert _signature(mail) == "Ada, for Priya, who looks after this"
    assert "Ada, for Priya, who looks after this" in _html(mail)
    assert "Priya from Delivery looks after this for you." in _text(mail)


def test_an_admins_reply_and_state_message_are_signed_by_the_admin(
    smtp_server, make_verified_user, make_feedback
) -> None:
    customer, priya, ada, item = _owned_by_priya(make_verified_user, make_feedback)
    _deliver(smtp_server)

    workflow.reply(item.id, ada, "Mr Owen, the driver has been told.", post_anyway=True)
    workflow.investigate(item.id, ada, "Mr Owen, we are checking the route.", post_anyway=True)
    db.session.commit()
    mails = _to(_deliver(smtp_server), customer)

    assert len(mails) == 2
    for mail in mails:
        assert mail["From"].addresses[0].display_name.startswith("Priya from Delivery")
        assert _signature(mail) == "Ada, for Priya, who looks after this"
    # Priya owns the item still: an admin's words do not take it from her.
    assert db.session.get(Feedback, item.id).owner_id == priya.id


def test_the_owners_own_message_is_signed_by_the_owner_alone(
    smtp_server, make_verified_user, make_feedback
) -> None:
    customer, _priya, _ada, _item = _owned_by_priya(make_verified_user, make_feedback)
    (mail,) = [m for m in _to(_deliver(smtp_server), customer) if "Acknowledged" in m["Subject"]]
    assert _signature(mail) == "Priya"
    assert "for Priya" not in _text(mail) + _html(mail)


def _answer_each(staff: User, *items: Feedback) -> None:
    """Each item gets its personal answer before they are resolved together."""
    for item in items:
        workflow.acknowledge(item.id, staff, "Thank you, I am on it.", post_anyway=True)
    db.session.commit()


def test_a_resolution_theme_sends_someone_who_follows_both_items_one_email(
    smtp_server, make_verified_user, make_category, make_feedback
) -> None:
    category = make_category()
    authors = [make_verified_user(), make_verified_user()]
    a = make_feedback(author=authors[0], category=category, title="Lockers jam")
    b = make_feedback(author=authors[1], category=category, title="Locker door stuck")
    fan = _voter(make_verified_user, a)
    set_vote(fan, b.id, want=True)
    db.session.commit()
    staff = _staff(make_verified_user)
    _answer_each(staff, a, b)
    _deliver(smtp_server)

    resolve_together([a, b], staff, "We replaced every locker door in town.")
    db.session.commit()
    received = _deliver(smtp_server)
    (mail,) = _to(received, fan)
    assert "We replaced every locker door in town." in _text(mail)
    assert "We replaced every locker door in town." in _html(mail)
    for author in authors:
        assert len(_to(received, author)) == 1


def test_preference_resolutions_gets_the_resolution_but_no_state_change(
    smtp_server, make_verified_user, make_feedback
) -> None:
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    voter.notification_preference = NotificationPreference.RESOLUTIONS
    staff = _staff(make_verified_user)
    db.session.commit()
    workflow.acknowledge(item.id, staff, "Thank you, we are on it.", post_anyway=True)
    workflow.reply(item.id, staff, "A quick question about the time.", post_anyway=True)
    db.session.commit()
    assert _to(_deliver(smtp_server), voter) == []

    workflow.resolve(item.id, staff, "We moved the collection to the morning.", post_anyway=True)
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), voter)
    assert "We moved the collection to the morning." in _text(mail)


def test_preference_none_gets_nothing(smtp_server, make_verified_user, make_feedback) -> None:
    author = make_verified_user()
    author.notification_preference = NotificationPreference.NONE
    db.session.commit()
    item = make_feedback(author=author)
    voter = _voter(make_verified_user, item)
    voter.notification_preference = NotificationPreference.NONE
    staff = _staff(make_verified_user)
    db.session.commit()
    workflow.acknowledge(item.id, staff, "Thank you, we are on it.", post_anyway=True)
    workflow.resolve(item.id, staff, "We fixed it.", post_anyway=True)
    db.session.commit()
    received = _deliver(smtp_server)
    assert _to(received, voter) == []
    assert [m["Subject"] for m in _to(received, author) if "received" not in m["Subject"]] == []


def test_someone_who_unfollowed_gets_nothing(
    smtp_server, make_client, make_verified_user, make_feedback
) -> None:
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    browser = make_client()
    login(browser, voter.email)
    assert post(browser, f"/feedback/{item.id}/follow").status_code == 302
    assert not notifications.is_following(voter, item.id)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we are on it.", post_anyway=True)
    workflow.resolve(item.id, staff, "We fixed it.", post_anyway=True)
    db.session.commit()
    assert _to(_deliver(smtp_server), voter) == []


def test_a_stop_emails_button_left_open_never_starts_them_again(
    make_client, make_verified_user, make_feedback
) -> None:
    """Two tabs show "Following: stop emails". Stopping in the first, then pressing the
    stale button in the second, must leave the emails stopped, not start them again."""
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    browser = make_client()
    login(browser, voter.email)
    page = browser.get(f"/feedback/{item.id}").get_data(as_text=True)
    assert 'name="follow" value="0"' in page  # the button asks to stop
    for _tab in range(2):
        answer = post(browser, f"/feedback/{item.id}/follow", {"follow": "0"}, htmx=True)
        assert "Follow: email me about changes" in answer.get_data(as_text=True)
        assert not notifications.is_following(voter, item.id)
    post(browser, f"/feedback/{item.id}/follow", {"follow": "1"})
    post(browser, f"/feedback/{item.id}/follow", {"follow": "1"})
    assert notifications.is_following(voter, item.id)


def test_a_follower_who_can_no_longer_see_the_item_gets_nothing(
    smtp_server, make_verified_user, make_feedback
) -> None:
    author = make_verified_user()
    item = make_feedback(author=author)
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    colleague = _staff(make_verified_user, display_name="Ada Obi")
    notifications.follow(colleague, item)
    workflow.set_hidden(item.id, staff, True, "It names a member of staff.")
    db.session.commit()
    _deliver(smtp_server)

    workflow.acknowledge(item.id, staff, "Thank you, we are looking at it.", post_anyway=True)
    db.session.commit()
    received = _deliver(smtp_server)
    assert _to(received, voter) == []
    assert _to(received, author) == []
    # Staff can still see a hidden item, so a colleague who follows it still hears.
    assert len(_to(received, colleague)) == 1


def test_a_resolution_reaches_a_follower_through_the_item_they_can_still_see(
    smtp_server, make_verified_user, make_category, make_feedback
) -> None:
    category = make_category()
    hidden = make_feedback(author=make_verified_user(), category=category)
    shown = make_feedback(author=make_verified_user(), category=category, title="Lockers jam")
    fan = _voter(make_verified_user, hidden)
    set_vote(fan, shown.id, want=True)
    staff = _staff(make_verified_user)
    workflow.set_hidden(hidden.id, staff, True, "Abusive language.")
    _answer_each(staff, shown, hidden)
    _deliver(smtp_server)

    resolve_together([shown, hidden], staff, "We replaced the locker doors.")
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), fan)
    assert "We replaced the locker doors." in _text(mail)
    assert _item_link(shown.id).search(_text(mail))


# Merges ------------------------------------------------------------------------------------


def test_merge_tells_followers_where_it_went_and_they_follow_the_target_once(
    smtp_server, make_verified_user, make_category, make_feedback
) -> None:
    category = make_category()
    target_author, duplicate_author = make_verified_user(), make_verified_user()
    target = make_feedback(author=target_author, category=category, title="Lockers jam")
    duplicate = make_feedback(author=duplicate_author, category=category, title="Jammed")
    both = _voter(make_verified_user, target)
    set_vote(both, duplicate.id, want=True)
    only_duplicate = _voter(make_verified_user, duplicate)
    staff = _staff(make_verified_user)
    db.session.commit()
    _deliver(smtp_server)

    workflow.merge(
        duplicate.id,
        staff,
        target.id,
        "Thank you. This is the same as the locker jam.",
        post_anyway=True,
    )
    db.session.commit()
    received = _deliver(smtp_server)
    for person in (duplicate_author, both, only_duplicate):
        (mail,) = _to(received, person)
        assert "Lockers jam" in _text(mail)
        assert _item_link(target.id).search(_text(mail))
        assert _item_link(target.id).search(_html(mail))
    assert _to(received, target_author) == []

    follows = db.session.execute(sa.select(Follow.user_id, Follow.feedback_id)).all()
    assert [f for f in follows if f.feedback_id == duplicate.id] == []
    on_target = sorted(f.user_id for f in follows if f.feedback_id == target.id)
    expected = sorted([target_author.id, duplicate_author.id, both.id, only_duplicate.id])
    assert on_target == expected

    # They now hear about the target.
    workflow.acknowledge(target.id, staff, "Thank you all, we are on it.", post_anyway=True)
    db.session.commit()
    received = _deliver(smtp_server)
    for person in (duplicate_author, both, only_duplicate, target_author):
        assert len(_to(received, person)) == 1


# Staff who follow a category ---------------------------------------------------------------


def test_staff_following_a_category_hear_of_a_new_item(
    smtp_server, make_verified_user, make_category, make_feedback
) -> None:
    category = make_category(name="Recycling")
    follower = _staff(make_verified_user, preferred_name="Sam")
    other = _staff(make_verified_user, display_name="Ada Obi")
    db.session.add_all(
        [
            CategoryFollow(user_id=follower.id, category_id=category.id),
            CategoryFollow(user_id=other.id, category_id=make_category().id),
        ]
    )
    db.session.commit()
    item = make_feedback(author=make_verified_user(), category=category, title="Glass left out")
    received = _deliver(smtp_server)
    (mail,) = _to(received, follower)
    assert mail["Subject"].startswith("New ")
    assert f"#{item.id}" in mail["Subject"] and "Glass left out" in mail["Subject"]
    assert f"/admin/feedback/{item.id}" in _text(mail)
    assert _to(received, other) == []

    db.session.execute(sa.delete(CategoryFollow).where(CategoryFollow.user_id == follower.id))
    db.session.commit()
    make_feedback(author=make_verified_user(), category=category)
    assert _to(_deliver(smtp_server), follower) == []


# The daily cap -----------------------------------------------------------------------------


def test_an_answer_about_their_own_feedback_is_never_held_back_by_the_cap(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """The cap is for news of what someone follows. The author of the item hears every step
    of their own complaint at once, in full, however busy their day."""
    change_settings(notification_daily_cap=1)
    author = make_verified_user()
    item = make_feedback(author=author, title="Street light out")
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    workflow.investigate(item.id, staff, "The engineer is checking the cable.", post_anyway=True)
    workflow.start_work(item.id, staff, "The repair crew is on site.", post_anyway=True)
    db.session.commit()

    received = _deliver(smtp_server)
    to_author = [m for m in _to(received, author) if "received" not in m["Subject"]]
    assert len(to_author) == 3
    assert "The repair crew is on site." in _text(to_author[-1])
    assert len(_to(received, voter)) == 1  # the rest waits in tomorrow's summary


def test_what_was_done_reaches_a_voter_at_once_even_past_the_cap(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """Everyone who spoke up is told what was done: past the day's cap, updates wait for the
    summary, but the resolution, with its "we did", goes out at once."""
    change_settings(notification_daily_cap=1)
    item = make_feedback(author=make_verified_user(), title="Street light out")
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    workflow.investigate(item.id, staff, "The engineer is checking the cable.", post_anyway=True)
    workflow.resolve(item.id, staff, "We replaced the cable and the lamp.", post_anyway=True)
    db.session.commit()

    to_voter = _to(_deliver(smtp_server), voter)
    assert len(to_voter) == 2  # the first update, and the resolution; one update waits
    assert "We replaced the cable and the lamp." in _text(to_voter[-1])


def test_stopping_update_emails_withdraws_those_still_waiting(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """One click on "stop all update emails" also stops the updates queued before it, the
    day's summary included: nothing goes out after the opt-out."""
    change_settings(notification_daily_cap=1)
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    workflow.investigate(item.id, staff, "The engineer is checking the cable.", post_anyway=True)
    db.session.commit()
    kinds = db.session.scalars(
        sa.select(OutboxMessage.kind).where(OutboxMessage.user_id == voter.id)
    ).all()
    assert "summary" in kinds and "state" in kinds

    assert notifications.unsubscribe(voter.id, None)
    db.session.commit()
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()
    assert _to(_deliver(smtp_server), voter) == []
    statuses = db.session.execute(
        sa.select(OutboxMessage.kind, OutboxMessage.status)
        .where(OutboxMessage.user_id == voter.id)
        .order_by(OutboxMessage.id)
    ).all()
    # The first update and the summary were withdrawn; the second stays inside the summary.
    assert sorted(statuses) == [
        ("state", OutboxStatus.FOLDED),
        ("state", OutboxStatus.WITHDRAWN),
        ("summary", OutboxStatus.WITHDRAWN),
    ]
    pending = sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
    assert db.session.scalar(pending) == 0


def test_stopping_one_item_withdraws_its_waiting_updates_but_not_staff_work_mail(
    smtp_server, make_verified_user, make_feedback, make_category
) -> None:
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    db.session.commit()
    notifications.unfollow(voter.id, item.id)  # the follow button, or the email's item link
    # Staff who chose "resolutions only" for what they follow still hear of new items in
    # the categories they look after: that mail never depended on the choice.
    colleague = _staff(make_verified_user, display_name="Ada Obi")
    colleague.notification_preference = NotificationPreference.RESOLUTIONS
    category = make_category()
    db.session.add(CategoryFollow(user_id=colleague.id, category_id=category.id))
    db.session.commit()
    make_feedback(category=category, title="Lift out of order again")

    received = _deliver(smtp_server)
    assert _to(received, voter) == []
    assert [m["Subject"] for m in _to(received, colleague) if "Lift out of order" in m["Subject"]]


def test_an_update_that_was_withdrawn_does_not_use_up_the_daily_cap(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """Someone who stopped an item's emails and then followed it again gets the next update
    at once: the one withdrawn earlier never reached them, so it is not part of their day."""
    change_settings(notification_daily_cap=1)
    item = make_feedback(author=make_verified_user())
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    db.session.commit()
    notifications.unfollow(voter.id, item.id)
    db.session.commit()
    assert _to(_deliver(smtp_server), voter) == []

    notifications.follow(voter, item)
    workflow.investigate(item.id, staff, "The engineer is checking the cable.", post_anyway=True)
    db.session.commit()
    (mail,) = _to(_deliver(smtp_server), voter)
    assert "The engineer is checking the cable." in _text(mail)


def test_past_the_daily_cap_updates_fold_into_one_summary_a_day_later(
    smtp_server,
    change_settings,
    make_user,
    make_verified_user,
    make_feedback,
) -> None:
    change_settings(notification_daily_cap=2)
    item = make_feedback(author=make_user(), title="Street light out")
    voter = _voter(make_verified_user, item)
    staff = _staff(make_verified_user)
    workflow.acknowledge(item.id, staff, "Thank you, we have reported it.", post_anyway=True)
    workflow.investigate(item.id, staff, "The engineer is checking the cable.", post_anyway=True)
    workflow.start_work(item.id, staff, "The repair crew is on site.", post_anyway=True)
    db.session.commit()

    mine = list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.user_id == voter.id)
            .order_by(OutboxMessage.id)
        )
    )
    states = [m for m in mine if m.kind == "state"]
    assert [m.status for m in states] == [
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
        OutboxStatus.FOLDED,
    ]
    (summary,) = [m for m in mine if m.kind == "summary"]
    assert summary.status is OutboxStatus.PENDING
    assert states[2].summary_id == summary.id
    a_day_later = datetime.now(UTC) + timedelta(days=1)
    assert abs(summary.next_attempt_at - a_day_later) < timedelta(minutes=5)
    assert states[2].subject in summary.text_body
    assert "In progress" in summary.text_body

    received = _to(_deliver(smtp_server), voter)
    assert len(received) == 2
    assert all("In progress" not in m["Subject"] for m in received)


def test_a_summary_leaves_out_what_the_person_stopped_while_it_waited(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """The day's summary holds updates on two items; during the day the person stops one of
    them. The summary that goes out lists only the other one, and says how many."""
    change_settings(notification_daily_cap=1)
    lift = make_feedback(author=make_verified_user(), title="Lift out of order")
    light = make_feedback(author=make_verified_user(), title="Street light out")
    voter = _voter(make_verified_user, lift)
    set_vote(voter, light.id, want=True)
    staff = _staff(make_verified_user)
    workflow.acknowledge(
        lift.id, staff, "Thank you, the lift company is on its way.", post_anyway=True
    )
    workflow.acknowledge(light.id, staff, "Thank you, we have reported it.", post_anyway=True)
    workflow.investigate(lift.id, staff, "The engineer is checking the motor.", post_anyway=True)
    db.session.commit()
    summary = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == voter.id, OutboxMessage.kind == "summary"
        )
    )
    assert "Street light out" in summary.text_body and "Lift out of order" in summary.text_body

    notifications.unfollow(voter.id, light.id)
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()
    received = _to(_deliver(smtp_server), voter)
    (sent_summary,) = [m for m in received if "more update" in m["Subject"]]
    assert sent_summary["Subject"].startswith("1 more update on")
    assert "Lift out of order" in _text(sent_summary)
    assert "Street light out" not in _text(sent_summary) + _html(sent_summary)

    # A new summary whose every update was stopped is not sent at all.
    notifications.follow(voter, light)
    workflow.investigate(light.id, staff, "The engineer is checking the cable.", post_anyway=True)
    db.session.commit()
    assert db.session.scalar(
        sa.select(sa.func.count()).where(
            OutboxMessage.user_id == voter.id,
            OutboxMessage.kind == "summary",
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    notifications.unfollow(voter.id, light.id)
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()
    assert [m for m in _to(_deliver(smtp_server), voter) if "more update" in m["Subject"]] == []


def test_a_summary_keeps_an_update_on_an_item_merged_since(
    smtp_server, change_settings, make_verified_user, make_feedback
) -> None:
    """An update waits in the day's summary; later that day its item is merged into another.
    The person never stopped anything, and now follows the other item: the update stays."""
    change_settings(notification_daily_cap=1)
    lift = make_feedback(author=make_verified_user(), title="Lift out of order")
    other = make_feedback(author=make_verified_user(), title="Lift broken again")
    voter = _voter(make_verified_user, lift)
    staff = _staff(make_verified_user)
    workflow.acknowledge(
        lift.id, staff, "Thank you, the lift company is on its way.", post_anyway=True
    )
    db.session.commit()
    _deliver(smtp_server)
    workflow.investigate(
        lift.id, staff, "The engineer is checking the motor.", post_anyway=True
    )  # folded
    workflow.acknowledge(other.id, staff, "Thank you for telling us.", post_anyway=True)
    workflow.merge(
        lift.id, staff, other.id, "The same lift: we handle both together.", post_anyway=True
    )
    db.session.commit()
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()

    received = _to(_deliver(smtp_server), voter)
    (summary,) = [m for m in received if "more update" in m["Subject"]]
    assert "Lift out of order" in _text(summary)
    withdrawn = sa.select(sa.func.count()).where(
        OutboxMessage.user_id == voter.id, OutboxMessage.status == OutboxStatus.WITHDRAWN
    )
    assert db.session.scalar(withdrawn) == 0


def test_plain_text_emails_keep_each_line_and_paragraph_apart(make_user, make_feedback) -> None:
    """Jinja drops the newline after a block tag: a line that ended in {% endif %} used to run
    into the next one ("- first update- second update")."""
    person = make_user(preferred_name="Nia")
    item = make_feedback(title="Street light out")
    updates = [
        OutboxMessage(subject="Acknowledged", feedback_id=item.id),
        OutboxMessage(subject="A note from us", feedback_id=None),
    ]
    presenter = environment.current().presenter
    summary = presenter.email(
        "summary",
        "2 more",
        person=person,
        updates=updates,
        unsubscribe_all_url="https://example.com/stop",
    )
    lines = summary.text.splitlines()
    assert any(re.fullmatch(rf"- Acknowledged: \S+/feedback/{item.id}", line) for line in lines)
    assert "- A note from us" in lines

    change = presenter.email(
        "digest_change",
        "Change",
        frequency="weekly",
        category_names=["Billing"],
        change_url="https://example.com/change",
        unsubscribe_url="https://example.com/stop",
    )
    assert "  Categories: Billing\n\nTo make the change" in change.text


@pytest.mark.parametrize(
    ("message", "greets_nia"),
    [
        ("Nia, I am so sorry.", True),
        ("  nia - thank you for telling us.", True),
        ("Hi Nia! The crew is on site.", True),
        ("Dear Nia,\nthe lift is fixed.", True),
        ("Niamh, I am so sorry.", False),  # another name that starts the same
        ("Nia's parcel is on its way back to us.", False),
        ("Nia-Rose and I checked the van.", False),
        ("Nia - the crew is on site.", True),
        ("Nia", True),
        ("I am so sorry, Nia.", True),  # the first sentence speaks to her
        ("Thanks for the idea, Nia! We are trying it.", True),
        ("Sorry, Nia, this took too long.", True),
        ("We rang the depot. Thanks, Nia.", False),  # not in the first sentence
        ("Sorry, Nia's order was sent to the old address.", False),
        ("We spoke to Nia about it.", False),
        ("Our engineer, Nia, will call you on Tuesday.", False),  # someone of the same name
        ("It is fixed in version 2.1, Nia.", True),
        ("\nNia, I am so sorry.", True),
        ("", False),
    ],
)
def test_a_message_that_greets_the_reader_replaces_the_emails_own_greeting(
    message: str, greets_nia: bool
) -> None:
    assert addressed_to(message, "Nia") is greets_nia
