"""Stored HTML rendered by older rules is rendered again from its source (`flask
rerender-text`): text stored before code spans were fixed shows `<script>` once too."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import Comment, Feedback, Resolution, Role, TextVersion, TimelineEvent
from portal.services import editing, feedback, workflow
from portal.services.sanitize import RENDERED_COLUMNS, rerender_stored_text

SOURCE = "Try `<script>` at https://example.org"
# What the renderer wrote before code spans were fixed (commit 7d8fa7b): linkify() ran again
# over the cleaned HTML and escaped the code's text a second time.
STALE = (
    '<p>Try <code>&amp;lt;script&amp;gt;</code> at <a href="https://example.org" '
    'rel="nofollow ugc noopener">https://example.org</a></p>\n'
)
FIXED = STALE.replace("&amp;lt;script&amp;gt;", "&lt;script&gt;")


def _stored_before_the_fix(make_user, make_feedback) -> dict[str, int]:
    """An item, a comment, a timeline message and a resolution written from SOURCE, their
    HTML then set back to what the old rules made of it. Returns their ids."""
    staff = make_user(role=Role.STAFF)
    item = make_feedback(body=SOURCE)
    comment = feedback.add_comment(make_user(), item.id, SOURCE)
    resolution = workflow.resolve(item.id, staff, SOURCE, message=SOURCE, post_anyway=True)
    db.session.flush()
    event = db.session.scalars(
        sa.select(TimelineEvent)
        .where(TimelineEvent.feedback_id == item.id, TimelineEvent.message == SOURCE)
        .order_by(TimelineEvent.id.desc())
    ).first()
    assert event is not None
    ids = {"items": item.id, "comments": comment.id, "timeline messages": event.id}
    ids["resolutions"] = resolution.id
    # Words their author changed since, which staff still read.
    author = make_user()
    edited = make_feedback(author=author, body=SOURCE)
    editing.edit_item(author, edited.id, title=edited.title, body="Fixed a typo.")
    ids["earlier versions"] = db.session.scalar(
        sa.select(TextVersion.id).where(TextVersion.feedback_id == edited.id)
    )
    db.session.commit()
    for column in RENDERED_COLUMNS:
        assert (
            db.session.scalar(sa.select(column.html).where(column.id == ids[column.label])) == FIXED
        )
        db.session.execute(
            sa.update(column.id.class_)
            .where(column.id == ids[column.label])
            .values({column.html: STALE})
        )
    db.session.commit()
    return ids


def _html(model: type, row_id: int) -> str:
    db.session.expire_all()
    row = db.session.get(model, row_id)
    assert row is not None
    return {
        Feedback: lambda r: r.body_html,
        Comment: lambda r: r.body_html,
        TimelineEvent: lambda r: r.message_html,
        Resolution: lambda r: r.we_did_html,
        TextVersion: lambda r: r.body_html,
    }[model](row)


def test_stale_html_is_rendered_again_from_its_source_once(make_user, make_feedback) -> None:
    ids = _stored_before_the_fix(make_user, make_feedback)
    untouched = make_feedback(body="Nothing `odd` here")
    db.session.commit()

    changed = rerender_stored_text(batch_size=1)  # batches of one: every row is reached
    db.session.commit()

    assert changed == {
        "items": 1,
        "comments": 1,
        "timeline messages": 1,
        "resolutions": 1,
        "earlier versions": 1,
    }
    assert _html(Feedback, ids["items"]) == FIXED
    assert _html(Comment, ids["comments"]) == FIXED
    assert _html(TimelineEvent, ids["timeline messages"]) == FIXED
    assert _html(Resolution, ids["resolutions"]) == FIXED
    assert _html(TextVersion, ids["earlier versions"]) == FIXED
    assert _html(Feedback, untouched.id) == "<p>Nothing <code>odd</code> here</p>\n"
    assert set(rerender_stored_text().values()) == {0}


def test_a_resolution_rendered_again_announces_its_new_text_to_feeds(
    make_user, make_feedback
) -> None:
    ids = _stored_before_the_fix(make_user, make_feedback)
    before = db.session.get(Resolution, ids["resolutions"]).updated_at
    rerender_stored_text()
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Resolution, ids["resolutions"]).updated_at > before


def test_the_item_page_shows_the_code_once_after_rerender_text(
    app: Flask, client, make_user, make_feedback
) -> None:
    ids = _stored_before_the_fix(make_user, make_feedback)
    page = client.get(f"/feedback/{ids['items']}").get_data(as_text=True)
    assert "&amp;lt;script&amp;gt;" in page

    result = app.test_cli_runner().invoke(args=["rerender-text"])

    assert result.exit_code == 0, result.output
    assert result.output == (
        "HTML rendered again where it had changed: items 1, comments 1, timeline messages 1, "
        "resolutions 1, earlier versions 1.\n"
    )
    page = client.get(f"/feedback/{ids['items']}").get_data(as_text=True)
    assert "&amp;lt;script&amp;gt;" not in page
    assert "<code>&lt;script&gt;</code>" in page
