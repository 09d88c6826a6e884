"""Authors fix their own words until staff answer: the rule, the versions kept for staff, and
what follows an edit (search, webhooks)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, Feedback, Role, TextVersion, WebhookDelivery
from portal.services import editing, webhooks, workflow
from portal.services.board import BoardFilters, board_page
from portal.services.editing import EditsClosed
from portal.services.errors import DomainError, NotAllowed, NotFound
from portal.services.feedback import add_comment
from portal.services.personal_data import export_data
from portal.services.sanitize import render_markdown
from portal.services.site import settings_for_update
from tests.helpers import count_queries, executable_markup

SORRY = "I am sorry about this, Jo; I am looking at it now and will write by Friday."
TYPO = "The kettel arrived with a broken lid."
FIXED = "The kettle arrived with a broken lid."


@pytest.fixture
def staff(make_verified_user):
    return make_verified_user(role=Role.STAFF, display_name="Priya")


@pytest.fixture
def author(make_user):
    return make_user(display_name="Jo")


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _versions(item_id: int, comment_id: int | None = None) -> list[TextVersion]:
    where = (
        TextVersion.comment_id.is_(None)
        if comment_id is None
        else TextVersion.comment_id == comment_id
    )
    return list(
        db.session.scalars(
            sa.select(TextVersion)
            .where(TextVersion.feedback_id == item_id, where)
            .order_by(TextVersion.id)
        )
    )


def _search(q: str) -> list[int]:
    return [item.id for item in board_page(BoardFilters.from_args({"q": q}), per_page=50).items]


# The item ------------------------------------------------------------------------------------


def test_the_author_edits_an_unanswered_item_and_the_words_before_are_kept(
    author, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    written = item.created_at

    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    db.session.commit()

    item = _reload(Feedback, item.id)
    assert (item.title, item.body_source) == ("Kettle lid broken", FIXED)
    assert "kettle arrived" in item.body_html and item.edited_at is not None
    (version,) = _versions(item.id)
    assert (version.title, version.body_source) == ("Kettel lid broken", TYPO)
    assert version.written_at == written and version.replaced_at == item.edited_at


def test_every_version_is_kept_each_from_when_it_was_written(author, make_feedback) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    editing.edit_item(author, item.id, title="Kettle lid broken", body=TYPO)
    first_edit = item.edited_at
    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    db.session.commit()

    first, second = _versions(item.id)
    assert first.title == "Kettel lid broken" and second.title == "Kettle lid broken"
    assert second.written_at == first_edit == first.replaced_at


def test_an_edit_is_sanitised_like_the_words_it_replaces(author, make_feedback) -> None:
    item = make_feedback(author=author)
    editing.edit_item(
        author,
        item.id,
        title="A title that is fine",
        body='Look <script>alert(1)</script> [here](javascript:alert(2)) <b onclick="x()">x</b>',
    )
    assert executable_markup(item.body_html) == []
    assert item.body_html == render_markdown(item.body_source)


def test_saving_the_same_words_changes_nothing(author, make_feedback) -> None:
    item = make_feedback(author=author, title="Kettle lid broken", body=FIXED)
    editing.edit_item(author, item.id, title="  Kettle   lid broken ", body=FIXED)
    db.session.commit()
    assert _reload(Feedback, item.id).edited_at is None
    assert _versions(item.id) == []


def test_the_acknowledgement_closes_the_item_to_edits(author, staff, make_feedback) -> None:
    item = make_feedback(author=author, body=TYPO)
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()

    with pytest.raises(EditsClosed) as refused:
        editing.edit_item(author, item.id, title="A new title here", body=FIXED)
    assert "answered" in refused.value.message
    db.session.rollback()
    assert _reload(Feedback, item.id).body_source == TYPO


def test_any_state_change_closes_the_item_to_edits(author, staff, make_feedback) -> None:
    item = make_feedback(author=author, body=TYPO)
    workflow.decline(item.id, staff, "We are sorry, Jo: we will not stock these.", post_anyway=True)
    db.session.commit()
    with pytest.raises(EditsClosed):
        editing.edit_item(author, item.id, title="A new title here", body=FIXED)


def test_an_internal_note_or_an_owner_change_is_no_answer(author, staff, make_feedback) -> None:
    item = make_feedback(author=author, body=TYPO)
    workflow.add_internal_note(item.id, staff, "Check the supplier batch.")
    workflow.take(item.id, staff)
    db.session.commit()

    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    assert item.body_source == FIXED


def test_only_the_author_edits_their_item(author, staff, make_user, make_feedback) -> None:
    item = make_feedback(author=author, body=TYPO)
    with pytest.raises(NotAllowed):
        editing.edit_item(make_user(), item.id, title="Someone else's", body=FIXED)
    with pytest.raises(NotAllowed):
        editing.edit_item(staff, item.id, title="Staff rewording", body=FIXED)
    db.session.rollback()
    assert _reload(Feedback, item.id).body_source == TYPO


def test_words_staff_withheld_stay_closed_to_edits(author, staff, make_feedback) -> None:
    item = make_feedback(author=author, body="Ring me on 07700 900123")
    workflow.redact(item.id, staff, "A phone number.")
    db.session.commit()
    with pytest.raises(EditsClosed):
        editing.edit_item(author, item.id, title="A new title here", body="No number now.")


def test_a_hidden_item_is_not_found_even_by_its_author(author, staff, make_feedback) -> None:
    item = make_feedback(author=author)
    workflow.set_hidden(item.id, staff, True, "Abusive.")
    db.session.commit()
    with pytest.raises(NotFound):
        editing.edit_item(author, item.id, title="A new title here", body=FIXED)


def test_an_empty_title_or_text_is_refused(author, make_feedback) -> None:
    item = make_feedback(author=author)
    with pytest.raises(DomainError):
        editing.edit_item(author, item.id, title="   ", body=FIXED)
    with pytest.raises(DomainError):
        editing.edit_item(author, item.id, title="A good title", body="  \n ")


def test_search_finds_the_new_words_and_not_the_old(author, make_feedback) -> None:
    item = make_feedback(author=author, title="Wobbly trolley wheel", body="Squeaks loudly.")
    assert _search("wobbly") == [item.id]

    editing.edit_item(author, item.id, title="Crooked pushchair wheel", body="Squeaks loudly.")
    db.session.commit()

    assert _search("wobbly") == []
    assert _search("pushchair") == [item.id]


def test_an_edit_is_sent_to_webhooks_that_asked_for_edits(author, make_user, make_feedback) -> None:
    admin = make_user(role=Role.ADMIN)
    wants = webhooks.create_endpoint(
        admin, url="https://hooks.example.com/a", events=["item.edited"]
    )
    webhooks.create_endpoint(admin, url="https://hooks.example.com/b", events=["item.created"])
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)

    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    db.session.commit()

    sent = list(
        db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.event == "item.edited"))
    )
    assert [d.endpoint_id for d in sent] == [wants.endpoint.id]
    payload = sent[0].payload
    assert payload["data"]["item"]["title"] == "Kettle lid broken"
    assert payload["data"]["item"]["body"] == FIXED


# Comments ------------------------------------------------------------------------------------


def _acknowledged(author, staff, make_feedback) -> Feedback:
    item = make_feedback(author=author)
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()
    return item


def test_a_comment_is_editable_until_staff_reply_after_it(author, staff, make_feedback) -> None:
    item = _acknowledged(author, staff, make_feedback)
    comment = add_comment(author, item.id, TYPO)
    db.session.commit()

    editing.edit_comment(author, item.id, comment.id, FIXED)
    db.session.commit()
    assert _reload(Comment, comment.id).body_source == FIXED
    (version,) = _versions(item.id, comment.id)
    assert version.body_source == TYPO and version.title is None

    workflow.reply(item.id, staff, "Thanks Jo, I will send a new lid by Friday.", post_anyway=True)
    db.session.commit()
    with pytest.raises(EditsClosed):
        editing.edit_comment(author, item.id, comment.id, "Changed after the answer.")
    db.session.rollback()
    assert _reload(Comment, comment.id).body_source == FIXED


def test_a_state_change_after_a_comment_closes_it(author, staff, make_feedback) -> None:
    item = make_feedback(author=author)
    comment = add_comment(author, item.id, TYPO)
    db.session.commit()
    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()
    with pytest.raises(EditsClosed):
        editing.edit_comment(author, item.id, comment.id, FIXED)


def test_a_comment_written_after_the_answer_is_still_editable(author, staff, make_feedback) -> None:
    item = _acknowledged(author, staff, make_feedback)
    comment = add_comment(author, item.id, TYPO)
    db.session.commit()
    editing.edit_comment(author, item.id, comment.id, FIXED)
    assert comment.edited_at is not None


def test_only_its_author_edits_a_comment(author, staff, make_user, make_feedback) -> None:
    item = make_feedback(author=author)
    comment = add_comment(author, item.id, TYPO)
    note = workflow.add_internal_note(item.id, staff, "Supplier batch 7.")
    db.session.commit()
    with pytest.raises(NotAllowed):
        editing.edit_comment(make_user(), item.id, comment.id, FIXED)
    with pytest.raises(NotAllowed):
        editing.edit_comment(staff, item.id, comment.id, FIXED)
    # A customer cannot even learn of a note.
    with pytest.raises(NotFound):
        editing.edit_comment(author, item.id, note.id, FIXED)


def test_a_hidden_comment_cannot_be_edited_back_into_view(author, staff, make_feedback) -> None:
    item = make_feedback(author=author)
    comment = add_comment(author, item.id, "Ring me on 07700 900123")
    workflow.hide_comment(comment.id, staff, "A phone number.")
    db.session.commit()
    with pytest.raises(NotFound):
        editing.edit_comment(author, item.id, comment.id, FIXED)


# What the page offers -------------------------------------------------------------------------


def test_the_page_offers_edits_to_the_author_only_and_versions_to_staff_only(
    author, staff, make_user, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    comment = add_comment(author, item.id, TYPO)
    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    editing.edit_comment(author, item.id, comment.id, FIXED)
    db.session.commit()
    comments = [comment]

    mine = editing.words_on_page(item, comments, author)
    assert mine.can_edit_item and mine.editable_comments == {comment.id}
    assert not mine.item_versions and not mine.comment_versions

    for viewer in (make_user(), None):
        theirs = editing.words_on_page(item, comments, viewer)
        assert not theirs.can_edit_item and not theirs.editable_comments
        assert not theirs.item_versions and not theirs.comment_versions

    staffs = editing.words_on_page(item, comments, staff)
    assert [v.body_source for v in staffs.item_versions] == [TYPO]
    assert [v.body_source for v in staffs.comment_versions[comment.id]] == [TYPO]

    workflow.acknowledge(item.id, staff, SORRY, post_anyway=True)
    db.session.commit()
    after = editing.words_on_page(item, comments, author)
    assert not after.can_edit_item and not after.editable_comments


def test_with_pre_moderation_edited_words_wait_for_review_again(
    author, staff, make_feedback
) -> None:
    settings_for_update().pre_moderation = True
    db.session.commit()
    item = make_feedback(author=author, body=TYPO)
    workflow.approve(item.id, staff)
    db.session.commit()
    assert _search("kettel") == [item.id]

    editing.edit_item(author, item.id, title=item.title, body=FIXED)
    db.session.commit()

    assert _reload(Feedback, item.id).awaiting_review is True
    assert _search("kettle") == []  # off the board until staff have read the new words


def test_the_authors_export_holds_their_earlier_words_and_nobody_elses(
    author, make_user, make_feedback
) -> None:
    item = make_feedback(author=author, title="Kettel lid broken", body=TYPO)
    mine = add_comment(author, item.id, "Secnod kettle.")
    neighbour = make_user()
    theirs = add_comment(neighbour, item.id, "Me tooo.")
    editing.edit_item(author, item.id, title="Kettle lid broken", body=FIXED)
    editing.edit_comment(author, item.id, mine.id, "Second kettle.")
    editing.edit_comment(neighbour, item.id, theirs.id, "Me too.")
    db.session.commit()

    exported = export_data(author)

    (own_item,) = exported["feedback"]
    assert [(v["title"], v["body"]) for v in own_item["earlier_versions"]] == [
        ("Kettel lid broken", TYPO)
    ]
    assert own_item["edited_at"] is not None
    (own_comment,) = exported["comments"]
    assert [v["body"] for v in own_comment["earlier_versions"]] == ["Secnod kettle."]
    assert "Me tooo." not in str(exported)


def test_the_page_asks_at_most_one_statement_whatever_the_comments(
    app, author, staff, make_feedback
) -> None:
    item = make_feedback(author=author)
    comments = [add_comment(author, item.id, f"Comment number {n}.") for n in range(6)]
    for comment in comments:
        editing.edit_comment(author, item.id, comment.id, f"{comment.body_source} Edited.")
    db.session.commit()
    # Loaded again after the commit, as the page holds them before asking.
    for row in (item, author, staff, *comments):
        db.session.refresh(row)

    for viewer, most in ((None, 0), (author, 1), (staff, 1)):
        with count_queries(db.engine) as log:
            editing.words_on_page(item, comments, viewer)
        assert log.count <= most, log.statements
